/**
 * The record model: one eSIM as the API sent it, the fields the two item shapes name, and its
 * JSON text read and written back exactly. Pure: no I/O, and nothing of the API's paging.
 *
 * `JSON.parse` does the parsing. A text that holds a number token too long for a JavaScript
 * number to keep exactly (16 characters or more, e.g. an integer beyond 2^53) is parsed with
 * lossless-json instead: such numbers stay `LosslessNumber`s carrying the API's own digits, and
 * `toJsonText` writes them back unchanged.
 */
import { isLosslessNumber, isSafeNumber, LosslessNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

/** One eSIM as the API sent it: the documented fields, the newer shape's, and any others. */
export type ApiRecord = Readonly<Record<string, unknown>> & { readonly iccid: string; readonly sim_status?: string | null };

/**
 * The fields the two item shapes name (the documented one, and the SDK's newer one), each with
 * its type: `reference` is `{id, name}` in the documented shape and a plain id in the newer one;
 * `time` marks an epoch time (seconds or milliseconds), given a timestamp column too.
 * Any other field is kept too (NDJSON as sent, the CSV's and Parquet's `extra`). The snapshot's columns are
 * derived from this table (columns.ts).
 */
export const RECORD_FIELDS = [
  { name: 'iccid', type: 'string', required: true },
  { name: 'sim_status', type: 'string' },
  { name: 'group', type: 'reference' },
  { name: 'inventory', type: 'reference' },
  { name: 'company', type: 'reference' },
  { name: 'provisioned_date', type: 'int64', time: 'provisioned_at' },
  { name: 'terminated_date', type: 'int64', time: 'terminated_at' },
  { name: 'mapped_imsi', type: 'int64' },
  { name: 'imsis', type: 'imsis' },
  { name: 'created_date', type: 'int64', time: 'created_at' },
  { name: 'modified_date', type: 'int64', time: 'modified_at' },
] as const satisfies ReadonlyArray<{
  name: string;
  type: 'string' | 'int64' | 'imsis' | 'reference';
  required?: boolean;
  /** An epoch time: also a UTC timestamp column of this name (columns.ts). */
  time?: string;
}>;

/** A number token of 16 or more characters after `:`, `,` or `[` (false positives only cost speed). */
const LONG_NUMBER = /[:,[]\s*-?\d[\d.eE+-]{15,}/;

const parseNumber = (text: string): number | LosslessNumber => (isSafeNumber(text) ? Number(text) : new LosslessNumber(text));

/**
 * Objects and arrays read from a page parsed with lossless-json: only they can hold a
 * LosslessNumber. (Looking for one in every record instead cost about 1.3 µs a record, 4% of
 * an export's CPU, `npm run bench`.)
 */
const READ_LOSSLESSLY = new WeakSet<object>();

function markLossless(value: unknown): void {
  if (value === null || typeof value !== 'object' || isLosslessNumber(value)) return;
  READ_LOSSLESSLY.add(value);
  for (const child of Object.values(value)) markLossless(child);
}

/** Reads JSON text, keeping every digit of numbers a double cannot hold. */
export function parseJson(text: string): unknown {
  if (!LONG_NUMBER.test(text)) return JSON.parse(text);
  const value = losslessParse(text, null, parseNumber);
  markLossless(value);
  return value;
}

/**
 * JSON text of a value read by `parseJson` (or made of parts of `readFrom`): the API's numbers
 * exactly as it sent them.
 */
export function toJsonText(value: unknown, readFrom: unknown = value): string {
  return typeof readFrom === 'object' && readFrom !== null && READ_LOSSLESSLY.has(readFrom) ? losslessStringify(value)! : JSON.stringify(value);
}

/**
 * Values nested thousands of levels deep: JSON.parse reads them, but writing them out (and
 * lossless-json reading them) runs out of stack. No eSIM record is shaped like that; the run
 * fails with this line rather than an internal "Maximum call stack size exceeded". Caught where
 * it happens, so records of a normal depth pay nothing for the check.
 */
export const TOO_DEEP = "an eSIM's values are nested thousands of levels deep, more than a snapshot can hold (no eSIM record looks like that: report the page to Betatel)";
export const tooDeep = (error: unknown): boolean => error instanceof RangeError && /call stack/i.test(error.message);

/** The status a record is counted under in the manifest's `by_status`. */
export function statusOf(record: ApiRecord): string {
  return record.sim_status || '(none)';
}
