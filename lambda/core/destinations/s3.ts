/**
 * An S3 bucket and key prefix as a destination. Large files stream as multipart uploads
 * (@aws-sdk/lib-storage: bounded memory, parts aborted on failure); small documents are single
 * PUTs, conditional ones with S3's `If-None-Match` / `If-Match`. Every object is written the
 * same way (`written`): with your KMS key (SSE-KMS and an S3 Bucket Key), and, in a bucket of
 * another account, owned by that account; every request then checks the bucket's owner.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pipeline } from 'node:stream/promises';
import { PassThrough, type Readable, Writable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DestinationError } from '../errors';
import type { Destination, StoredDocument, WriteCondition, WrittenObject } from './destination';

/** How long a discard waits for S3 to confirm the multipart upload is aborted. */
const DISCARD_WAIT_MS = 10_000;

/** What an S3 failure means for the user, by the SDK's error name. */
export function reasonOf(error: unknown, bucket: string): string {
  const name = (error as Error).name;
  const message = (error as Error).message ?? String(error);
  if (name === 'NoSuchBucket') return `the bucket ${bucket} does not exist (or is in another account)`;
  if (/KMS/.test(name) || /\bKMS\b|\bkms:[A-Z]/.test(message)) return `KMS refused: the caller needs kms:GenerateDataKey and kms:Decrypt on the key (${message})`;
  if (name === 'AccessDenied' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403) {
    return 'access denied: the caller needs s3:PutObject, s3:GetObject, s3:DeleteObject and s3:ListBucket under the prefix';
  }
  if (/region is missing/i.test(message)) return 'no AWS region is set: set AWS_REGION (or a profile with a region)';
  if (name === 'CredentialsProviderError') return 'no AWS credentials were found: set AWS_PROFILE or the AWS_* credential variables';
  return `${name}: ${message}`;
}

