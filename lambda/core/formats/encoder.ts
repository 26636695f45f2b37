/**
 * A snapshot format: what its files start with, how records become its bytes, and how a file
 * ends. Encoders do no I/O: snapshot-file.ts compresses, measures and stores what they return.
 */
import type { ApiRecord } from '../record';
import type { Format } from './names';

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
  encode(records: readonly ApiRecord[]): string | Uint8Array;
  /** What the file ends with, once every record is in ('' for nothing). */
  end(): string | Uint8Array;
  /** What the manifest should say about values this format could not hold. */
  warnings(): string[];
}
