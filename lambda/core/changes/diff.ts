/**
 * The difference between two snapshots of a scope, with memory bounded at any size: each side's
 * NDJSON lines are spread by ICCID into gzipped bucket files in a work folder, then one bucket
 * at a time is compared in memory (at most `bucketRecords` of the previous snapshot's lines,
 * about 100,000 by default). Small snapshots (one bucket) are compared without the files.
 *
 * Lines travel in batches (lines.ts): one `await` and one compressor write per batch, not per line.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { fileFailure } from '../errors';
import { type ApiRecord, parseJson } from '../record';
import { changedFields } from './compare';
import { ndjsonBatches } from './lines';
import { withWorkFolder } from './work-folder';

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
  /** Where the bucket files go: a folder of its own under it, removed afterwards (work-folder.ts). */
  readonly workDir: string;
  /** The most records of the previous snapshot held in memory at once. @default 100_000 */
  readonly bucketRecords?: number;
  /** Called between buckets (the run renews its lock there). */
  readonly onBucket?: () => Promise<void>;
  /** Stops the comparison at the next batch. */
  readonly signal?: AbortSignal;
}

/** A side of the comparison: its lines in batches, read from the start each time it is called. */
export type Batches = () => AsyncIterable<readonly string[]>;

const record = (line: string): ApiRecord => parseJson(line) as ApiRecord;

/** `{"iccid":"…"` at the very start of a line: the API's order, read without parsing the line. */
const LEADING_ICCID = /^\{\s*"iccid"\s*:\s*"([^"\\]*)"/;

/**
 * A line's ICCID, taken from the front of the text where the API puts it; any other line is
 * parsed. Parsing every line, spreading one day of 10,000,000 eSIMs took over two minutes of
 * one core on its own.
 */
const iccidOf = (line: string): string => LEADING_ICCID.exec(line)?.[1] ?? record(line).iccid;

/** FNV-1a of the ICCID: which bucket an eSIM goes to. */
function bucketOf(iccid: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < iccid.length; i++) hash = Math.imul(hash ^ iccid.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % buckets;
}

/** Compares one bucket: the previous lines held by ICCID, the next ones streamed past them. */
async function* compare(previous: Batches, next: Batches, signal: AbortSignal | undefined): AsyncGenerator<Change> {
  const before = new Map<string, string>();
  for await (const lines of previous()) {
    signal?.throwIfAborted();
    for (const line of lines) before.set(iccidOf(line), line);
  }
  for await (const lines of next()) {
    signal?.throwIfAborted();
    for (const line of lines) {
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
  }
  for (const line of before.values()) yield { kind: 'removed', record: record(line), fields: [] };
}

/** Spreads `batches` into `buckets` gzipped files under `folder`; returns their paths. */
async function spread(batches: AsyncIterable<readonly string[]>, folder: string, side: string, buckets: number, signal: AbortSignal | undefined): Promise<string[]> {
  const files = Array.from({ length: buckets }, (_, k) => path.join(folder, `${side}-${k}.ndjson.gz`));
  const outputs = files.map((file) => {
    const gzip = createGzip({ level: 1 });
    const written = pipeline(gzip, createWriteStream(file)).catch((error: unknown) => {
      throw fileFailure('write', file, error); // a full /tmp names the file and says so
    });
    written.catch(() => undefined); // awaited below, or raced while writing
    return { gzip, written };
  });
  try {
    const parts: string[][] = files.map(() => []);
    for await (const lines of batches) {
      signal?.throwIfAborted();
      for (const line of lines) parts[bucketOf(iccidOf(line), buckets)]!.push(line);
      for (let k = 0; k < buckets; k++) {
        if (parts[k]!.length === 0) continue;
        const { gzip, written } = outputs[k]!;
        if (!gzip.write(`${parts[k]!.join('\n')}\n`)) await Promise.race([once(gzip, 'drain'), written]);
        parts[k] = [];
      }
    }
    for (const output of outputs) output.gzip.end();
    await Promise.all(outputs.map((output) => output.written));
    return files;
  } catch (error) {
    for (const output of outputs) output.gzip.destroy();
    throw error;
  }
}

/** The lines of a bucket file. */
const bucketLines = (file: string): Batches => () => ndjsonBatches(createReadStream(file), true);

/** Every eSIM added, changed or removed between `previous` and `next`, each once; with no previous snapshot, every eSIM is added. */
export async function* diffSnapshots(previous: Batches | undefined, next: Batches, options: DiffOptions): AsyncGenerator<Change> {
  const { signal } = options;
  if (!previous) {
    for await (const lines of next()) {
      signal?.throwIfAborted();
      for (const line of lines) yield { kind: 'added', record: record(line), fields: [] };
    }
    return;
  }
  const buckets = Math.max(1, Math.ceil(options.expected / (options.bucketRecords ?? 100_000)));
  if (buckets === 1) return yield* compare(previous, next, signal);
  yield* withWorkFolder(options.workDir, async function* (folder) {
    const before = await spread(previous(), folder, 'previous', buckets, signal);
    const after = await spread(next(), folder, 'next', buckets, signal);
    for (let k = 0; k < buckets; k++) {
      await options.onBucket?.();
      yield* compare(bucketLines(before[k]!), bucketLines(after[k]!), signal);
    }
  });
}
