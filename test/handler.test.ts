/**
 * The Lambda handler against the sandbox API, a real S3 server (s3rver) and mocked Secrets
 * Manager and EventBridge clients (the AWS services with no local server).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clearCaches } from '@aws-lambda-powertools/parameters';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { runsLayout } from '../lambda/core/snapshot/layout';
import { PLACEHOLDER_API_KEY, PLACEHOLDER_USER_ID } from '../lambda/core/api/credentials';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { startS3, type S3Server } from './s3-server';
import { fingerprint, removeDir, SANDBOX_CREDENTIALS, tempDir } from './helpers';

const BUCKET = 'esim-exports';
const SECRET_ID = 'esim-export/betatel';
const secrets = mockClient(SecretsManagerClient);
const events = mockClient(EventBridgeClient);
const savedEnv = { ...process.env };
let s3rver: S3Server;
let storage: string;
let api: Sandbox;
let lambdaHandler: typeof import('../lambda/handler').handler;
/** A direct invocation: the handler returns the manifest. */
const handler = async (event: unknown, ctx: Context): Promise<Manifest> => (await lambdaHandler(event, ctx)) as Manifest;
let output: string;
const writes = { stdout: process.stdout.write, stderr: process.stderr.write };

function context(remainingMs = 900_000): Context {
  return { getRemainingTimeInMillis: () => remainingMs, functionName: 'esim-export', awsRequestId: 'test' } as unknown as Context;
}

/** Everything stored in the bucket (key → SHA-256), s3rver's own multipart scratch left out. */
async function objects(): Promise<Record<string, string>> {
  const all = await fingerprint(storage);
  return Object.fromEntries(
    Object.entries(all)
      .filter(([path, hash]) => hash !== 'dir' && !path.includes('._S3rver_uploads') && path.endsWith('._S3rver_object'))
      .map(([path, hash]) => [path.slice(`${BUCKET}/`.length, -'._S3rver_object'.length), hash]),
  );
}

function useSecret(value: string): void {
  secrets.reset();
  secrets.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({ SecretString: value });
}

beforeAll(async () => {
  storage = await tempDir();
  s3rver = await startS3(storage, [BUCKET]);
  const port = new URL(s3rver.endpoint).port;
  api = await startSandbox({ size: 700, latencyMs: 5 });
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
    SECRET_ID,
    BUCKET_NAME: BUCKET,
    EXPORT_PREFIX: 'esims',
    API_BASE_URL: api.apiBaseUrl,
    TIMEZONE: 'UTC',
  });
  // The handler builds its S3 client when loaded, from the environment above.
  ({ handler: lambdaHandler } = await import('../lambda/handler'));
});

afterAll(async () => {
  process.env = savedEnv;
  await api.close();
  await s3rver.close();
  await removeDir(storage);
});

/** The detail of every event the handler put, parsed. */
function eventsPut(): Array<{ source?: string; detailType?: string; bus?: string; detail: Record<string, unknown> }> {
  return events.commandCalls(PutEventsCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => ({
      source: entry.Source,
      detailType: entry.DetailType,
      bus: entry.EventBusName,
      detail: JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>,
    })),
  );
}

