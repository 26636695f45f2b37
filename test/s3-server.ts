/**
 * A real S3 server for tests: s3rver, started on a free port with one bucket, plus S3's
 * conditional writes on PutObject and CopyObject (`If-None-Match: *`, `If-Match: <etag>`) and
 * conditional deletes (DeleteObject with `If-Match`), which S3 added in 2024 and 2025 and
 * s3rver 3.7 predates. The export's scope lock relies on them, so the tests need the
 * real semantics: a 412 PreconditionFailed when the condition fails, decided one request at a
 * time per key, as S3 does.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import S3rver from 's3rver';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../lambda/core/aws';
import { fingerprint, removeDir, tempDir } from './helpers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3Error = require('s3rver/lib/models/error') as new (code: string, message: string, detail?: object) => Error;

type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface KoaContext {
  method: string;
  path: string;
  querystring: string;
  headers: Record<string, string | string[] | undefined>;
  get(header: string): string;
  req: { socket: { destroy(): void } };
  body?: unknown;
  length?: number;
}

/** Lets `fraction` of the answer's body out, then drops the connection: a download cut by the network. */
function cutBody(ctx: KoaContext, fraction: number): void {
  const length = ctx.length ?? 0;
  const limit = Math.floor(length * fraction);
  const body = ctx.body as Readable | Buffer;
  const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
  let sent = 0;
  ctx.body = source.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        const room = limit - sent;
        sent += chunk.length;
        if (room > chunk.length) return done(null, chunk);
        this.push(chunk.subarray(0, Math.max(0, room)));
        // The headers promised `length` bytes; the connection goes before they all came.
        setTimeout(() => ctx.req.socket.destroy(), 50);
        done();
      },
    }),
  );
  ctx.length = length;
}

/** A request as a fault sees it: its key without the bucket, and the copy's source key if it is a copy. */
export interface FaultedRequest {
  readonly method: string;
  readonly key: string;
  readonly copyFrom?: string;
  readonly conditional: boolean;
}

/**
 * A fault S3 can show: `fail` answers 503 ServiceUnavailable without doing anything; `lose` does the
 * request, then drops the connection before the answer (the SDK sees a network error and
 * retries a request that was applied); `cut` answers a GET, then drops the connection once
 * `cutAt` of its body (a fraction) has gone out; `hideMissing` answers 403 AccessDenied where the
 * key does not exist, as S3 does for a caller without s3:ListBucket. Each applies to the requests
 * `when` picks, `times` times.
 */
export interface Fault {
  readonly kind: 'fail' | 'lose' | 'cut' | 'hideMissing';
  readonly cutAt?: number;
  readonly when: (request: FaultedRequest) => boolean;
  times?: number;
}
interface StoredObject {
  bucket: string;
  key: string;
  content: Buffer | AsyncIterable<Buffer>;
  metadata: Record<string, string>;
}
interface Store {
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
}

/**
 * s3rver's PutObject (and the completion of a multipart upload) answers before the bytes are
 * on disk, and writes them in place: under load, a GET right after a PUT read a truncated
 * object (a lock "damaged" mid-write). S3 shows an object whole or not at all, only after it
 * answered: so the bytes go to a temporary file, renamed into place, before the answer.
 */
