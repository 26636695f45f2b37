/**
 * The state machine as synthesized, executed locally by aws-local-stepfunctions. Its Lambda
 * tasks run the real handler in-process against the sandbox API and a real S3 server
 * (s3rver), with MAX_RUN_SECONDS of 1 so that an export takes several invocations. Secrets
 * Manager and EventBridge, which have no local server, are mocked clients.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clearCaches } from '@aws-lambda-powertools/parameters';
import type { Context } from 'aws-lambda';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { StateMachine } from 'aws-local-stepfunctions';
import { gunzipSync } from 'node:zlib';
import type { Manifest } from '../lambda/core/manifest';
import { EsimExportStack } from '../lib/esim-export-stack';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { fingerprint, ndjsonLines, removeDir, SANDBOX_CREDENTIALS, tempDir } from './helpers';
import { type S3Server, startS3 } from './s3-server';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

const BUCKET = 'esim-exports';
const SECRET_ID = 'esim-export/betatel';
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:esim-export';
const TASKS = ['Begin', 'Export', 'Publish', 'Announce', 'Announce, last try', 'Clean up'] as const;
const secrets = mockClient(SecretsManagerClient);
const events = mockClient(EventBridgeClient);
const savedEnv = { ...process.env };
let definition: Record<string, unknown>;
let s3server: S3Server;
let storage: string;
let api: Sandbox;
let handler: typeof import('../lambda/handler').handler;

/** The synthesized definition, with the function's ARN in place of its CloudFormation reference. */
function synthesizedDefinition(): Record<string, unknown> {
  const app = new App();
  const stack = new EsimExportStack(app, 'EsimExport', { env: { account: '123456789012', region: 'eu-west-1' } });
  const machines = Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine');
  const { DefinitionString } = (Object.values(machines)[0] as { Properties: { DefinitionString: { 'Fn::Join': [string, unknown[]] } } }).Properties;
  const text = DefinitionString['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : FUNCTION_ARN)).join('');
  return JSON.parse(text) as Record<string, unknown>;
}

beforeAll(async () => {
  definition = synthesizedDefinition();
  storage = await tempDir();
  s3server = await startS3(storage, [BUCKET]);
  // Slow enough that one second of exporting is a fraction of the inventory.
  api = await startSandbox({ size: 2_400, latencyMs: 100 });
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_S3: s3server.endpoint,
    SECRET_ID,
    BUCKET_NAME: BUCKET,
    EXPORT_PREFIX: 'esims',
    API_BASE_URL: api.apiBaseUrl,
    PAGE_SIZE: '100',
    CONCURRENCY: '1',
    MAX_RUN_SECONDS: '1',
    STATE_MACHINE_NAME: 'EsimExport-export',
    // The handler's logs and metrics are its business here, not the test output's.
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  ({ handler } = await import('../lambda/handler'));
});

afterAll(async () => {
  process.env = savedEnv;
  await api.close();
  await s3server.close();
  await removeDir(storage);
});

beforeEach(() => {
  clearCaches();
  secrets.reset();
  secrets.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({ SecretString: JSON.stringify(SANDBOX_CREDENTIALS) });
  events.reset();
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
});

interface Call {
  readonly execution: string;
  readonly step: string;
  readonly started: number;
  readonly ended: number;
}

/** Lambda's answer to a call whose function ran, but whose response was lost on the way back. */
class LostResponse extends Error {
  override name = 'Lambda.ServiceException';
}

/**
 * Runs one execution; every task invokes the real handler, as Lambda would. `before` runs
 * before the handler; `lose` says to throw away the handler's answer (after it ran).
 */
function execute(
  input: unknown,
  name: string,
  calls: Call[],
  before?: (step: string, count: number) => void,
  lose?: (step: string, count: number) => boolean,
): Promise<unknown> {
  const lambdaContext = { getRemainingTimeInMillis: () => 900_000, functionName: 'esim-export', awsRequestId: name, invokedFunctionArn: FUNCTION_ARN } as unknown as Context;
  const invoke = () => async (payload: unknown): Promise<never> => {
    const step = (payload as { step: string }).step;
    const count = calls.filter((call) => call.execution === name && call.step === step).length;
    before?.(step, count);
    const started = Date.now();
    try {
      // What Lambda does too: the function's return value travels as JSON.
      const answer = JSON.parse(JSON.stringify(await handler(payload, lambdaContext))) as never;
      if (lose?.(step, count)) throw new LostResponse('the function ran; its response was lost');
      return answer;
    } finally {
      calls.push({ execution: name, step, started, ended: Date.now() });
    }
  };
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(TASKS.map((task) => [task, invoke()])),
      // Begin waits for a busy scope a minute at a time in AWS (12 tries); here a second at a time.
      retryIntervalOverrides: { Begin: 1000, Publish: 10 },
    },
    context: { Execution: { Id: `arn:aws:states:eu-west-1:123456789012:execution:EsimExport-export:${name}`, Input: input as never, Name: name, StartTime: new Date().toISOString() } },
  });
  return execution.result;
}

