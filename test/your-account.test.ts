/**
 * Your KMS key and your bucket in another account, against a real S3 server (s3rver) that
 * records every request and refuses a wrong x-amz-expected-bucket-owner as S3 does: every
 * object the export creates (PutObject, CopyObject, CreateMultipartUpload) carries SSE-KMS with
 * the key and a Bucket Key, and bucket-owner-full-control; every request names the owner.
 * Through the synthesized state machine (the function's path) and through the CLI (a file
 * large enough for a multipart upload).
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { runCli } from '../cli/run-cli';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { FAST_TUNING, SANDBOX_CREDENTIALS } from './helpers';
import type { ReceivedRequest, S3Server } from './s3-server';
import { s3ForSuite, storedObjects } from './s3-server';
import { stateMachineHarness } from './state-machine-harness';

const KEY = 'arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const OWNER = '210987654321';
const WRITTEN = {
  'x-amz-server-side-encryption': 'aws:kms',
  'x-amz-server-side-encryption-aws-kms-key-id': KEY,
  'x-amz-server-side-encryption-bucket-key-enabled': 'true',
  'x-amz-acl': 'bucket-owner-full-control',
  'x-amz-expected-bucket-owner': OWNER,
};

/** The requests that create an object: PutObject, CopyObject and CreateMultipartUpload (not UploadPart, which S3 does not let carry them). */
const creating = (requests: readonly ReceivedRequest[]): ReceivedRequest[] =>
  requests.filter((request) => (request.method === 'PUT' && !/partNumber=/.test(request.query)) || (request.method === 'POST' && /^uploads(=|&|$)/.test(request.query)));

describe('the function, through the state machine, with a KMS key and a bucket of another account', () => {
  const harness = stateMachineHarness({ env: { KMS_KEY_ARN: KEY, BUCKET_OWNER: OWNER }, owner: OWNER });

  it('writes every object with the key, a Bucket Key and bucket-owner-full-control, and names the owner on every request', async () => {
    harness.s3.clearRequests();
    await harness.execute({ snapshotDate: '2026-11-27' }, 'kms', []);
    const manifest = await harness.manifest('2026-11-27');
    expect(manifest.invocations).toBeGreaterThan(1);
    const requests = harness.s3.requests();
    const created = creating(requests);
    // Staged files, their copies into place, checkpoints, the lock, the journal, the manifest.
    expect(created.filter((request) => request.headers['x-amz-copy-source'] !== undefined).length).toBeGreaterThan(0);
    expect(created.length).toBeGreaterThan(manifest.files.length * 2);
    for (const request of created) expect({ key: request.key, ...request.headers }).toMatchObject({ key: request.key, ...WRITTEN });
    for (const request of requests) expect({ key: request.key, owner: request.headers['x-amz-expected-bucket-owner'] }).toEqual({ key: request.key, owner: OWNER });
    // A copy also checks its source's owner.
    for (const request of created.filter((each) => each.headers['x-amz-copy-source'])) expect(request.headers['x-amz-source-expected-bucket-owner']).toBe(OWNER);
    const objects = await harness.objects();
    for (const file of manifest.files) expect(objects[file.key]).toBe(file.sha256);
  }, 120_000);
});

describe('the CLI with --kms-key and --bucket-owner', () => {
  const BUCKET = 'central-lake';
  const lake = s3ForSuite([BUCKET], { owner: OWNER });
  let s3: S3Server;
  let api: Sandbox;

  beforeAll(async () => {
    s3 = lake.server();
    // 30,000 eSIMs uncompressed: an NDJSON file over one 8 MiB part, so it is a multipart upload.
    api = await startSandbox({ size: 30_000 });
  });
  afterAll(() => api.close());

  async function cli(args: string[]): Promise<{ status: number; stderr: string }> {
    let stderr = '';
    const status = await runCli(['--api-url', api.apiBaseUrl, '--date', '2026-11-27', '--formats', 'ndjson', '--compression', 'none', ...args], {
      env: { BETATEL_API_KEY: SANDBOX_CREDENTIALS.apiKey, BETATEL_USER_ID: SANDBOX_CREDENTIALS.userId, AWS_ENDPOINT_URL_S3: s3.endpoint },
      stdout: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
      stderr: new Writable({
        write(chunk, _encoding, callback) {
          stderr += String(chunk);
          callback();
        },
      }),
      tuning: FAST_TUNING,
    });
    return { status, stderr };
  }

  it('sends SSE-KMS and the owner with the multipart upload, and with every other write', async () => {
    s3.clearRequests();
    const result = await cli(['--out', `s3://${BUCKET}/raw/betatel`, '--kms-key', KEY, '--bucket-owner', OWNER]);
    expect(result).toEqual({ status: 0, stderr: '' });
    const requests = s3.requests();
    const multipart = requests.filter((request) => request.method === 'POST' && /^uploads/.test(request.query));
    expect(multipart.length).toBeGreaterThan(0);
    expect(requests.filter((request) => /partNumber=2/.test(request.query)).length).toBeGreaterThan(0);
    for (const request of creating(requests)) expect({ key: request.key, ...request.headers }).toMatchObject({ key: request.key, ...WRITTEN });
    for (const request of requests) expect(request.headers['x-amz-expected-bucket-owner']).toBe(OWNER);
  }, 120_000);

  it('names the owner on the AbortMultipartUpload of an export that fails after its upload began', async () => {
    s3.clearRequests();
    s3.inject({ kind: 'fail', when: (request) => request.method === 'PUT' && request.key.includes('/files/ndjson/') });
    try {
      const result = await cli(['--out', `s3://${BUCKET}/aborted`, '--bucket-owner', OWNER]);
      expect(result.status).toBe(1);
    } finally {
      s3.inject();
    }
    const aborts = s3.requests().filter((request) => request.method === 'DELETE' && /uploadId=/.test(request.query));
    expect(aborts.length).toBeGreaterThan(0);
    for (const request of s3.requests()) expect({ key: request.key, query: request.query, owner: request.headers['x-amz-expected-bucket-owner'] }).toMatchObject({ owner: OWNER });
  }, 120_000);

  it('without them, sends neither: the bucket encrypts as it is set to', async () => {
    s3.clearRequests();
    expect(await cli(['--out', `s3://${BUCKET}/plain`])).toEqual({ status: 0, stderr: '' });
    const headers = s3.requests().flatMap((request) => Object.keys(request.headers));
    expect(headers.filter((name) => /server-side-encryption|x-amz-acl|expected-bucket-owner/.test(name))).toEqual([]);
  }, 120_000);

  it('writes nothing to a bucket another account owns, and says so in one line', async () => {
    s3.clearRequests();
    const result = await cli(['--out', `s3://${BUCKET}/wrong`, '--bucket-owner', '999999999999']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^esim-export: could not \w+ s3:\/\/central-lake\/wrong\/\S+: access denied[^\n]*\n$/);
    expect(s3.requests().length).toBeGreaterThan(0);
    expect(Object.keys(await storedObjects(path.join(lake.storage(), BUCKET))).filter((key) => key.startsWith('wrong/'))).toEqual([]);
  }, 120_000);

  it('refuses --kms-key with a folder, naming both', async () => {
    const result = await cli(['--out', path.join(lake.storage(), 'a-folder'), '--kms-key', KEY]);
    expect(result).toEqual({ status: 2, stderr: expect.stringMatching(/--kms-key and --bucket-owner are for an S3 destination: give --out s3:\/\/bucket\/prefix/) });
  });
});
