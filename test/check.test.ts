/**
 * `esim-export check`: against the sandbox and a folder, and s3rver with the key and owner settings,
 * every line ✓ and exit 0; then each failure made real (a wrong key, the API down, a bucket that
 * refuses writes, S3 answering 403 for a missing key, a lock held, no credentials): the ✗ line
 * and its advice, exit 1 (2 for missing credentials flags), and nothing left behind.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Sandbox } from '../sandbox/server';
import { exportHarness } from './export-harness';
import { fingerprint, runCliCollecting, SANDBOX_CREDENTIALS } from './helpers';
import { s3ForSuite, storedObjects } from './s3-server';

const BUCKET = 'check-bucket';
const s3 = s3ForSuite([BUCKET]);
const harness = exportHarness();
let api: Sandbox;
let out = '';

beforeEach(async () => {
  out = harness.out();
  api = await harness.sandbox({ size: 250 });
});
afterEach(() => {
  s3.server().inject();
  s3.server().denyWrites(undefined);
});

const SANDBOX_ENV = { BETATEL_API_KEY: SANDBOX_CREDENTIALS.apiKey, BETATEL_USER_ID: SANDBOX_CREDENTIALS.userId };

const check = (args: string[], env: NodeJS.ProcessEnv = SANDBOX_ENV): Promise<{ status: number; stdout: string; stderr: string }> =>
  runCliCollecting(['check', ...args], { ...process.env, ...env, AWS_ENDPOINT_URL_S3: s3.server().endpoint });

/** The ✓/✗ and subject of each line. */
const verdicts = (stdout: string): string[] => stdout.trim().split('\n').map((line) => line.slice(0, line.indexOf(':')));

describe('esim-export check', () => {
  it('passes every line against the sandbox and a folder, and leaves the folder as it was', async () => {
    const before = await fingerprint(out);
    const result = await check(['--api-url', api.apiBaseUrl, '--out', out]);
    expect(verdicts(result.stdout)).toEqual(['✓ credentials', '✓ the API', `✓ the destination ${out}`, '✓ the lock', '✓ the newest snapshot']);
    expect(result.stdout).toContain('250 eSIMs');
    expect(result.status).toBe(0);
    expect(await fingerprint(out)).toEqual(before);
  });

  it('passes against S3 with the key and the bucket owner named, writing its probe with both, and removes it', async () => {
    const prefix = 'checked';
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    s3.server().clearRequests();
    const result = await check(['--api-url', api.apiBaseUrl, '--out', `s3://${BUCKET}/${prefix}`, '--kms-key', key, '--bucket-owner', '123456789012', '--json']);
    const probes = s3.server().requests().filter((request) => request.method === 'PUT' && request.key.includes('/_runs/check-'));
    expect(probes).toHaveLength(1);
    expect(probes[0]!.headers).toMatchObject({ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': key });
    const report = JSON.parse(result.stdout) as { ok: boolean; lines: Array<{ ok: boolean; what: string }> };
    expect(report.lines.map((line) => line.ok)).toEqual([true, true, true, true, true]);
    expect(result.status).toBe(0);
    expect(await storedObjects(path.join(s3.storage(), BUCKET, prefix)).catch(() => ({}))).toEqual({});
    expect(s3.server().requests().filter((request) => request.key.startsWith(`${prefix}/`)).every((request) => request.headers['x-amz-expected-bucket-owner'] === '123456789012')).toBe(true);
  });

  it('says the key is wrong, the API is down, or the credentials are missing, each on its line', async () => {
    const wrongKey = await check(['--api-url', api.apiBaseUrl, '--out', out], { BETATEL_API_KEY: 'wrong-key', BETATEL_USER_ID: 'someone' });
    expect(wrongKey.status).toBe(1);
    expect(wrongKey.stdout).toMatch(/^✗ the API: the API rejected the credentials \(HTTP 401.*Put a valid key and user id there\.$/m);
    expect(wrongKey.stdout).not.toContain('wrong-key');

    const closed = await harness.sandbox({ size: 1 });
    const down = closed.apiBaseUrl;
    await closed.close();
    const unreachable = await check(['--api-url', down, '--out', out]);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stdout).toMatch(/^✗ the API: could not connect to .*check the API URL and its port/m);

    const none = await check(['--api-url', api.apiBaseUrl, '--out', out], { BETATEL_API_KEY: '', BETATEL_USER_ID: '' });
    expect(none.status).toBe(1);
    expect(none.stdout).toMatch(/^✗ credentials: BETATEL_API_KEY and BETATEL_USER_ID are not set/m);
  });

  it('says a bucket refuses writes, and names the list permission when S3 answers 403 for a missing key', async () => {
    s3.server().denyWrites(/denied\//);
    const refused = await check(['--api-url', api.apiBaseUrl, '--out', `s3://${BUCKET}/denied`]);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(/^✗ the destination s3:\/\/check-bucket\/denied: .*access denied/m);

    s3.server().inject({ kind: 'hideMissing', when: (request) => request.method === 'GET' });
    const hidden = await check(['--api-url', api.apiBaseUrl, '--out', `s3://${BUCKET}/hidden`]);
    expect(hidden.status).toBe(1);
    expect(hidden.stdout).toMatch(/^✗ the destination s3:\/\/check-bucket\/hidden: a key that does not exist reads as an error, not as missing .*grant s3:ListBucket on it$/m);
    expect(await storedObjects(path.join(s3.storage(), BUCKET, 'hidden')).catch(() => ({}))).toEqual({});
  });

  it('says who holds the lock and until when', async () => {
    await mkdir(path.join(out, '_runs'), { recursive: true });
    const lock = { run_id: 'r-1', holder: 'pid 1@elsewhere', started_at: new Date().toISOString(), expires_at: new Date(Date.now() + 600_000).toISOString() };
    await writeFile(path.join(out, '_runs', 'lock.json'), JSON.stringify(lock));
    const before = await fingerprint(out);
    const result = await check(['--api-url', api.apiBaseUrl, '--out', out]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`✗ the lock: held by run r-1 (pid 1@elsewhere) until ${lock.expires_at}`);
    expect(await fingerprint(out)).toEqual(before);
  });
});
