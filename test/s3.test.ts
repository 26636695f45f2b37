/**
 * `--out s3://bucket/prefix` against a real S3 server (s3rver), through the CLI.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { runCli } from '../cli/run-cli';
import { createS3Client } from '../lambda/core/aws';
import { S3Destination } from '../lambda/core/destinations';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { runExport } from '../lambda/core/run/lifecycle';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { startS3, type S3Server } from './s3-server';
import { FAST_TUNING, fingerprint, gunzipText, ndjsonLines, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';

const BUCKET = 'exports';
let s3rver: S3Server;
let storage: string;
let endpoint: string;
let s3: S3Client;
let api: Sandbox;
const savedEnv = { ...process.env };

beforeAll(async () => {
  storage = await tempDir();
  s3rver = await startS3(storage, [BUCKET]);
  const port = new URL(s3rver.endpoint).port;
  endpoint = `http://127.0.0.1:${port}`;
  // The SDK reads region and credentials from the environment, as it would for a user.
  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
  s3 = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  api = await startSandbox({ size: 1_000, bigNumbers: true });
});

afterAll(async () => {
  process.env = savedEnv;
  s3.destroy();
  await api.close();
  await s3rver.close();
  await removeDir(storage);
});

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    }),
    text: () => text,
  };
}

async function cli(args: string[], apiBaseUrl = api.apiBaseUrl): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = sink();
  const stderr = sink();
  const status = await runCli(['--api-url', apiBaseUrl, '--date', '2026-11-27', ...args], {
    env: { BETATEL_API_KEY: SANDBOX_CREDENTIALS.apiKey, BETATEL_USER_ID: SANDBOX_CREDENTIALS.userId, AWS_ENDPOINT_URL_S3: endpoint },
    stdout: stdout.stream,
    stderr: stderr.stream,
    tuning: FAST_TUNING,
  });
  return { status, stdout: stdout.text(), stderr: stderr.text() };
}

async function keys(): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return (listed.Contents ?? []).map((object) => object.Key!).sort();
}

/** Every stored object (key → SHA-256), leaving out s3rver's own multipart scratch folder. */
async function objectsFingerprint(): Promise<Record<string, string>> {
  const all = await fingerprint(storage);
  return Object.fromEntries(Object.entries(all).filter(([path]) => !path.includes('._S3rver_uploads')));
}

async function object(key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

describe('export to S3', () => {
  it('writes the same snapshot as to a folder, under the prefix only, with a manifest that matches the objects', async () => {
    const result = await cli(['--out', `s3://${BUCKET}/team/esims`, '--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const manifest = JSON.parse(result.stdout) as Manifest;

    expect(await keys()).toEqual([
      // A first snapshot: no change set (nothing to compare with).
      'team/esims/csv/dt=2026-11-27/esims.csv.gz',
      'team/esims/latest.json',
      'team/esims/manifests/dt=2026-11-27/manifest.json',
      'team/esims/ndjson/dt=2026-11-27/esims.ndjson.gz',
      'team/esims/parquet/dt=2026-11-27/esims.parquet',
    ]);
    for (const file of manifest.files) {
      const bytes = await object(file.key);
      expect(bytes.length).toBe(file.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
    }
    expect(ndjsonLines(gunzipText(await object('team/esims/ndjson/dt=2026-11-27/esims.ndjson.gz')))).toEqual(api.listing());
    expect(JSON.parse((await object('team/esims/manifests/dt=2026-11-27/manifest.json')).toString())).toEqual(manifest);

    // The same export into a folder gives byte-identical data files.
    const folder = await tempDir();
    try {
      const local = await cli(['--out', folder, '--json']);
      const localManifest = JSON.parse(local.stdout) as Manifest;
      expect(localManifest.files.map((file) => file.sha256)).toEqual(manifest.files.map((file) => file.sha256));
    } finally {
      await removeDir(folder);
    }
  });

  it('streams a file larger than one multipart part', async () => {
    const big = await startSandbox({ size: 30_000 });
    try {
      const result = await cli(['--out', `s3://${BUCKET}/big`, '--compression', 'none', '--formats', 'ndjson', '--json'], big.apiBaseUrl);
      expect(result.stderr).toBe('');
      const manifest = JSON.parse(result.stdout) as Manifest;
      expect(manifest.files[0]!.bytes).toBeGreaterThan(8 * 1024 * 1024);
      const bytes = await object('big/ndjson/dt=2026-11-27/esims.ndjson');
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.files[0]!.sha256);
    } finally {
      await big.close();
    }
  });

  it('leaves the bucket exactly as it was when the export fails midway, and aborts its multipart upload first', async () => {
    const before = await objectsFingerprint();
    // Page 251 comes back truncated: by then over 8 MiB of NDJSON has gone up as multipart parts.
    const broken = await startSandbox({ size: 30_000, faults: { sequence: [...Array<undefined>(250), 'truncate'] } });
    const client = createS3Client({ AWS_ENDPOINT_URL_S3: endpoint });
    const commands: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName!);
        return next(args);
      },
      { step: 'initialize' },
    );
    try {
      const failing = runExport({
        // NDJSON alone, and a generous request timeout: under load a timed-out request would be
        // retried and shift which page the scripted fault hits.
        settings: settingsFor(broken.apiBaseUrl, { compression: 'none', concurrency: 1, formats: ['ndjson'] }),
        destination: new S3Destination(client, BUCKET, 'team/esims'),
        credentials: SANDBOX_CREDENTIALS,
        credentialsSource: 'test',
        tuning: { ...FAST_TUNING, requestTimeoutMs: 10_000 },
      });
      await expect(failing).rejects.toThrow(/the page at offset 25000: the body is not valid JSON/);
    } finally {
      await broken.close();
      client.destroy();
    }
    expect(commands).toContain('UploadPartCommand');
    // Sent before runExport returned. (s3rver does not implement AbortMultipartUpload, so its
    // parts folder cannot show the result; S3 itself deletes the parts.)
    expect(commands).toContain('AbortMultipartUploadCommand');
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
    expect(await objectsFingerprint()).toEqual(before);
  });

  it('fails with one line and exit status 1 through the CLI, publishing nothing', async () => {
    const before = await objectsFingerprint();
    const broken = await startSandbox({ size: 3_000, faults: { sequence: [...Array<undefined>(20), 'truncate'] } });
    try {
      const result = await cli(['--out', `s3://${BUCKET}/team/esims`, '--concurrency', '1', '--page-size', '100'], broken.apiBaseUrl);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/^esim-export: the page at offset 2000: the body is not valid JSON \(.*\)\. The API URL may not point at the Betatel list endpoint\.\n$/);
    } finally {
      await broken.close();
    }
    expect(await objectsFingerprint()).toEqual(before);
  });

  it('says which bucket it could not write to, before reading the API', async () => {
    const requestsBefore = api.stats.requests;
    const result = await cli(['--out', 's3://no-such-bucket/esims']);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'esim-export: could not write s3://no-such-bucket/esims/_runs/lock.json: the bucket no-such-bucket does not exist (or is in another account).\n',
    );
    expect(api.stats.requests).toBe(requestsBefore);
  });
});
