/**
 * The change sets as a table, and the eSIM history as a view: one row per version of an eSIM,
 * `valid_from` the first snapshot day it had those values, `valid_to` the first snapshot day it
 * had others or was gone (null while current): slowly changing dimension type 2, like dlt's
 * scd2, but from files, with no database.
 *
 * The history is built from the daily Parquet snapshots themselves, not from the change sets: a
 * day without a change set (a previous snapshot that could not be compared with, change sets
 * turned off), a skipped day or a backfill never make it wrong. A version spans consecutive
 * snapshot days with equal values; a day with no snapshot is a gap the version spans, and an
 * eSIM missing from a snapshot ends its version that day. The SQL runs as it is in Athena (the
 * Glue view) and in DuckDB (test/history.test.ts, and the SQL file docs/ ships for DuckDB).
 */
import type { CfnTable } from 'aws-cdk-lib/aws-glue';
import { CHANGE_COLUMNS, COLUMNS, HIVE_TYPES } from '../lambda/core/columns';

export const CHANGES_TABLE = 'esims_changes';
export const HISTORY_VIEW = 'esim_history';
/** The typed snapshot table the history is built from. */
export const SNAPSHOTS_TABLE = 'esims_parquet';

export const CHANGE_HIVE_COLUMNS = CHANGE_COLUMNS.map(({ name, type }) => ({ name, type: HIVE_TYPES[type] }));

/** The history's SQL over a table (or view) of daily snapshot rows with a `dt` column. */
export function historySql(snapshots: string): string {
  const values = COLUMNS.map((column) => column.name).filter((name) => name !== 'iccid');
  const byEsim = 'OVER (PARTITION BY iccid ORDER BY day_no)';
  // A row continues the version of the day before when the eSIM was in that snapshot with equal values.
  const same = values.map((name) => `NOT (${name} IS DISTINCT FROM lag(${name}) ${byEsim})`).join(' AND ');
  return (
    `WITH days AS (SELECT dt, row_number() OVER (ORDER BY dt) AS day_no FROM (SELECT DISTINCT dt FROM ${snapshots}) snapshot_days), ` +
    `daily AS (SELECT s.*, days.day_no FROM ${snapshots} s JOIN days ON s.dt = days.dt), ` +
    `marked AS (SELECT *, CASE WHEN lag(day_no) ${byEsim} = day_no - 1 AND ${same} THEN 0 ELSE 1 END AS starts FROM daily), ` +
    `numbered AS (SELECT *, sum(starts) OVER (PARTITION BY iccid ORDER BY day_no ROWS UNBOUNDED PRECEDING) AS version FROM marked), ` +
    `spans AS (SELECT iccid, version, min(day_no) AS first_no, max(day_no) AS last_no FROM numbered GROUP BY iccid, version) ` +
    `SELECT n.iccid, n.dt AS valid_from, ended.dt AS valid_to, ${values.map((name) => `n.${name}`).join(', ')} ` +
    `FROM numbered n JOIN spans ON spans.iccid = n.iccid AND spans.version = n.version AND spans.first_no = n.day_no ` +
    `LEFT JOIN days ended ON ended.day_no = spans.last_no + 1`
  );
}

/** Athena's names for the Hive types, as a Presto view's column list wants them. */
const prestoType = (hive: string): string =>
  hive === 'string' ? 'varchar' : hive === 'timestamp' ? 'timestamp(3)' : hive.replace(/array<struct<(.*)>>/, (_, fields: string) => `array(row(${fields.replaceAll(':', ' ')}))`);

/** The Glue table input of the history view (a Presto view, as Athena stores its own). */
export function historyView(database: string, snapshots = SNAPSHOTS_TABLE): CfnTable.TableInputProperty {
  const columns = [
    { name: 'iccid', type: 'string' },
    { name: 'valid_from', type: 'string' },
    { name: 'valid_to', type: 'string' },
    ...COLUMNS.filter((column) => column.name !== 'iccid').map(({ name, type }) => ({ name, type: HIVE_TYPES[type] })),
  ];
  const view = {
    originalSql: historySql(`${database}.${snapshots}`),
    catalog: 'awsdatacatalog',
    schema: database,
    columns: columns.map(({ name, type }) => ({ name, type: prestoType(type) })),
  };
  return {
    name: HISTORY_VIEW,
    description: 'One row per eSIM version, from the daily Parquet snapshots: valid_from, valid_to (null while current), then the snapshot columns.',
    tableType: 'VIRTUAL_VIEW',
    parameters: { presto_view: 'true', comment: 'Presto View' },
    viewOriginalText: `/* Presto View: ${Buffer.from(JSON.stringify(view)).toString('base64')} */`,
    viewExpandedText: '/* Presto View */',
    storageDescriptor: { columns, serdeInfo: {} },
  };
}
