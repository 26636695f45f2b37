/**
 * The scope lock and the checkpoint, in a real folder: one run at a time, a dead run's lock and
 * staging cleared by the next, a run that lost its lock told so, the ICCIDs kept exactly.
 */
import { FolderDestination } from '../lambda/core/destinations';
import { START } from '../lambda/core/harvest/harvest';
import { IccidSet } from '../lambda/core/harvest/iccid-set';
import { runsLayout } from '../lambda/core/snapshot/layout';
import { LOCK_TTL_MS } from '../lambda/core/run/lock';
import { beginRun } from '../lambda/core/run/lifecycle';
import { type RunCheckpoint, RunStore } from '../lambda/core/run/store';
import { defaultSettings } from '../lambda/core/settings';
import { fingerprint, removeDir, tempDir } from './helpers';

let out: string;
beforeEach(async () => {
  out = await tempDir();
});
afterEach(async () => {
  await removeDir(out);
});

const store = (id: string): RunStore => new RunStore(new FolderDestination(out), runsLayout(''), id);
const A = '00000000-0000-4000-8000-00000000000a';

const checkpointOf = (runId: string, invocations: number): RunCheckpoint => ({
  schema_version: 1,
  run_id: runId,
  settings: defaultSettings('2026-11-27'),
  started_at: '2026-11-27T02:00:00.000Z',
  invocations,
  harvest: { ...START, pageSize: 1000, offset: 3000, records: 3 },
  files: [],
  by_status: { IN_SERVICE: 3 },
  requests: 4,
  retries: 0,
});
const B = '00000000-0000-4000-8000-00000000000b';

describe('RunStore', () => {
  it('names a damaged checkpoint, and what to do, instead of failing inside JavaScript', async () => {
    await new FolderDestination(out).putDocument(`_runs/${A}/checkpoint.json`, 'null\n');
    await expect(store(A).load()).rejects.toMatchObject({
      code: 'DESTINATION',
      message: expect.stringMatching(new RegExp(`^the checkpoint _runs/${A}/checkpoint\\.json of run ${A} in .* is damaged \\(.*\\); this run cannot go on: start the export again`)),
    });
  });

  it('lets one run hold a scope, and names it to the next', async () => {
    await store(A).lock.acquire('execution one');
    await expect(store(B).lock.acquire('execution two')).rejects.toMatchObject({
      code: 'BUSY',
      message: expect.stringMatching(/^another export of the full snapshot is running \(run 00000000-0000-4000-8000-00000000000a, execution one, since /),
    });
  });

  it('takes over a lock that expired, and removes what its run staged', async () => {
    const hours = (n: number): Date => new Date(Date.now() - n * 3_600_000);
    await store(A).lock.acquire('a Lambda request that died', { now: hours(2) });
    // What it staged before it died (a save would have renewed its lock).
    await new FolderDestination(out).putDocument(`_runs/${A}/checkpoint.json`, '{}');
    expect(Object.keys(await fingerprint(out))).toContain(`_runs/${A}/checkpoint.json`);
    await beginRun(new FolderDestination(out), defaultSettings('2026-11-27'), 'execution two');
    const left = Object.keys(await fingerprint(out));
    expect(left.filter((key) => key.includes(A))).toEqual([]);
    expect(left).toContain('_runs/lock.json');
  });

  it('tells a run that lost its lock, so it publishes nothing', async () => {
    await store(A).lock.acquire('slow run', { now: new Date(Date.now() - LOCK_TTL_MS - 1000) });
    await store(B).lock.acquire('next run');
    await expect(store(A).lock.renew()).rejects.toMatchObject({ code: 'LOCK_LOST', name: 'LockLostError', message: `run ${A} lost the lock of the full snapshot (run ${B} holds it); it publishes nothing more. Whoever holds the lock now finishes or undoes what it left.` });
    await expect(store(B).lock.renew()).resolves.toBeUndefined();
  });

  it('keeps the last saved checkpoint and ICCID set together when an invocation dies between the two', async () => {
    const first = new IccidSet();
    first.mark('89148000000000000001', 1);
    await store(A).lock.acquire('a run');
    await store(A).save(checkpointOf(A, 1), first);
    // The next invocation saved its (larger) set, then died before its checkpoint.
    const second = new IccidSet();
    second.mark('89148000000000000001', 1);
    second.mark('89148000000000000002', 1);
    await new FolderDestination(out).putDocument(`_runs/${A}/iccids-00002.bin`, second.toBuffer());
    const { checkpoint, seen } = await store(A).load();
    expect(checkpoint.invocations).toBe(1);
    // A retry starts from invocation 1's set: the eSIM the dead invocation read is not "seen".
    expect(seen.mark('89148000000000000002', 1)).toBe('new');
  });

  it('saves and loads a checkpoint with the ICCIDs seen, exactly', async () => {
    const seen = new IccidSet();
    for (const iccid of ['89148000000000000001', '8914800000000000002', 'not-digits-01']) seen.mark(iccid, 1);
    const checkpoint = checkpointOf(A, 2);
    await store(A).lock.acquire('a run');
    await store(A).save(checkpoint, seen);
    const loaded = await store(A).load();
    expect(loaded.checkpoint).toEqual(checkpoint);
    expect(loaded.seen.mark('89148000000000000001', 2)).toBe('seen-in-earlier-pass');
    expect(loaded.seen.mark('not-digits-01', 2)).toBe('seen-in-earlier-pass');
    expect(loaded.seen.mark('89148000000000000009', 2)).toBe('new');
    expect(loaded.seen.size).toBe(4);
  });
});
