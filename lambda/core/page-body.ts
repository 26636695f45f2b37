/**
 * A page body, read in one walk over its bytes: checked to be JSON of the documented shape,
 * each record's ICCID and status read, and the records made into the bytes of each format.
 *
 * NDJSON needs each record exactly as the API sent it: a line is a copy of the record's bytes.
 * CSV cells are values the API sent, so a row is assembled from the bytes of its values:
 * numbers and `imsis` exactly as the API wrote them, text as its bytes unless it holds an
 * escape sequence (then JSON.parse reads that one string). Nothing is parsed into objects and
 * serialized again, so no number is ever rounded on its way to a file.
 *
 * Why not JSON.parse: reading pages is most of an export's CPU, and parsing each page into
 * objects only to check it and read two fields of every record cost a third of that reading
 * (on the sandbox's pages), while the files were made from the bytes anyway; without it a
 * zero-latency export took about a fifth less CPU (`npm run bench`). Building rows from parsed
 * records had itself beaten csv-stringify, which cost a sixth of the export's CPU. The walk
 * checks the whole grammar of RFC 8259 as it goes, and when it finds a body invalid, JSON.parse
 * reads that body to say why in its own words. The tests compare the walk's verdict with
 * JSON.parse's on thousands of damaged bodies.
 *
 * The byte codes are constants of this module, not imported: the CLI runs TypeScript through
 * tsx, whose CommonJS imports read each binding through a getter, and in loops that run for
 * every byte that cost several times the work itself.
 */
import type { Format } from './settings';

const QUOTE = 34;
const BACKSLASH = 92;
const SLASH = 47;
const COMMA = 44;
const COLON = 58;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const LINE_FEED = 10;
const CARRIAGE_RETURN = 13;
const SPACE = 32;
const TAB = 9;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
const LETTER_E = 101;
const CAPITAL_E = 69;
const LETTER_U = 117;
const LETTER_T = 116;
const LETTER_F = 102;
const LETTER_N = 110;

/** JSON's whitespace between tokens (every other byte is above SPACE, so most bytes take one comparison). */
const isWhitespace = (code: number | undefined): boolean =>
  code !== undefined && code <= SPACE && (code === SPACE || code === LINE_FEED || code === CARRIAGE_RETURN || code === TAB);
const isDigit = (code: number | undefined): boolean => code !== undefined && code >= DIGIT_0 && code <= DIGIT_9;
/** The characters that may follow a backslash in a JSON string (u is checked on its own). */
const ESCAPED = new Set([QUOTE, BACKSLASH, SLASH, 98, 102, 110, 114, 116]); // " \ / b f n r t
const isHexDigit = (code: number | undefined): boolean =>
  code !== undefined && ((code >= DIGIT_0 && code <= DIGIT_9) || (code >= 97 && code <= 102) || (code >= 65 && code <= 70));
const [TRUE, FALSE, NULL] = ['true', 'false', 'null'].map((word) => Buffer.from(word)) as [Buffer, Buffer, Buffer];

/** The body is not valid JSON; found at byte `at`. */
class InvalidJson extends Error {
  constructor(readonly at: number) {
    super(`invalid JSON at byte ${at}`);
  }
}

function invalid(at: number): never {
  throw new InvalidJson(at);
}

function skipWhitespace(body: Buffer, at: number): number {
  let i = at;
  while (isWhitespace(body[i])) i++;
  return i;
}

/** The index just after the string whose opening quote is at `at`, checking its escapes and that it holds no raw control character. */
function stringEnd(body: Buffer, at: number): number {
  for (let i = at + 1; i < body.length; i++) {
    const code = body[i]!;
    if (code === QUOTE) return i + 1;
    if (code === BACKSLASH) {
      const escaped = body[++i];
      if (escaped === LETTER_U) {
        for (let digit = 0; digit < 4; digit++) if (!isHexDigit(body[++i])) invalid(i);
      } else if (escaped === undefined || !ESCAPED.has(escaped)) invalid(i);
    } else if (code < SPACE) invalid(i);
  }
  return invalid(body.length);
}

