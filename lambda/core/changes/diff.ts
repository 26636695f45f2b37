/**
 * The difference between two snapshots of a scope, in two passes over each side's NDJSON, with
 * memory bounded at any size:
 *
 *   1. classify  each line is only its ICCID and the MD5 of its bytes: the previous side's
 *                pairs are held by ICCID and the next side's looked up, which sorts every eSIM
 *                into added, changed (other bytes) or removed. A large comparison spreads the
 *                pairs into bucket files by ICCID (about 45 bytes an eSIM) and compares one
 *                bucket at a time, at most `bucketRecords` pairs in memory.
 *   2. emit      each side read again, and only the lines of the eSIMs sorted out in pass 1
 *                decoded and parsed: removed ones from the previous side, added and changed
 *                ones from the next (a changed eSIM's earlier line kept until its new one comes).
 *
 * Most eSIMs of a day are unchanged: they cost a hash and a lookup, never a parse. (The first
 * version parsed nothing either, but carried whole lines through gzipped bucket files: the
 * change set cost 1.6 to 1.9 times the export without it, at 200,000 eSIMs on one core,
 * `npm run bench`; reading each side twice is cheaper than compressing it once more.)
 */
import { hash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { fileFailure } from '../errors';
import { type ApiRecord, parseJson } from '../record';
import { changedFields } from './compare';
import { forEachLine } from './lines';
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
  /** The most eSIMs of the previous snapshot held in memory at once. @default 100_000 */
  readonly bucketRecords?: number;
  /** Called between buckets and passes (the run renews its lock there). */
  readonly onBucket?: () => Promise<void>;
  /** Stops the comparison at the next chunk. */
  readonly signal?: AbortSignal;
}

/** A side of the comparison: its NDJSON as chunks of whole lines (lines.ts), read from the start each time it is called. */
export type Side = () => AsyncIterable<Buffer>;

const record = (text: string): ApiRecord => parseJson(text) as ApiRecord;

/** `{"iccid":"` at the very start of a line: where the API, and so our NDJSON, puts it. */
const LEADING_ICCID = Buffer.from('{"iccid":"');

/** A line's ICCID, read from the front of its bytes where the API puts it; any other line is parsed. */
function iccidAt(chunk: Buffer, start: number, end: number): string {
  const from = start + LEADING_ICCID.length;
  if (from < end && chunk.compare(LEADING_ICCID, 0, LEADING_ICCID.length, start, from) === 0) {
    const close = chunk.indexOf(0x22, from);
    if (close > from && close < end) {
      const iccid = chunk.toString('latin1', from, close);
      if (!iccid.includes('\\')) return iccid; // an escape: the parser reads it right
    }
  }
  return record(chunk.toString('utf8', start, end)).iccid;
}

/** The MD5 of a line's bytes: equal bytes, the same record (not a defence against an adversary: nothing here is secret). */
const digestAt = (chunk: Buffer, start: number, end: number): string => hash('md5', chunk.subarray(start, end), 'base64');

/** FNV-1a of the ICCID: which bucket an eSIM goes to. */
function bucketOf(iccid: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < iccid.length; i++) h = Math.imul(h ^ iccid.charCodeAt(i), 0x01000193);
  return (h >>> 0) % buckets;
}

/** A chunk's lines as ICCIDs and the MD5s of their lines, side by side (two arrays, not a pair per line: less for the collector). */
interface Pairs {
  readonly iccids: string[];
  readonly digests: string[];
}

/** Each line of a side as its ICCID and MD5, a chunk at a time. */
async function* pairsOf(side: Side, signal: AbortSignal | undefined): AsyncGenerator<Pairs> {
  for await (const chunk of side()) {
    signal?.throwIfAborted();
    const pairs: Pairs = { iccids: [], digests: [] };
    forEachLine(chunk, (bytes, start, end) => {
      pairs.iccids.push(iccidAt(bytes, start, end));
      pairs.digests.push(digestAt(bytes, start, end));
    });
    yield pairs;
  }
}

/** Sorts the next side's eSIMs against the previous side's (ICCID → MD5) into `kinds`; empties `before`. */
async function settle(before: Map<string, string>, next: AsyncIterable<Pairs>, kinds: Map<string, ChangeKind>): Promise<void> {
  for await (const { iccids, digests } of next) {
    for (let i = 0; i < iccids.length; i++) {
      const iccid = iccids[i]!;
      const digest = digests[i]!;
      const earlier = before.get(iccid);
      if (earlier === undefined) kinds.set(iccid, 'added');
      else {
        before.delete(iccid);
        if (earlier !== digest) kinds.set(iccid, 'changed');
      }
    }
  }
  for (const iccid of before.keys()) kinds.set(iccid, 'removed');
}

async function collect(pairs: AsyncIterable<Pairs>): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for await (const { iccids, digests } of pairs) for (let i = 0; i < iccids.length; i++) map.set(iccids[i]!, digests[i]!);
  return map;
}

