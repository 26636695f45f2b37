/**
 * Opens the destination `--out` (or the function's bucket) names: a local folder or an S3
 * prefix, both behind the interface in destination.ts.
 */
import { ConfigError } from '../errors';
import type { Destination } from './destination';
import { createS3Client } from '../aws';
import { FolderDestination } from './folder';
import { S3Destination, type S3WriteOptions } from './s3';

export { FolderDestination, S3Destination, type S3WriteOptions };
export type { Destination, StoredDocument, WriteCondition, WrittenObject } from './destination';

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

/** `s3://bucket/prefix` or a folder path, as given to --out; `options` (a KMS key, the bucket's owner) are for S3 alone. */
export function openDestination(out: string, label: string, env: NodeJS.ProcessEnv = process.env, options: S3WriteOptions = {}): Destination {
  if (!out.startsWith('s3://')) {
    if (looksLikeS3(out)) throw new ConfigError(`${label} must be a folder or s3://bucket/prefix (lower-case s3, two slashes, no spaces), got ${JSON.stringify(out)}`);
    if (options.kmsKeyArn || options.bucketOwner) throw new ConfigError(`--kms-key and --bucket-owner are for an S3 destination: give ${label} s3://bucket/prefix, or leave them out`);
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
  return new S3Destination(createS3Client(env), match[1]!, prefix, true, options);
}