/** The index just after the number at `at`: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
function numberEnd(body: Buffer, at: number): number {
  let i = at;
  if (body[i] === MINUS) i++;
  if (body[i] === DIGIT_0) i++;
  else if (isDigit(body[i])) while (isDigit(body[i])) i++;
  else invalid(i);
  if (body[i] === DOT) {
    if (!isDigit(body[++i])) invalid(i);
    while (isDigit(body[i])) i++;
  }
  if (body[i] === LETTER_E || body[i] === CAPITAL_E) {
    i++;
    if (body[i] === PLUS || body[i] === MINUS) i++;
    if (!isDigit(body[i])) invalid(i);
    while (isDigit(body[i])) i++;
  }
  return i;
}

/** The index just after the literal `word` (true, false, null) at `at`. */
function literalEnd(body: Buffer, at: number, word: Buffer): number {
  for (let i = 0; i < word.length; i++) if (body[at + i] !== word[i]) invalid(at + i);
  return at + word.length;
}

/** The index just after the string, number, true, false or null at `at`. */
function scalarEnd(body: Buffer, at: number): number {
  const first = body[at];
  if (first === QUOTE) return stringEnd(body, at);
  if (first === LETTER_T) return literalEnd(body, at, TRUE);
  if (first === LETTER_F) return literalEnd(body, at, FALSE);
  if (first === LETTER_N) return literalEnd(body, at, NULL);
  return numberEnd(body, at);
}

/** Whether body[start, end) holds a backslash (a loop: Buffer#indexOf would search past `end`). */
function hasBackslash(body: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (body[i] === BACKSLASH) return true;
  return false;
}

/**
 * The text of the JSON string at body[start, end), quotes included: its bytes, or, when it holds
 * escape sequences (rare, and already checked), what JSON.parse makes of it.
 */
function stringValue(body: Buffer, start: number, end: number): string {
  return hasBackslash(body, start, end) ? (JSON.parse(body.toString('utf8', start, end)) as string) : body.toString('utf8', start + 1, end - 1);
}

/** The index just after `"key" :` at `at` (whitespace before the colon allowed). */
function keyEnd(body: Buffer, at: number): number {
  if (body[at] !== QUOTE) invalid(at);
  const i = skipWhitespace(body, stringEnd(body, at));
  if (body[i] !== COLON) invalid(i);
  return i + 1;
}

/** The index just after the JSON value at `at`, checking all of it. */
function valueEnd(body: Buffer, at: number): number {
  const first = body[at];
  return first === OPEN_OBJECT || first === OPEN_ARRAY ? containerEnd(body, at) : scalarEnd(body, at);
}

/**
 * The index just after the object or array at `at`, checking all of it. Nesting is followed
 * with a stack of the brackets still open rather than by recursion, so no depth of nesting can
 * overflow the call stack.
 */
function containerEnd(body: Buffer, at: number): number {
  const open: number[] = [];
  let i = at;
  for (;;) {
    i = skipWhitespace(body, i);
    const first = body[i];
    if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
      const close = first === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
      i = skipWhitespace(body, i + 1);
      if (body[i] === close) i++;
      else {
        open.push(close);
        if (first === OPEN_OBJECT) i = keyEnd(body, i);
        continue; // the first member's value
      }
    } else i = scalarEnd(body, i);
    // After a value: close what it ended, or go on to the next member.
    for (;;) {
      if (open.length === 0) return i;
      i = skipWhitespace(body, i);
      const close = open[open.length - 1];
      if (body[i] === close) {
        open.pop();
        i++;
      } else if (body[i] === COMMA) {
        i = close === CLOSE_OBJECT ? keyEnd(body, skipWhitespace(body, i + 1)) : i + 1;
        break;
      } else invalid(i);
    }
  }
}

/** Records encoded back to back; `ends[i]` is the byte offset just after record `i`. */
export interface EncodedRecords {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
}

/**
 * Names of an object's keys, each with its slot. Matched on the key's bytes; a key written with
 * escape sequences (`"\u0069ccid"`) is decoded first, as JSON.parse would.
 */
