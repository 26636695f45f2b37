/**
 * The comparison's first pass works on entries, not strings: each NDJSON line becomes 20 bytes,
 *
 *   key     64 bits of its ICCID (two 32-bit lanes, seeded anew for every comparison)
 *   digest  the first 64 bits of the MD5 of the line's bytes
 *   ordinal its place among the side's lines (pass 2 picks lines by it)
 *
 * held in typed arrays and written to bucket files as they are. No string is made per line:
 * with an ICCID and a hash string per line, garbage collection was a fifth of the comparison's
 * time, and the comparison as a whole 14.5 s of one core at 1,000,000 eSIMs, where entries
 * take 6.3 s (a CPU profile of diffSnapshots over two sandbox days, `node --cpu-prof`).
 *
 * Two ICCIDs that share a key are told apart, never merged: within a side it is seen at once
 * (KeyCollisionError: diff.ts compares again with other seeds); across the sides it pairs an
 * eSIM removed with one added as a "change", which pass 2 sees by their ICCIDs (diff.ts).
 */
import { hash, randomInt } from 'node:crypto';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileFailure } from '../errors';
import { type ApiRecord, parseJson } from '../record';

/** Two ICCIDs of one side with the same key: the odds are about n²/2^65 (1 in 370,000 at 10,000,000 eSIMs). */
export class KeyCollisionError extends Error {
  override readonly name = 'KeyCollisionError';
}

/** Entries are 5 × uint32: key (2), digest (2), ordinal. */
const WORDS = 5;
const ENTRY_BYTES = WORDS * 4;

/** `{"iccid":"` at the very start of a line: where the API, and so our NDJSON, puts it. */
const LEADING_ICCID = Buffer.from('{"iccid":"');

/** The lanes' seeds: new ones for every comparison (a collision does not repeat), the same for both sides. */
export interface Seeds {
  readonly a: number;
  readonly b: number;
}
export const newSeeds = (): Seeds => ({ a: randomInt(2 ** 32), b: randomInt(2 ** 32) });

/** murmur3's final mix of a 32-bit lane. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Writes the key of the ICCID in `bytes[from, to)` (its UTF-8) to SCRATCH. Two lanes, FNV-1a
 * and a murmur-style multiply, each mixed at the end. False if it meets `escaped` (in a
 * line's bytes, a backslash: an escape, whose bytes are not the value's; the caller parses
 * the line instead).
 */
function key(bytes: Uint8Array, from: number, to: number, seeds: Seeds, escaped = 0x5c): boolean {
  let a = seeds.a;
  let b = seeds.b;
  for (let i = from; i < to; i++) {
    const byte = bytes[i]!;
    if (byte === escaped) return false;
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x5bd1e995);
    b ^= b >>> 15;
  }
  SCRATCH[0] = mix(a ^ (to - from));
  SCRATCH[1] = mix(b);
  return true;
}

/** A line's key into SCRATCH: from its bytes where the line starts with its ICCID (as the API, and so our NDJSON, puts it), else from its parsed value. */
function keyOfLine(chunk: Buffer, start: number, end: number, seeds: Seeds): void {
  const from = start + LEADING_ICCID.length;
  if (from < end && chunk.compare(LEADING_ICCID, 0, LEADING_ICCID.length, start, from) === 0) {
    const close = chunk.indexOf(0x22, from);
    if (close > from && close < end && key(chunk, from, close, seeds)) return;
  }
  const iccid = Buffer.from((parseJson(chunk.toString('utf8', start, end)) as ApiRecord).iccid, 'utf8');
  key(iccid, 0, iccid.length, seeds, -1);
}

/** Appends entries to a growing list of blocks. */
class Blocks {
  readonly full: Buffer[] = [];
  private block = Buffer.allocUnsafe(BLOCK_BYTES);
  private words = new Uint32Array(this.block.buffer, this.block.byteOffset, BLOCK_BYTES / 4);
  private used = 0;

  /** Room for one entry: the words and the index of its first. */
  next(): [Uint32Array, number] {
    if (this.used === BLOCK_BYTES) {
      this.full.push(this.block);
      this.block = Buffer.allocUnsafe(BLOCK_BYTES);
      this.words = new Uint32Array(this.block.buffer, this.block.byteOffset, BLOCK_BYTES / 4);
      this.used = 0;
    }
    const at = this.used / 4;
    this.used += ENTRY_BYTES;
    return [this.words, at];
  }

  /** What is not yet in `full`. */
  rest(): Buffer {
    return this.block.subarray(0, this.used);
  }
}

/** Entries written to a file a block (about 1 MB) at a time. */
const BLOCK_BYTES = ENTRY_BYTES * 52_428;

/**
 * One side's entries, spread over `buckets` by key: in memory when there is one bucket, else
 * each bucket in a file of `folder`.
 */
export class SpreadSide {
  private readonly blocks: Blocks[];
  private readonly files: string[];
  private handles: FileHandle[] = [];
  private ordinal = 0;

  constructor(
    private readonly buckets: number,
    private readonly seeds: Seeds,
    folder: string | undefined,
    name: string,
  ) {
    this.blocks = Array.from({ length: buckets }, () => new Blocks());
    this.files = folder ? Array.from({ length: buckets }, (_, k) => path.join(folder, `${name}-${k}.bin`)) : [];
  }

