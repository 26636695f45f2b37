/**
 * The difference between two snapshots of a scope, with memory bounded at any size: each side's
 * NDJSON lines are spread by ICCID into gzipped bucket files in a work folder, then one bucket
 * at a time is compared in memory (at most `bucketRecords` of the previous snapshot's lines,
 * about 100,000 by default). Small snapshots (one bucket) are compared without the files.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { type ApiRecord, parseJson } from '../record';
import { changedFields } from './compare';

export type ChangeKind = 'added' | 'changed' | 'removed';

export interface Change {
  readonly kind: ChangeKind;
  /** Today's record; for a removed eSIM, its last known one. */
  readonly record: ApiRecord;
  /** The fields whose values changed (changed only). */
  readonly fields: readonly string[];
}

export interface DiffOptions {
  /** About how many eSIMs the larger side holds: decides the number of buckets. */
  readonly expected: number;
  /** A folder for the bucket files (removed afterwards). */
  readonly workDir: string;
  /** The most records of the previous snapshot held in memory at once. @default 100_000 */
  readonly bucketRecords?: number;
  /** Called between buckets (the run renews its lock there). */
  readonly onBucket?: () => Promise<void>;
}

type Lines = () => AsyncIterable<string>;

const record = (line: string): ApiRecord => parseJson(line) as ApiRecord;

/** `{"iccid":"…"` at the very start of a line: the API's order, read without parsing the line. */
const LEADING_ICCID = /^\{\s*"iccid"\s*:\s*"([^"\\]*)"/;

/**
 * A line's ICCID, taken from the front of the text where the API puts it; any other line is
 * parsed. Parsing every line, spreading one day of 10,000,000 eSIMs took over two minutes of
 * one core on its own; this way the whole comparison of both days takes about 250 s
 * (`npm run bench`, "Change sets").
 */
const iccidOf = (line: string): string => LEADING_ICCID.exec(line)?.[1] ?? record(line).iccid;

/** FNV-1a of the ICCID: which bucket an eSIM goes to. */
function bucketOf(iccid: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < iccid.length; i++) hash = Math.imul(hash ^ iccid.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % buckets;
}

/** Compares one bucket: the previous lines held by ICCID, the next ones streamed past them. */
async function* compare(previous: Lines, next: Lines): AsyncGenerator<Change> {
  const before = new Map<string, string>();
  for await (const line of previous()) before.set(iccidOf(line), line);
  // Opened only now: a file read before its lines are wanted would stall (readline does not wait).
  for await (const line of next()) {
    const iccid = iccidOf(line);
    const earlier = before.get(iccid);
    if (earlier === undefined) {
      yield { kind: 'added', record: record(line), fields: [] };
      continue;
    }
    before.delete(iccid);
    // The same text is the same record (most of an inventory, most days): no parse, no compare.
    if (earlier === line) continue;
    const after = record(line);
    const fields = changedFields(record(earlier), after);
    if (fields.length > 0) yield { kind: 'changed', record: after, fields };
  }
  for (const line of before.values()) yield { kind: 'removed', record: record(line), fields: [] };
}

/** Spreads `lines` into `buckets` gzipped files under `folder`; returns their paths. */
async function spread(lines: AsyncIterable<string>, folder: string, side: string, buckets: number): Promise<string[]> {
  const files = Array.from({ length: buckets }, (_, k) => path.join(folder, `${side}-${k}.ndjson.gz`));
  const outputs = files.map((file) => {
    const gzip = createGzip({ level: 1 });
    const written = once(gzip.pipe(createWriteStream(file)), 'close');
    return { gzip, written };
  });
  for await (const line of lines) {
    const { gzip } = outputs[bucketOf(iccidOf(line), buckets)]!;
    if (!gzip.write(`${line}\n`)) await once(gzip, 'drain');
  }
  for (const output of outputs) output.gzip.end();
  await Promise.all(outputs.map((output) => output.written));
  return files;
}

/** The lines of a gzipped bucket file. */
function linesOf(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
}

/** Every eSIM added, changed or removed between `previous` and `next`, each once; with no previous snapshot, every eSIM is added. */
export async function* diffSnapshots(previous: Lines | undefined, next: Lines, options: DiffOptions): AsyncGenerator<Change> {
  if (!previous) {
    for await (const line of next()) yield { kind: 'added', record: record(line), fields: [] };
    return;
  }
  const buckets = Math.max(1, Math.ceil(options.expected / (options.bucketRecords ?? 100_000)));
  if (buckets === 1) return yield* compare(previous, next);
  const folder = await mkdtemp(path.join(options.workDir, 'changes-'));
  try {
    const [before, after] = [await spread(previous(), folder, 'previous', buckets), await spread(next(), folder, 'next', buckets)];
    for (let k = 0; k < buckets; k++) {
      await options.onBucket?.();
      yield* compare(() => linesOf(before[k]!), () => linesOf(after[k]!));
      await Promise.all([rm(before[k]!), rm(after[k]!)]);
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** The lines of a stream of NDJSON bytes (gzipped or not). */
export function ndjsonLines(stream: Readable, gzipped: boolean): AsyncIterable<string> {
  const input = gzipped ? stream.pipe(createGunzip()) : stream;
  return (async function* () {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) if (line.length > 0) yield line;
  })();
}
