/**
 * The state machine as synthesized, executed locally with the real handler in every task
 * (state-machine-harness.ts): long exports, failures between invocations, lost answers,
 * overlapping runs.
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { clearCaches } from '@aws-lambda-powertools/parameters';
import type { Context } from 'aws-lambda';
import { gunzipSync } from 'node:zlib';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { ndjsonLines } from './helpers';
import { type Call, events, FUNCTION_ARN, secrets, stateMachineHarness } from './state-machine-harness';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

const harness = stateMachineHarness();
const { execute, objects, stored } = harness;

describe('the export state machine', () => {
  it('is a valid Amazon States Language definition', () => {
    const { isValid, errorsText } = aslValidator(harness.definition);
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
    expect(lines).toEqual(harness.api.listing());
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
      const single = (await harness.handler({ snapshotDate: '2026-11-19' }, lambdaContext)) as Manifest;
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

describe('the state machine given {"check": true}', () => {
  it('runs the check and no export: succeeds when every line passes, fails naming the failure when one does not', async () => {
    const before = await objects();
    const calls: Call[] = [];
    const result = (await execute({ check: true }, 'check', calls)) as { ok: boolean; lines: Array<{ ok: boolean; what: string }> };
    expect(result.ok).toBe(true);
    expect(result.lines.map((line) => line.what)).toEqual(['credentials', 'the API', expect.stringMatching(/^the destination s3:/), 'the lock', 'the newest snapshot', 'the event bus default']);
    expect(calls.map((call) => call.step)).toEqual([undefined]);
    expect(await objects()).toEqual(before);

    clearCaches();
    secrets.reset();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ apiKey: 'REPLACE_WITH_BETATEL_API_KEY', userId: 'REPLACE_WITH_BETATEL_USER_ID' }) });
    await expect(execute({ check: true }, 'check-failing', calls)).rejects.toMatchObject({ name: 'ExecutionError' });
    expect(await objects()).toEqual(before);
  });
});

