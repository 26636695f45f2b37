/**
 * The scope lock against a real S3 server (s3rver with S3's conditional writes, and faults
 * injected into its answers): S3 itself refuses a second create, a lost answer is recognised
 * as the run's own write, a Begin retried for one execution adopts its lock, and a run that
 * lost its lock (removed, taken over, cleaned up while alive) publishes nothing more.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { announcePending } from '../lambda/snapshot-event';
import { createS3Client } from '../lambda/core/aws';
import { type Destination, S3Destination } from '../lambda/core/destinations';
import { IccidSet } from '../lambda/core/harvest/iccid-set';
import { snapshotLayout } from '../lambda/core/snapshot/layout';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { beginRun, discardRun, publishRun, runExport, exportInvocation, type StartedRun } from '../lambda/core/run/lifecycle';
import { RunStore } from '../lambda/core/run/store';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { FAST_TUNING, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';
import { type S3Server, startS3, storedObjects } from './s3-server';
import path from 'node:path';

const BUCKET = 'locks';
let api: Sandbox;
let storage: string;
let s3server: S3Server;
let client: ReturnType<typeof createS3Client>;
let prefix = '';
let tests = 0;
const savedEnv = { ...process.env };

beforeAll(async () => {
  api = await startSandbox({ size: 40 });
  storage = await tempDir();
  s3server = await startS3(storage, [BUCKET]);
  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
  client = createS3Client({ ...process.env, AWS_ENDPOINT_URL_S3: s3server.endpoint });
});
afterAll(async () => {
  process.env = savedEnv;
  client.destroy();
  await Promise.all([api.close(), s3server.close()]);
  await removeDir(storage);
});
beforeEach(() => {
  prefix = `scope-${++tests}`;
});
afterEach(() => s3server.inject());

const settings = settingsFor('', { formats: ['ndjson', 'csv'] });
const layout = snapshotLayout(settings);
const destination = (): Destination => new S3Destination(client, BUCKET, prefix);
const context = () => ({ destination: destination(), credentials: SANDBOX_CREDENTIALS, credentialsSource: 'test', tuning: FAST_TUNING });
const lockKey = (): string => `${prefix}/${layout.lock}`;

/** A run that has begun and exported, holding the lock, about to publish. */
async function exported(holder: string, formats: ExportFormats = ['ndjson', 'csv']): Promise<StartedRun> {
  const started = await beginRun(destination(), { ...settings, formats, apiBaseUrl: api.apiBaseUrl }, holder);
  const checkpoint = await exportInvocation(context(), started.store, started.checkpoint, new IccidSet());
  await started.store.save(checkpoint, new IccidSet());
  return started;
}
type ExportFormats = typeof settings.formats;

async function stored(): Promise<Record<string, string>> {
  return storedObjects(path.join(storage, BUCKET, prefix));
}

