/**
 * The CLI as a user meets it: flags, exit status, one clear line on failure, nothing changed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { openDestination } from '../lambda/core/destinations';
import { type Manifest, TOOL } from '../lambda/core/snapshot/manifest';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { FAST_TUNING, fingerprint, removeDir, runCliCollecting, SANDBOX_CREDENTIALS, tempDir } from './helpers';

const ROOT = path.resolve(__dirname, '..');
const CREDENTIAL_ENV = { BETATEL_API_KEY: SANDBOX_CREDENTIALS.apiKey, BETATEL_USER_ID: SANDBOX_CREDENTIALS.userId };

let api: Sandbox;
let out: string;

beforeAll(async () => {
  api = await startSandbox({ size: 400 });
});
afterAll(async () => {
  await api.close();
});
beforeEach(async () => {
  out = await tempDir();
});
afterEach(async () => {
  await removeDir(out);
});

const cli = (args: string[], env: NodeJS.ProcessEnv = CREDENTIAL_ENV): Promise<{ status: number; stdout: string; stderr: string }> => runCliCollecting(args, env);

/** Runs the built CLI (`npx esim-export`; test/global-setup.ts builds it) in its own process. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv, script = 'dist/esim-export.js'): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, script), ...args], { cwd: out, env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Starts the built CLI against a slow sandbox and sends it `signal` once it is exporting. */
async function interrupted(signal: NodeJS.Signals): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const slow = await startSandbox({ size: 3_000, latencyMs: 100 });
  try {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/esim-export.js'), '--api-url', slow.apiBaseUrl, '--out', out, '--page-size', '100', '--concurrency', '1'], {
      env: { PATH: process.env.PATH, ...CREDENTIAL_ENV },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // Once a few pages are in, parts are being written under _runs/.
    while (slow.stats.requests < 4) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill(signal);
    const [status, by] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    return { status, signal: by, stderr };
  } finally {
    await slow.close();
  }
}

