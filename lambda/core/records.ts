/**
 * The API's page body: parsing and validation.
 *
 * JSON.parse reads the whole body: it is what validates it, and what each record's ICCID and
 * status are read from. What is written to the files comes from the body's bytes instead
 * (record-bytes.ts), so the parsed records are only checked, never serialized again.
 */
import { z } from 'zod';

/** One eSIM as the API sent it: every field kept, known or not. */
export type ApiRecord = Record<string, unknown> & { iccid: string };

export interface ApiPage {
  readonly total: number;
  readonly sims: readonly ApiRecord[];
}

const envelopeSchema = z.object({
  total: z.number({ error: 'total must be a number' }).int({ error: 'total must be a whole number' }).nonnegative({ error: 'total must be ≥ 0' }),
  sims: z.array(z.unknown(), { error: 'sims must be an array' }),
});

/**
 * What a record must have for us to export it. Checked with a plain loop, not a zod schema per
 * record: `npm run bench` showed per-record zod validation costing as much as a fifth of
 * parsing; zod still checks the page envelope.
 */
function recordProblem(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'must be an object';
  const { iccid, sim_status: status } = record as { iccid?: unknown; sim_status?: unknown };
  if (typeof iccid !== 'string') return 'iccid must be a string';
  if (iccid.length === 0) return 'iccid must not be empty';
  if (status !== undefined && status !== null && typeof status !== 'string') return 'sim_status must be a string';
  return undefined;
}

/**
 * Parses and validates one page body. Throws an Error whose message says what is wrong;
 * the caller adds which page it was.
 */
export function parsePage(body: Buffer): ApiPage {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new Error(`the body is not valid JSON (${(error as Error).message})`);
  }
  const checked = envelopeSchema.safeParse(json);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new Error(`the body is not the documented JSON (${where}${issue?.message ?? 'invalid'})`);
  }
  // Keep the records exactly as parsed (zod's output would rebuild them with reordered keys).
  const { total, sims } = json as { total: number; sims: ApiRecord[] };
  for (let i = 0; i < sims.length; i++) {
    const problem = recordProblem(sims[i]);
    if (problem) throw new Error(`the body is not the documented JSON (sims.${i}: ${problem})`);
  }
  return { total, sims };
}

/** The key a record is counted under in the manifest's `by_status`. */
export function statusOf(record: ApiRecord): string {
  const status = record.sim_status;
  return typeof status === 'string' && status.length > 0 ? status : '(none)';
}
