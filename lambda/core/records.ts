/**
 * What the API sends: one page's body in, `{ total, records }` out. Pure: no I/O.
 *
 * `JSON.parse` does the parsing. A page that holds a number token too long for a JavaScript
 * number to keep exactly (16 characters or more, e.g. an integer beyond 2^53) is parsed with
 * lossless-json instead, for that page only: such numbers stay `LosslessNumber`s carrying the
 * API's own digits, and `toJsonText` writes them back unchanged.
 */
import { isLosslessNumber, isSafeNumber, LosslessNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { z } from 'zod';

/** One eSIM as the API sent it: the documented fields, the newer shape's, and any others. */
export type ApiRecord = Readonly<Record<string, unknown>> & { readonly iccid: string; readonly sim_status?: string | null };

/** The fields the two item shapes name (the documented one, and the SDK's newer one). */
export const RECORD_FIELDS = [
  'iccid',
  'sim_status',
  'group',
  'inventory',
  'company',
  'provisioned_date',
  'terminated_date',
  'mapped_imsi',
  'imsis',
  'created_date',
  'modified_date',
] as const;

export interface Page {
  /** The API's `total` for the run's filters. */
  readonly total: number;
  readonly records: readonly ApiRecord[];
}

/** The body is not the documented JSON; the message says how, the caller adds which page. */
export class InvalidPageError extends Error {}

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

// The page's shape, checked with zod; the records' own fields are checked by `recordProblem`
// below: zod's object schema, run on every record, cost about 3 µs a record (a tenth of an
// export's CPU in `npm run bench`), for two fields.
const pageSchema = z.object({
  total: z.number({ error: 'total must be a number' }).int({ error: 'total must be a whole number' }).min(0, { error: 'total must be ≥ 0' }),
  sims: z.array(z.unknown(), { error: 'sims must be an array' }),
});

/** What is wrong with a record, or undefined: the contract needs a non-empty iccid and a string (or no) status. */
function recordProblem(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'must be an object';
  const { iccid, sim_status: status } = record as Record<string, unknown>;
  if (typeof iccid !== 'string') return 'iccid: iccid must be a string';
  if (iccid.length === 0) return 'iccid: iccid must not be empty';
  if (status !== undefined && status !== null && typeof status !== 'string') return 'sim_status: sim_status must be a string';
  return undefined;
}

/**
 * Values nested thousands of levels deep: JSON.parse reads them, but writing them out (and
 * lossless-json reading them) runs out of stack. No eSIM record is shaped like that; the run
 * fails with this line rather than an internal "Maximum call stack size exceeded". Caught where
 * it happens, so records of a normal depth pay nothing for the check.
 */
export const TOO_DEEP = "an eSIM's values are nested thousands of levels deep, more than a snapshot can hold (no eSIM record looks like that: report the page to Betatel)";
export const tooDeep = (error: unknown): boolean => error instanceof RangeError && /call stack/i.test(error.message);

/** JSON is UTF-8 (RFC 8259): a body that is not is refused, never copied with its bad bytes. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads one page body. Throws InvalidPageError when it is not UTF-8 JSON of the documented shape.
 * The message never quotes the body: a server that echoes the request could put the key in it.
 */
export function parsePage(bytes: Uint8Array): Page {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new InvalidPageError('the body is not valid UTF-8');
  }
  let body: unknown;
  try {
    body = parseJson(text);
  } catch (error) {
    if (tooDeep(error)) throw new InvalidPageError(TOO_DEEP);
    // JSON.parse quotes the text around a bad token: only a message that quotes nothing is kept.
    const reason = (error as Error).message;
    const at = /position (\d+)/.exec(reason)?.[1];
    const safe = /["'`]/.test(reason) ? (at === undefined ? 'unexpected text' : `unexpected text at character ${at}`) : reason;
    throw new InvalidPageError(`the body is not valid JSON (${safe})`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidPageError('the body is not the documented JSON (the page must be an object)');
  }
  const result = pageSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidPageError(`the body is not the documented JSON (${issue.path.join('.')}: ${issue.message})`);
  }
  const { sims } = result.data;
  for (let i = 0; i < sims.length; i++) {
    const problem = recordProblem(sims[i]);
    if (problem) throw new InvalidPageError(`the body is not the documented JSON (sims.${i}${problem.startsWith('must') ? ': ' : '.'}${problem})`);
  }
  return { total: result.data.total, records: sims as ApiRecord[] };
}

/** The status a record is counted under in the manifest's `by_status`. */
export function statusOf(record: ApiRecord): string {
  return record.sim_status || '(none)';
}
