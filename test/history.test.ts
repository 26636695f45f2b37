/**
 * docs/change-sets.md's queries, run as printed in DuckDB after docs/esim-history.sql, over the files of three daily
 * snapshots of an evolving sandbox inventory, with the history view built from the same SQL the
 * Glue view holds (lib/history.ts); the answers are checked against the sandboxes' own listings.
 * Then a history over gaps, a day without NDJSON (so without change sets), a rerun and a
 * backfill, checked eSIM by eSIM and day by day against what each day's sandbox served.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FolderDestination } from '../lambda/core/destinations';
import { runExport } from '../lambda/core/run/lifecycle';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { HISTORY_VIEW, historySql, SNAPSHOTS_TABLE } from '../lib/history';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { literal, query, type Row } from './duckdb';
import { FAST_TUNING, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';

const DAYS = ['2026-11-26', '2026-11-27', '2026-11-28'];
let sandboxes: Sandbox[];
let out: string;
const manifests: Manifest[] = [];

beforeAll(async () => {
  sandboxes = await Promise.all(DAYS.map((_, day) => startSandbox({ size: 3_000, shape: 'mixed', day })));
  out = path.join(await tempDir(), 'exports');
  for (const [i, day] of DAYS.entries()) {
    manifests.push(
      await runExport({
        settings: { ...settingsFor(sandboxes[i]!.apiBaseUrl), snapshotDate: day },
        destination: new FolderDestination(out),
        credentials: SANDBOX_CREDENTIALS,
        credentialsSource: 'the test credentials',
        tuning: FAST_TUNING,
      }),
    );
  }
}, 60_000);
afterAll(async () => {
  await Promise.all(sandboxes.map((sandbox) => sandbox.close()));
  await removeDir(path.dirname(out));
});

/** The snapshot table and the history view over the Parquet files under `folder`, as DuckDB views. */
const historyViews = (folder: string): string =>
  `CREATE VIEW ${SNAPSHOTS_TABLE} AS SELECT * FROM read_parquet(${literal(path.join(folder, 'parquet/*/*.parquet'))}, hive_partitioning = true);\n` +
  `CREATE VIEW ${HISTORY_VIEW} AS ${historySql(SNAPSHOTS_TABLE)};\n`;

/** docs/change-sets.md's queries as printed, after docs/esim-history.sql, in DuckDB started in the folder holding `exports/`. */
async function pageQueries(): Promise<string[]> {
  const page = await readFile(path.join(__dirname, '..', 'docs', 'change-sets.md'), 'utf8');
  const block = /```sql\n(-- what changed on the newest day[\s\S]*?)```/.exec(page)![1]!;
  const views = `SET file_search_path = ${literal(path.dirname(out))};\n${await readFile(path.join(__dirname, '..', 'docs', 'esim-history.sql'), 'utf8')}\n`;
  return block
    .replaceAll('esim_export.', '')
    .split(/;\s*\n/)
    .map((statement) => statement.trim())
    .filter(Boolean)
    .map((statement) => `${views}${statement}`);
}

const day = (value: unknown): string | null => (value === null ? null : value instanceof Date ? value.toISOString().slice(0, 10) : String(value));
const statuses = (i: number): Map<string, string> =>
  new Map(sandboxes[i]!.listing().map((text) => JSON.parse(text) as { iccid: string; sim_status: string }).map((item) => [item.iccid, item.sim_status]));

it('answers what changed on the newest day as the manifest counts it', async () => {
  const [onDay] = await pageQueries();
  const rows = await query(onDay!);
  const changes = manifests[2]!.changes;
  expect(Object.fromEntries(rows.map((row) => [row.change, Number(row.esims)]))).toEqual(
    Object.fromEntries(Object.entries({ added: changes.added, changed: changes.changed, removed: changes.removed }).filter(([, n]) => n > 0)),
  );
});

it('lists every status transition, from the history view', async () => {
  const [, transitions] = await pageQueries();
  const rows = (await query(transitions!)).map((row: Row) => [row.iccid, row.was, row.became, day(row.day)]);
  const expected: unknown[][] = [];
  for (let i = 1; i < DAYS.length; i++) {
    const [before, after] = [statuses(i - 1), statuses(i)];
    for (const [iccid, status] of after) if (before.has(iccid) && before.get(iccid) !== status) expected.push([iccid, before.get(iccid), status, DAYS[i]]);
  }
  expect(expected.length).toBeGreaterThan(0);
  expect(rows).toEqual(expected.sort((a, b) => String(a[3]).localeCompare(String(b[3])) || String(a[0]).localeCompare(String(b[0]))));
});