class KeySlots {
  /** Keys by their length in bytes: most keys are told apart by length before any byte is compared. */
  private readonly byLength: { bytes: Buffer; slot: number }[][] = [];
  private readonly byName = new Map<string, number>();

  constructor(names: readonly string[]) {
    names.forEach((name, slot) => {
      const bytes = Buffer.from(name);
      (this.byLength[bytes.length] ??= []).push({ bytes, slot });
      this.byName.set(name, slot);
    });
  }

  get size(): number {
    return this.byName.size;
  }

  /** The slot of the key whose text (between its quotes) is body[start, end), or -1. */
  slotOf(body: Buffer, start: number, end: number): number {
    for (const { bytes, slot } of this.byLength[end - start] ?? []) {
      let i = 0;
      while (i < bytes.length && bytes[i] === body[start + i]) i++;
      if (i === bytes.length) return slot;
    }
    return hasBackslash(body, start, end) ? (this.byName.get(stringValue(body, start - 1, end + 1)) ?? -1) : -1;
  }
}

/** The record's keys a row reads, in column order: each fills a column, a reference two. */
const RECORD_KEYS = [
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
const RECORD_SLOTS = new KeySlots(RECORD_KEYS);
const [ICCID, STATUS] = [0, 1] as const;
/** `group`, `inventory`, `company`: `{id, name}` in the documented shape, a plain id (and no name) in the newer one. */
const IS_REFERENCE = RECORD_KEYS.map((key) => key === 'group' || key === 'inventory' || key === 'company');

/** The CSV columns, in order: the contract's twelve, then the fields of the API's newer item shape. */
export const CSV_COLUMNS: readonly string[] = RECORD_KEYS.flatMap((key, slot) => (IS_REFERENCE[slot] ? [`${key}_id`, `${key}_name`] : [key]));

/** The CSV header row. */
export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

/** A reference's keys in the documented shape, `{id, name}`. */
const ID_AND_NAME = new KeySlots(['id', 'name']);
const [ID, NAME] = [0, 1] as const;

/**
 * Walks the object at `at` (its opening brace), checking it, and notes where the values of
 * `keys` start and end (`starts[slot]` is -1 for a key that is absent; a repeated key keeps its
 * last value, as with JSON.parse). `readValue`, when given, walks each value instead of
 * valueEnd and returns the index just after it. Returns the index just after the object.
 */
function readObject(
  body: Buffer,
  at: number,
  keys: KeySlots,
  starts: Int32Array,
  ends: Int32Array,
  readValue?: (slot: number, at: number) => number,
): number {
  starts.fill(-1);
  let i = skipWhitespace(body, at + 1);
  if (body[i] === CLOSE_OBJECT) return i + 1;
  for (;;) {
    if (body[i] !== QUOTE) invalid(i);
    const keyStop = stringEnd(body, i);
    const slot = keys.slotOf(body, i + 1, keyStop - 1);
    i = skipWhitespace(body, keyStop);
    if (body[i] !== COLON) invalid(i);
    const valueStart = skipWhitespace(body, i + 1);
    i = readValue ? readValue(slot, valueStart) : valueEnd(body, valueStart);
    if (slot >= 0) {
      starts[slot] = valueStart;
      ends[slot] = i;
    }
    i = skipWhitespace(body, i);
    if (body[i] === CLOSE_OBJECT) return i + 1;
    if (body[i] !== COMMA) invalid(i);
    i = skipWhitespace(body, i + 1);
  }
}

/** An output buffer that grows as needed. */
class ByteWriter {
  private bytes: Buffer;
  length = 0;

  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  byte(code: number): void {
    this.reserve(1);
    this.bytes[this.length++] = code;
  }

  copy(source: Buffer, start: number, end: number): void {
    // A loop beats Buffer.copy's call overhead for cells of a few dozen bytes.
    this.reserve(end - start);
    for (let i = start; i < end; i++) this.bytes[this.length++] = source[i]!;
  }

  text(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.bytes.write(text, this.length);
  }

  /** What was written, in a buffer of its own (so it can be handed to another thread whole). */
  done(): Buffer {
    const bytes = Buffer.allocUnsafeSlow(this.length);
    this.bytes.copy(bytes, 0, 0, this.length);
    return bytes;
  }

  private reserve(count: number): void {
    if (this.length + count <= this.bytes.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + count));
    this.bytes.copy(bigger, 0, 0, this.length);
    this.bytes = bigger;
  }
}

