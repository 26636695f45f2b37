/** Every snapshot format, by name. */
import type { Format } from '../settings';
import { csvEncoder } from './csv';
import type { Encoder } from './encoder';
import { ndjsonEncoder } from './ndjson';

export type { Encoder };

export const ENCODERS: Readonly<Record<Format, Encoder>> = { ndjson: ndjsonEncoder, csv: csvEncoder };