  /** Adds an entry for each line of `chunk` (lines.ts's forEachLine gives the lines). */
  add(chunk: Buffer, start: number, end: number): void {
    keyOfLine(chunk, start, end, this.seeds);
    const [words, at] = this.blocks[SCRATCH[0]! % this.buckets]!.next();
    words[at] = SCRATCH[0]!;
    words[at + 1] = SCRATCH[1]!;
    // As a 'binary' (latin1) string, a character a byte: half the cost of asking for a Buffer (0.95 against 2.45 µs a line).
    const digest = hash('md5', chunk.subarray(start, end), 'binary');
    words[at + 2] = (digest.charCodeAt(0) | (digest.charCodeAt(1) << 8) | (digest.charCodeAt(2) << 16) | (digest.charCodeAt(3) << 24)) >>> 0;
    words[at + 3] = (digest.charCodeAt(4) | (digest.charCodeAt(5) << 8) | (digest.charCodeAt(6) << 16) | (digest.charCodeAt(7) << 24)) >>> 0;
    words[at + 4] = this.ordinal++;
  }

  /** Writes the full blocks out (with files): called between chunks. */
  async flush(): Promise<void> {
    if (this.files.length === 0) return;
    if (this.handles.length === 0) this.handles = await Promise.all(this.files.map((file) => open(file, 'w').catch(failed('write', file))));
    for (let k = 0; k < this.buckets; k++) {
      const { full } = this.blocks[k]!;
      while (full.length > 0) await this.handles[k]!.write(full.shift()!).catch(failed('write', this.files[k]!));
    }
  }

  /** Writes what is left and closes the files. */
  async finish(): Promise<void> {
    if (this.files.length === 0) return;
    await this.flush();
    for (let k = 0; k < this.buckets; k++) await this.handles[k]!.write(this.blocks[k]!.rest()).catch(failed('write', this.files[k]!));
    await Promise.all(this.handles.map((handle) => handle.close()));
  }

  /** Bucket `k`'s entries. */
  async bucket(k: number): Promise<Uint32Array> {
    const bytes = this.files.length === 0 ? Buffer.concat([...this.blocks[k]!.full, this.blocks[k]!.rest()]) : await readFile(this.files[k]!).catch(failed('read', this.files[k]!));
    return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }

  /** Closes any file left open (a comparison that stops midway). */
  async close(): Promise<void> {
    await Promise.all(this.handles.map((handle) => handle.close().catch(() => undefined)));
  }
}

const SCRATCH = new Uint32Array(2);

/** A full /tmp, or any other failure of a bucket file, names the file. */
const failed =
  (action: 'read' | 'write', file: string) =>
  (error: unknown): never => {
    throw fileFailure(action, file, error);
  };

/** What pass 1 found, by ordinal: the lines pass 2 decodes. */
export interface Classification {
  /** A previous line's ordinal → its eSIM's next ordinal when changed, -1 when removed. */
  readonly previous: Map<number, number>;
  /** A next line's ordinal → its eSIM's previous ordinal when changed, -1 when added. */
  readonly next: Map<number, number>;
}

/**
 * Sorts one bucket's eSIMs into `found`: the previous side's entries in an open-addressing
 * table by key, the next side's looked up in it.
 */
export function settle(previous: Uint32Array, next: Uint32Array, found: Classification): void {
  const count = previous.length / WORDS;
  let size = 1;
  while (size < count * 2) size <<= 1;
  const mask = size - 1;
  const slots = new Int32Array(size).fill(-1);
  const matched = new Uint8Array(count);
  const slotOf = (hi: number, lo: number): number => {
    let slot = (lo ^ hi) & mask;
    for (;;) {
      const entry = slots[slot]!;
      if (entry < 0 || (previous[entry * WORDS] === hi && previous[entry * WORDS + 1] === lo)) return slot;
      slot = (slot + 1) & mask;
    }
  };
  for (let entry = 0; entry < count; entry++) {
    const slot = slotOf(previous[entry * WORDS]!, previous[entry * WORDS + 1]!);
    if (slots[slot]! >= 0) throw new KeyCollisionError('two eSIMs of the previous snapshot share a comparison key');
    slots[slot] = entry;
  }
  for (let at = 0; at < next.length; at += WORDS) {
    const ordinal = next[at + 4]!;
    const entry = slots[slotOf(next[at]!, next[at + 1]!)]!;
    if (entry < 0) {
      found.next.set(ordinal, -1);
      continue;
    }
    if (matched[entry]) throw new KeyCollisionError('two eSIMs of this snapshot share a comparison key');
    matched[entry] = 1;
    const base = entry * WORDS;
    if (previous[base + 2] !== next[at + 2] || previous[base + 3] !== next[at + 3]) {
      found.previous.set(previous[base + 4]!, ordinal);
      found.next.set(ordinal, previous[base + 4]!);
    }
  }
  for (let entry = 0; entry < count; entry++) if (!matched[entry]) found.previous.set(previous[entry * WORDS + 4]!, -1);
}
