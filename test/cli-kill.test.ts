/**
 * The CLI killed (SIGKILL: no handler runs) in the middle of publishing into S3 (s3rver with
 * S3's conditional writes), at a chosen request: the next run takes the dead process's lock,
 * finishes or undoes the publication it left, and the day is exactly one snapshot: the old one
 * when that next run fails too, the newest when it succeeds. Nothing stays staged.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { removeDir, SANDBOX_CREDENTIALS, tempDir } from './helpers';
import { type FaultedRequest, objectFile, type S3Server, startS3, storedObjects } from './s3-server';

const ROOT = path.resolve(__dirname, '..');
const BUCKET = 'cli';
const DAY = '2026-11-27';
let api: Sandbox;
let more: Sandbox;
let storage: string;
let s3server: S3Server;
let prefix = '';
let runs = 0;

beforeAll(async () => {
  api = await startSandbox({ size: 300 });
  more = await startSandbox({ size: 350 });
  storage = await tempDir();
  s3server = await startS3(storage, [BUCKET]);
});
afterAll(async () => {
  await Promise.all([api.close(), more.close(), s3server.close()]);
  await removeDir(storage);
});
afterEach(() => s3server.inject());

/** Runs the built CLI into this test's prefix; `child` is handed out so a fault can kill it. */
function exportWith(sandbox: Sandbox, formats: string, onStart?: (child: ChildProcess) => void): Promise<{ status: number | null; signal: string | null; stderr: string }> {
  const args = ['--api-url', sandbox.apiBaseUrl, '--out', `s3://${BUCKET}/${prefix}`, '--formats', formats, '--date', DAY, '--page-size', '100', '--json'];
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/esim-export.js'), ...args], {
    env: {
      PATH: process.env.PATH,
      BETATEL_API_KEY: SANDBOX_CREDENTIALS.apiKey,
      BETATEL_USER_ID: SANDBOX_CREDENTIALS.userId,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: s3server.endpoint,
    },
  });
  onStart?.(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.resume();
  return once(child, 'exit').then(([status, signal]) => ({ status: status as number | null, signal: signal as string | null, stderr }));
}

async function stored(): Promise<Record<string, string>> {
  return storedObjects(path.join(storage, BUCKET, prefix));
}

const isDelete = (request: FaultedRequest): boolean => request.method === 'DELETE' || (request.method === 'POST' && request.key === '');
const isManifest = (request: FaultedRequest): boolean => request.method === 'PUT' && request.key.endsWith('/manifest.json') && !request.copyFrom;
/** Where to kill (a fresh predicate over the publication's requests), and which day recovery leaves: before the manifest is written, the old one. */
const points: [string, () => (request: FaultedRequest) => boolean, 'old' | 'killed run’s'][] = [
  ['its first copy onto a day’s key', () => (request) => Boolean(request.copyFrom?.includes('/files/')), 'old'],
  ['the delete of the files the new formats drop', () => isDelete, 'old'],
  ['latest.json', () => (request) => request.method === 'PUT' && request.key.endsWith('/latest.json'), 'old'],
  ['the manifest', () => isManifest, 'old'],
  [
    'the first request after the manifest (the journal’s removal)',
    () => {
      let committed = false;
      return (request) => committed || ((committed = isManifest(request)), false);
    },
    'killed run’s',
  ],
];

/** The day's data files are exactly its manifest's; returns the manifest. */
async function dayMatchesManifest(): Promise<Manifest> {
  const all = await stored();
  const manifest = JSON.parse(await readFile(objectFile(path.join(storage, BUCKET, prefix), `manifests/dt=${DAY}/manifest.json`), 'utf8')) as Manifest;
  const data = Object.fromEntries(Object.entries(all).filter(([key]) => /^(ndjson|csv|parquet)\//.test(key)));
  expect(data).toEqual(Object.fromEntries(manifest.files.map((file) => [file.key.slice(prefix.length + 1), file.sha256])));
  expect(Object.keys(all).filter((key) => key.startsWith('_runs/'))).toEqual([]);
  return manifest;
}

describe.each(points)('the CLI killed at %s', (_point, killAt, recovered) => {
  beforeEach(() => {
    prefix = `kill-${++runs}`;
  });

  /** Publishes the old day, then starts a rerun (other formats) that is killed at the request `at` picks. */
  async function killedRerun(): Promise<Record<string, string>> {
    expect((await exportWith(api, 'ndjson,csv')).status).toBe(0);
    const before = await stored();
    let child: ChildProcess | undefined;
    let publishing = false;
    const at = killAt();
    s3server.inject({
      kind: 'fail',
      times: 1,
      when: (request) => {
        // Publishing starts with the backups (copies out of the day's keys).
        publishing ||= Boolean(request.copyFrom && !request.copyFrom.includes('/_runs/'));
        if (!publishing || !at(request)) return false;
        child?.kill('SIGKILL');
        return true;
      },
    });
    const killed = await exportWith(more, 'ndjson,parquet', (started) => (child = started));
    expect(killed.signal).toBe('SIGKILL');
    expect(s3server.hits()).toBeGreaterThan(0);
    s3server.inject();
    return before;
  }

  it(`leaves exactly the ${recovered} day once the next run has recovered, even though that run fails`, async () => {
    const before = await killedRerun();
    // The next run's key is refused by the API: it recovers the day first, then fails.
    const refusing = await startSandbox({ size: 300, apiKey: 'another-key' });
    try {
      const next = await exportWith(refusing, 'ndjson');
      expect(next.status).not.toBe(0);
      expect(next.stderr).toMatch(/401|key/i);
    } finally {
      await refusing.close();
    }
    if (recovered === 'old') expect(await stored()).toEqual(before);
    else expect((await dayMatchesManifest()).files.map((file) => file.format)).toEqual(['ndjson', 'parquet']);
  });

  it('leaves exactly the newest snapshot when the next run publishes', async () => {
    await killedRerun();
    expect((await exportWith(api, 'csv')).status).toBe(0);
    expect((await dayMatchesManifest()).files.map((file) => file.format)).toEqual(['csv']);
  });
});

describe('the CLI stopped twice', () => {
  it('finishes its cleanup when a second signal comes in the middle of it, then dies of SIGINT: nothing staged, no lock', async () => {
    prefix = `twice-${++runs}`;
    const slow = await startSandbox({ size: 3_000, latencyMs: 100 });
    try {
      let child: ChildProcess | undefined;
      let cleaning = false;
      // The second Ctrl-C arrives while the first one's cleanup is removing the staging.
      s3server.inject({
        kind: 'fail',
        when: (request) => {
          if (!cleaning && isDelete(request)) {
            cleaning = true;
            child?.kill('SIGINT');
          }
          return false;
        },
      });
      const run = exportWith(slow, 'ndjson', (started) => (child = started));
      while (slow.stats.requests < 4) await new Promise((resolve) => setTimeout(resolve, 20));
      child!.kill('SIGINT');
      const result = await run;
      expect(cleaning).toBe(true);
      expect(result).toMatchObject({ status: null, signal: 'SIGINT' });
      expect(await stored()).toEqual({});
    } finally {
      await slow.close();
    }
  });
});
