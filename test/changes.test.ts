/**
 * Change sets: every eSIM added, changed or removed since the scope's previous snapshot is in
 * the day's change set exactly once, in every format, and nothing else is; computed against the
 * newest snapshot before the day, replaced by a rerun, left alone by a failed rerun and by a
 * backfill. The sandbox evolves its inventory by day (`day`); the truth here is computed from
 * the two sandboxes' own listings.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as losslessParse } from 'lossless-json';
import { canonicalJson, changedFields } from '../lambda/core/changes/compare';
import { diffSnapshots } from '../lambda/core/changes/diff';
import { KeyCollisionError, settle } from '../lambda/core/changes/entries';
import { type Destination, FolderDestination } from '../lambda/core/destinations';
import type { ApiRecord } from '../lambda/core/record';
import type { ExportSettings } from '../lambda/core/settings';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { literal, query } from './duckdb';
import { fingerprint, removeDir, sandboxExport, tempDir } from './helpers';

let base: Sandbox;
let nextDay: Sandbox;
let dayAfter: Sandbox;
let out: string;

beforeAll(async () => {
  const evolved = (day: number): Promise<Sandbox> => startSandbox({ size: 3_000, shape: 'mixed', bigNumbers: true, day });
  [base, nextDay, dayAfter] = await Promise.all([evolved(0), evolved(1), evolved(2)]);
});
afterAll(async () => {
  await Promise.all([base.close(), nextDay.close(), dayAfter.close()]);
});
beforeEach(async () => {
  out = await tempDir();
});
afterEach(async () => {
  await removeDir(out);
});

const exportFrom = (api: Sandbox, snapshotDate: string, settings: Partial<ExportSettings> = {}, destination: Destination = new FolderDestination(out)): Promise<Manifest> =>
  sandboxExport(api.apiBaseUrl, destination, { snapshotDate, ...settings });

/** What changed between two listings, by ICCID: the test's own reckoning. */
function truth(before: string[], after: string[]): Map<string, { change: string; fields: string[] }> {
  const parse = (text: string) => losslessParse(text) as Record<string, unknown> & { iccid: string };
  const old = new Map(before.map((text) => [parse(text).iccid, parse(text)]));
  const expected = new Map<string, { change: string; fields: string[] }>();
  for (const text of after) {
    const item = parse(text);
    const earlier = old.get(item.iccid);
    old.delete(item.iccid);
    if (!earlier) expected.set(item.iccid, { change: 'added', fields: [] });
    else {
      const fields = [...new Set([...Object.keys(item), ...Object.keys(earlier)])].filter(
        (key) => JSON.stringify(item[key] === undefined ? null : String(JSON.stringify(item[key]))) !== JSON.stringify(earlier[key] === undefined ? null : String(JSON.stringify(earlier[key]))) || !(key in item) || !(key in earlier),
      );
      if (fields.length > 0) expected.set(item.iccid, { change: 'changed', fields: fields.sort() });
    }
  }
  for (const iccid of old.keys()) expected.set(iccid, { change: 'removed', fields: [] });
  return expected;
}

/** The change set's rows in each format, by ICCID. */
async function changeRows(manifest: Manifest): Promise<Record<string, Map<string, { change: string; fields: string[] }>>> {
  const file = (format: string) => path.join(out, manifest.changes.files.find((f) => f.format === format)!.key);
  const ndjson = gunzipSync(await readFile(file('ndjson'))).toString('utf8').trim().split('\n').filter(Boolean)
    .map((line) => JSON.parse(line) as { change: string; changed_fields: string[]; esim: { iccid: string } });
  const csv = parseCsv(gunzipSync(await readFile(file('csv'))).toString('utf8'), { columns: true }) as Array<{ change: string; changed_fields: string; iccid: string }>;
  const parquet = await query(`SELECT change, changed_fields, iccid FROM read_parquet(${literal(file('parquet'))})`);
  const byIccid = <T>(rows: T[], iccid: (row: T) => string, change: (row: T) => string, fields: (row: T) => string[]) => {
    const map = new Map<string, { change: string; fields: string[] }>();
    for (const row of rows) {
      expect(map.has(iccid(row))).toBe(false); // each eSIM once
      map.set(iccid(row), { change: change(row), fields: fields(row).sort() });
    }
    return map;
  };
  const split = (text: unknown): string[] => (typeof text === 'string' && text ? text.split(',') : []);
  return {
    ndjson: byIccid(ndjson, (row) => row.esim.iccid, (row) => row.change, (row) => row.changed_fields),
    csv: byIccid(csv, (row) => row.iccid, (row) => row.change, (row) => split(row.changed_fields)),
    parquet: byIccid(parquet, (row) => String(row.iccid), (row) => String(row.change), (row) => split(row.changed_fields)),
  };
}

