/**
 * CSV (RFC 4180, UTF-8, CRLF): the header and one row per eSIM. The record-to-row mapping is
 * `csvRow`, a pure function; quoting is csv-stringify's.
 *
 * Columns: the contract's twelve, then the newer item shape's dates. `group`, `inventory` and
 * `company` are `{id, name}` in the documented shape and a plain id (no name) in the newer one.
 */
import { type Options, stringify } from 'csv-stringify/sync';
import { isLosslessNumber } from 'lossless-json';
import { type ApiRecord, RECORD_FIELDS, toJsonText } from '../record';
import type { Encoder } from './encoder';

/** `group`, `inventory` and `company`: each fills two columns, `_id` and `_name`. */
const REFERENCES = new Set<string>(['group', 'inventory', 'company']);

/** The columns, in the order of the item shapes' fields (record.ts). */
export const CSV_COLUMNS: readonly string[] = RECORD_FIELDS.flatMap((field) => (REFERENCES.has(field) ? [`${field}_id`, `${field}_name`] : [field]));

/** One cell: null and absent are empty, numbers are the API's digits, objects and arrays their JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && !isLosslessNumber(value)) return toJsonText(value);
  return String(value);
}

/** `{id, name}` in the documented shape; a plain id (and so no name) in the newer one. */
const isObject = (value: unknown): value is { id?: unknown; name?: unknown } =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !isLosslessNumber(value);
const idOf = (value: unknown): string => cell(isObject(value) ? value.id : value);
const nameOf = (value: unknown): string => (isObject(value) ? cell(value.name) : '');

/** The CSV cells of one record, in CSV_COLUMNS order. */
export function csvRow(record: ApiRecord): string[] {
  const row: string[] = [];
  for (const field of RECORD_FIELDS) {
    if (REFERENCES.has(field)) row.push(idOf(record[field]), nameOf(record[field]));
    else row.push(cell(record[field]));
  }
  return row;
}

// csv-stringify quotes a field holding the delimiter, a quote or the record delimiter (CRLF);
// a lone CR or LF must be quoted too, or readers would split the row there. (As strings, not a
// regex: csv-stringify then uses indexOf rather than a regex search.)
const OPTIONS: Options = { record_delimiter: 'windows', quoted_match: ['\r', '\n'] };

export const csvEncoder = (): Encoder => ({
  format: 'csv',
  contentType: 'text/csv; charset=utf-8',
  header: stringify([CSV_COLUMNS], OPTIONS),
  encode: (records) => stringify(records.map(csvRow), OPTIONS),
  end: () => '',
  warnings: () => [],
});
