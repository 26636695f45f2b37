/**
 * NDJSON bytes as chunks of whole lines, with every fault on the way surfacing as an error: a
 * body cut by the network, a gunzip error, a file that is not what its manifest says.
 *
 * Not readline: `stream.pipe()` does not pass a source's error on, so a body cut mid-read left
 * readline (and the run) waiting for ever; `pipeline` destroys every stage with the error, and
 * iterating the last stage throws it. Lines stay bytes until a caller wants one as text: most
 * lines of a comparison are only looked at for their ICCID and their hash (diff.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import { type Readable, Transform, type TransformCallback, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** What a file must hold, from its manifest or checkpoint: the bytes' SHA-256 and the number of lines. */
export interface ExpectedContent {
  readonly sha256: string;
  readonly records: number;
}

/** A file whose bytes or line count are not what its manifest says. */
export class ContentMismatchError extends Error {
  override readonly name = 'ContentMismatchError';
}

/** Hashes the bytes passing through. */
class Digest extends Transform {
  readonly hash: Hash = createHash('sha256');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

const ignore = (): void => undefined;
/**
 * Inflated a megabyte at a time rather than zlib's 16 KB: each chunk is a round trip to the
 * thread pool, and at 16 KB those were more of the comparison's time than the inflating.
 */
const INFLATE_CHUNK = 1 << 20;
const NEWLINE = 0x0a;

/** Calls `each(chunk, start, end)` for every non-empty line of `chunk` (end excludes the newline). */
export function forEachLine(chunk: Buffer, each: (chunk: Buffer, start: number, end: number) => void): void {
  let start = 0;
  while (start < chunk.length) {
    let end = chunk.indexOf(NEWLINE, start);
    if (end < 0) end = chunk.length;
    if (end > start) each(chunk, start, end);
    start = end + 1;
  }
}

/**
 * NDJSON bytes (gzipped or not) as chunks that each end at a line's end. With `expected`, the
 * bytes as stored are hashed and the lines counted, and a difference throws
 * ContentMismatchError once the stream ends, before the last chunk is handed on.
 */
export async function* ndjsonChunks(source: Readable, gzipped: boolean, expected?: ExpectedContent): AsyncGenerator<Buffer> {
  const digest = expected ? new Digest() : undefined;
  let bytes: Readable = source;
  if (digest) bytes = pipeline(bytes, digest, ignore);
  if (gzipped) bytes = pipeline(bytes, createGunzip({ chunkSize: INFLATE_CHUNK }), ignore);
  let rest: Buffer | undefined;
  let pending: Buffer | undefined;
  let lines = 0;
  const count = (chunk: Buffer): void => forEachLine(chunk, () => lines++);
  for await (const read of bytes as AsyncIterable<Buffer>) {
    // The chunk before this one goes on only now: the last waits for the checks below.
    if (pending) yield pending;
    const chunk = rest ? Buffer.concat([rest, read]) : read;
    const end = chunk.lastIndexOf(NEWLINE) + 1;
    pending = end > 0 ? chunk.subarray(0, end) : undefined;
    rest = end < chunk.length ? chunk.subarray(end) : undefined;
    if (pending) count(pending);
  }
  if (rest) {
    pending = pending ? Buffer.concat([pending, rest]) : rest;
    count(rest);
  }
  if (expected && digest) {
    const sha256 = digest.hash.digest('hex');
    if (sha256 !== expected.sha256) throw new ContentMismatchError(`its SHA-256 is ${sha256.slice(0, 12)}…, not the ${expected.sha256.slice(0, 12)}… its manifest names`);
    if (lines !== expected.records) throw new ContentMismatchError(`it holds ${lines} lines, not the ${expected.records} records its manifest names`);
  }
  if (pending) yield pending;
}
