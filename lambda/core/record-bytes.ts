/**
 * A page body's records as the bytes of each format: NDJSON lines and CSV rows, made by copying
 * the bytes the API sent rather than by serializing parsed values.
 *
 * NDJSON needs each record exactly as the API sent it: a line is a copy of the record's bytes.
 * CSV cells are values the API sent, so rather than serialize parsed records again
 * (JSON.stringify for `imsis`, String() for numbers) a row is assembled from the value's bytes:
 * numbers and `imsis` exactly as the API wrote them, text as its bytes unless it holds an escape
 * sequence (then JSON.parse reads that one string). Decoding pages is most of an export's CPU;
 * on the sandbox's pages this takes about a third less CPU than building rows from the parsed
 * records did (which in turn beat csv-stringify, measured at a sixth of the whole export's CPU;
 * csv-parse reads every row back in the tests). And since no value is written from a parsed
 * number, an integer too large for a JavaScript number cannot be rounded on its way to a file.
 *
 * Nothing here checks syntax: the body has been through JSON.parse first (records.ts), so one
 * walk over it only has to find where each value starts and ends.
 *
 * The byte codes are constants of this module, not imported: the CLI runs TypeScript through
 * tsx, whose CommonJS imports read each binding through a getter, and in loops that run for
 * every byte that cost several times the work itself.
 */
import type { Format } from './settings';

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const LINE_FEED = 10;
const CARRIAGE_RETURN = 13;
const SPACE = 32;
const TAB = 9;
const LETTER_N = 110; // the n of null

/** JSON's whitespace between tokens. */
const isWhitespace = (code: number): boolean => code === SPACE || code === LINE_FEED || code === CARRIAGE_RETURN || code === TAB;

/**
 * The index just after the string whose opening quote is at `at`, or -1 when it never ends.
 * A loop rather than Buffer#indexOf: most strings are a few bytes, shorter than the call costs.
 */
function stringEnd(body: Buffer, at: number): number {
  for (let i = at + 1; i < body.length; i++) {
    const code = body[i];
    if (code === BACKSLASH) i++; // the escaped character cannot end the string
    else if (code === QUOTE) return i + 1;
  }
  return -1;
}

/** Records encoded back to back; `ends[i]` is the byte offset just after record `i`. */
export interface EncodedRecords {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
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

/** The CSV header row. */
export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

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
    const escape = body.indexOf(BACKSLASH, start);
    if (escape < 0 || escape >= end) return -1;
    return this.byName.get(JSON.parse(body.toString('utf8', start - 1, end + 1)) as string) ?? -1;
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
/** `group`, `inventory`, `company`: `{id, name}` in the documented shape, a plain id (and no name) in the newer one. */
const IS_REFERENCE = RECORD_KEYS.map((key) => key === 'group' || key === 'inventory' || key === 'company');

/** A reference's keys in the documented shape, `{id, name}`. */
const ID_AND_NAME = new KeySlots(['id', 'name']);
const [ID, NAME] = [0, 1] as const;

/** The index just after the value that starts at `at`. */
function valueEnd(body: Buffer, at: number): number {
  const first = body[at]!;
  if (first === QUOTE) return stringEnd(body, at);
  if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
    let depth = 0;
    for (let i = at; ; i++) {
      const code = body[i]!;
      if (code === QUOTE) i = stringEnd(body, i) - 1;
      else if (code === OPEN_OBJECT || code === OPEN_ARRAY) depth++;
      else if ((code === CLOSE_OBJECT || code === CLOSE_ARRAY) && --depth === 0) return i + 1;
    }
  }
  // A number, true, false or null: up to the next delimiter.
  let i = at + 1;
  while (i < body.length) {
    const code = body[i]!;
    if (code === COMMA || code === CLOSE_OBJECT || code === CLOSE_ARRAY || isWhitespace(code)) break;
    i++;
  }
  return i;
}

