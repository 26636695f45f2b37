/**
 * One data file of a snapshot: records in, encoded (NDJSON or CSV), compressed, measured
 * (bytes and SHA-256 of exactly what is stored) and streamed to a staged object that becomes
 * visible only when the whole snapshot is published.
 *
 * Records arrive already encoded (page-decoder.ts); compression runs in zlib's thread pool,
 * off the main thread.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type Duplex, PassThrough, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Batch } from './harvest';
import { CSV_HEADER } from './page-body';
import type { Compression, Format } from './settings';

export interface FileSummary {
  readonly format: Format;
  /** The S3 key, or the path relative to the output folder. */
  readonly key: string;
  readonly records: number;
  /** Bytes as stored (after compression). */
  readonly bytes: number;
  /** SHA-256 of the bytes as stored, hex. */
  readonly sha256: string;
  readonly compression: Compression;
}

/** The part of a destination a data file needs: somewhere to stream bytes to. */
export interface ByteSink {
  readonly stream: Writable;
}

/** What a file starts with, before any record. */
const HEADERS: Record<Format, string> = { ndjson: '', csv: CSV_HEADER };

/** Bytes gathered before one write to the compressor (about 4 pages of NDJSON). */
const WRITE_SIZE = 128 * 1024;

const CONTENT_TYPES: Record<Format, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
};

/** The Content-Type a data file is stored with. */
export function contentType(format: Format, compression: Compression): string {
  return compression === 'gzip' ? 'application/gzip' : CONTENT_TYPES[format];
}

/** Counts and hashes the bytes passing through. */
class Meter extends Transform {
  public bytes = 0;
  private readonly hash = createHash('sha256');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export class SnapshotFile {
  private readonly input: Duplex;
  private readonly meter = new Meter();
  private readonly flowing: Promise<void>;
  private records = 0;
  private pending: Uint8Array[] = [];
  private pendingLength = 0;

  constructor(
    public readonly format: Format,
    public readonly key: string,
    private readonly compression: Compression,
    sink: ByteSink,
  ) {
    this.input = compression === 'gzip' ? createGzip({ level: 6 }) : new PassThrough();
    this.flowing = pipeline(this.input, this.meter, sink.stream);
    // Failures surface through write() and finish(); this only keeps Node from calling them unhandled.
    this.flowing.catch(() => undefined);
    if (HEADERS[format]) this.input.write(HEADERS[format]);
  }

  /** Appends a batch; waits when the compressor or the destination is behind (backpressure). */
  async write(batch: Batch): Promise<void> {
    const bytes = batch.encoded[this.format];
    if (!bytes) throw new Error(`internal error: the batch has no ${this.format} encoding`);
    this.records += batch.statuses.length;
    this.pending.push(bytes);
    this.pendingLength += bytes.length;
    if (this.pendingLength >= WRITE_SIZE) await this.flush();
  }

  /** Hands what is pending to the compressor in one piece: each write to zlib has a fixed cost. */
  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const bytes = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingLength = 0;
    if (!this.input.write(bytes)) await Promise.race([once(this.input, 'drain'), this.flowing]);
  }

  /** Flushes everything to the staged object and says what was written. */
  async finish(): Promise<FileSummary> {
    await this.flush();
    this.input.end();
    await this.flowing;
    return {
      format: this.format,
      key: this.key,
      records: this.records,
      bytes: this.meter.bytes,
      sha256: this.meter.digest(),
      compression: this.compression,
    };
  }
}
