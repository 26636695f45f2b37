/**
 * CSV (RFC 4180, UTF-8, CRLF): the header and one row per eSIM. The record-to-row mapping is
 * `csvRow`, a pure function; quoting is csv-stringify's.
 *
 * Columns: the contract's twelve, then the newer item shape's dates. `group`, `inventory` and
 * `company` are `{id, name}` in the documented shape and a plain id (no name) in the newer one.
 */
import { stringify } from 'csv-stringify/sync';
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

/** A reference's id and name: `{id, name}` gives both, a plain id gives the id and an empty name. */
function reference(value: unknown): [string, string] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !isLosslessNumber(value)) {
    const { id, name } = value as { id?: unknown; name?: unknown };
    return [cell(id), cell(name)];
  }
  return [cell(value), ''];
}

/** The CSV cells of one record, in CSV_COLUMNS order. */
export function csvRow(record: ApiRecord): string[] {
  return [
    cell(record.iccid),
    cell(record.sim_status),
    ...reference(record.group),
    ...reference(record.inventory),
    ...reference(record.company),
    cell(record.provisioned_date),
    cell(record.terminated_date),
    cell(record.mapped_imsi),
    cell(record.imsis),
    cell(record.created_date),
    cell(record.modified_date),
  ];
}

// csv-stringify quotes a field holding the delimiter, a quote or the record delimiter (CRLF);
// a lone CR or LF must be quoted too, or readers would split the row there.
const OPTIONS = { record_delimiter: 'windows', quoted_match: /[\r\n]/ } as const;

export const csvEncoder = (): Encoder => ({
  format: 'csv',
  contentType: 'text/csv; charset=utf-8',
  header: stringify([[...CSV_COLUMNS]], OPTIONS),
  encode: (records) => stringify(records.map(csvRow), OPTIONS),
  end: () => '',
  warnings: () => [],
});