function skipWhitespace(body: Buffer, at: number): number {
  let i = at;
  while (isWhitespace(body[i]!)) i++;
  return i;
}

/**
 * Where the values of `keys` in the object at `at` start and end (`starts[slot]` is -1 for a
 * key that is absent; a repeated key keeps its last value, as with JSON.parse). Returns the
 * index just after the object.
 */
function readObject(body: Buffer, at: number, keys: KeySlots, starts: Int32Array, ends: Int32Array): number {
  starts.fill(-1);
  let i = skipWhitespace(body, at + 1);
  if (body[i] === CLOSE_OBJECT) return i + 1;
  for (;;) {
    const keyEnd = stringEnd(body, i);
    const slot = keys.slotOf(body, i + 1, keyEnd - 1);
    const valueStart = skipWhitespace(body, skipWhitespace(body, keyEnd) + 1); // past the colon
    i = valueEnd(body, valueStart);
    if (slot >= 0) {
      starts[slot] = valueStart;
      ends[slot] = i;
    }
    i = skipWhitespace(body, i);
    if (body[i] !== COMMA) return i + 1;
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
    if (code === BACKSLASH) return writeText(out, JSON.parse(body.toString('utf8', start, end)) as string);
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

/** The page's top-level keys this reads. */
const PAGE_SLOTS = new KeySlots(['sims']);
const SIMS = 0;

/** A record as a CSV row in CSV_COLUMNS order, CRLF-terminated. */
class CsvRowWriter {
  readonly out: ByteWriter;
  private readonly starts = new Int32Array(RECORD_SLOTS.size);
  private readonly ends = new Int32Array(RECORD_SLOTS.size);
  private readonly referenceStarts = new Int32Array(ID_AND_NAME.size);
  private readonly referenceEnds = new Int32Array(ID_AND_NAME.size);

  constructor(capacity: number) {
    this.out = new ByteWriter(capacity);
  }

  /** Writes the row of the record at `at`; returns the index just after the record. */
  write(body: Buffer, at: number): number {
    const { out, starts, ends, referenceStarts, referenceEnds } = this;
    const recordEnd = readObject(body, at, RECORD_SLOTS, starts, ends);
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
    return recordEnd;
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

/**
 * The records of the page's top-level `sims` array in each of `formats`, in one walk over the
 * body, which must be valid JSON. `count` is how many records there were.
 */
export function encodeRecords(body: Buffer, formats: readonly Format[]): { count: number; encoded: Partial<Record<Format, EncodedRecords>> } {
  // Where the (last, as with JSON.parse) top-level `sims` value starts.
  const pageStarts = new Int32Array(PAGE_SLOTS.size);
  readObject(body, skipWhitespace(body, 0), PAGE_SLOTS, pageStarts, new Int32Array(PAGE_SLOTS.size));
  const csv = formats.includes('csv') ? new CsvRowWriter(body.length + 1024) : undefined;
  const starts: number[] = [];
  const ends: number[] = [];
  const rowEnds: number[] = [];
  const sims = pageStarts[SIMS]!;
  if (sims < 0 || body[sims] !== OPEN_ARRAY) throw new Error('internal error: the page has no sims array to encode');
  let i = skipWhitespace(body, sims + 1);
  while (body[i] !== CLOSE_ARRAY) {
    const end = csv ? csv.write(body, i) : valueEnd(body, i);
    starts.push(i);
    ends.push(end);
    if (csv) rowEnds.push(csv.out.length);
    i = skipWhitespace(body, end);
    if (body[i] === COMMA) i = skipWhitespace(body, i + 1);
  }
  const encoded: Partial<Record<Format, EncodedRecords>> = {};
  for (const format of formats) {
    encoded[format] = format === 'ndjson' ? ndjsonLines(body, starts, ends) : { bytes: csv!.out.done(), ends: Uint32Array.from(rowEnds) };
  }
  return { count: starts.length, encoded };
}