const isPreconditionFailure = (error: unknown): boolean =>
  ['PreconditionFailed', 'ConditionalRequestConflict'].includes((error as Error).name) ||
  [412, 409].includes((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0);

/** S3's fields for a write condition. */
const conditionFields = (condition: WriteCondition | undefined): { IfNoneMatch?: string; IfMatch?: string } =>
  condition ? ('absent' in condition ? { IfNoneMatch: '*' } : { IfMatch: condition.version }) : {};

/** How the objects are written (settings kmsKeyArn and bucketOwner, lambda/core/settings/table.ts). */
export interface S3WriteOptions {
  /** Encrypt every object with this KMS key (SSE-KMS, with an S3 Bucket Key). @default the bucket's default encryption */
  readonly kmsKeyArn?: string;
  /** The bucket's account: every request fails unless it owns the bucket, and objects are written bucket-owner-full-control. @default not checked */
  readonly bucketOwner?: string;
}

export class S3Destination implements Destination {
  public readonly description: string;
  /** Fields of every request: the owner the bucket must have. */
  private readonly checked: { ExpectedBucketOwner?: string };
  /** Fields of every request that creates an object (PutObject, CreateMultipartUpload, CopyObject). */
  private readonly written: { ServerSideEncryption?: 'aws:kms'; SSEKMSKeyId?: string; BucketKeyEnabled?: boolean; ACL?: 'bucket-owner-full-control'; ExpectedBucketOwner?: string };

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    /** Destroy the client on close (the CLI's own); a Lambda keeps its client for the next invocation. */
    private readonly ownsClient = false,
    { kmsKeyArn, bucketOwner }: S3WriteOptions = {},
  ) {
    this.description = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    this.checked = bucketOwner ? { ExpectedBucketOwner: bucketOwner } : {};
    this.written = {
      ...this.checked,
      // The Bucket Key cuts KMS requests (and their cost) by deriving each object's key from a bucket-level one.
      ...(kmsKeyArn && { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKeyArn, BucketKeyEnabled: true }),
      // Owned by the bucket's account whatever its Object Ownership (the one ACL a bucket with ACLs disabled accepts).
      ...(bucketOwner && { ACL: 'bucket-owner-full-control' }),
    };
    // lib-storage builds its AbortMultipartUpload itself, from Bucket, Key and UploadId alone: the
    // owner check goes on it here, so every request of ours carries it. One middleware per
    // bucket, replaced (not added again) when a warm Lambda makes its destination anew.
    if (bucketOwner) {
      client.middlewareStack.add(
        (next, context) => (args) => {
          const input = args.input as { Bucket?: string; ExpectedBucketOwner?: string };
          if (context.commandName === 'AbortMultipartUploadCommand' && input.Bucket === bucket) input.ExpectedBucketOwner ??= bucketOwner;
          return next(args);
        },
        { step: 'initialize', name: `esimExportOwnerOnAbort-${bucket}`, override: true },
      );
    }
  }

  keyFor(relativeKey: string): string {
    return this.prefix ? `${this.prefix}/${relativeKey}` : relativeKey;
  }

  async write(relativeKey: string, contentType: string): Promise<WrittenObject> {
    const key = this.keyFor(relativeKey);
    const body = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ...this.written },
      // Four 8 MiB parts in flight at most: a bounded buffer however large the file.
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
      leavePartsOnError: false,
    });
    const uploaded = upload.done();
    // An upload that fails early fails the writer at once instead of stalling it.
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (body.write(chunk)) callback();
        else body.once('drain', () => callback());
      },
      final(callback) {
        body.end();
        callback();
      },
    });
    uploaded.catch((error: unknown) => stream.destroy(this.failure('upload', key, error)));
    let discarded: Promise<void> | undefined;
    return {
      stream,
      complete: async () => {
        stream.end();
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
          else await this.remove([relativeKey]).catch(() => undefined); // completed just before the discard
        })()),
    };
  }

  async putDocument(relativeKey: string, body: string | Buffer, condition?: WriteCondition): Promise<boolean> {
    const key = this.keyFor(relativeKey);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: typeof body === 'string' ? 'application/json' : 'application/octet-stream',
          ...this.written,
          ...conditionFields(condition),
        }),
      );
      return true;
    } catch (error) {
      if (condition && isPreconditionFailure(error)) return false;
      throw this.failure('write', key, error);
    }
  }

  async readDocument(relativeKey: string): Promise<StoredDocument | undefined> {
    const key = this.keyFor(relativeKey);
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...this.checked }));
      return { body: Buffer.from(await answer.Body!.transformToByteArray()), version: answer.ETag ?? '' };
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw this.failure('read', key, error);
    }
  }

  async read(relativeKey: string): Promise<Readable | undefined> {
    const key = this.keyFor(relativeKey);
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...this.checked }));
      return answer.Body as Readable;
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw this.failure('read', key, error);
    }
  }

  async hash(relativeKey: string): Promise<string | undefined> {
    const stream = await this.read(relativeKey);
    if (!stream) return undefined;
    const hash = createHash('sha256');
    await pipeline(stream, hash).catch((error: unknown) => {
      throw this.failure('read', this.keyFor(relativeKey), error);
    });
    return hash.digest('hex');
  }

  async version(relativeKey: string): Promise<string | undefined> {
    const key = this.keyFor(relativeKey);
    try {
      return (await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, ...this.checked }))).ETag ?? '';
    } catch (error) {
      if (['NotFound', 'NoSuchKey'].includes((error as Error).name)) return undefined;
      throw this.failure('read', key, error);
    }
  }

  /**
   * CopyObject: S3 copies server-side, up to 5 GB an object (one invocation's file is far
   * smaller); a condition on the target is S3's own (If-None-Match / If-Match on CopyObject).
   */
  async copy(fromKey: string, toKey: string, condition?: WriteCondition): Promise<boolean> {
    const from = this.keyFor(fromKey);
    const to = this.keyFor(toKey);
    try {
      // URL-encoded as S3 requires; encodeURI keeps the '=' and '/' of dt=… keys as they are,
      // which S3 accepts and s3rver (used by the tests) needs.
      const source = encodeURI(`${this.bucket}/${from}`);
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: to,
          CopySource: source,
          ExpectedSourceBucketOwner: this.checked.ExpectedBucketOwner,
          ...this.written,
          ...conditionFields(condition),
        }),
      );
      return true;
    } catch (error) {
      if (condition && isPreconditionFailure(error)) return false;
      throw this.failure('copy', `${from} to ${to}`, error);
    }
  }

  /** DeleteObject with If-Match: S3 removes the object only while its ETag is still `version`. */
  async removeIf(relativeKey: string, version: string): Promise<boolean> {
    const key = this.keyFor(relativeKey);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: version, ...this.checked }));
      return true;
    } catch (error) {
      if (isPreconditionFailure(error)) return false;
      // Gone already: removed by an earlier attempt of this call whose answer was lost.
      if (['NotFound', 'NoSuchKey'].includes((error as Error).name)) return true;
      throw this.failure('delete', key, error);
    }
  }

  async remove(relativeKeys: readonly string[]): Promise<void> {
    for (let i = 0; i < relativeKeys.length; i += 1000) {
      const keys = relativeKeys.slice(i, i + 1000).map((key) => ({ Key: this.keyFor(key) }));
      try {
        const answer = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true }, ...this.checked }));
        const failed = answer.Errors?.[0];
        if (failed) throw Object.assign(new Error(failed.Message ?? 'delete failed'), { name: failed.Code ?? 'Error' });
      } catch (error) {
        throw this.failure('delete', keys[0]!.Key, error);
      }
    }
  }

  async list(relativePrefix: string): Promise<string[]> {
    const keys: string[] = [];
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    try {
      const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: this.keyFor(relativePrefix), ...this.checked });
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
    return new DestinationError(`could not ${action} s3://${this.bucket}/${key}: ${reasonOf(error, this.bucket)}.`, { cause: error });
  }
}
