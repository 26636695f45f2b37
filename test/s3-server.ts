/**
 * A real S3 server for tests: s3rver, started on a free port with one bucket, plus S3's
 * conditional writes on PutObject (`If-None-Match: *`, `If-Match: <etag>`), which S3 added in
 * 2024 and s3rver 3.7 predates. The export's scope lock relies on them, so the tests need the
 * real semantics: a 412 PreconditionFailed when the condition fails, decided one request at a
 * time per key, as S3 does.
 */
import S3rver from 's3rver';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3Error = require('s3rver/lib/models/error') as new (code: string, message: string, detail?: object) => Error;

type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface KoaContext {
  method: string;
  path: string;
  get(header: string): string;
}
interface Store {
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
}

export interface S3Server {
  readonly server: S3rver;
  readonly endpoint: string;
  /** Answer 403 AccessDenied to every PUT (uploads and copies included) whose key matches, as a bucket policy would; undefined lifts it. */
  denyWrites(keys: RegExp | undefined): void;
  close(): Promise<void>;
}

export async function startS3(directory: string, buckets: readonly string[]): Promise<S3Server> {
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const store = (server as unknown as { store: Store }).store;
  const queues = new Map<string, Promise<unknown>>();
  const conditionalWrites: Middleware = async (ctx, next) => {
    const ifNoneMatch = ctx.get('if-none-match');
    const ifMatch = ctx.get('if-match');
    if (ctx.method !== 'PUT' || (!ifNoneMatch && !ifMatch)) return next();
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
  // First in line, before s3rver's own routes.
  (server as unknown as { middleware: Middleware[] }).middleware.unshift(denyWrites, conditionalWrites);
  const { port } = await server.run();
  return {
    server,
    endpoint: `http://127.0.0.1:${port}`,
    denyWrites: (keys) => (denied = keys),
    close: () => server.close(),
  };
}
