/**
 * The snapshot's columns: one table, derived from the record's fields (record.ts), that every
 * surface reads: the CSV header and row, the Parquet schema and row, and both Athena tables.
 * Adding a field to RECORD_FIELDS adds its column everywhere.
 */
import { isLosslessNumber } from 'lossless-json';
import { type ApiRecord, RECORD_FIELDS } from './record';

export type ColumnType = 'string' | 'int64' | 'imsis';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly required: boolean;
  /** The record's value for this column, as the API sent it. */
  readonly value: (record: ApiRecord) => unknown;
}

/** `{id, name}` in the documented item shape; a plain id (and so no name) in the newer one. */
export function referenceOf(value: unknown): { id: unknown; name: unknown } {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !isLosslessNumber(value)) {
    const { id, name } = value as { id?: unknown; name?: unknown };
    return { id, name };
  }
  return { id: value, name: undefined };
}

/** Every column, in order: a reference fills two (`_id`, `_name`), any other field one. */
export const COLUMNS: readonly Column[] = RECORD_FIELDS.flatMap((field): Column[] => {
  const required = 'required' in field && field.required;
  if (field.type !== 'reference') return [{ name: field.name, type: field.type, required, value: (record) => record[field.name] }];
  return [
    { name: `${field.name}_id`, type: 'int64', required, value: (record) => referenceOf(record[field.name]).id },
    { name: `${field.name}_name`, type: 'string', required, value: (record) => referenceOf(record[field.name]).name },
  ];
});

/** Hive's name for each type (the Glue tables Athena reads). */
export const HIVE_TYPES: Readonly<Record<ColumnType, string>> = {
  string: 'string',
  int64: 'bigint',
  imsis: 'array<struct<sponsor_id:bigint,imsi:bigint>>',
};

/**
 * The NDJSON table's columns: the record's fields as the API sent them. A reference is text: the
 * OpenX SerDe gives an object as its JSON text, a number as digits.
 */
export const JSON_HIVE_COLUMNS: ReadonlyArray<{ name: string; type: string }> = RECORD_FIELDS.map((field) => ({
  name: field.name,
  type: field.type === 'reference' ? 'string' : HIVE_TYPES[field.type],
}));
