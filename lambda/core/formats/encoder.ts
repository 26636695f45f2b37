/**
 * A snapshot format: what its files start with and how one record becomes text. Encoders are
 * pure (no I/O): snapshot-file.ts compresses, measures and stores what they return.
 */
import type { ApiRecord } from '../records';
import type { Format } from '../settings';

export interface Encoder {
  readonly format: Format;
  /** The Content-Type of an uncompressed file. */
  readonly contentType: string;
  /** What every file of this format starts with ('' for none). */
  readonly header: string;
  encode(record: ApiRecord): string;
}
