/**
 * Faults injected into the synthesized state machine (the real handler in every task, S3
 * with conditional writes that fails or loses answers on cue, EventBridge refusing): the day
 * is exactly its old snapshot or exactly the new one, nothing stays staged, the lock is never
 * held by two runs, and every published snapshot is announced at least once.
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type Call, events, stateMachineHarness } from './state-machine-harness';

const harness = stateMachineHarness();
const { execute, objects, manifest, announced } = harness;

const dayKeys = (day: string) => (key: string): boolean => key.startsWith('esims/') && key.includes(`/dt=${day}/`);
const staged = async (): Promise<string[]> => Object.keys(await objects()).filter((key) => key.startsWith('esims/_runs/'));

/** The day's data files are exactly its manifest's, with their SHA-256. */
async function dayMatchesManifest(day: string): Promise<string> {
  const published = await manifest(day);
  const all = await objects();
  const data = Object.fromEntries(Object.entries(all).filter(([key]) => dayKeys(day)(key) && !key.includes('/manifests/')));
  expect(data).toEqual(Object.fromEntries([...published.files, ...published.changes.files].map((file) => [file.key, file.sha256])));
  return published.run_id;
}

describe('the state machine under faults', () => {
  it('keeps the day exactly as it was when Publish fails through its own restore and S3 is healthy again for Clean up', async () => {
    const day = '2026-11-24';
    await execute({ snapshotDate: day, formats: ['ndjson', 'csv', 'parquet'] }, 'earlier', []);
    const before = await objects();
    events.resetHistory();
    const calls: Call[] = [];
    const rerun = execute({ snapshotDate: day, formats: ['ndjson', 'csv'] }, 'rerun', calls, (step, count) => {
      // The new manifest, and every copy back from the backup, answer 503 for the whole of
      // Publish and its retries; S3 is itself again when Clean up runs.
      if (step === 'publish' && count === 0) {
        harness.s3.inject({
          kind: 'fail',
          when: (request) => request.method === 'PUT' && (request.key === `esims/manifests/dt=${day}/manifest.json` || Boolean(request.copyFrom?.includes('/backup/'))),
        });
      }
      if (step === 'cleanup') harness.s3.inject();
    });
    await expect(rerun).rejects.toMatchObject({ name: 'ExecutionError' });
    // Publish and its two retries failed; Clean up undid the publication.
    expect(calls.filter((call) => call.step === 'publish')).toHaveLength(3);
    expect(calls.at(-1)?.step).toBe('cleanup');
    expect(harness.s3.hits()).toBeGreaterThan(0);
    expect(await objects()).toEqual(before);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('publishes exactly the new snapshot when Publish dies after its first copy and is retried', async () => {
    const day = '2026-11-25';
    await execute({ snapshotDate: day, formats: ['ndjson', 'csv'] }, 'earlier', []);
    events.resetHistory();
    const calls: Call[] = [];
    let copied = false;
    const result = await execute({ snapshotDate: day, formats: ['ndjson', 'parquet'] }, 'dies', calls, (step, count) => {
      // After the first copy onto a day's key, nothing the first attempt sends reaches S3,
      // as if the process had been killed; its retry finds S3 healthy.
      if (step === 'publish' && count === 0) {
        harness.s3.inject({ kind: 'fail', when: (request) => copied || ((copied = Boolean(request.copyFrom?.includes('/files/'))), false) });
      }
      if (step === 'publish' && count === 1) harness.s3.inject();
    });
    expect(result).toMatchObject({ done: true, records: 2_400 });
    expect(calls.filter((call) => call.step === 'publish')).toHaveLength(2);
    const runId = await dayMatchesManifest(day);
    expect(new Set((await manifest(day)).files.map((file) => file.format))).toEqual(new Set(['ndjson', 'parquet']));
    expect(await staged()).toEqual([]);
    expect(announced().map((detail) => detail.run_id)).toEqual([runId]);
  });

  it('recognises a Begin of its own whose answer was lost, instead of waiting for its own lock', async () => {
    const calls: Call[] = [];
    const result = await execute({ snapshotDate: '2026-11-26' }, 'lost-begin', calls, undefined, (step, count) => step === 'begin' && count === 0);
    expect(result).toMatchObject({ done: true });
    expect(calls.filter((call) => call.step === 'begin')).toHaveLength(2);
    await dayMatchesManifest('2026-11-26');
    expect(await staged()).toEqual([]);
  });

  it('succeeds when EventBridge refuses every event, keeps the announcement, and the next run sends it', async () => {
    events.reset();
    events.on(PutEventsCommand).rejects(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }));
    const calls: Call[] = [];
    const result = await execute({ snapshotDate: '2026-11-27' }, 'bus-down', calls);
    expect(result).toMatchObject({ done: true, announced: { announced: 0, pending: true } });
    // Announce, its four retries, then the last try that reports instead of failing.
    expect(calls.map((call) => call.step).slice(-7)).toEqual(['publish', ...Array<string>(6).fill('announce')]);
    const first = await dayMatchesManifest('2026-11-27');
    expect(await staged()).toEqual([expect.stringMatching(new RegExp(`^esims/_runs/outbox/\\d{4}-\\d{2}-\\d{2}T\\d{9}Z-2026-11-27-${first}\\.json$`))]);

    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    await execute({ snapshotDate: '2026-11-28' }, 'bus-up', []);
    const second = await dayMatchesManifest('2026-11-28');
    expect(announced().map((detail) => detail.run_id)).toEqual([first, second]);
    expect(await staged()).toEqual([]);
  });
});