const NEEDS_QUOTES = /[",\r\n]/;

/** RFC 4180: a cell with a comma, a quote or a line break is quoted, its quotes doubled. */
function writeText(out: ByteWriter, text: string): void {
  out.text(NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
}

/** A JSON string's text. Without escapes its bytes hold no quote or line break (JSON forbids them raw), only maybe a comma. */
function writeString(out: ByteWriter, body: Buffer, start: number, end: number): void {
  let comma = false;
  for (let i = start + 1; i < end - 1; i++) {
    const code = body[i]!;
    if (code === BACKSLASH) return writeText(out, stringValue(body, start, end));
    if (code === COMMA) comma = true;
  }
  if (comma) out.byte(QUOTE);
  out.copy(body, start + 1, end - 1);
  if (comma) out.byte(QUOTE);
}

/** An object or array as the API wrote it, less the whitespace between its tokens; quoted when it holds a quote or comma. */
function writeJson(out: ByteWriter, body: Buffer, start: number, end: number): void {
  let quoted = false;
  for (let i = start; i < end && !quoted; i++) quoted = body[i] === QUOTE || body[i] === COMMA;
  if (quoted) out.byte(QUOTE);
  for (let i = start; i < end; i++) {
    const code = body[i]!;
    if (code === QUOTE) {
      // A string: copied whole (its spaces are text), every quote doubled, the escaped ones too.
      const stop = stringEnd(body, i);
      for (; i < stop; i++) {
        out.byte(body[i]!);
        if (body[i] === QUOTE) out.byte(QUOTE);
      }
      i--;
    } else if (!isWhitespace(code)) out.byte(code);
  }
  if (quoted) out.byte(QUOTE);
}

/** One cell from the value at body[start, end): absent (`start` -1) and null are empty; numbers, true and false as written. */
function writeCell(out: ByteWriter, body: Buffer, start: number, end: number): void {
  if (start < 0) return;
  const first = body[start]!;
  if (first === QUOTE) writeString(out, body, start, end);
  else if (first === OPEN_OBJECT || first === OPEN_ARRAY) writeJson(out, body, start, end);
  else if (first !== LETTER_N) out.copy(body, start, end);
}

/** Records as CSV rows in CSV_COLUMNS order, CRLF-terminated. */
class CsvRowWriter {
  readonly out: ByteWriter;
  private readonly referenceStarts = new Int32Array(ID_AND_NAME.size);
  private readonly referenceEnds = new Int32Array(ID_AND_NAME.size);

  constructor(capacity: number) {
    this.out = new ByteWriter(capacity);
  }

  /** Writes the row of a record whose values (by RECORD_SLOTS) are at body[starts, ends). */
  write(body: Buffer, starts: Int32Array, ends: Int32Array): void {
    const { out, referenceStarts, referenceEnds } = this;
    for (let slot = 0; slot < RECORD_KEYS.length; slot++) {
      if (slot > 0) out.byte(COMMA);
      const start = starts[slot]!;
      if (!IS_REFERENCE[slot]) writeCell(out, body, start, ends[slot]!);
      else if (start >= 0 && body[start] === OPEN_OBJECT) {
        readObject(body, start, ID_AND_NAME, referenceStarts, referenceEnds);
        writeCell(out, body, referenceStarts[ID]!, referenceEnds[ID]!);
        out.byte(COMMA);
        writeCell(out, body, referenceStarts[NAME]!, referenceEnds[NAME]!);
      } else {
        writeCell(out, body, start, ends[slot]!);
        out.byte(COMMA);
      }
    }
    out.byte(CARRIAGE_RETURN);
    out.byte(LINE_FEED);
  }
}

/**
 * Each record as a line of its own bytes. A raw line break between a record's tokens (a
 * pretty-printed body; strings cannot hold one raw) becomes a space.
 */
function ndjsonLines(body: Buffer, starts: readonly number[], ends: readonly number[]): EncodedRecords {
  const lineBreaks = body.includes(LINE_FEED) || body.includes(CARRIAGE_RETURN);
  const bytes = Buffer.allocUnsafeSlow(ends.reduce((sum, end, i) => sum + end - starts[i]! + 1, 0));
  const lineEnds = new Uint32Array(ends.length);
  let at = 0;
  for (let record = 0; record < ends.length; record++) {
    const lineStart = at;
    at += body.copy(bytes, at, starts[record], ends[record]);
    if (lineBreaks) for (let i = lineStart; i < at; i++) if (bytes[i] === LINE_FEED || bytes[i] === CARRIAGE_RETURN) bytes[i] = SPACE;
    bytes[at++] = LINE_FEED;
    lineEnds[record] = at;
  }
  return { bytes, ends: lineEnds };
}

/** What a page body holds, in the formats asked for. */
export interface PageContent {
  readonly total: number;
  readonly iccids: readonly string[];
  /** Each record's manifest status (`by_status`): its sim_status, or `(none)`. */
  readonly statuses: readonly string[];
  readonly encoded: Readonly<Partial<Record<Format, EncodedRecords>>>;
}

/** The body is not the documented JSON; the message says how, the caller adds which page it was. */
export class InvalidPageError extends Error {}

/** The page's top-level keys this reads. */
const PAGE_KEYS = new KeySlots(['total', 'sims']);
const [TOTAL, SIMS] = [0, 1] as const;

/** The records of one `sims` array, in every format asked for. */
class SimsReader {
  readonly iccids: string[] = [];
  readonly statuses: string[] = [];
  /** The first record that is not what the contract needs, described. */
  problem: string | undefined;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly rowEnds: number[] = [];
  private readonly csv: CsvRowWriter | undefined;
  private readonly slotStarts = new Int32Array(RECORD_SLOTS.size);
  private readonly slotEnds = new Int32Array(RECORD_SLOTS.size);

  constructor(
    private readonly body: Buffer,
    private readonly formats: readonly Format[],
  ) {
    this.csv = formats.includes('csv') ? new CsvRowWriter(body.length + 1024) : undefined;
  }

  /** Walks the array at `at` (its opening bracket); returns the index just after it. */
  read(at: number): number {
    const { body } = this;
    let i = skipWhitespace(body, at + 1);
    if (body[i] === CLOSE_ARRAY) return i + 1;
    for (;;) {
      i = body[i] === OPEN_OBJECT ? this.record(i) : this.notARecord(i);
      i = skipWhitespace(body, i);
      if (body[i] === CLOSE_ARRAY) return i + 1;
      if (body[i] !== COMMA) invalid(i);
      i = skipWhitespace(body, i + 1);
    }
  }

  encoded(): Partial<Record<Format, EncodedRecords>> {
    const encoded: Partial<Record<Format, EncodedRecords>> = {};
    for (const format of this.formats) {
      encoded[format] =
        format === 'ndjson' ? ndjsonLines(this.body, this.starts, this.ends) : { bytes: this.csv!.out.done(), ends: Uint32Array.from(this.rowEnds) };
    }
    return encoded;
  }

  private record(at: number): number {
    const { body, slotStarts, slotEnds } = this;
    const end = readObject(body, at, RECORD_SLOTS, slotStarts, slotEnds);
    const index = this.starts.length;
    this.starts.push(at);
    this.ends.push(end);
    const iccidAt = slotStarts[ICCID]!;
    const statusAt = slotStarts[STATUS]!;
    const iccid = iccidAt >= 0 && body[iccidAt] === QUOTE ? stringValue(body, iccidAt, slotEnds[ICCID]!) : undefined;
    const status = statusAt >= 0 && body[statusAt] === QUOTE ? stringValue(body, statusAt, slotEnds[STATUS]!) : undefined;
    if (iccid === undefined) this.problem ??= `sims.${index}: iccid must be a string`;
    else if (iccid.length === 0) this.problem ??= `sims.${index}: iccid must not be empty`;
    else if (status === undefined && statusAt >= 0 && body[statusAt] !== LETTER_N) this.problem ??= `sims.${index}: sim_status must be a string`;
    this.iccids.push(iccid ?? '');
    this.statuses.push(status || '(none)');
    if (this.csv) {
      this.csv.write(body, slotStarts, slotEnds);
      this.rowEnds.push(this.csv.out.length);
    }
    return end;
  }

  private notARecord(at: number): number {
    this.problem ??= `sims.${this.starts.length}: must be an object`;
    return valueEnd(this.body, at);
  }
}

/**
 * Reads a page body: the API's total, and each record of its `sims` array (ICCID, status, and
 * its bytes in each of `formats`). Throws InvalidPageError when the body is not valid JSON, or not
 * of the documented shape.
 */
export function readPage(body: Buffer, formats: readonly Format[]): PageContent {
  const pageStarts = new Int32Array(PAGE_KEYS.size);
  const pageEnds = new Int32Array(PAGE_KEYS.size);
  let sims: SimsReader | undefined;
  let simsProblem: string | undefined;
  try {
    const start = skipWhitespace(body, 0);
    if (body[start] !== OPEN_OBJECT) {
      if (skipWhitespace(body, valueEnd(body, start)) !== body.length) invalid(start);
      throw new InvalidPageError('the body is not the documented JSON (the page must be an object)');
    }
    const end = readObject(body, start, PAGE_KEYS, pageStarts, pageEnds, (slot, at) => {
      if (slot !== SIMS) return valueEnd(body, at);
      // The records are read as they are walked (a repeated key: the last, as with JSON.parse).
      if (body[at] !== OPEN_ARRAY) {
        sims = undefined;
        simsProblem = 'sims: sims must be an array';
        return valueEnd(body, at);
      }
      sims = new SimsReader(body, formats);
      simsProblem = undefined;
      return sims.read(at);
    });
    if (skipWhitespace(body, end) !== body.length) invalid(skipWhitespace(body, end));
  } catch (error) {
    if (!(error instanceof InvalidJson)) throw error;
    throw new InvalidPageError(`the body is not valid JSON (${jsonParseVerdict(body, error)})`);
  }
  // What is wrong with the shape, in the order the contract lists it: the total, sims, each record.
  const total = totalOf(body, pageStarts[TOTAL]!, pageEnds[TOTAL]!);
  // (Read through a typed copy: TypeScript takes `sims`, set only inside the callback, to be undefined here.)
  const records: SimsReader | undefined = sims;
  if (typeof total === 'string') throw new InvalidPageError(`the body is not the documented JSON (total: ${total})`);
  if (!records) throw new InvalidPageError(`the body is not the documented JSON (${simsProblem ?? 'sims: sims must be an array'})`);
  if (records.problem) throw new InvalidPageError(`the body is not the documented JSON (${records.problem})`);
  return { total, iccids: records.iccids, statuses: records.statuses, encoded: records.encoded() };
}

/** The total as a number, or what is wrong with it. */
function totalOf(body: Buffer, start: number, end: number): number | string {
  const first = body[start];
  if (start < 0 || first === undefined || !(first === MINUS || isDigit(first))) return 'total must be a number';
  const total = Number(body.toString('latin1', start, end));
  if (!Number.isFinite(total)) return 'total must be a number';
  if (!Number.isInteger(total)) return 'total must be a whole number';
  if (total < 0) return 'total must be ≥ 0';
  return total;
}

/** Why JSON.parse rejects the body, in its own words (the walk found it invalid at `error.at`). */
function jsonParseVerdict(body: Buffer, error: InvalidJson): string {
  try {
    JSON.parse(body.toString('utf8'));
  } catch (parseError) {
    return (parseError as Error).message;
  }
  // The walk must never be stricter than JSON.parse: fail loudly rather than drop a page.
  throw new Error(`internal error: the page check found invalid JSON at byte ${error.at} that JSON.parse accepts`);
}