/** Every object in the bucket (key → SHA-256). */
async function objects(): Promise<Record<string, string>> {
  const all = await fingerprint(path.join(storage, BUCKET));
  return Object.fromEntries(
    Object.entries(all)
      .filter(([key, hash]) => hash !== 'dir' && key.endsWith('._S3rver_object'))
      .map(([key, hash]) => [key.slice(0, -'._S3rver_object'.length), hash]),
  );
}

const stored = (key: string): Promise<Buffer> => readFile(path.join(storage, BUCKET, `${key}._S3rver_object`));

describe('the export state machine', () => {
  it('is a valid Amazon States Language definition', () => {
    const { isValid, errorsText } = aslValidator(definition);
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('exports over several invocations into one snapshot equal to the sandbox inventory, leaving nothing staged', async () => {
    const calls: Call[] = [];
    const result = (await execute({ snapshotDate: '2026-11-20' }, 'long', calls)) as { records: number; done: boolean };
    const exports = calls.filter((call) => call.step === 'export');
    expect(exports.length).toBeGreaterThanOrEqual(3);
    expect(result).toMatchObject({ done: true, records: 2_400 });

    const manifest = JSON.parse((await stored('esims/manifests/dt=2026-11-20/manifest.json')).toString('utf8')) as Manifest;
    expect(manifest).toMatchObject({ records: 2_400, api_total: 2_400, invocations: exports.length, warnings: [] });
    // Every format split into one file per invocation that wrote records; each read back.
    const ndjson = manifest.files.filter((file) => file.format === 'ndjson');
    expect(ndjson.length).toBeGreaterThanOrEqual(3);
    const lines = (await Promise.all(ndjson.map(async (file) => ndjsonLines(gunzipSync(await stored(file.key)).toString('utf8'))))).flat();
    expect(lines).toEqual(api.listing());
    for (const file of manifest.files.filter((each) => each.format === 'csv')) {
      expect(gunzipSync(await stored(file.key)).toString('utf8')).toMatch(/^iccid,sim_status,group_id,/);
    }
    expect(manifest.files.reduce((sum, file) => sum + (file.format === 'parquet' ? file.records : 0), 0)).toBe(2_400);
    expect(Object.keys(await objects()).filter((key) => key.includes('/_runs/'))).toEqual([]);
    const eventsBefore = events.commandCalls(PutEventsCommand);
    // The same snapshot one direct invocation writes: same records, values and manifest fields.
    process.env.MAX_RUN_SECONDS = '900';
    try {
      const lambdaContext = { getRemainingTimeInMillis: () => 900_000, awsRequestId: 'direct', invokedFunctionArn: FUNCTION_ARN } as unknown as Context;
      const single = (await handler({ snapshotDate: '2026-11-19' }, lambdaContext)) as Manifest;
      expect(Object.keys(single).sort()).toEqual(Object.keys(manifest).sort());
      expect({ ...single, invocations: 0 }).toMatchObject({ records: manifest.records, api_total: manifest.api_total, by_status: manifest.by_status, invocations: 0 });
      const singleFile = single.files.find((file) => file.format === 'ndjson')!;
      expect(ndjsonLines(gunzipSync(await stored(singleFile.key)).toString('utf8'))).toEqual(lines);
      events.reset();
      events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    } finally {
      process.env.MAX_RUN_SECONDS = '1';
    }
    // Published once, with the manifest's numbers.
    expect(eventsBefore).toHaveLength(1);
    const detail = JSON.parse(eventsBefore[0]!.args[0].input.Entries![0]!.Detail!) as Record<string, unknown>;
    expect(detail).toMatchObject({ snapshot_date: '2026-11-20', records: 2_400, manifest_key: 'esims/manifests/dt=2026-11-20/manifest.json' });
  });

  it('publishes nothing and leaves nothing staged when an invocation fails between others', async () => {
    const before = await objects();
    const calls: Call[] = [];
    // The key is revoked after the first export step: the second one gets a 401.
    const failing = execute({ snapshotDate: '2026-11-21' }, 'failing', calls, (step, count) => {
      if (step === 'export' && count === 1) {
        clearCaches();
        secrets.reset();
        secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ apiKey: 'revoked-key', userId: 'sandbox-user' }) });
      }
    });
    await expect(failing).rejects.toMatchObject({ name: 'ExecutionError' });
    expect(calls.map((call) => call.step)).toEqual(['begin', 'export', 'export', 'cleanup']);
    expect(await objects()).toEqual(before);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('succeeds when Publish ran but its answer was lost: the retry finds its own manifest', async () => {
    const calls: Call[] = [];
    const result = await execute({ snapshotDate: '2026-11-23' }, 'lost', calls, undefined, (step, count) => step === 'publish' && count === 0);
    expect(result).toMatchObject({ done: true, records: 2_400 });
    expect(calls.filter((call) => call.step === 'publish')).toHaveLength(2);
    expect(calls.map((call) => call.step)).not.toContain('cleanup');
    const manifest = JSON.parse((await stored('esims/manifests/dt=2026-11-23/manifest.json')).toString('utf8')) as Manifest;
    expect(manifest).toMatchObject({ records: 2_400, warnings: [] });
    expect(manifest.run_id).toMatch(/^[0-9a-f-]{36}$/);
    const dayFiles = Object.keys(await objects()).filter((key) => /^esims\/(ndjson|csv|parquet)\/dt=2026-11-23\//.test(key));
    expect(dayFiles.sort()).toEqual(manifest.files.map((file) => file.key).sort());
    expect(Object.keys(await objects()).filter((key) => key.includes('/_runs/'))).toEqual([]);
    // Announced once: the event leaves the outbox only after the retried Publish.
    const announced = events.commandCalls(PutEventsCommand).map((call) => JSON.parse(call.args[0].input.Entries![0]!.Detail!) as { manifest_key: string });
    expect(announced.map((detail) => detail.manifest_key)).toEqual(['esims/manifests/dt=2026-11-23/manifest.json']);
  });

  it('never interleaves two overlapping runs of the same scope: the second waits for the first, then runs', async () => {
    const calls: Call[] = [];
    const [first, second] = await Promise.all([
      execute({ snapshotDate: '2026-11-22' }, 'first', calls),
      new Promise((resolve) => setTimeout(resolve, 100)).then(() => execute({ snapshotDate: '2026-11-22', formats: ['csv'] }, 'second', calls)),
    ]);
    expect(first).toMatchObject({ done: true });
    expect(second).toMatchObject({ done: true });
    const span = (name: string): [number, number] => {
      const own = calls.filter((call) => call.execution === name && call.step !== 'begin');
      return [Math.min(...own.map((call) => call.started)), Math.max(...own.map((call) => call.ended))];
    };
    const [a, b] = [span('first'), span('second')];
    // One ran entirely before the other.
    expect(a[1] <= b[0] || b[1] <= a[0]).toBe(true);
    // The later one found the scope busy at least once.
    expect(calls.filter((call) => call.step === 'begin').length).toBeGreaterThan(2);
    // The day holds exactly the last run's files.
    const manifest = JSON.parse((await stored('esims/manifests/dt=2026-11-22/manifest.json')).toString('utf8')) as Manifest;
    const dayFiles = Object.keys(await objects()).filter((key) => /^esims\/(ndjson|csv|parquet)\/dt=2026-11-22\//.test(key));
    expect(dayFiles.sort()).toEqual(manifest.files.map((file) => file.key).sort());
  });
});
