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

/** Reads JSON text, keeping every digit of numbers a double cannot hold. */
export function parseJson(text: string): unknown {
  return LONG_NUMBER.test(text) ? losslessParse(text, null, parseNumber) : JSON.parse(text);
}

/** JSON text of a value read by `parseJson`: the API's numbers exactly as it sent them. */
export function toJsonText(value: unknown): string {
  return holdsLosslessNumber(value) ? losslessStringify(value)! : JSON.stringify(value);
}

function holdsLosslessNumber(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (isLosslessNumber(value)) return true;
  return Object.values(value).some(holdsLosslessNumber);
}

// The shape the contract needs; every other field (and the record's own order) passes through.
const pageSchema = z.object({
  total: z.number({ error: 'total must be a number' }).int({ error: 'total must be a whole number' }).min(0, { error: 'total must be ≥ 0' }),
  sims: z.array(
    z.looseObject(
      {
        iccid: z.string({ error: 'iccid must be a string' }).min(1, { error: 'iccid must not be empty' }),
        sim_status: z.string({ error: 'sim_status must be a string' }).nullish(),
      },
      { error: 'must be an object' },
    ),
    { error: 'sims must be an array' },
  ),
});

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
  // The records as parsed, not zod's copies: each keeps the API's own order of fields.
  return { total: result.data.total, records: (body as { sims: ApiRecord[] }).sims };
}

/** The status a record is counted under in the manifest's `by_status`. */
export function statusOf(record: ApiRecord): string {
  return record.sim_status || '(none)';
}
