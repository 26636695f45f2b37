/**
 * CSV (RFC 4180, UTF-8, CRLF): the header and one row per eSIM. The record-to-row mapping is
 * `csvRow`, a pure function; quoting is csv-stringify's.
 *
 * Columns: the contract's twelve, then the newer item shape's dates. `group`, `inventory` and
 * `company` are `{id, name}` in the documented shape and a plain id (no name) in the newer one.
 */
import { type Options, stringify } from 'csv-stringify/sync';
import { isLosslessNumber } from 'lossless-json';
import { type ApiRecord, toJsonText } from '../records';
import type { Encoder } from './encoder';

export const CSV_COLUMNS = [
  'iccid',
  'sim_status',
  'group_id',
  'group_name',
  'inventory_id',
  'inventory_name',
  'company_id',
  'company_name',
  'provisioned_date',
  'terminated_date',
  'mapped_imsi',
  'imsis',
  'created_date',
  'modified_date',
] as const;

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
  return [
    cell(record.iccid),
    cell(record.sim_status),
    idOf(record.group),
    nameOf(record.group),
    idOf(record.inventory),
    nameOf(record.inventory),
    idOf(record.company),
    nameOf(record.company),
    cell(record.provisioned_date),
    cell(record.terminated_date),
    cell(record.mapped_imsi),
    cell(record.imsis),
    cell(record.created_date),
    cell(record.modified_date),
  ];
}

// csv-stringify quotes a field holding the delimiter, a quote or the record delimiter (CRLF);
// a lone CR or LF must be quoted too, or readers would split the row there. (As strings, not a
// regex: csv-stringify then uses indexOf rather than a regex search.)
const OPTIONS: Options = { record_delimiter: 'windows', quoted_match: ['\r', '\n'] };

export const csvEncoder = (): Encoder => ({
  format: 'csv',
  contentType: 'text/csv; charset=utf-8',
  header: stringify([[...CSV_COLUMNS]], OPTIONS),
  encode: (records) => stringify(records.map(csvRow), OPTIONS),
  end: () => '',
  warnings: () => [],
});