it('gives the history of one ICCID, one row per version, the current one open', async () => {
  const [, , history] = await pageQueries();
  const rows = (await query(history!)).map((row: Row) => [day(row.valid_from), day(row.valid_to), row.sim_status]);
  // The truth: each eSIM's versions from the sandboxes' listings (a new version where its record
  // differs from the day before, or it was absent); the query's eSIM is the first with two or more.
  const listings = DAYS.map((_, i) => new Map(sandboxes[i]!.listing().map((text) => [(JSON.parse(text) as { iccid: string }).iccid, text])));
  const versions = new Map<string, Array<[string, string | null, string]>>();
  for (const iccid of [...new Set(listings.flatMap((listing) => [...listing.keys()]))].sort()) {
    const spans: Array<[string, string | null, string]> = [];
    DAYS.forEach((date, i) => {
      const text = listings[i]!.get(iccid);
      const open = spans.at(-1);
      if (open && open[1] === null && (text === undefined || text !== listings[i - 1]!.get(iccid))) open[1] = date;
      if (text !== undefined && (i === 0 || text !== listings[i - 1]!.get(iccid))) spans.push([date, null, (JSON.parse(text) as { sim_status: string }).sim_status]);
    });
    versions.set(iccid, spans);
  }
  const [, expected] = [...versions].find(([, spans]) => spans.length > 1)!;
  expect(rows).toEqual(expected);
});

describe('the history over gaps, a day without NDJSON, a rerun and a backfill', () => {
  // Day n of the sandbox's inventory is exported as 2026-12-0n, in this order.
  const plan: Array<{ day: number; formats?: Array<'ndjson' | 'csv' | 'parquet'>; note: string }> = [
    { day: 1, note: 'the first snapshot' },
    { day: 2, formats: ['csv', 'parquet'], note: 'a day without NDJSON: no change set today or tomorrow' },
    { day: 3, note: 'compared with a day without NDJSON: no change set' },
    { day: 6, note: 'after a gap of two days' },
    { day: 5, note: 'a backfill, between days already published' },
    { day: 6, note: 'a rerun of the newest day' },
  ];
  let folder: string;
  const apis = new Map<number, Sandbox>();

  beforeAll(async () => {
    folder = await tempDir();
    for (const day of new Set(plan.map((step) => step.day))) apis.set(day, await startSandbox({ size: 2_000, shape: 'mixed', day }));
    for (const step of plan) {
      await runExport({
        settings: { ...settingsFor(apis.get(step.day)!.apiBaseUrl), snapshotDate: `2026-12-0${step.day}`, ...(step.formats && { formats: step.formats }) },
        destination: new FolderDestination(folder),
        credentials: SANDBOX_CREDENTIALS,
        credentialsSource: 'the test credentials',
        tuning: FAST_TUNING,
      });
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all([...apis.values()].map((api) => api.close()));
    await removeDir(folder);
  });

  it('covers every eSIM on every snapshot day with the values that day served, and no day it was absent', async () => {
    const days = [...apis.keys()].sort();
    // The history, one row per version, laid over the snapshot days it covers.
    const versions = await query(`${historyViews(folder)} SELECT iccid, CAST(valid_from AS VARCHAR) AS valid_from, CAST(valid_to AS VARCHAR) AS valid_to, sim_status, modified_date FROM ${HISTORY_VIEW}`);
    const covered = new Map<string, string>();
    for (const version of versions) {
      for (const day of days) {
        const date = `2026-12-0${day}`;
        if (date < String(version.valid_from) || (version.valid_to !== null && date >= String(version.valid_to))) continue;
        const key = `${String(version.iccid)} ${date}`;
        expect(covered.has(key)).toBe(false); // one version at a time
        covered.set(key, `${String(version.sim_status)} ${version.modified_date === null ? null : String(version.modified_date)}`);
      }
    }
    // The truth: what each day's sandbox served, eSIM by eSIM.
    const served = new Map<string, string>();
    for (const day of days) {
      for (const text of apis.get(day)!.listing()) {
        const item = JSON.parse(text) as { iccid: string; sim_status: string; modified_date?: number };
        served.set(`${item.iccid} 2026-12-0${day}`, `${item.sim_status} ${item.modified_date ?? null}`);
      }
    }
    expect(served.size).toBe(days.length * 2_000);
    expect(covered).toEqual(served);
    // The sequence had what it is meant to test: change sets missing on the first three days, versions that changed.
    const manifests = await Promise.all(days.map(async (day) => JSON.parse(await readFile(path.join(folder, `manifests/dt=2026-12-0${day}/manifest.json`), 'utf8')) as Manifest));
    expect(manifests.map((manifest) => manifest.changes.skipped !== undefined)).toEqual([true, true, true, false, false]);
    expect(versions.length).toBeGreaterThan(2_000);
  });
});
