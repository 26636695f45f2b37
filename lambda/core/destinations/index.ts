/**
 * Where a snapshot goes: a local folder or an S3 prefix, behind one small interface of object
 * operations. What a run does with them (stage, lock, publish all or nothing) is in
 * ../run-store.ts and ../publish.ts, written once for both.
 */
import type { Writable } from 'node:stream';
import { ConfigError } from '../errors';
import { createS3Client } from '../aws';
import { FolderDestination } from './folder';
import { S3Destination } from './s3';

export { FolderDestination, S3Destination };

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
  /** SHA-256 of an object's bytes, streamed (any size); undefined if there is none. */
  hash(relativeKey: string): Promise<string | undefined>;
  /** Copies an object over another (replacing it whole). */
  copy(fromKey: string, toKey: string): Promise<void>;
  /** Removes objects; a key that is not there is not an error. */
  remove(relativeKeys: readonly string[]): Promise<void>;
  /** The relative keys of every object whose key starts with `relativePrefix`. */
  list(relativePrefix: string): Promise<string[]>;
  /** Releases what the destination holds (the CLI's S3 client). */
  close(): Promise<void>;
}

/**
 * A typo of an S3 address, not a folder to create: anything URL-like (s3:/x, S3://x, ftp://x,
 * arn:aws:s3:::x), s3 followed by a slip of the keys (s3//x, s3;//x, s3 ://x, s3:\\x), an S3
 * host name (bucket.s3.eu-west-1.amazonaws.com/x), or spaces around it.
 */
function looksLikeS3(out: string): boolean {
  return (
    /^[A-Za-z][A-Za-z0-9+.-]+:/.test(out) ||
    /^\s*s3\s*(:|;|\/\/|\\)/i.test(out) ||
    /(^|[./])s3([.-][a-z0-9-]+)*\.amazonaws\.com(\/|$)/i.test(out) ||
    out !== out.trim()
  );
}

/** `s3://bucket/prefix` or a folder path, as given to --out. */
export function openDestination(out: string, label: string, env: NodeJS.ProcessEnv = process.env): Destination {
  if (!out.startsWith('s3://')) {
    if (looksLikeS3(out)) throw new ConfigError(`${label} must be a folder or s3://bucket/prefix (lower-case s3, two slashes, no spaces), got ${JSON.stringify(out)}`);
    return new FolderDestination(out);
  }
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(out);
  if (!match) throw new ConfigError(`${label} must be a folder or s3://bucket/prefix with a valid bucket name, got ${JSON.stringify(out)}`);
  // Extra slashes would make keys S3 shows as empty folders: a/b//c/ is a/b/c.
  const segments = (match[2] ?? '').split('/').filter((segment) => segment.length > 0);
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    throw new ConfigError(`${label} must not have . or .. in its prefix, got ${JSON.stringify(out)}`);
  }
  const prefix = segments.join('/');
  return new S3Destination(createS3Client(env), match[1]!, prefix, true);
}
