/** Every snapshot format, by name: each call makes a new encoder for one file. The names and what each compresses are names.ts. */
import { csvEncoder } from './csv';
import type { Encoder } from './encoder';
import type { Format } from './names';
import { ndjsonEncoder } from './ndjson';
import { parquetEncoder } from './parquet';

export type { Encoder };
export * from './names';

export const ENCODERS: Readonly<Record<Format, () => Encoder>> = { ndjson: ndjsonEncoder, csv: csvEncoder, parquet: parquetEncoder };