/** The day's data files are exactly those of its manifest, which is run `runId`'s. */
async function dayIsRuns(runId: string): Promise<void> {
  const manifest = JSON.parse((await destination().readDocument(layout.manifest))!.body.toString('utf8')) as Manifest;
  expect(manifest.run_id).toBe(runId);
  const files = Object.fromEntries(manifest.files.map((file) => [file.key.slice(prefix.length + 1), file.sha256]));
  const data = Object.fromEntries(Object.entries(await stored()).filter(([key]) => /^(ndjson|csv|parquet)\//.test(key)));
  expect(data).toEqual(files);
}

describe('the scope lock in S3', () => {
  it('is refused by S3 itself when a second writer creates it, or renews it with a stale ETag (412)', async () => {
    const put = (body: string, condition: { IfNoneMatch?: string; IfMatch?: string }) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: lockKey(), Body: body, ...condition }));
    const first = await put('first', { IfNoneMatch: '*' });
    await expect(put('second', { IfNoneMatch: '*' })).rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    await put('renewed', { IfMatch: first.ETag! });
    await expect(put('stale', { IfMatch: first.ETag! })).rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    expect((await destination().readDocument(layout.lock))!.body.toString()).toBe('renewed');
  });

  it('is held by one run only: a second run of the scope is told which run holds it', async () => {
    const first = await beginRun(destination(), settings, 'execution-1');
    await expect(beginRun(destination(), settings, 'execution-2')).rejects.toMatchObject({
      code: 'BUSY',
      message: expect.stringContaining(`another export of the full snapshot is running (run ${first.store.runId}, execution-1,`),
    });
  });

  it('recognises its own create and renewal when S3 applied them but the answers were lost', async () => {
    s3server.inject({ kind: 'lose', when: (request) => request.key === lockKey() && request.conditional, times: 1 });
    const started = await beginRun(destination(), settings, 'execution-1');
    expect(s3server.hits()).toBe(1);
    s3server.inject({ kind: 'lose', when: (request) => request.key === lockKey() && request.conditional, times: 1 });
    await expect(started.store.lock.renew()).resolves.toBeUndefined();
    expect(s3server.hits()).toBe(2);
    await started.store.lock.release();
    expect(await destination().readDocument(layout.lock)).toBeUndefined();
  });

  it('lets a Begin retried for the same execution adopt its lock, and clears what the first attempt staged', async () => {
    const first = await exported('execution-1');
    const retried = await beginRun(destination(), settings, 'execution-1', { sameHolderIsUs: true });
    expect(retried.store.runId).not.toBe(first.store.runId);
    expect(Object.keys(await stored()).filter((key) => key.includes(first.store.runId))).toEqual([]);
    await expect(beginRun(destination(), settings, 'execution-2', { sameHolderIsUs: true })).rejects.toMatchObject({ code: 'BUSY' });
  });
});

describe('a run that lost its lock', () => {
  it('publishes nothing once the lock was removed and another run published: the day is the other run’s', async () => {
    const first = await exported('execution-1');
    await destination().remove([layout.lock]);
    const second = await runExport({ ...context(), settings: { ...settings, formats: ['csv'], apiBaseUrl: api.apiBaseUrl } });
    await expect(publishRun(first.store, { snapshotDate: settings.snapshotDate })).rejects.toMatchObject({
      code: 'LOCK_LOST',
      message: expect.stringContaining(`run ${first.store.runId} lost the lock of the full snapshot (it was removed)`),
    });
    await dayIsRuns(second.run_id);
  });

  it('stops at its next write when another run takes the lock in the middle of its publication', async () => {
    await runExport({ ...context(), settings: { ...settings, apiBaseUrl: api.apiBaseUrl } });
    const before = await stored();
    const first = await exported('execution-1', ['parquet']);
    let second: StartedRun | undefined;
    // Right after the first run's journal is written, its lock is lost and a second run begins.
    const inner = destination();
    const racing = Object.assign(Object.create(inner) as Destination, {
      putDocument: async (key: string, body: string, condition?: never) => {
        const written = await inner.putDocument(key, body, condition);
        if (key.endsWith('journal.json') && !second) {
          await inner.remove([layout.lock]);
          second = await beginRun(destination(), { ...settings, apiBaseUrl: api.apiBaseUrl }, 'execution-2');
        }
        return written;
      },
    });
    await expect(publishRun(new RunStore(racing, first.store.layout, first.store.runId), { snapshotDate: settings.snapshotDate })).rejects.toMatchObject({ code: 'LOCK_LOST' });
    // The second run's Begin undid the first's publication: the day is as it was.
    const published = (all: Record<string, string>) => Object.fromEntries(Object.entries(all).filter(([key]) => !key.startsWith('_runs/')));
    expect(published(await stored())).toEqual(published(before));
    await discardRun(second!.store, settings.snapshotDate);
    await discardRun(first.store, settings.snapshotDate);
    expect(await stored()).toEqual(before);
  });

  it('is stopped by Clean up sent for it while it runs: it publishes nothing and the day is unchanged', async () => {
    await runExport({ ...context(), settings: { ...settings, apiBaseUrl: api.apiBaseUrl } });
    const before = await stored();
    const live = await exported('execution-1', ['parquet']);
    await discardRun(new RunStore(destination(), live.store.layout, live.store.runId), settings.snapshotDate);
    await expect(publishRun(live.store, { snapshotDate: settings.snapshotDate })).rejects.toMatchObject({ message: expect.stringMatching(/staged state of run .* is gone|lost the lock/) });
    expect(await stored()).toEqual(before);
  });
});