describe('comparing records', () => {
  it('ignores key order, sees a value, a new field and a field gone', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
    const before = { iccid: '1', sim_status: 'IN_SERVICE', group: { id: 1, name: 'a' }, gone: 1 } as ApiRecord;
    expect(changedFields(before, { iccid: '1', group: { name: 'a', id: 1 }, sim_status: 'IN_SERVICE', gone: 1 } as ApiRecord)).toEqual([]);
    expect(changedFields(before, { iccid: '1', sim_status: 'TERMINATED', group: { id: 1, name: 'a' }, eid: 'x' } as ApiRecord)).toEqual(['sim_status', 'eid', 'gone']);
  });

  it('sees any field name as data: __proto__ and constructor appearing, changing or going are changes', () => {
    const before = JSON.parse('{"iccid":"1","constructor":1}') as ApiRecord;
    expect(changedFields(before, JSON.parse('{"iccid":"1","constructor":1,"__proto__":{}}') as ApiRecord)).toEqual(['__proto__']);
    expect(changedFields(JSON.parse('{"iccid":"1","__proto__":{"a":1}}') as ApiRecord, JSON.parse('{"iccid":"1","__proto__":{"a":2}}') as ApiRecord)).toEqual(['__proto__']);
    expect(changedFields(before, JSON.parse('{"iccid":"1"}') as ApiRecord)).toEqual(['constructor']);
  });

  /** The changes between two sides given as lines, each as "kind iccid fields", sorted. */
  async function changesBetween(before: string[], after: string[]): Promise<string[]> {
    const lines = (texts: string[]) => async function* () {
      yield Buffer.from(`${texts.join('\n')}\n`);
    };
    const found: string[] = [];
    for await (const change of diffSnapshots(lines(before), lines(after), { expected: before.length, workDir: out })) found.push(`${change.kind} ${change.record.iccid} ${change.fields.join(',')}`);
    return found.sort();
  }

  it('finds each eSIM by its ICCID wherever the field is in the line (read from the front when it is first, parsed when not)', async () => {
    const before = ['{"iccid":"1","s":"a"}', '{"s":"b","iccid":"2"}', '{"nested":{"iccid":"9"},"iccid":"3"}'];
    const after = ['{"s":"a","iccid":"1"}', '{"iccid":"2","s":"c"}', '{"iccid":"4"}'];
    expect(await changesBetween(before, after)).toEqual(['added 4 ', 'changed 2 s', 'removed 3 ']);
  });

  it('reads an ICCID with an escape or outside ASCII the same from the front of a line as parsed', async () => {
    const before = ['{"iccid":"8\\"1","s":"a"}', '{"iccid":"89ü","s":"a"}', '{"iccid":"7\\u0041","s":"a"}'];
    const after = ['{"s":"a","iccid":"8\\"1"}', '{"s":"b","iccid":"89\\u00fc"}', '{"iccid":"7A","s":"a"}'];
    expect(await changesBetween(before, after)).toEqual(['changed 89ü s']);
  });

  it('tells apart two ICCIDs that share a comparison key, within a side and across the sides', () => {
    // Entries: key (2 words), digest (2), ordinal.
    const entries = (...rows: number[][]) => Uint32Array.from(rows.flat());
    const found = () => ({ previous: new Map<number, number>(), next: new Map<number, number>() });
    expect(() => settle(entries([1, 2, 0, 0, 0], [1, 2, 5, 5, 1]), entries(), found())).toThrow(KeyCollisionError);
    expect(() => settle(entries([1, 2, 0, 0, 0]), entries([1, 2, 0, 0, 0], [1, 2, 0, 0, 1]), found())).toThrow(KeyCollisionError);
    // Across the sides, a removed eSIM and an added one with one key look like a change: pass 2 reads their ICCIDs.
    const across = found();
    settle(entries([1, 2, 7, 7, 0], [3, 4, 0, 0, 1]), entries([1, 2, 8, 8, 4], [3, 4, 0, 0, 0]), across);
    expect(across).toEqual({ previous: new Map([[0, 4]]), next: new Map([[4, 0]]) });
  });

  it('finds the same changes whether the snapshots are compared whole or spread over buckets', async () => {
    // In chunks that end at line ends, as lines.ts hands them on.
    const lines = (api: Sandbox) => async function* () {
      const listing = api.listing();
      for (let i = 0; i < listing.length; i += 777) yield Buffer.from(`${listing.slice(i, i + 777).join('\n')}\n`);
    };
    const collect = async (bucketRecords: number) => {
      const found: string[] = [];
      for await (const change of diffSnapshots(lines(base), lines(nextDay), { expected: 3_000, workDir: out, bucketRecords })) found.push(`${change.kind} ${change.record.iccid} ${change.fields.join(',')}`);
      return found.sort();
    };
    const whole = await collect(100_000);
    expect(await collect(250)).toEqual(whole);
    expect(whole.length).toBeGreaterThan(50);
  });
});

