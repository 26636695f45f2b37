/**
 * The change sets as a table, and the eSIM history as a view over it: one row per version of an
 * eSIM, `valid_from` the day it appeared or changed, `valid_to` the day of its next change or
 * removal (null while current): slowly changing dimension type 2, like dlt's scd2, but from
 * files, with no database. The SQL runs as it is in Athena (the Glue view) and in DuckDB
 * (test/history.test.ts).
 */
import type { CfnTable } from 'aws-cdk-lib/aws-glue';
import { COLUMNS, HIVE_TYPES } from '../lambda/core/columns';
import { CHANGE_COLUMNS } from '../lambda/core/changes/change-set';

export const CHANGES_TABLE = 'esims_changes';
export const HISTORY_VIEW = 'esim_history';

export const CHANGE_HIVE_COLUMNS = CHANGE_COLUMNS.map(({ name, type }) => ({ name, type: HIVE_TYPES[type] }));

/** The history's SQL over a table (or view) of change rows with a `dt` column. */
export function historySql(changes: string): string {
  const columns = COLUMNS.map((column) => column.name).join(', ');
  return (
    `SELECT iccid, valid_from, valid_to, ${columns.replace(/^iccid, /, '')} FROM (` +
    `SELECT *, dt AS valid_from, lead(dt) OVER (PARTITION BY iccid ORDER BY dt) AS valid_to FROM ${changes}` +
    `) versions WHERE change <> 'removed'`
  );
}

/** Athena's names for the Hive types, as a Presto view's column list wants them. */
const prestoType = (hive: string): string =>
  hive === 'string' ? 'varchar' : hive === 'timestamp' ? 'timestamp(3)' : hive.replace(/array<struct<(.*)>>/, (_, fields: string) => `array(row(${fields.replaceAll(':', ' ')}))`);

/** The Glue table input of the history view (a Presto view, as Athena stores its own). */
export function historyView(database: string): CfnTable.TableInputProperty {
  const columns = [
    { name: 'iccid', type: 'string' },
    { name: 'valid_from', type: 'string' },
    { name: 'valid_to', type: 'string' },
    ...COLUMNS.filter((column) => column.name !== 'iccid').map(({ name, type }) => ({ name, type: HIVE_TYPES[type] })),
  ];
  const view = {
    originalSql: historySql(`${database}.${CHANGES_TABLE}`),
    catalog: 'awsdatacatalog',
    schema: database,
    columns: columns.map(({ name, type }) => ({ name, type: prestoType(type) })),
  };
  return {
    name: HISTORY_VIEW,
    description: 'One row per eSIM version, from the change sets: valid_from, valid_to (null while current), then the snapshot columns.',
    tableType: 'VIRTUAL_VIEW',
    parameters: { presto_view: 'true', comment: 'Presto View' },
    viewOriginalText: `/* Presto View: ${Buffer.from(JSON.stringify(view)).toString('base64')} */`,
    viewExpandedText: '/* Presto View */',
    storageDescriptor: { columns, serdeInfo: {} },
  };
}
