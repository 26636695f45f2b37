/**
 * Parquet: the CSV's columns, typed, for Athena, DuckDB, Spark and pandas. Strings for the
 * ICCID, status and names; 64-bit integers for ids, dates and `mapped_imsi`; `imsis` as a list
 * of `{sponsor_id, imsi}` structs; `extra`, the JSON text of fields neither item shape names;
 * each epoch time also as a UTC timestamp (`provisioned_at`, …: columns.ts has the rule).
 * Snappy inside the file. Rows are written in row groups as they come, so memory stays flat.
 *
 * The writer is hyparquet-writer, chosen by measurement against parquet-wasm (with
 * apache-arrow) and @dsnp/parquetjs: docs/design.md "The Parquet writer, chosen by measurement" has the table.
 *
 * A value that does not fit its column (a fraction in an id, text in a date, an integer beyond
 * 64 bits) is null there and counted in a warning naming an example ICCID; the NDJSON keeps it.
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet-writer';
import { isLosslessNumber } from 'lossless-json';
import { type Column, COLUMNS, type ColumnType, epochMillis } from '../columns';
import type { ApiRecord } from '../record';
import type { Encoder } from './encoder';

const string = (name: string, required = false): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  repetition_type: required ? 'REQUIRED' : 'OPTIONAL',
});
const int64 = (name: string): SchemaElement => ({ name, type: 'INT64', repetition_type: 'OPTIONAL' });

/** The schema of each column type; `imsis` is the standard three-level list, so every reader sees list<struct<sponsor_id, imsi>>. */
const SCHEMA_OF: Record<ColumnType, (column: Column) => SchemaElement[]> = {
  string: ({ name, required }) => [string(name, required)],
  int64: ({ name }) => [int64(name)],
  // A UTC instant in milliseconds: TIMESTAMP(isAdjustedToUTC, MILLIS), and the older
  // converted type for readers that know only that.
  timestamp: ({ name }) => [
    {
      name,
      type: 'INT64',
      converted_type: 'TIMESTAMP_MILLIS',
      logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      repetition_type: 'OPTIONAL',
    },
  ],
  imsis: ({ name }) => [
    { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
    int64('sponsor_id'),
    int64('imsi'),
  ],
};

/** Every column of the table (columns.ts), typed. */
export const PARQUET_COLUMNS: readonly string[] = COLUMNS.map((column) => column.name);

const schemaOf = (table: readonly Column[]): SchemaElement[] => [{ name: 'schema', num_children: table.length }, ...table.flatMap((column) => SCHEMA_OF[column.type](column))];

/** Marks a value that does not fit its column. */
const MISFIT = Symbol('misfit');
type Cell = string | bigint | null | Array<{ sponsor_id: bigint | null; imsi: bigint | null }>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInt64(value: unknown): bigint | null | typeof MISFIT {
  if (value === null || value === undefined) return null;
  let integer: bigint | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) integer = BigInt(value);
  else if (isLosslessNumber(value) && /^-?\d+$/.test(value.value)) integer = BigInt(value.value);
  return integer !== undefined && integer >= INT64_MIN && integer <= INT64_MAX ? integer : MISFIT;
}

function toText(value: unknown): string | null | typeof MISFIT {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' || isLosslessNumber(value) ? String(value) : MISFIT;
}

function imsiList(value: unknown): Cell | typeof MISFIT {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) return MISFIT;
  const list: Array<{ sponsor_id: bigint | null; imsi: bigint | null }> = [];
  for (const item of value) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return MISFIT;
    const sponsor = toInt64((item as { sponsor_id?: unknown }).sponsor_id);
    const imsi = toInt64((item as { imsi?: unknown }).imsi);
    if (sponsor === MISFIT || imsi === MISFIT) return MISFIT;
    list.push({ sponsor_id: sponsor, imsi });
  }
  return list;
}

function toTimestamp(value: unknown): bigint | null | typeof MISFIT {
  const millis = epochMillis(value);
  return millis === undefined ? MISFIT : millis;
}

/** Each column type's conversion of a value as the API sent it. */
const CONVERT: Record<ColumnType, (value: unknown) => Cell | typeof MISFIT> = { string: toText, int64: toInt64, imsis: imsiList, timestamp: toTimestamp };

/**
 * One record's cells in PARQUET_COLUMNS order; a value that does not fit is MISFIT (the
 * encoder stores null and counts it).
 */
function parquetRow(record: ApiRecord, table: readonly Column[] = COLUMNS): Array<Cell | typeof MISFIT> {
  return table.map((column) => CONVERT[column.type](column.value(record)));
}

/**
 * Rows a row group holds. Writing a row group makes garbage in proportion to it: in a
 * 100,000-eSIM export, peak RSS was 167 MB with 5,000 rows, 184 MB with 10,000 and 245 MB with
 * 50,000 (143 MB without Parquet). 10,000 rows is about 300 KB of Parquet, 100 row groups per
 * million eSIMs: small for Athena's taste, harmless at these sizes.
 */
const ROW_GROUP_ROWS = 10_000;

/** A Parquet file, encoded a row group at a time. */
export function parquetEncoder(table: readonly Column[] = COLUMNS): Encoder {
  const names = table.map((column) => column.name);
  const bytes = new ByteWriter();
  const writer = new ParquetWriter({ writer: bytes, schema: schemaOf(table), codec: 'SNAPPY', createdBy: 'esim-export' });
  const columns: Cell[][] = names.map(() => []);
  const misfits = new Map<string, { count: number; iccid: string }>();

  /** The bytes written since the last call, handed over (the writer's buffer is reused). */
  const take = (): Uint8Array => {
    const out = new Uint8Array(bytes.buffer, 0, bytes.index).slice();
    bytes.index = 0;
    return out;
  };
  const writeRowGroup = (): void => {
    if (columns[0]!.length === 0) return;
    const columnData = names.map((name, i) => ({ name, data: columns[i]! }));
    void writer.write({ columnData, rowGroupSize: columns[0]!.length });
    for (const column of columns) column.length = 0;
  };

  return {
    format: 'parquet',
    contentType: 'application/vnd.apache.parquet',
    header: '',
    encode(records) {
      for (const record of records) {
        parquetRow(record, table).forEach((cell, i) => {
          if (cell !== MISFIT) return void columns[i]!.push(cell);
          columns[i]!.push(null);
          const seen = misfits.get(names[i]!) ?? { count: 0, iccid: record.iccid };
          seen.count++;
          misfits.set(names[i]!, seen);
        });
        if (columns[0]!.length >= ROW_GROUP_ROWS) writeRowGroup();
      }
      return take();
    },
    end() {
      writeRowGroup();
      void writer.finish();
      return take();
    },
    warnings() {
      if (misfits.size === 0) return [];
      const count = [...misfits.values()].reduce((sum, m) => sum + m.count, 0);
      const where = [...misfits].map(([column, m]) => `${column} ${m.count}, e.g. ICCID ${m.iccid}`).join('; ');
      return [`parquet: ${count} value(s) did not fit their column and are null there (${where}); the NDJSON keeps them exactly.`];
    },
  };
}
