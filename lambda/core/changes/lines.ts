/**
 * NDJSON bytes as batches of lines, with every fault on the way surfacing as an error: a body
 * cut by the network, a gunzip error, a file that is not what its manifest says.
 *
 * Not readline: `stream.pipe()` does not pass a source's error on, so a body cut mid-read left
 * readline (and the run) waiting for ever; `pipeline` destroys every stage with the error, and
 * iterating the last stage throws it. Lines are handed on a chunk at a time: one `await` per
 * 64 KiB rather than one per line.
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
 * The non-empty lines of NDJSON bytes (gzipped or not), a batch per chunk read. With `expected`,
 * the bytes as stored are hashed and the lines counted, and a difference throws
 * ContentMismatchError once the stream ends, before the last batch is handed on.
 */
export async function* ndjsonBatches(source: Readable, gzipped: boolean, expected?: ExpectedContent): AsyncGenerator<string[]> {
  const digest = expected ? new Digest() : undefined;
  let text: Readable = source;
  if (digest) text = pipeline(text, digest, ignore);
  if (gzipped) text = pipeline(text, createGunzip(), ignore);
  text.setEncoding('utf8');
  let rest = '';
  let count = 0;
  let pending: string[] = [];
  for await (const chunk of text as AsyncIterable<string>) {
    // The batch before this chunk goes on only now: the last batch waits for the checks below.
    if (pending.length > 0) yield pending;
    pending = [];
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line.length > 0) pending.push(line);
    count += pending.length;
  }
  if (rest.length > 0) {
    pending.push(rest);
    count++;
  }
  if (expected && digest) {
    const sha256 = digest.hash.digest('hex');
    if (sha256 !== expected.sha256) throw new ContentMismatchError(`its SHA-256 is ${sha256.slice(0, 12)}…, not the ${expected.sha256.slice(0, 12)}… its manifest names`);
    if (count !== expected.records) throw new ContentMismatchError(`it holds ${count} lines, not the ${expected.records} records its manifest names`);
  }
  if (pending.length > 0) yield pending;
}
