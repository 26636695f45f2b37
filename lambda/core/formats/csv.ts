/**
 * CSV (RFC 4180, UTF-8, CRLF): the header and one row per eSIM. The record-to-row mapping is
 * `csvRow`, a pure function; quoting is csv-stringify's.
 *
 * Columns: the table in columns.ts (the contract's twelve, the newer item shape's dates, then
 * `extra`: the JSON text of any field neither item shape names, empty when there is none).
 */
import { type Options, stringify } from 'csv-stringify/sync';
import { isLosslessNumber } from 'lossless-json';
import { type Column, COLUMNS } from '../columns';
import { type ApiRecord, toJsonText } from '../record';
import type { Encoder } from './encoder';

/** The CSV's columns (columns.ts): the fields in order, a reference as `_id` and `_name`, then `extra`. */
const CSV_TABLE = COLUMNS.filter((column) => column.csv);
export const CSV_COLUMNS: readonly string[] = CSV_TABLE.map((column) => column.name);

/** One cell: null and absent are empty, numbers are the API's digits, objects and arrays their JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && !isLosslessNumber(value)) return toJsonText(value);
  return String(value);
}

/** The CSV cells of one record, in CSV_COLUMNS order. */
export function csvRow(record: ApiRecord): string[] {
  return CSV_TABLE.map((column) => cell(column.value(record)));
}

// csv-stringify quotes a field holding the delimiter, a quote or the record delimiter (CRLF);
// a lone CR or LF must be quoted too, or readers would split the row there. (As strings, not a
// regex: csv-stringify then uses indexOf rather than a regex search.)
const OPTIONS: Options = { record_delimiter: 'windows', quoted_match: ['\r', '\n'] };

/** A CSV file of `table`'s columns (the snapshot's, or a change set's). */
export const csvEncoder = (table: readonly Column[] = CSV_TABLE): Encoder => ({
  format: 'csv',
  contentType: 'text/csv; charset=utf-8',
  header: stringify([table.map((column) => column.name)], OPTIONS),
  encode: (records) => stringify(table === CSV_TABLE ? records.map(csvRow) : records.map((record) => table.map((column) => cell(column.value(record)))), OPTIONS),
  end: () => '',
  warnings: () => [],
});
