/**
 * The API's page body and its records: parsing, validation, and the mapping to CSV rows.
 *
 * Pure functions, no I/O: the whole contract of what a record becomes in each format is here.
 *
 * NDJSON needs each record exactly as the API sent it, so one pass over the body's bytes finds
 * each record (scanRecords) and copies it, rather than serializing parsed objects again. The
 * same pass spots number literals long enough that native parsing could round them (IMSIs fit
 * a JavaScript number exactly, but nothing may silently round a larger integer): only then is
 * the page parsed losslessly, which is slower; otherwise with the native JSON.parse.
 */
import { isLosslessNumber, isSafeNumber, LosslessNumber, parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { z } from 'zod';

/** One eSIM as the API sent it: every field kept, known or not. */
export type ApiRecord = Record<string, unknown> & { iccid: string };

export interface ApiPage {
  readonly total: number;
  readonly sims: readonly ApiRecord[];
  /** Each record exactly as the API sent it, one per line: the page's NDJSON, aligned with `sims`. */
  readonly ndjson: EncodedRecords;
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

// A number literal of 16 or more characters may not survive native parsing (2^53 has 16 digits).
const LONG_NUMBER = 16;

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;

function isNumberChar(code: number): boolean {
  // 0-9 . e E + -
  return (code >= 48 && code <= 57) || code === 46 || code === 101 || code === 69 || code === 43 || code === 45;
}

/** Records encoded back to back; `ends[i]` is the byte offset just after record `i`. */
export interface EncodedRecords {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
}

const LINE_FEED = 10;
const CARRIAGE_RETURN = 13;

/**
 * One pass over a page body's bytes: each object of the top-level `sims` array, copied as it
 * is onto a line of its own (the page's NDJSON, with no decoding or re-encoding of text), and
 * whether any number literal is long enough to need lossless parsing. It only finds
 * boundaries; JSON.parse still validates the body.
 */
export function scanRecords(body: Buffer): { ndjson: EncodedRecords; longNumbers: boolean } {
  const starts: number[] = [];
  const ends: number[] = [];
  let lineBreaks = false; // a raw CR or LF inside a record (whitespace: strings cannot hold one)
  let longNumbers = false;
  let depth = 0;
  let numberRun = 0;
  let inSims = false; // inside the top-level "sims" array
  let expectKey = false; // at depth 1, the next string is a key
  let lastKey = '';
  let recordStart = -1;
  const scanned = (): { ndjson: EncodedRecords; longNumbers: boolean } => ({ ndjson: asLines(body, starts, ends, lineBreaks), longNumbers });
  for (let i = 0; i < body.length; i++) {
    const code = body[i]!;
    if (code === QUOTE) {
      // Jump to the closing quote: one that is not escaped by an odd run of backslashes.
      const start = i;
      for (;;) {
        i = body.indexOf(QUOTE, i + 1);
        if (i < 0) return scanned(); // unterminated: JSON.parse will say so
        let backslashes = 0;
        while (body[i - 1 - backslashes] === BACKSLASH) backslashes++;
        if (backslashes % 2 === 0) break;
      }
      if (depth === 1 && expectKey) {
        lastKey = body.toString('utf8', start + 1, i);
        expectKey = false;
      }
      numberRun = 0;
      continue;
    }
    if (isNumberChar(code)) {
      if (++numberRun >= LONG_NUMBER) longNumbers = true;
      continue;
    }
    numberRun = 0;
    if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      if (depth === 1 && code === OPEN_ARRAY && lastKey === 'sims') inSims = true;
      else if (inSims && depth === 2 && code === OPEN_OBJECT) recordStart = i;
      depth++;
      if (depth === 1) expectKey = true;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth--;
      if (inSims && depth === 2 && recordStart >= 0) {
        starts.push(recordStart);
        ends.push(i + 1);
        recordStart = -1;
      } else if (inSims && depth === 1) inSims = false;
    } else if (code === COMMA && depth === 1) {
      expectKey = true;
      lastKey = '';
    } else if (code === COLON && depth === 1) {
      expectKey = false;
    } else if ((code === LINE_FEED || code === CARRIAGE_RETURN) && recordStart >= 0) {
      lineBreaks = true;
    }
  }
  return scanned();
}

/** The records' bytes, each followed by a line feed; line breaks inside a record become a space. */
function asLines(body: Buffer, starts: readonly number[], ends: readonly number[], lineBreaks: boolean): EncodedRecords {
  const records = starts.map((start, i) => body.subarray(start, ends[i]));
  const lines = lineBreaks ? records.map((record) => Buffer.from(record.toString('utf8').replace(/[\r\n]+/g, ' '))) : records;
  const bytes = Buffer.allocUnsafe(lines.reduce((sum, line) => sum + line.length + 1, 0));
  const lineEnds = new Uint32Array(lines.length);
  let at = 0;
  lines.forEach((line, i) => {
    bytes.set(line, at);
    at += line.length;
    bytes[at++] = LINE_FEED;
    lineEnds[i] = at;
  });
  return { bytes, ends: lineEnds };
}

const parseNumberLosslessly = (text: string): number | LosslessNumber =>
  isSafeNumber(text) ? Number(text) : new LosslessNumber(text);

/**
 * Parses and validates one page body. Throws an Error whose message says what is wrong;
 * the caller adds which page it was.
 */
export function parsePage(body: Buffer): ApiPage {
  const { ndjson, longNumbers: lossless } = scanRecords(body);
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = lossless ? parseLossless(text, null, parseNumberLosslessly) : JSON.parse(text);
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
  if (ndjson.ends.length !== sims.length) {
    throw new Error(`the body is not the documented JSON (found ${ndjson.ends.length} record objects for ${sims.length} sims)`);
  }
  return { total, sims, ndjson, stringify: lossless ? (value) => stringifyLossless(value) ?? 'null' : (value) => JSON.stringify(value) };
}

/** The CSV header row. */
export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One RFC 4180 field: null is empty, numbers are their digits, objects and arrays their JSON;
 * a field with a comma, quote or line break is quoted, its quotes doubled.
 */
function field(value: unknown, stringify: (value: unknown) => string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'boolean' || typeof value === 'bigint') text = String(value);
  else if (isLosslessNumber(value)) text = value.toString();
  else text = stringify(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** `group`, `inventory`, `company`: an object `{id, name}` in the documented shape, a plain id in the newer one. */
function reference(value: unknown, stringify: (value: unknown) => string): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !isLosslessNumber(value)) {
    const { id, name } = value as { id?: unknown; name?: unknown };
    return `${field(id, stringify)},${field(name, stringify)}`;
  }
  return `${field(value, stringify)},`;
}

/**
 * One record as a CSV row in CSV_COLUMNS order, CRLF-terminated. Written here rather than with
 * csv-stringify: `npm run bench` showed csv-stringify taking a sixth of the export's CPU for a
 * fixed set of columns (see BENCHMARKS.md); csv-parse reads every row back in the tests.
 */
export function toCsvRow(record: ApiRecord, stringify: (value: unknown) => string): string {
  return (
    `${field(record.iccid, stringify)},${field(record.sim_status, stringify)},` +
    `${reference(record.group, stringify)},${reference(record.inventory, stringify)},${reference(record.company, stringify)},` +
    `${field(record.provisioned_date, stringify)},${field(record.terminated_date, stringify)},${field(record.mapped_imsi, stringify)},` +
    `${field(record.imsis, stringify)},${field(record.created_date, stringify)},${field(record.modified_date, stringify)}\r\n`
  );
}

/** The key a record is counted under in the manifest's `by_status`. */
export function statusOf(record: ApiRecord): string {
  const status = record.sim_status;
  return typeof status === 'string' && status.length > 0 ? status : '(none)';
}
