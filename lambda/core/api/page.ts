/**
 * What the API sends: one page's body in, `{ total, records }` out. Pure: no I/O.
 */
import { z } from 'zod';
import { InvalidPageError } from '../errors';
import { type ApiRecord, parseJson, TOO_DEEP, tooDeep } from '../record';

export interface Page {
  /** The API's `total` for the run's filters. */
  readonly total: number;
  readonly records: readonly ApiRecord[];
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

