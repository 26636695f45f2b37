/**
 * The snapshot's columns: one table, derived from the record's fields (record.ts), that every
 * surface reads: the CSV header and row, the Parquet schema and row, and the Athena table.
 * Adding a field to RECORD_FIELDS adds its column everywhere.
 *
 *   the fields, in order (a reference as `_id` and `_name`)   CSV, Parquet, typed table
 *   extra: JSON text of the fields neither item shape names   CSV, Parquet, typed table
 *   provisioned_at, …: each epoch time as a UTC timestamp     Parquet, typed table
 */
import { isLosslessNumber } from 'lossless-json';
import { type ApiRecord, RECORD_FIELDS, toJsonText } from './record';

export type ColumnType = 'string' | 'int64' | 'imsis' | 'timestamp';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly required: boolean;
  /** In the CSV too; false for the typed-only columns (the timestamps: the CSV keeps the integers). */
  readonly csv: boolean;
  /** The record's value for this column, as the API sent it. */
  readonly value: (record: ApiRecord) => unknown;
}

/** `{id, name}` in the documented item shape; a plain id (and so no name) in the newer one. */
function referenceOf(value: unknown): { id: unknown; name: unknown } {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !isLosslessNumber(value)) {
    const { id, name } = value as { id?: unknown; name?: unknown };
    return { id, name };
  }
  return { id: value, name: undefined };
}

/** The fields the two item shapes name; any other goes to `extra`. */
const KNOWN_FIELDS = new Set<string>(RECORD_FIELDS.map((field) => field.name));

/** The JSON text of the fields neither item shape names, exactly as sent; null when there are none. */
function extraOf(record: ApiRecord): string | null {
  let extra: Record<string, unknown> | undefined;
  for (const key in record) {
    if (!KNOWN_FIELDS.has(key)) (extra ??= {})[key] = record[key];
  }
  return extra === undefined ? null : toJsonText(extra, record);
}

/** Every column, in order. */
export const COLUMNS: readonly Column[] = [
  ...RECORD_FIELDS.flatMap((field): Column[] => {
    const required = 'required' in field && field.required;
    if (field.type !== 'reference') return [{ name: field.name, type: field.type, required, csv: true, value: (record) => record[field.name] }];
    return [
      { name: `${field.name}_id`, type: 'int64', required, csv: true, value: (record) => referenceOf(record[field.name]).id },
      { name: `${field.name}_name`, type: 'string', required, csv: true, value: (record) => referenceOf(record[field.name]).name },
    ];
  }),
  { name: 'extra', type: 'string', required: false, csv: true, value: extraOf },
  ...RECORD_FIELDS.flatMap((field): Column[] =>
    'time' in field ? [{ name: field.time, type: 'timestamp', required: false, csv: false, value: (record) => record[field.name] }] : [],
  ),
];

/** A record's change, as the change set writes it beside the record (changes/change-set.ts sets it). */
export const CHANGE_OF = new WeakMap<ApiRecord, { readonly kind: string; readonly fields: readonly string[] }>();

/** The change set's columns: the kind of change, the fields that changed, then the snapshot's. */
export const CHANGE_COLUMNS: readonly Column[] = [
  { name: 'change', type: 'string', required: true, csv: true, value: (record) => CHANGE_OF.get(record)?.kind },
  { name: 'changed_fields', type: 'string', required: false, csv: true, value: (record) => CHANGE_OF.get(record)?.fields.join(',') || null },
  ...COLUMNS,
];

/** Hive's name for each type (the Glue tables Athena reads). */
export const HIVE_TYPES: Readonly<Record<ColumnType, string>> = {
  string: 'string',
  int64: 'bigint',
  imsis: 'array<struct<sponsor_id:bigint,imsi:bigint>>',
  timestamp: 'timestamp',
};

/** The typed (Parquet) table's columns. */
export const TYPED_HIVE_COLUMNS: ReadonlyArray<{ name: string; type: string }> = COLUMNS.map(({ name, type }) => ({ name, type: HIVE_TYPES[type] }));

/**
 * An epoch time as milliseconds since 1970, told apart by magnitude: 1 to 99,999,999,999 are
 * seconds (up to the year 5138), 100,000,000,000 to 99,999,999,999,999 milliseconds (from
 * 1973-03-03 to the year 5138). 0 and null mean "none" (null); anything else (negative, a
 * fraction, text, larger) fits neither (undefined).
 */
export function epochMillis(value: unknown): bigint | null | undefined {
  if (value === null || value === undefined || value === 0) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value >= 1e14) return undefined;
  return BigInt(value < 1e11 ? value * 1000 : value);
}
