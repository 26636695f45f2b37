/**
 * Where a snapshot goes: a local folder or an S3 prefix, behind one interface.
 *
 * Data files are *staged*: bytes stream in while the export runs, and nothing is visible at the
 * final key until `publish()`. `discard()` removes every trace. That is how a failed run leaves
 * earlier snapshots exactly as they were.
 * - Folder: a hidden staging folder under the output folder, renamed into place on publish
 *   (same file system, so each rename is atomic).
 * - S3: a streaming multipart upload (@aws-sdk/lib-storage) whose input is held open until
 *   publish; S3 shows no object until the upload completes, and discard aborts it.
 * Small documents (manifest, latest.json) are written whole and atomically.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Client } from './aws';
import { ConfigError, DestinationError } from './errors';

export interface StagedObject {
  /** Write the object's bytes here; ending it does not publish. */
  readonly stream: Writable;
  /** Makes the object visible at its key. */
  publish(): Promise<void>;
  /** Removes every trace of the staged object. Safe to call more than once. */
  discard(): Promise<void>;
}

export interface Destination {
  /** For people: `./exports` or `s3://bucket/prefix`. */
  readonly description: string;
  /** The key to report in the manifest for a relative key (the S3 key, or the relative path). */
  keyFor(relativeKey: string): string;
  stage(relativeKey: string, contentType: string): Promise<StagedObject>;
  /** Writes a small document whole; readers see the old or the new one, never a part. */
  putDocument(relativeKey: string, body: string): Promise<void>;
  /** The relative keys of every object whose key starts with `relativePrefix`. */
  list(relativePrefix: string): Promise<string[]>;
  /** Removes what the destination itself left behind (staging folders); call after publish or discard. */
  close(): Promise<void>;
}

/** A folder on this machine. */
export class FolderDestination implements Destination {
  public readonly description: string;
  private readonly root: string;
  private readonly staging: string;
  /** Whether the output folder existed before this run: if not, a failed run removes it again. */
  private rootExisted: boolean | undefined;

  constructor(folder: string) {
    this.description = folder;
    this.root = path.resolve(folder);
    this.staging = path.join(this.root, `.staging-${randomUUID()}`);
  }

  keyFor(relativeKey: string): string {
    return relativeKey;
  }

  async stage(relativeKey: string): Promise<StagedObject> {
    await this.ensureRoot();
    await mkdir(this.staging, { recursive: true });
    const temporary = path.join(this.staging, relativeKey.replaceAll('/', '__'));
    const stream = createWriteStream(temporary, { flags: 'wx' });
    return {
      stream,
      publish: async () => {
        const final = this.resolve(relativeKey);
        await mkdir(path.dirname(final), { recursive: true });
        await rename(temporary, final);
      },
      discard: async () => {
        stream.destroy();
        await rm(temporary, { force: true });
      },
    };
  }

  async putDocument(relativeKey: string, body: string): Promise<void> {
    const final = this.resolve(relativeKey);
    const temporary = path.join(this.staging, `${randomUUID()}.tmp`);
    try {
      await this.ensureRoot();
      await mkdir(this.staging, { recursive: true });
      await writeFile(temporary, body, { flag: 'wx' });
      await mkdir(path.dirname(final), { recursive: true });
      await rename(temporary, final);
    } catch (error) {
      await rm(temporary, { force: true });
      throw new DestinationError(`could not write ${final}: ${(error as Error).message}`, { cause: error });
    }
  }

  async list(relativePrefix: string): Promise<string[]> {
    // Prefixes used here always end at a folder boundary ("…/manifests/").
    const folder = this.resolve(relativePrefix);
    const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(this.root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
  }

  async close(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
    // Only an empty folder this run created goes; rmdir refuses anything else.
    if (this.rootExisted === false) await rmdir(this.root).catch(() => undefined);
  }

  private async ensureRoot(): Promise<void> {
    if (this.rootExisted === undefined) {
      this.rootExisted = await stat(this.root).then(
        () => true,
        () => false,
      );
    }
    await mkdir(this.root, { recursive: true });
  }

  private resolve(relativeKey: string): string {
    return path.join(this.root, ...relativeKey.split('/'));
  }
}

/** How long a discard waits for S3 to confirm the multipart upload is aborted. */
const DISCARD_WAIT_MS = 10_000;

/** An S3 bucket and key prefix. */
export class S3Destination implements Destination {
  public readonly description: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    /** Destroy the client on close (the CLI's own); a Lambda keeps its client for the next invocation. */
    private readonly ownsClient = false,
  ) {
    this.description = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
  }

  keyFor(relativeKey: string): string {
    return this.prefix ? `${this.prefix}/${relativeKey}` : relativeKey;
  }

  async stage(relativeKey: string, contentType: string): Promise<StagedObject> {
    const key = this.keyFor(relativeKey);
    const body = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      // Four 8 MiB parts in flight at most: a bounded buffer however large the file.
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
      leavePartsOnError: false,
    });
    const uploaded = upload.done();
    // The input is held open (final() below does not end it) until publish, so S3 completes the
    // upload only then. An upload that fails early fails the writer at once instead of stalling it.
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (body.write(chunk)) callback();
        else body.once('drain', () => callback());
      },
      final(callback) {
        callback();
      },
    });
    uploaded.catch((error: unknown) => stream.destroy(this.failure('upload', key, error)));
    let discarded: Promise<void> | undefined;
    return {
      stream,
      publish: async () => {
        body.end();
        try {
          await uploaded;
        } catch (error) {
          throw this.failure('upload', key, error);
        }
      },
      // Failing the input (rather than upload.abort(), which returns before the upload is
      // cleaned up) makes lib-storage send AbortMultipartUpload before done() settles, so the
      // parts are gone before we return. If S3 does not answer, abort() as a last resort.
      discard: () =>
        (discarded ??= (async () => {
          stream.destroy();
          body.destroy(new Error('discarded'));
          const timer = new AbortController();
          const settled = await Promise.race([
            uploaded.then(() => true, () => true),
            sleep(DISCARD_WAIT_MS, false, { signal: timer.signal }).catch(() => false),
          ]);
          timer.abort();
          if (!settled) await upload.abort();
        })()),
    };
  }

  async putDocument(relativeKey: string, body: string): Promise<void> {
    const key = this.keyFor(relativeKey);
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' }),
      );
    } catch (error) {
      throw this.failure('write', key, error);
    }
  }

  async list(relativePrefix: string): Promise<string[]> {
    const keys: string[] = [];
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    try {
      const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: this.keyFor(relativePrefix) });
      for await (const page of pages) for (const object of page.Contents ?? []) keys.push(object.Key!.slice(strip));
    } catch (error) {
      throw this.failure('list', this.keyFor(relativePrefix), error);
    }
    return keys;
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private failure(action: string, key: string, error: unknown): DestinationError {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return new DestinationError(`could not ${action} s3://${this.bucket}/${key} (${reason}). Check the bucket name and the permissions s3:PutObject and s3:ListBucket under the prefix.`, {
      cause: error,
    });
  }
}

/** `s3://bucket/prefix` or a folder path, as given to --out. */
export function openDestination(out: string, label: string, env: NodeJS.ProcessEnv = process.env): Destination {
  // Anything URL-like but s3:// (s3:/x, S3://x, ftp://x) is a typo, not a folder to create.
  if (!out.startsWith('s3://')) {
    if (/^[A-Za-z][A-Za-z0-9+.-]+:/.test(out)) {
      throw new ConfigError(`${label} must be a folder or s3://bucket/prefix (lower-case s3, two slashes), got ${JSON.stringify(out)}`);
    }
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
