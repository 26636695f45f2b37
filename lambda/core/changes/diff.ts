/**
 * The difference between two snapshots of a scope, in two passes over each side's NDJSON, with
 * memory bounded at any size:
 *
 *   1. classify  each line is only an entry (entries.ts): a key of its ICCID, the MD5 of its
 *                bytes and its ordinal. The previous side's entries are held by key and the
 *                next side's looked up, which sorts every eSIM into added, changed (other
 *                bytes) or removed, by ordinal. A large comparison spreads the entries into
 *                bucket files by key (20 bytes an eSIM) and compares one bucket at a time, at
 *                most `bucketRecords` entries of the previous side in memory.
 *   2. emit      each side read again, and only the lines at the ordinals pass 1 found decoded
 *                and parsed: removed ones from the previous side, added and changed ones from
 *                the next (a changed eSIM's earlier line kept until its new one comes, in a
 *                file of the work folder when the comparison spills).
 *
 * Most eSIMs of a day are unchanged: they cost a hash and a lookup, never a parse. (The first
 * version carried whole lines through gzipped bucket files; the second made an ICCID and a
 * hash string of each line: the change set cost 1.6 to 1.9, then 1.57 times the export
 * without it, `npm run bench:changes -- 1000000`.)
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileFailure } from '../errors';
import { type ApiRecord, parseJson } from '../record';
import { changedFields } from './compare';
import { type Classification, KeyCollisionError, newSeeds, settle, SpreadSide } from './entries';
import { forEachLine } from './lines';
import { inWorkFolder } from './work-folder';

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

/** Reads a side into `spread`, an entry a line. */
async function spreadSide(side: Side, spread: SpreadSide, signal: AbortSignal | undefined): Promise<void> {
  try {
    for await (const chunk of side()) {
      signal?.throwIfAborted();
      forEachLine(chunk, (bytes, start, end) => spread.add(bytes, start, end));
      await spread.flush();
    }
    await spread.finish();
  } finally {
    await spread.close();
  }
}

/** Pass 1: every eSIM added, changed or removed, by the ordinals of its lines; bucket files (more than one bucket) in `folder`. */
async function classify(previous: Side, next: Side, options: DiffOptions, buckets: number, folder: string | undefined): Promise<Classification> {
  const { signal } = options;
  for (let attempt = 1; ; attempt++) {
    const found: Classification = { previous: new Map(), next: new Map() };
    const seeds = newSeeds();
    const before = new SpreadSide(buckets, seeds, folder, 'previous');
    const after = new SpreadSide(buckets, seeds, folder, 'next');
    await spreadSide(previous, before, signal);
    await spreadSide(next, after, signal);
    try {
      for (let k = 0; k < buckets; k++) {
        signal?.throwIfAborted();
        await options.onBucket?.();
        settle(await before.bucket(k), await after.bucket(k), found);
      }
      return found;
    } catch (error) {
      // Two ICCIDs of a side met the same key: other seeds give other keys.
      if (!(error instanceof KeyCollisionError) || attempt === 3) throw error;
    }
  }
}

/**
 * The lines of a side at the ordinals `wanted` names, in order, each turned into changes by
 * `take`. Only those lines are decoded.
 */
async function* pick(
  side: Side,
  wanted: ReadonlyMap<number, number>,
  signal: AbortSignal | undefined,
  take: (text: string, ordinal: number, partner: number) => Change[] | undefined,
): AsyncGenerator<Change> {
  const ordinals = Uint32Array.from(wanted.keys()).sort();
  let next = 0;
  let ordinal = 0;
  for await (const chunk of side()) {
    signal?.throwIfAborted();
    const found: Change[] = [];
    forEachLine(chunk, (bytes, start, end) => {
      if (ordinals[next] === ordinal) {
        next++;
        const changes = take(bytes.toString('utf8', start, end), ordinal, wanted.get(ordinal)!);
        if (changes) found.push(...changes);
      }
      ordinal++;
    });
    yield* found;
  }
}

/** Pass 2: the records at the ordinals pass 1 found, from each side read again; a changed eSIM's earlier line waits in `folder` when there is one. */
async function* emit(previous: Side, next: Side, found: Classification, signal: AbortSignal | undefined, folder: string | undefined): AsyncGenerator<Change> {
  const earlier = new EarlierLines(folder && path.join(folder, 'earlier.ndjson'));
  try {
    yield* pick(previous, found.previous, signal, (text, _ordinal, partner) => {
      if (partner < 0) return [{ kind: 'removed', record: record(text), fields: [] }];
      earlier.put(partner, text);
      return undefined;
    });
    yield* pick(next, found.next, signal, (text, ordinal, partner) => {
      if (partner < 0) return [{ kind: 'added', record: record(text), fields: [] }];
      const before = record(earlier.take(ordinal));
      const after = record(text);
      // Two ICCIDs that shared a key (entries.ts): one removed, one added.
      if (before.iccid !== after.iccid) return [{ kind: 'removed', record: before, fields: [] }, { kind: 'added', record: after, fields: [] }];
      // Other bytes, the same values (keys in another order): not a change.
      const fields = changedFields(before, after);
      return fields.length > 0 ? [{ kind: 'changed', record: after, fields }] : undefined;
    });
  } finally {
    earlier.close();
  }
}

/**
 * The earlier lines of changed eSIMs, by the ordinal of their new line: in memory, or appended
 * to a file (at 10,000,000 eSIMs, 2% changed, they are about 80 MB).
 */
class EarlierLines {
  private readonly texts = new Map<number, string>();
  private readonly at = new Map<number, { offset: number; length: number }>();
  private fd: number | undefined;
  private size = 0;

  constructor(private readonly file: string | undefined) {}

  put(ordinal: number, text: string): void {
    if (this.file === undefined) {
      this.texts.set(ordinal, text);
      return;
    }
    const bytes = Buffer.from(text, 'utf8');
    try {
      this.fd ??= openSync(this.file, 'w+');
      writeSync(this.fd, bytes, 0, bytes.length, this.size);
    } catch (error) {
      throw fileFailure('write', this.file, error);
    }
    this.at.set(ordinal, { offset: this.size, length: bytes.length });
    this.size += bytes.length;
  }

  take(ordinal: number): string {
    if (this.file === undefined) return this.texts.get(ordinal)!;
    const { offset, length } = this.at.get(ordinal)!;
    const bytes = Buffer.allocUnsafe(length);
    try {
      readSync(this.fd!, bytes, 0, length, offset);
    } catch (error) {
      throw fileFailure('read', this.file, error);
    }
    return bytes.toString('utf8');
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }
}

/** Every eSIM added, changed or removed between `previous` and `next`, each once. */
export async function* diffSnapshots(previous: Side, next: Side, options: DiffOptions): AsyncGenerator<Change> {
  const buckets = Math.max(1, Math.ceil(options.expected / (options.bucketRecords ?? 100_000)));
  const both = async function* (folder: string | undefined): AsyncGenerator<Change> {
    const found = await classify(previous, next, options, buckets, folder);
    if (found.previous.size + found.next.size === 0) return;
    await options.onBucket?.();
    yield* emit(previous, next, found, options.signal, folder);
  };
  yield* buckets === 1 ? both(undefined) : inWorkFolder(options.workDir, both);
}