describe('the change set of a day', () => {
  it('holds every added, changed and removed eSIM exactly once, in every format, and nothing else', async () => {
    const first = await exportFrom(base, '2026-11-26');
    // The first snapshot: nothing to compare with, so no change set (the snapshot is the whole inventory).
    expect(first.changes).toMatchObject({ previous: null, added: 0, changed: 0, removed: 0, files: [], skipped: 'the first snapshot of this scope: there is nothing to compare it with' });
    expect(Object.keys(await fingerprint(out)).filter((key) => key.startsWith('changes/'))).toEqual([]);
    const manifest = await exportFrom(nextDay, '2026-11-27');
    const expected = truth(base.listing(), nextDay.listing());
    const count = (kind: string) => [...expected.values()].filter((row) => row.change === kind).length;
    expect(manifest.changes).toMatchObject({ previous: { snapshot_date: '2026-11-26', run_id: first.run_id }, added: count('added'), changed: count('changed'), removed: count('removed') });
    expect(count('added')).toBeGreaterThan(0);
    expect(count('changed')).toBeGreaterThan(0);
    expect(count('removed')).toBeGreaterThan(0);
    const rows = await changeRows(manifest);
    for (const format of ['ndjson', 'csv', 'parquet']) expect(rows[format]).toEqual(expected);
    // The day's change files are exactly the manifest's.
    for (const file of manifest.changes.files) expect((await fingerprint(out))[file.key]).toBe(file.sha256);
  });

  it('is replaced by a rerun, left alone by a failed rerun, and not rewritten by a backfill of an earlier day', async () => {
    await exportFrom(base, '2026-11-26');
    const day27 = await exportFrom(nextDay, '2026-11-27');
    const rerun = await exportFrom(nextDay, '2026-11-27');
    expect(rerun.changes).toMatchObject({ added: day27.changes.added, changed: day27.changes.changed, removed: day27.changes.removed });
    const before = await fingerprint(out);
    // A failed rerun (the shrink guard refuses it) leaves the day and its change set as they were.
    const shrunk = await startSandbox({ size: 2_000, shape: 'mixed', bigNumbers: true, day: 1 });
    try {
      await expect(exportFrom(shrunk, '2026-11-27')).rejects.toMatchObject({ code: 'SHRINK' });
    } finally {
      await shrunk.close();
    }
    expect(await fingerprint(out)).toEqual(before);
    // A backfill of the 25th (nothing before it to compare with: no change set) leaves the 27th's.
    const backfill = await exportFrom(dayAfter, '2026-11-25');
    expect(backfill.changes).toMatchObject({ previous: null, added: 0, changed: 0, removed: 0, files: [] });
    const after = await fingerprint(out);
    for (const key of Object.keys(before).filter((k) => k.includes('dt=2026-11-27'))) expect(after[key]).toBe(before[key]);
    // The 27th's manifest still names the run it was computed against.
    expect(JSON.parse(await readFile(path.join(out, 'manifests/dt=2026-11-27/manifest.json'), 'utf8'))).toMatchObject({ changes: { previous: { snapshot_date: '2026-11-26' } } });
  });

  it('says why there is none when the run writes no NDJSON', async () => {
    await exportFrom(base, '2026-11-26');
    const manifest = await exportFrom(nextDay, '2026-11-27', { formats: ['csv'] });
    expect(manifest.changes).toMatchObject({ skipped: 'this run writes no NDJSON, which the change set is computed from', files: [] });
  });
});

describe('turning change sets off', () => {
  it('writes none when changeSet is false, and says so', async () => {
    await exportFrom(base, '2026-11-26', { changeSet: false });
    const manifest = await exportFrom(nextDay, '2026-11-27', { changeSet: false });
    expect(manifest.changes).toMatchObject({ skipped: 'change sets are off for this run (changeSet false)', files: [] });
    expect(Object.keys(await fingerprint(out)).some((key) => key.startsWith('changes/'))).toBe(false);
  });
});