function writeWhole(store: Store): void {
  let temporaries = 0;
  store.putObject = async (object) => {
    let content: Buffer;
    if (Buffer.isBuffer(object.content)) content = object.content;
    else {
      const chunks: Buffer[] = [];
      for await (const chunk of object.content) chunks.push(chunk);
      content = Buffer.concat(chunks);
    }
    const target = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${++temporaries}.writing`;
    await writeFile(temporary, content);
    await rename(temporary, target);
    const md5 = createHash('md5').update(content).digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: content.length, md5 };
  };
}

/** A request as S3 received it: its method, key, query (`uploads`, `partNumber=1&uploadId=…`) and x-amz-* headers. */
export interface ReceivedRequest {
  readonly method: string;
  readonly key: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface S3Server {
  readonly server: S3rver;
  readonly endpoint: string;
  /** Answer 403 AccessDenied to every PUT (uploads and copies included) whose key matches, as a bucket policy would; undefined lifts it. */
  denyWrites(keys: RegExp | undefined): void;
  /** Injects faults from now on (replacing earlier ones); none lifts them. */
  inject(...faults: Fault[]): void;
  /** Every request received since the server started or the last `clearRequests`. */
  requests(): readonly ReceivedRequest[];
  clearRequests(): void;
  /** How many requests the faults hit so far. */
  readonly hits: () => number;
  close(): Promise<void>;
}

/** Every object s3rver stores under `dir` (its storage folder, a bucket's or a prefix's): key → SHA-256. */
export async function storedObjects(dir: string): Promise<Record<string, string>> {
  const all = await fingerprint(dir);
  return Object.fromEntries(Object.entries(all).flatMap(([key, hash]) => (key.endsWith(OBJECT) ? [[key.slice(0, -OBJECT.length), hash]] : [])));
}

/** Where s3rver keeps the bytes of the object `key` under `dir`. */
export const objectFile = (dir: string, key: string): string => `${dir}/${key}${OBJECT}`;
const OBJECT = '._S3rver_object';

/**
 * `owner`: the account that owns the buckets. As S3 does, a request whose
 * x-amz-expected-bucket-owner (or, for a copy's source, x-amz-source-expected-bucket-owner)
 * names another account is refused with 403 AccessDenied.
 */
export async function startS3(directory: string, buckets: readonly string[], options: { owner?: string } = {}): Promise<S3Server> {
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const store = (server as unknown as { store: Store }).store;
  writeWhole(store);
  const queues = new Map<string, Promise<unknown>>();
  const conditionalWrites: Middleware = async (ctx, next) => {
    const ifNoneMatch = ctx.get('if-none-match');
    const ifMatch = ctx.get('if-match');
    // PutObject and CopyObject (PUT), and DeleteObject (DELETE with If-Match), as S3 answers them.
    if (!['PUT', 'DELETE'].includes(ctx.method) || (!ifNoneMatch && !ifMatch)) return next();
    const [, bucket = '', ...rest] = decodeURIComponent(ctx.path).split('/');
    const key = rest.join('/');
    const id = `${bucket}/${key}`;
    const previous = queues.get(id) ?? Promise.resolve();
    const mine = previous.then(async () => {
      const current = await store.getMetadata(bucket, key).then(
        (metadata) => metadata.etag.replaceAll('"', ''),
        () => undefined,
      );
      if (ifNoneMatch === '*' && current !== undefined) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
      if (ctx.method === 'DELETE' && current === undefined) throw new S3Error('NoSuchKey', 'The specified key does not exist.');
      if (ifMatch && ifMatch.replaceAll('"', '') !== current) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
      await next();
    });
    queues.set(id, mine.catch(() => undefined));
    await mine;
  };
  let denied: RegExp | undefined;
  const denyWrites: Middleware = async (ctx, next) => {
    if ((ctx.method === 'PUT' || ctx.method === 'POST') && denied?.test(decodeURIComponent(ctx.path))) throw new S3Error('AccessDenied', 'Access Denied');
    return next();
  };
  let received: ReceivedRequest[] = [];
  const record: Middleware = async (ctx, next) => {
    const [, , ...rest] = decodeURIComponent(ctx.path).split('/');
    const headers = Object.fromEntries(Object.entries(ctx.headers).flatMap(([name, value]) => (name.startsWith('x-amz-') && typeof value === 'string' ? [[name, value]] : [])));
    received.push({ method: ctx.method, key: rest.join('/'), query: ctx.querystring, headers });
    const owner = options.owner;
    for (const name of ['x-amz-expected-bucket-owner', 'x-amz-source-expected-bucket-owner']) {
      if (owner && headers[name] !== undefined && headers[name] !== owner) throw new S3Error('AccessDenied', 'Access Denied');
    }
    return next();
  };
  let faults: Fault[] = [];
  let hits = 0;
  const injectFaults: Middleware = async (ctx, next) => {
    const [, , ...rest] = decodeURIComponent(ctx.path).split('/');
    const source = ctx.get('x-amz-copy-source');
    const request: FaultedRequest = {
      method: ctx.method,
      key: rest.join('/'),
      copyFrom: source ? decodeURIComponent(source).replace(/^\/?[^/]+\//, '') : undefined,
      conditional: Boolean(ctx.get('if-none-match') || ctx.get('if-match')),
    };
    const fault = faults.find((each) => (each.times ?? 1) > 0 && each.when(request));
    if (!fault) return next();
    if (fault.times !== undefined) fault.times -= 1;
    hits += 1;
    if (fault.kind === 'fail') throw new S3Error('ServiceUnavailable', 'Service is unable to handle request.');
    if (fault.kind === 'hideMissing') {
      return next().catch((error: { code?: string }) => {
        throw error.code === 'NoSuchKey' ? new S3Error('AccessDenied', 'Access Denied') : error;
      });
    }
    await next();
    if (fault.kind === 'cut') return cutBody(ctx, fault.cutAt ?? 0.4);
    ctx.req.socket.destroy();
  };
  // First in line, before s3rver's own routes; faults before everything, so a lost answer was applied.
  (server as unknown as { middleware: Middleware[] }).middleware.unshift(record, injectFaults, denyWrites, conditionalWrites);
  const { port } = await server.run();
  return {
    server,
    endpoint: `http://127.0.0.1:${port}`,
    denyWrites: (keys) => (denied = keys),
    inject: (...injected) => {
      faults = injected.map((fault) => ({ ...fault, times: fault.times ?? Number.POSITIVE_INFINITY }));
    },
    hits: () => hits,
    requests: () => received,
    clearRequests: () => {
      received = [];
    },
    close: () => server.close(),
  };
}

/**
 * s3rver with `buckets` for a whole suite: started before it (with the AWS environment the SDK
 * needs to reach it), stopped and its folder removed after it.
 */
export function s3ForSuite(buckets: readonly string[], options: { owner?: string } = {}): { server: () => S3Server; storage: () => string; client: () => S3Client } {
  const savedEnv = { ...process.env };
  let server: S3Server | undefined;
  let storage = '';
  beforeAll(async () => {
    storage = await tempDir();
    server = await startS3(storage, buckets, options);
    Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
  });
  afterAll(async () => {
    process.env = savedEnv;
    await server?.close();
    await removeDir(storage);
  });
  return { server: () => server!, storage: () => storage, client: () => createS3Client({ ...process.env, AWS_ENDPOINT_URL_S3: server!.endpoint }) };
}