describe('the export CLI', () => {
  it('on SIGTERM stops at once, cleans up, then dies of SIGTERM (the shell sees it), publishes nothing, then or later, and leaves nothing staged', async () => {
    const result = await interrupted('SIGTERM');
    expect(result).toMatchObject({ status: null, signal: 'SIGTERM' });
    expect(result.stderr).toBe('esim-export: the export was stopped before it finished; nothing was published.\n');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await fingerprint(out)).toEqual({});
  });

  it('says in words that a file could not be written, on the real write path, and leaves nothing behind', async () => {
    // A file-size limit (ulimit -f, with SIGXFSZ ignored so the write fails with EFBIG) makes
    // the disk refuse the data file as a full one would (ENOSPC: same path, same message form).
    const child = spawn('sh', ['-c', `trap "" XFSZ; ulimit -f 64; exec "${process.execPath}" "${path.join(ROOT, 'dist/esim-export.js')}" "$@"`, 'sh', '--api-url', api.apiBaseUrl, '--out', out, '--compression', 'none'], {
      env: { PATH: process.env.PATH, ...CREDENTIAL_ENV },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const [status] = (await once(child, 'close')) as [number | null];
    expect(status).toBe(1);
    expect(stderr).toMatch(/^esim-export: could not write .*\.(ndjson|csv|parquet): the file is larger than this process may write \(ulimit -f\) or the file system holds \(EFBIG\)\. Nothing was published\.\n$/);
    expect(await fingerprint(out)).toEqual({});
  });

  it('after a SIGKILL, the next run clears what the killed one staged, and its lock', async () => {
    const killed = await interrupted('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const left = Object.keys(await fingerprint(out));
    expect(left).toEqual(expect.arrayContaining(['_runs/lock.json']));
    expect(left.some((key) => /^_runs\/[0-9a-f-]{36}\/files\//.test(key))).toBe(true);
    const next = await spawnCli(['--api-url', api.apiBaseUrl, '--out', out, '--json'], CREDENTIAL_ENV);
    expect(next.status).toBe(0);
    expect(Object.keys(await fingerprint(out)).filter((key) => key.startsWith('_runs'))).toEqual([]);
  });

  it('exports and prints a summary of what it wrote and where', async () => {
    const result = await cli(['--api-url', api.apiBaseUrl, '--out', out, '--date', '2026-11-27']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`Exported 400 eSIMs (API total 400) as the 2026-11-27 snapshot into ${out}`);
    expect(result.stdout).toContain('ndjson/dt=2026-11-27/esims.ndjson.gz');
    expect(result.stdout).toContain('csv/dt=2026-11-27/esims.csv.gz');
    expect(result.stderr).toBe('');
  });

  it('prints the manifest as one JSON line with --json', async () => {
    const result = await cli(['--api-url', api.apiBaseUrl, '--out', out, '--json', '--formats', 'csv', '--company', '100']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const manifest = JSON.parse(result.stdout) as Manifest;
    expect(manifest.files.map((file) => file.format)).toEqual(['csv']);
    expect(manifest.source.company).toBe(100);
    expect(manifest.records).toBe(api.listing({ company: 100 }).length);
    const onDisk = JSON.parse(await readFile(path.join(out, 'filtered/company=100/latest.json'), 'utf8'));
    expect(onDisk.records).toBe(manifest.records);
  });

  it.each([
    [['--formats', 'xml'], /^esim-export: --formats must list only ndjson, csv, parquet, got "xml" \(see esim-export --help\)\n$/],
    [['--company', 'abc'], /^esim-export: --company must be a whole number ≥ 1, got "abc" \(see esim-export --help\)\n$/],
    [['--page-size', '0'], /^esim-export: --page-size must be a whole number from 1 to 1000 or auto, got "0" \(see esim-export --help\)\n$/],
    [['--concurrency', 'many'], /^esim-export: --concurrency must be a whole number from 1 to 64, got "many" \(see esim-export --help\)\n$/],
    [['--date', '2026-13-01'], /^esim-export: --date must be a real date YYYY-MM-DD, got "2026-13-01" \(see esim-export --help\)\n$/],
    [['--api-url', 'http://esim.betatel.com/api/v1'], /^esim-export: --api-url must use https:\/\/ .*loopback.* \(see esim-export --help\)\n$/],
    [['--out', 's3://A_Bucket/x'], /^esim-export: --out must be a folder or s3:\/\/bucket\/prefix/],
    // URL-like typos are refused, never made into a local folder named "s3:".
    [['--out', 's3:/bucket/x'], /^esim-export: --out must be a folder or s3:\/\/bucket\/prefix \(lower-case s3, two slashes, no spaces\), got "s3:\/bucket\/x" \(see esim-export --help\)\n$/],
    [['--out', 'S3://bucket/x'], /^esim-export: --out must be a folder or s3:\/\/bucket\/prefix \(lower-case s3, two slashes, no spaces\)/],
    [['--out', 'ftp://host/x'], /^esim-export: --out must be a folder or s3:\/\/bucket\/prefix/],
    ...['s3//bucket/x', 's3;//bucket', 's3 ://bucket', 's3:\\bucket', ' s3://bucket', 's3://bucket ', 'arn:aws:s3:::bucket', 'bucket.s3.eu-west-1.amazonaws.com/x', 's3.amazonaws.com/bucket'].map(
      (typo) => [['--out', typo], /^esim-export: --out must be a folder or s3:\/\/bucket\/prefix /] as [string[], RegExp],
    ),
    // An empty value is a mistake on the command line, not "use the default".
    [['--page-size', ''], /^esim-export: --page-size must be a whole number from 1 to 1000 or auto, got "" \(see esim-export --help\)\n$/],
    [['--formats', ''], /^esim-export: --formats must name at least one of ndjson, csv, parquet, got "" \(see esim-export --help\)\n$/],
    [['--out', 's3://bucket/a/../b'], /^esim-export: --out must not have \. or \.\. in its prefix/],
    [['--date', '2099-01-01'], /^esim-export: --date must not be after tomorrow \(\d{4}-\d{2}-\d{2} in UTC\), got "2099-01-01" \(see esim-export --help\)\n$/],
    [['--compression', 'zip'], /^esim-export: --compression must be one of gzip, none, got "zip" \(see esim-export --help\)\n$/],
    [['--no-such-flag'], /^esim-export: unknown option '--no-such-flag' \(see esim-export --help\)\n$/],
    [['--formts', 'csv'], /^esim-export: unknown option '--formts' \(Did you mean --formats\?\) \(see esim-export --help\)\n$/],
  ])('rejects %j with one line naming it, no request, exit 2 and nothing changed', async (args, message) => {
    const before = await fingerprint(out);
    const requestsBefore = api.stats.requests;
    const result = await cli(['--api-url', api.apiBaseUrl, '--out', out, ...args]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
    expect(api.stats.requests).toBe(requestsBefore);
    expect(await fingerprint(out)).toEqual(before);
    expect(existsSync('s3:') || existsSync('S3:') || existsSync('ftp:')).toBe(false);
  });

  it('reads extra slashes in an S3 prefix as one', () => {
    expect(openDestination('s3://my-bucket//team///esims/', '--out').description).toBe('s3://my-bucket/team/esims');
  });

  it('says which credentials are missing without sending a request', async () => {
    const requestsBefore = api.stats.requests;
    const result = await cli(['--api-url', api.apiBaseUrl, '--out', out], { BETATEL_API_KEY: 'k' });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'esim-export: BETATEL_USER_ID is not set: export BETATEL_API_KEY and BETATEL_USER_ID, or pass --secret-id to read them from Secrets Manager.\n',
    );
    expect(api.stats.requests).toBe(requestsBefore);
  });

  it('keeps an earlier snapshot byte-identical when the API rejects the key', async () => {
    await cli(['--api-url', api.apiBaseUrl, '--out', out]);
    const before = await fingerprint(out);
    const result = await cli(['--api-url', api.apiBaseUrl, '--out', out], { BETATEL_API_KEY: 'not-the-key', BETATEL_USER_ID: 'someone' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^esim-export: the API rejected the credentials \(HTTP 401: Unauthorized\): the API key or user id in BETATEL_API_KEY \/ BETATEL_USER_ID was not accepted/);
    expect(result.stderr).not.toContain('not-the-key');
    expect(await fingerprint(out)).toEqual(before);
  });

  it('prints its version, the manifest\'s, with --version', async () => {
    const result = await cli(['--version']);
    expect(result).toMatchObject({ status: 0, stdout: `${TOOL.version}\n` });
  });

  it('shows its flags and examples with --help', async () => {
    const result = await cli(['--help']);
    expect(result.status).toBe(0);
    for (const flag of ['--api-url', '--out', '--formats', '--company', '--inventory', '--page-size', '--concurrency', '--date', '--secret-id', '--json', '--version']) {
      expect(result.stdout).toContain(flag);
    }
    expect(result.stdout).toMatch(/\nExamples:\n {2}npx esim-export --out /);
  });

  it('says what it is waiting for while the API has not answered yet, one line per try', async () => {
    const down = await startSandbox({ down: true });
    try {
      const result = await cli(['--api-url', down.apiBaseUrl, '--out', out]);
      expect(result.status).toBe(1);
      const lines = result.stderr.trimEnd().split('\n');
      const waiting = lines.filter((line) => line.startsWith('esim-export: waiting for the API: HTTP 503'));
      expect(waiting.length).toBe(FAST_TUNING.retryPolicy!.maxAttempts - 1);
      expect(waiting[0]).toMatch(/; try 2 in \d+\.\d s$/);
      expect(lines.at(-1)).toMatch(/^esim-export: .*503/);
    } finally {
      await down.close();
    }
  });

  it('fails in seconds on a folder that cannot be created (Node\'s recursive mkdir spins for ever under /proc)', async () => {
    const result = await cli(['--api-url', api.apiBaseUrl, '--out', '/proc/esim-export-test/x']);
    expect(result).toMatchObject({ status: 1 });
    expect(result.stderr).toMatch(/^esim-export: could not write \/proc\/esim-export-test\/x\/_runs\/lock\.json: ENOENT.*Nothing was published\.\n$/);
  });

  it('exits 0 from its own process on success, and 1 with one line and no stack trace on failure', async () => {
    const ok = await spawnCli(['--api-url', api.apiBaseUrl, '--out', out, '--json'], CREDENTIAL_ENV);
    expect(ok.status).toBe(0);
    expect((JSON.parse(ok.stdout) as Manifest).records).toBe(400);

    const wrongKey = { BETATEL_API_KEY: 'wrong', BETATEL_USER_ID: 'wrong' };
    const failed = await spawnCli(['--api-url', api.apiBaseUrl, '--out', out], wrongKey);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/^esim-export: the API rejected the credentials .*\n$/);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);

    const debug = await spawnCli(['--api-url', api.apiBaseUrl, '--out', out, '--debug'], wrongKey);
    expect(debug.status).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('runs as `npx esim-export`, printing only the manifest with --json', async () => {
    const result = await new Promise<{ status: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn('npx', ['--no-install', 'esim-export', '--api-url', api.apiBaseUrl, '--out', out, '--json'], {
        cwd: ROOT,
        env: { ...process.env, ...CREDENTIAL_ENV },
      });
      let stdout = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout }));
    });
    expect(result.status).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect((JSON.parse(result.stdout) as Manifest).records).toBe(400);
  });

  it('runs the whole demo with `npm start`: a sandbox export into ./exports, no credentials needed', async () => {
    const demo = await spawnCli([], {}, 'dist/demo.js');
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/Exported 2,500 eSIMs \(API total 2,500\) as the \d{4}-\d{2}-\d{2} snapshot into \.\/exports/);
    const latest = JSON.parse(await readFile(path.join(out, 'exports/latest.json'), 'utf8')) as Manifest;
    expect(latest.records).toBe(2_500);
    expect(latest.warnings).toEqual([]);
  });
});
