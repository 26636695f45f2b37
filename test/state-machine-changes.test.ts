/**
 * Change sets in the synthesized state machine: an export over several invocations (one
 * second each) publishes the day's change set with the snapshot, in S3, every added, changed
 * and removed eSIM once, and the event carries the counts.
 */
import { gunzipSync } from 'node:zlib';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { events, stateMachineHarness } from './state-machine-harness';
import { type Sandbox, startSandbox } from '../sandbox/server';

const harness = stateMachineHarness();
let nextDay: Sandbox;

beforeAll(async () => {
  // The harness's inventory (2,400 eSIMs, day 0) a day later: the same seed and size.
  nextDay = await startSandbox({ size: 2_400, latencyMs: 100, day: 1 });
});
afterAll(async () => {
  await nextDay.close();
});

it('publishes the change set with the snapshot, across invocations, and announces its counts', async () => {
  await harness.execute({ snapshotDate: '2026-11-26', formats: ['ndjson', 'csv'] }, 'first', []);
  const usual = process.env.API_BASE_URL;
  process.env.API_BASE_URL = nextDay.apiBaseUrl;
  try {
    events.resetHistory();
    await harness.execute({ snapshotDate: '2026-11-27', formats: ['ndjson', 'csv'] }, 'second', []);
  } finally {
    process.env.API_BASE_URL = usual;
  }
  const manifest = await harness.manifest('2026-11-27');
  expect(manifest.invocations).toBeGreaterThan(1);
  const before = new Set(harness.api.listing().map((text) => (JSON.parse(text) as { iccid: string }).iccid));
  const after = nextDay.listing().map((text) => JSON.parse(text) as { iccid: string });
  const added = after.filter((item) => !before.has(item.iccid)).length;
  const removed = before.size - (after.length - added);
  expect(manifest.changes).toMatchObject({ previous: { snapshot_date: '2026-11-26' }, added, removed });
  expect(added).toBeGreaterThan(0);
  expect(manifest.changes.changed).toBeGreaterThan(0);
  // The stored change set is the manifest's, row for row.
  const ndjson = manifest.changes.files.find((file) => file.format === 'ndjson')!;
  const lines = gunzipSync(await harness.stored(ndjson.key)).toString('utf8').trim().split('\n');
  expect(lines).toHaveLength(manifest.changes.added + manifest.changes.changed + manifest.changes.removed);
  const objects = await harness.objects();
  for (const file of manifest.changes.files) expect(objects[file.key]).toBe(file.sha256);
  const detail = JSON.parse(events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.Detail!) as { changes: unknown };
  expect(detail.changes).toEqual({ added, changed: manifest.changes.changed, removed, previous_date: '2026-11-26' });
}, 120_000);
