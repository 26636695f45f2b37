/** Every snapshot format, by name: each call makes a new encoder for one file. */
import type { Compression, Format } from '../settings';
import { csvEncoder } from './csv';
import type { Encoder } from './encoder';
import { ndjsonEncoder } from './ndjson';
import { parquetEncoder } from './parquet';

export type { Encoder };

export const ENCODERS: Readonly<Record<Format, () => Encoder>> = { ndjson: ndjsonEncoder, csv: csvEncoder, parquet: parquetEncoder };

/** How a file of `format` is compressed when the run asks for `compression`: Parquet compresses itself. */
export function fileCompression(format: Format, compression: Compression): Compression {
  return format === 'parquet' ? 'none' : compression;
}
