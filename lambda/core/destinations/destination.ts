/**
 * Where a snapshot goes, as one small interface of object operations that a local folder
 * (folder.ts) and an S3 prefix (s3.ts) both implement. What a run does with them (stage, lock,
 * publish as a transaction) is in ../run/, written once for both.
 */
import type { Readable, Writable } from 'node:stream';

export interface WrittenObject {
  /** Write the object's bytes here. */
  readonly stream: Writable;
  /** Ends the stream; the object exists at its key once this resolves. */
  complete(): Promise<void>;
  /** Removes every trace of the object. Safe to call more than once. */
  discard(): Promise<void>;
}

/** A small document as stored, with the version that a conditional write can name. */
export interface StoredDocument {
  readonly body: Buffer;
  readonly version: string;
}

/** Write only if nothing is there (`absent`), or only if it is still this version. */
export type WriteCondition = { readonly absent: true } | { readonly version: string };

export interface Destination {
  /** For people: `./exports` or `s3://bucket/prefix`. */
  readonly description: string;
  /** The key to report in the manifest for a relative key (the S3 key, or the relative path). */
  keyFor(relativeKey: string): string;
  /** Streams a new object to `relativeKey` (large files: bounded memory). */
  write(relativeKey: string, contentType: string): Promise<WrittenObject>;
  /**
   * Writes a small document whole; readers see the old or the new one, never a part. With a
   * condition, returns false (and writes nothing) when the condition does not hold.
   */
  putDocument(relativeKey: string, body: string | Buffer, condition?: WriteCondition): Promise<boolean>;
  /** A small document, or undefined if there is none. */
  readDocument(relativeKey: string): Promise<StoredDocument | undefined>;
  /** An object's bytes as a stream (any size); undefined if there is none. */
  read(relativeKey: string): Promise<Readable | undefined>;
  /** SHA-256 of an object's bytes, streamed (any size); undefined if there is none. */
  hash(relativeKey: string): Promise<string | undefined>;
  /** The version an object has now (what a condition names: S3's ETag, a file's SHA-256); undefined if there is none. */
  version(relativeKey: string): Promise<string | undefined>;
  /**
   * Copies an object over another (replacing it whole). With a condition on the target, returns
   * false (and copies nothing) when the condition does not hold.
   */
  copy(fromKey: string, toKey: string, condition?: WriteCondition): Promise<boolean>;
  /** Removes objects; a key that is not there is not an error. */
  remove(relativeKeys: readonly string[]): Promise<void>;
  /** Removes one object only while it is still `version`; false (and nothing removed) when it is not. */
  removeIf(relativeKey: string, version: string): Promise<boolean>;
  /** The relative keys of every object whose key starts with `relativePrefix`. */
  list(relativePrefix: string): Promise<string[]>;
  /** Releases what the destination holds (the CLI's S3 client). */
  close(): Promise<void>;
}