beforeEach(() => {
  clearCaches();
  useSecret(JSON.stringify(SANDBOX_CREDENTIALS));
  events.reset();
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
  // Capture the structured logs and EMF metrics the handler prints.
  output = '';
  const capture = (chunk: string | Uint8Array): boolean => {
    output += chunk.toString();
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
});

afterEach(() => {
  process.stdout.write = writes.stdout;
  process.stderr.write = writes.stderr;
});

function logLines(): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('handler', () => {
  it('writes the snapshot of the day the schedule names, logs it and emits metrics', async () => {
    const manifest = await handler({ scheduledTime: '2026-11-20T02:00:00Z' }, context());
    expect(manifest.snapshot_date).toBe('2026-11-20');
    expect(manifest.records).toBe(700);
    expect(Object.keys(await objects())).toEqual(
      expect.arrayContaining([
        'esims/ndjson/dt=2026-11-20/esims.ndjson.gz',
        'esims/csv/dt=2026-11-20/esims.csv.gz',
        'esims/manifests/dt=2026-11-20/manifest.json',
        'esims/latest.json',
      ]),
    );
    expect(manifest.files.map((file) => file.key)).toEqual([
      'esims/ndjson/dt=2026-11-20/esims.ndjson.gz',
      'esims/csv/dt=2026-11-20/esims.csv.gz',
      'esims/parquet/dt=2026-11-20/esims.parquet',
    ]);

    const lines = logLines();
    expect(lines.find((line) => line.message === 'snapshot published')).toMatchObject({ level: 'INFO', records: 700, service: 'esim-export' });
    const emf = lines.find((line) => '_aws' in line && 'RecordsExported' in line);
    expect(emf).toMatchObject({ RecordsExported: 700, SnapshotsPublished: 1, Retries: 0, service: 'esim-export' });
    expect(lines.filter((line) => 'RecordsByStatus' in line).map((line) => line.status)).toContain('IN_SERVICE');
    expect(output).not.toContain(SANDBOX_CREDENTIALS.apiKey);
  });

  it('puts exactly one Snapshot Published event whose detail matches the manifest', async () => {
    const manifest = await handler({ snapshotDate: '2026-11-19' }, context());
    expect(eventsPut()).toEqual([
      {
        source: 'esim-export',
        detailType: 'Snapshot Published',
        bus: undefined,
        detail: {
          snapshot_date: '2026-11-19',
          run_id: manifest.run_id,
          scope: 'full',
          records: manifest.records,
          api_total: manifest.api_total,
          bucket: BUCKET,
          manifest_key: 'esims/manifests/dt=2026-11-19/manifest.json',
          files: manifest.files.map(({ format, key, records, bytes }) => ({ format, key, records, bytes })),
          warnings: 0,
          // The first snapshot of the scope in this bucket: nothing to compare with, so no change set.
          changes: { added: 0, changed: 0, removed: 0, previous_date: null, skipped: 'the first snapshot of this scope: there is nothing to compare it with' },
        },
      },
    ]);
  });

  it('puts the event on the bus EVENT_BUS_NAME names', async () => {
    process.env.EVENT_BUS_NAME = 'data-platform';
    try {
      await handler({ snapshotDate: '2026-11-18' }, context());
    } finally {
      delete process.env.EVENT_BUS_NAME;
    }
    expect(eventsPut().map((event) => event.bus)).toEqual(['data-platform']);
  });

  it('puts no event when the run fails', async () => {
    useSecret(JSON.stringify({ apiKey: 'revoked-key-123', userId: 'someone-else' }));
    await expect(handler({}, context())).rejects.toMatchObject({ code: 'API_UNAUTHORIZED' });
    await expect(handler({ formats: ['xml'] }, context())).rejects.toMatchObject({ code: 'CONFIG' });
    expect(eventsPut()).toEqual([]);
  });

  it('keeps a snapshot published when the bus refuses its event, counts the failure, and announces it with the next run', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'not allowed' }] });
    const manifest = await handler({ snapshotDate: '2026-11-17' }, context());
    expect(manifest).toMatchObject({ snapshot_date: '2026-11-17', records: 700 });
    expect(Object.keys(await objects())).toEqual(
      expect.arrayContaining(['esims/manifests/dt=2026-11-17/manifest.json', `esims/${runsLayout('').outboxEntry(manifest)}`]),
    );
    const failure = logLines().find((line) => line.message === 'announcement failed');
    expect(failure?.reason).toMatch(/^the 2026-11-17 snapshot is published, but its "Snapshot Published" event could not be put on the event bus default \(AccessDeniedException: not allowed\); it stays pending/);
    expect(output).toContain('"AnnouncementsFailed":1');

    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-2' }] });
    await handler({ snapshotDate: '2026-11-18' }, context());
    expect(eventsPut().map((event) => event.detail.snapshot_date)).toEqual(['2026-11-17', '2026-11-18']);
    expect(Object.keys(await objects()).filter((key) => key.includes('/_runs/'))).toEqual([]);
  });

  it('takes the day of an EventBridge rule’s scheduled event from its time', async () => {
    const event = { version: '0', id: 'x', 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2026-11-21T23:59:00Z', detail: {} };
    expect((await handler(event, context())).snapshot_date).toBe('2026-11-21');
  });

  it('writes a filtered CSV snapshot for a console event, never touching the full one', async () => {
    await handler({ snapshotDate: '2026-11-27' }, context());
    const full = Object.fromEntries(Object.entries(await objects()).filter(([key]) => !key.startsWith('esims/filtered/')));

    output = '';
    const manifest: Manifest = await handler({ company: 100, formats: ['csv'] }, context());
    expect(manifest.scope).toBe('filtered/company=100');
    expect(manifest.files.map((file) => file.key)).toEqual([`esims/filtered/company=100/csv/dt=${manifest.snapshot_date}/esims.csv.gz`]);
    expect(manifest.records).toBe(api.listing({ company: 100 }).length);
    const after = await objects();
    expect(Object.fromEntries(Object.entries(after).filter(([key]) => !key.startsWith('esims/filtered/')))).toEqual(full);
    expect(Object.keys(after).filter((key) => key.startsWith('esims/filtered/company=100/')).sort()).toEqual([
      `esims/filtered/company=100/csv/dt=${manifest.snapshot_date}/esims.csv.gz`,
      'esims/filtered/company=100/latest.json',
      `esims/filtered/company=100/manifests/dt=${manifest.snapshot_date}/manifest.json`,
    ]);
    expect(logLines().some((line) => '_aws' in line && 'SnapshotsPublished' in line)).toBe(false);
  });

  it('rejects bad overrides naming each field, and writes nothing', async () => {
    const before = await objects();
    const requests = api.stats.requests;
    await expect(handler({ formats: ['xml'], company: 'acme' }, context())).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringMatching(/event\.formats must list only ndjson, csv.*event\.company must be a whole number.*got "acme"/),
    });
    await expect(handler({ compnay: 100 }, context())).rejects.toThrow(/event\.compnay is not a known field/);
    expect(await objects()).toEqual(before);
    expect(api.stats.requests).toBe(requests);
    expect(logLines().find((line) => line.message === 'export failed')).toMatchObject({ level: 'ERROR', code: 'CONFIG' });
  });

  it.each([
    ['not JSON', 'apiKey=supersecret-value', /the secret esim-export\/betatel is not valid JSON/],
    ['missing userId', '{"apiKey":"supersecret-value"}', /the secret esim-export\/betatel is malformed: userId must be a string/],
    ['the placeholder', JSON.stringify({ apiKey: PLACEHOLDER_API_KEY, userId: PLACEHOLDER_USER_ID }), /still holds the placeholder/],
  ])('fails clearly on a secret that is %s, leaking nothing and writing nothing', async (_name, value, message) => {
    useSecret(value);
    const before = await objects();
    const requests = api.stats.requests;
    await expect(handler({}, context())).rejects.toMatchObject({ code: 'CREDENTIALS', message: expect.stringMatching(message) });
    expect(output).not.toContain('supersecret');
    expect(await objects()).toEqual(before);
    expect(api.stats.requests).toBe(requests);
  });

  it('says when the API rejects the credentials in the secret, naming the secret', async () => {
    useSecret(JSON.stringify({ apiKey: 'revoked-key-123', userId: 'someone-else' }));
    await expect(handler({}, context())).rejects.toMatchObject({
      code: 'API_UNAUTHORIZED',
      message: expect.stringContaining('the API key or user id in the secret esim-export/betatel was not accepted'),
    });
    expect(output).not.toContain('revoked-key-123');
  });

  it('reuses the secret across warm invocations', async () => {
    await handler({ snapshotDate: '2026-11-02' }, context());
    await handler({ snapshotDate: '2026-11-03' }, context());
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('stops a direct invocation that does not fit MAX_RUN_SECONDS, publishes nothing and names the state machine', async () => {
    // An export that cannot finish in 1 s on any machine: 200 pages of 100, one at a time, each
    // answered after 300 ms, take at least 60 s. (At the defaults, page size auto and 8 requests
    // in flight, a fast machine finished 20,000 eSIMs before the stop.)
    const slow = await startSandbox({ size: 20_000, latencyMs: 300 });
    Object.assign(process.env, { API_BASE_URL: slow.apiBaseUrl, MAX_RUN_SECONDS: '1', STATE_MACHINE_NAME: 'esim-export-run', PAGE_SIZE: '100', CONCURRENCY: '1' });
    const before = await objects();
    const ctx = { ...context(), invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:esim-export' } as Context;
    try {
      await expect(handler({ snapshotDate: '2026-10-01' }, ctx)).rejects.toMatchObject({
        code: 'ABORTED',
        message: expect.stringMatching(
          /^this export does not fit one invocation \([\d,]+ of 20,000 eSIMs read in 1 s\); nothing was published\. Start the state machine arn:aws:states:eu-west-1:123456789012:stateMachine:esim-export-run with the same input instead\.$/,
        ),
      });
    } finally {
      process.env.API_BASE_URL = api.apiBaseUrl;
      for (const name of ['MAX_RUN_SECONDS', 'STATE_MACHINE_NAME', 'PAGE_SIZE', 'CONCURRENCY']) delete process.env[name];
      await slow.close();
    }
    expect(await objects()).toEqual(before);
  });
});

describe('{"check": true}', () => {
  it('checks the secret, the API, the bucket, the lock, the newest snapshot and the bus, and writes nothing', async () => {
    const before = await objects();
    const result = (await lambdaHandler({ check: true }, context())) as unknown as { ok: boolean; lines: Array<{ ok: boolean; what: string; says: string }> };
    expect(result.lines.map((line) => `${line.ok ? '✓' : '✗'} ${line.what}`)).toEqual([
      '✓ credentials',
      '✓ the API',
      `✓ the destination s3://${BUCKET}/esims`,
      '✓ the lock',
      '✓ the newest snapshot',
      '✓ the event bus default',
    ]);
    expect(result.ok).toBe(true);
    expect(eventsPut().map((event) => event.detailType)).toEqual(['Export Check']);
    expect(await objects()).toEqual(before);
  });

  it('says the secret has no value, and writes nothing', async () => {
    const before = await objects();
    secrets.reset();
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({});
    const result = (await lambdaHandler({ check: true }, context())) as unknown as { ok: boolean; lines: Array<{ ok: boolean; what: string; says: string }> };
    expect(result.ok).toBe(false);
    expect(result.lines[0]).toMatchObject({ ok: false, what: 'credentials' });
    expect(result.lines[0]!.says).toContain(SECRET_ID);
    expect(await objects()).toEqual(before);
  });

  it('says what is wrong: a placeholder secret, a bus that does not exist', async () => {
    useSecret(JSON.stringify({ apiKey: 'REPLACE_WITH_BETATEL_API_KEY', userId: 'REPLACE_WITH_BETATEL_USER_ID' }));
    events.reset();
    events.on(PutEventsCommand).rejects(Object.assign(new Error('Event bus data-platform does not exist.'), { name: 'ResourceNotFoundException' }));
    const result = (await lambdaHandler({ check: true }, context())) as unknown as { ok: boolean; lines: Array<{ ok: boolean; what: string; says: string }> };
    expect(result.ok).toBe(false);
    expect(result.lines[0]).toMatchObject({ ok: false, what: 'credentials' });
    expect(result.lines[0]!.says).toMatch(/placeholder/);
    expect(result.lines.at(-1)).toMatchObject({ ok: false, what: 'the event bus default' });
    expect(result.lines.at(-1)!.says).toMatch(/^ResourceNotFoundException: .*events:PutEvents\)$/);
  });
});

describe('metricStatuses', () => {
  it('keeps the documented statuses and counts any other as OTHER, so metrics stay bounded', async () => {
    const { metricStatuses } = await import('../lambda/observe');
    const counts = metricStatuses({ IN_SERVICE: 5, ACTIVE: 2, PORTING_OUT: 3, 'x-1': 1, '(none)': 4 });
    expect(Object.fromEntries(counts)).toEqual({ IN_SERVICE: 5, ACTIVE: 2, OTHER: 8 });
  });
});