describe('the commit point', () => {
  /**
   * Run A exports and publishes, but one of its writes to the day (`held`) is held in the
   * network: meanwhile A's lock is lost and run B, of another inventory, publishes the day whole.
   * Then the held write lands.
   */
  async function raceAt(held: (key: string) => boolean): Promise<{ first: StartedRun; second: Manifest; failure: unknown }> {
    await runExport({ ...context(), settings: { ...settings, apiBaseUrl: api.apiBaseUrl } });
    const first = await exported('execution-1');
    const other = await startSandbox({ size: 41 });
    let second: Manifest | undefined;
    const inner = destination();
    const interfere = async (key: string): Promise<void> => {
      if (second || !held(key)) return;
      await inner.remove([layout.lock]);
      second = await runExport({ ...context(), settings: { ...settings, apiBaseUrl: other.apiBaseUrl } });
    };
    const late = Object.assign(Object.create(inner) as Destination, {
      putDocument: async (key: string, body: string, condition?: never) => (await interfere(key), inner.putDocument(key, body, condition)),
      copy: async (from: string, to: string, condition?: never) => (await interfere(to), inner.copy(from, to, condition)),
    });
    try {
      const failure = await publishRun(new RunStore(late, first.store.layout, first.store.runId), { snapshotDate: settings.snapshotDate }).then(
        () => undefined,
        (error: unknown) => error,
      );
      return { first, second: second!, failure };
    } finally {
      await other.close();
    }
  }

  it('refuses a manifest PUT that lands after another run published: the day is wholly the other run’s', async () => {
    const { second, failure } = await raceAt((key) => key === layout.manifest);
    expect(second).toBeDefined();
    expect(failure).toMatchObject({ code: 'LOCK_LOST', message: expect.stringContaining('changed by another run while it published') });
    await dayIsRuns(second.run_id);
    expect(JSON.parse((await destination().readDocument(layout.latest))!.body.toString('utf8'))).toMatchObject({ run_id: second.run_id, records: 41 });
  });

  it('refuses a copy onto a day key that lands after another run published', async () => {
    const { second, failure } = await raceAt((key) => key.startsWith('csv/dt='));
    expect(second).toBeDefined();
    expect(failure).toMatchObject({ code: 'LOCK_LOST' });
    await dayIsRuns(second.run_id);
  });
});

describe('announcements', () => {
  it('go out in the order the snapshots were published, and one replaced before its event says so', async () => {
    const sent: Array<{ run_id: string; replaced_by_run_id?: string }> = [];
    const events = { send: async (command: PutEventsCommand) => (sent.push(JSON.parse(command.input.Entries![0]!.Detail!)), { FailedEntryCount: 0 }) };
    const runs: Manifest[] = [];
    // Five runs of one day, none announced yet (the bus was down): each replaces the one before.
    for (let i = 0; i < 5; i++) runs.push(await runExport({ ...context(), settings: { ...settings, apiBaseUrl: api.apiBaseUrl }, announce: true }));
    await announcePending({ client: events as never, destination: destination(), bucket: BUCKET }, layout);
    expect(sent.map((detail) => detail.run_id)).toEqual(runs.map((run) => run.run_id));
    const last = runs.at(-1)!.run_id;
    expect(sent.map((detail) => detail.replaced_by_run_id)).toEqual([last, last, last, last, undefined]);
  });
});
