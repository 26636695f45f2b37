/**
 * README's change-set and history queries, run in DuckDB over the files of three daily
 * snapshots of an evolving sandbox inventory, with the history view built from the same SQL the
 * Glue view holds (lib/history.ts); the answers are checked against the sandboxes' own listings.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FolderDestination } from '../lambda/core/destinations';
import { runExport } from '../lambda/core/run/lifecycle';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { CHANGES_TABLE, HISTORY_VIEW, historySql } from '../lib/history';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { literal, query, type Row } from './duckdb';
import { FAST_TUNING, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';

const DAYS = ['2026-11-26', '2026-11-27', '2026-11-28'];
let sandboxes: Sandbox[];
let out: string;
const manifests: Manifest[] = [];

beforeAll(async () => {
  sandboxes = await Promise.all(DAYS.map((_, day) => startSandbox({ size: 3_000, shape: 'mixed', day })));
  out = await tempDir();
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
  await removeDir(out);
});

/** README's queries, with the Athena names turned into DuckDB views over the files. */
async function readmeQueries(): Promise<string[]> {
  const readme = await readFile(path.join(__dirname, '..', 'README.md'), 'utf8');
  const block = /```sql\n(-- what changed on a day[\s\S]*?)```/.exec(readme)![1]!;
  const views =
    `CREATE VIEW ${CHANGES_TABLE} AS SELECT * FROM read_parquet(${literal(path.join(out, 'changes/parquet/*/*.parquet'))}, hive_partitioning = true);\n` +
    `CREATE VIEW ${HISTORY_VIEW} AS ${historySql(CHANGES_TABLE)};\n`;
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

it('answers what changed on a day as the manifest counts it', async () => {
  const [onDay] = await readmeQueries();
  const rows = await query(onDay!);
  const changes = manifests[2]!.changes;
  expect(Object.fromEntries(rows.map((row) => [row.change, Number(row.esims)]))).toEqual(
    Object.fromEntries(Object.entries({ added: changes.added, changed: changes.changed, removed: changes.removed }).filter(([, n]) => n > 0)),
  );
});

it('lists every status transition of the week, from the history view', async () => {
  const [, transitions] = await readmeQueries();
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
  const [, , history] = await readmeQueries();
  const rows = (await query(history!)).map((row: Row) => [day(row.valid_from), day(row.valid_to), row.sim_status]);
  const iccid = /WHERE iccid = '(\d+)'/.exec(history!)![1]!;
  const seen = DAYS.map((_, i) => statuses(i).get(iccid));
  expect(rows).toEqual([
    [DAYS[0], DAYS[1], seen[0]],
    [DAYS[1], null, seen[1]],
  ]);
  expect(seen[0]).not.toBe(seen[1]);
});
