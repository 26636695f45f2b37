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
  /**
   * The text of some records, in order. (A batch, a page at a time, rather than one record per
   * call: csv-stringify normalizes its options on every call, which cost a third of the CSV's
   * CPU one record at a time; `npm run bench`.)
   */
  encode(records: readonly ApiRecord[]): string;
}
