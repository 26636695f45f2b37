/**
 * The API's page body and its records: parsing, validation, and the mapping to CSV rows.
 *
 * Pure functions, no I/O: the whole contract of what a record becomes in each format is here.
 *
 * Numbers: IMSIs and ids are JSON integers. Everything the API is known to send fits a
 * JavaScript number exactly, so pages are parsed with the fast native JSON.parse. A page that
 * holds a longer number literal (which native parsing could round) is parsed losslessly
 * instead, and its records are written back with their exact digits.
 */
import { isLosslessNumber, isSafeNumber, LosslessNumber, parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { z } from 'zod';

/** One eSIM as the API sent it: every field kept, known or not. */
export type ApiRecord = Record<string, unknown> & { iccid: string };

export interface ApiPage {
  readonly total: number;
  readonly sims: readonly ApiRecord[];
  /** Serializes a value of this page back to JSON text without changing any number. */
  readonly stringify: (value: unknown) => string;
}

/** The CSV columns, in order: the contract's twelve, then the fields of the API's newer item shape. */
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

const pageSchema = z.object({
  total: z.number({ error: 'total must be a number' }).int({ error: 'total must be a whole number' }).nonnegative({ error: 'total must be ≥ 0' }),
  sims: z.array(
    z.looseObject({
      iccid: z.string({ error: 'iccid must be a string' }).min(1, { error: 'iccid must not be empty' }),
      sim_status: z.string({ error: 'sim_status must be a string' }).nullish(),
    }),
    { error: 'sims must be an array' },
  ),
});

// A number literal of 16 or more characters may not survive native parsing (2^53 has 16 digits).
// False positives (such text inside a string) only cost the slower lossless parse.
const LONG_NUMBER_LITERAL = /[:,[]\s*-?\d[\d.eE+-]{15,}/;

const parseNumberLosslessly = (text: string): number | LosslessNumber =>
  isSafeNumber(text) ? Number(text) : new LosslessNumber(text);

/**
 * Parses and validates one page body. Throws an Error whose message says what is wrong;
 * the caller adds which page it was.
 */
export function parsePage(body: string): ApiPage {
  const lossless = LONG_NUMBER_LITERAL.test(body);
  let json: unknown;
  try {
    json = lossless ? parseLossless(body, null, parseNumberLosslessly) : JSON.parse(body);
  } catch (error) {
    throw new Error(`the body is not valid JSON (${(error as Error).message})`);
  }
  const checked = pageSchema.safeParse(json);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new Error(`the body is not the documented JSON (${where}${issue?.message ?? 'invalid'})`);
  }
  // Keep the records exactly as parsed (zod's output would rebuild them with reordered keys).
  const { total, sims } = json as { total: number; sims: ApiRecord[] };
  return { total, sims, stringify: lossless ? (value) => stringifyLossless(value) ?? 'null' : (value) => JSON.stringify(value) };
}

/** A CSV cell: null is empty, numbers are their digits, objects and arrays their JSON. */
function cell(value: unknown, stringify: (value: unknown) => string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (isLosslessNumber(value)) return value.toString();
  return stringify(value);
}

/** `group`, `inventory`, `company`: an object `{id, name}` in the documented shape, a plain id in the newer one. */
function reference(value: unknown, stringify: (value: unknown) => string): [id: string, name: string] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !isLosslessNumber(value)) {
    const { id, name } = value as { id?: unknown; name?: unknown };
    return [cell(id, stringify), cell(name, stringify)];
  }
  return [cell(value, stringify), ''];
}

/** Maps one record to its CSV cells, in CSV_COLUMNS order. */
export function toCsvRow(record: ApiRecord, stringify: (value: unknown) => string): string[] {
  const [groupId, groupName] = reference(record.group, stringify);
  const [inventoryId, inventoryName] = reference(record.inventory, stringify);
  const [companyId, companyName] = reference(record.company, stringify);
  return [
    record.iccid,
    cell(record.sim_status, stringify),
    groupId,
    groupName,
    inventoryId,
    inventoryName,
    companyId,
    companyName,
    cell(record.provisioned_date, stringify),
    cell(record.terminated_date, stringify),
    cell(record.mapped_imsi, stringify),
    cell(record.imsis, stringify),
    cell(record.created_date, stringify),
    cell(record.modified_date, stringify),
  ];
}

/** The key a record is counted under in the manifest's `by_status`. */
export function statusOf(record: ApiRecord): string {
  const status = record.sim_status;
  return typeof status === 'string' && status.length > 0 ? status : '(none)';
}
