/**
 * One data file of a snapshot: records in, encoded by its format, compressed, measured (bytes
 * and SHA-256 of exactly what is stored) and streamed to a staged object that becomes visible
 * only when the whole snapshot is published. Compression runs in zlib's thread pool.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type Duplex, PassThrough, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { COMPRESSED_INSIDE, type Compression, type Encoder, fileCompression, type Format } from '../formats';
import type { ApiRecord } from '../record';

export interface FileSummary {
  readonly format: Format;
  /** The S3 key, or the path relative to the output folder. */
  readonly key: string;
  readonly records: number;
  /** Bytes as stored (after compression). */
  readonly bytes: number;
  /** SHA-256 of the bytes as stored, hex. */
  readonly sha256: string;
  /** gzip or none around the file, or the compression inside it (Parquet's snappy). */
  readonly compression: Compression | 'snappy';
  /** The Content-Type it is stored with. */
  readonly content_type: string;
  /** What the format could not hold (Parquet: values that do not fit their column). */
  readonly warnings: readonly string[];
}

/** The Content-Type a data file is stored with. */
export function contentType(encoder: Encoder, compression: Compression): string {
  return fileCompression(encoder.format, compression) === 'gzip' ? 'application/gzip' : encoder.contentType;
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
  private readonly compression: FileSummary['compression'];
  /** The Content-Type the file is stored with. */
  private readonly contentType: string;

  constructor(
    private readonly encoder: Encoder,
    public readonly key: string,
    compression: Compression,
    sink: Writable,
  ) {
    this.compression = COMPRESSED_INSIDE[encoder.format] ?? fileCompression(encoder.format, compression);
    this.contentType = contentType(encoder, compression);
    this.input = this.compression === 'gzip' ? createGzip({ level: 6 }) : new PassThrough();
    this.flowing = pipeline(this.input, this.meter, sink);
    // Failures surface through write() and finish(); this only keeps Node from calling them unhandled.
    this.flowing.catch(() => undefined);
    if (encoder.header) this.input.write(encoder.header);
  }

  /** Appends records; waits when the compressor or the destination is behind (backpressure). */
  async write(records: readonly ApiRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.records += records.length;
    if (!this.input.write(this.encoder.encode(records))) await Promise.race([once(this.input, 'drain'), this.flowing]);
  }

  /** Flushes everything to the staged object and says what was written. */
  async finish(): Promise<FileSummary> {
    const ending = this.encoder.end();
    if (ending.length > 0) this.input.write(ending);
    this.input.end();
    await this.flowing;
    return {
      format: this.encoder.format,
      key: this.key,
      records: this.records,
      bytes: this.meter.bytes,
      sha256: this.meter.digest(),
      compression: this.compression,
      content_type: this.contentType,
      warnings: this.encoder.warnings(),
    };
  }
}