/** Spreads a side's [ICCID, MD5] pairs into `buckets` files under `folder`, one `iccid md5` line each; returns their paths. */
async function spread(pairs: AsyncIterable<Pairs>, folder: string, side: string, buckets: number): Promise<string[]> {
  const files = Array.from({ length: buckets }, (_, k) => path.join(folder, `${side}-${k}.txt`));
  const outputs: Writable[] = files.map((file) => createWriteStream(file).on('error', (error: NodeJS.ErrnoException) => void (error.path ??= file)));
  const done = Promise.all(outputs.map((output) => finished(output)));
  done.catch(() => undefined); // awaited below, or raced while writing
  // Written a megabyte at a time: one write a chunk of the source made the writes cost more than the hashes.
  const parts: string[][] = files.map(() => []);
  const sizes = files.map(() => 0);
  const flush = async (k: number): Promise<void> => {
    const text = parts[k]!.join('');
    parts[k] = [];
    sizes[k] = 0;
    if (!outputs[k]!.write(text)) await Promise.race([once(outputs[k]!, 'drain'), done]);
  };
  try {
    for await (const { iccids, digests } of pairs) {
      for (let i = 0; i < iccids.length; i++) {
        const k = bucketOf(iccids[i]!, buckets);
        const line = `${iccids[i]} ${digests[i]}\n`;
        parts[k]!.push(line);
        if ((sizes[k]! += line.length) >= 1 << 20) await flush(k);
      }
    }
    for (let k = 0; k < buckets; k++) if (sizes[k]! > 0) await flush(k);
    for (const output of outputs) output.end();
    await done;
    return files;
  } catch (error) {
    for (const output of outputs) output.destroy();
    // A full /tmp names the file and says so.
    throw typeof (error as NodeJS.ErrnoException).path === 'string' ? fileFailure('write', (error as NodeJS.ErrnoException).path!, error) : error;
  }
}

/**
 * A bucket file's pairs. Read as bytes, each string made on its own: substrings of one large
 * text would each keep the whole text alive (the ICCIDs kept in `kinds` held every bucket file).
 */
async function* bucketPairs(file: string): AsyncGenerator<Pairs> {
  const bytes = await readFile(file);
  const pairs: Pairs = { iccids: [], digests: [] };
  forEachLine(bytes, (chunk, start, end) => {
    const space = chunk.indexOf(0x20, start);
    pairs.iccids.push(chunk.toString('latin1', start, space));
    pairs.digests.push(chunk.toString('latin1', space + 1, end));
  });
  yield pairs;
}

/** Pass 1: every eSIM added, changed or removed, by ICCID. */
async function classify(previous: Side, next: Side, options: DiffOptions): Promise<Map<string, ChangeKind>> {
  const { signal } = options;
  const kinds = new Map<string, ChangeKind>();
  const buckets = Math.max(1, Math.ceil(options.expected / (options.bucketRecords ?? 100_000)));
  if (buckets === 1) {
    await settle(await collect(pairsOf(previous, signal)), pairsOf(next, signal), kinds);
    return kinds;
  }
  return withWorkFolder(options.workDir, async (folder) => {
    const before = await spread(pairsOf(previous, signal), folder, 'previous', buckets);
    const after = await spread(pairsOf(next, signal), folder, 'next', buckets);
    for (let k = 0; k < buckets; k++) {
      signal?.throwIfAborted();
      await options.onBucket?.();
      await settle(await collect(bucketPairs(before[k]!)), bucketPairs(after[k]!), kinds);
    }
    return kinds;
  });
}

/**
 * The lines of a side whose eSIM `kinds` names, a chunk at a time, each turned into a change by
 * `take` (or into nothing). Only those lines are decoded.
 */
async function* pick(
  side: Side,
  kinds: ReadonlyMap<string, ChangeKind>,
  signal: AbortSignal | undefined,
  take: (kind: ChangeKind, iccid: string, text: string) => Change | undefined,
): AsyncGenerator<Change> {
  for await (const chunk of side()) {
    signal?.throwIfAborted();
    const found: Change[] = [];
    forEachLine(chunk, (bytes, start, end) => {
      const iccid = iccidAt(bytes, start, end);
      const kind = kinds.get(iccid);
      const change = kind && take(kind, iccid, bytes.toString('utf8', start, end));
      if (change) found.push(change);
    });
    yield* found;
  }
}

/** Pass 2: the records of the eSIMs in `kinds`, from each side read again. */
async function* emit(previous: Side, next: Side, kinds: ReadonlyMap<string, ChangeKind>, signal: AbortSignal | undefined): AsyncGenerator<Change> {
  // A changed eSIM's earlier line waits here for its new one; a removed one is done at once.
  const earlier = new Map<string, string>();
  yield* pick(previous, kinds, signal, (kind, iccid, text) => {
    if (kind === 'removed') return { kind, record: record(text), fields: [] };
    earlier.set(iccid, text);
    return undefined;
  });
  yield* pick(next, kinds, signal, (kind, iccid, text) => {
    if (kind === 'added') return { kind, record: record(text), fields: [] };
    const after = record(text);
    // Other bytes, the same values (keys in another order): not a change.
    const fields = changedFields(record(earlier.get(iccid)!), after);
    earlier.delete(iccid);
    return fields.length > 0 ? { kind, record: after, fields } : undefined;
  });
}

/** Every eSIM added, changed or removed between `previous` and `next`, each once. */
export async function* diffSnapshots(previous: Side, next: Side, options: DiffOptions): AsyncGenerator<Change> {
  const kinds = await classify(previous, next, options);
  if (kinds.size === 0) return;
  await options.onBucket?.();
  yield* emit(previous, next, kinds, options.signal);
}
