/**
 * The change set's faults: every one fails loudly and publishes nothing, or leaves a snapshot
 * published without a change set and a warning that names the file; never silence, never a
 * wait for ever. A download of the previous snapshot cut mid-body (gzipped and not; the CLI
 * over s3rver, and the state machine's Publish step), a stop asked for mid-comparison, a
 * comparison killed earlier in this process, and each kind of damaged previous snapshot.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Destination, FolderDestination, S3Destination } from '../lambda/core/destinations';
import type { ExportSettings } from '../lambda/core/settings';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { runStep, type StepResult } from '../lambda/steps';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { FAST_TUNING, fingerprint, removeDir, runCliCollecting, SANDBOX_CREDENTIALS, sandboxExport, settingsFor, tempDir } from './helpers';
import { s3ForSuite, storedObjects } from './s3-server';

const BUCKET = 'change-faults';
const s3 = s3ForSuite([BUCKET]);
let base: Sandbox;
let nextDay: Sandbox;
let out: string;
let work: string;
let tests = 0;

beforeAll(async () => {
  [base, nextDay] = await Promise.all([startSandbox({ size: 3_000, shape: 'mixed', day: 0 }), startSandbox({ size: 3_000, shape: 'mixed', day: 1 })]);
});
afterAll(async () => {
  await Promise.all([base.close(), nextDay.close()]);
});
beforeEach(async () => {
  [out, work] = await Promise.all([tempDir(), tempDir()]);
  tests++;
});
afterEach(async () => {
  s3.server().inject();
  await Promise.all([removeDir(out), removeDir(work)]);
});

/** A comparison that spills: 3,000 eSIMs in buckets of 500, in this test's own work folder. */
const tuning = () => ({ ...FAST_TUNING, comparison: { bucketRecords: 500, workDir: work } });

const exportTo = (destination: Destination, api: Sandbox, snapshotDate: string, overrides: Partial<ExportSettings> = {}, signal?: AbortSignal): Promise<Manifest> =>
  sandboxExport(api.apiBaseUrl, destination, { snapshotDate, ...overrides }, { tuning: tuning(), signal });

const cli = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
  runCliCollecting(args, { BETATEL_API_KEY: SANDBOX_CREDENTIALS.apiKey, BETATEL_USER_ID: SANDBOX_CREDENTIALS.userId, AWS_ENDPOINT_URL_S3: s3.server().endpoint, ...process.env }, tuning());

describe('a download of the previous snapshot cut mid-body', () => {
  for (const compression of ['gzip', 'none'] as const) {
    it(`fails the CLI with exit 1 and one line naming the object, and publishes nothing (${compression})`, async () => {
      const prefix = `cut-${tests}`;
      const previous = await exportTo(new S3Destination(s3.client(), BUCKET, prefix), base, '2026-11-26', { compression });
      const before = await storedObjects(path.join(s3.storage(), BUCKET, prefix));
      const ndjson = previous.files.find((file) => file.format === 'ndjson')!.key;
      const hits = s3.server().hits();
      s3.server().inject({ kind: 'cut', cutAt: 0.4, when: (request) => request.method === 'GET' && request.key === ndjson, times: 1 });
      const result = await cli(['--api-url', nextDay.apiBaseUrl, '--out', `s3://${BUCKET}/${prefix}`, '--date', '2026-11-27', '--compression', compression, '--json']);
      expect(s3.server().hits()).toBe(hits + 1);
      expect(result).toEqual({ status: 1, stdout: '', stderr: expect.stringMatching(new RegExp(`^esim-export: could not read ${ndjson} of the 2026-11-26 snapshot to compare with \\(.+\\); nothing was published\\. Run again\\.\\n$`)) });
      expect(await storedObjects(path.join(s3.storage(), BUCKET, prefix))).toEqual(before);
      // Run again: the change set is there.
      const again = await cli(['--api-url', nextDay.apiBaseUrl, '--out', `s3://${BUCKET}/${prefix}`, '--date', '2026-11-27', '--compression', compression, '--json']);
      expect(again.status).toBe(0);
      const { changes } = JSON.parse(again.stdout) as Manifest;
      expect(changes).toMatchObject({ previous: { snapshot_date: '2026-11-26' } });
      expect(changes.skipped).toBeUndefined();
      expect(changes.changed).toBeGreaterThan(0);
    });
  }

  it('fails the Publish step with an answer, and its retry publishes the day with its change set', async () => {
    const prefix = `step-${tests}`;
    const destination = new S3Destination(s3.client(), BUCKET, prefix);
    const previous = await exportTo(destination, base, '2026-11-26');
    const deps = {
      context: { destination, tuning: tuning() },
      settingsFor: () => ({ ...settingsFor(nextDay.apiBaseUrl), snapshotDate: '2026-11-27' }),
      credentials: async () => ({ credentials: SANDBOX_CREDENTIALS, credentialsSource: 'the test credentials' }),
      stopAt: Date.now() + 600_000,
      holder: 'execution-1',
    };
    const begun = (await runStep({ step: 'begin' }, deps)) as { result: StepResult };
    const exported = (await runStep({ step: 'export', run: begun.result.run }, deps)) as { result: StepResult };
    expect(exported.result.done).toBe(true);
    const ndjson = previous.files.find((file) => file.format === 'ndjson')!.key;
    s3.server().inject({ kind: 'cut', cutAt: 0.4, when: (request) => request.method === 'GET' && request.key === ndjson, times: 1 });
    await expect(runStep({ step: 'publish', run: begun.result.run }, deps)).rejects.toMatchObject({ code: 'DESTINATION', message: expect.stringContaining(`could not read ${ndjson}`) });
    const retried = (await runStep({ step: 'publish', run: begun.result.run }, deps)) as { manifest: Manifest };
    expect(retried.manifest.changes).toMatchObject({ previous: { snapshot_date: '2026-11-26' } });
    expect(retried.manifest.changes.skipped).toBeUndefined();
    expect(retried.manifest.changes.changed).toBeGreaterThan(0);
  });
});

describe('a stop asked for during the comparison', () => {
  it('publishes nothing, leaves the folder as it was and no work folder behind, even mid-spill', async () => {
    await exportTo(new FolderDestination(out), base, '2026-11-26');
    const before = await fingerprint(out);
    const stop = new AbortController();
    const inner = new FolderDestination(out);
    // The stop comes once the previous snapshot has been spread into buckets: reading this run's own NDJSON.
    const stopping = Object.assign(Object.create(inner) as Destination, {
      read: async (key: string) => {
        const stream = await inner.read(key);
        if (key.includes('/files/ndjson/')) stop.abort();
        return stream;
      },
    });
    await expect(exportTo(stopping, nextDay, '2026-11-27', {}, stop.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    expect(stop.signal.aborted).toBe(true);
    expect(await fingerprint(out)).toEqual(before);
    expect(await readdir(work)).toEqual([]);
  });
});

describe('a comparison killed earlier in this process, or by a process now gone', () => {
  it('has its work folder removed by the next comparison, and nothing else', async () => {
    let gone = 4_000_000;
    while (alive(gone)) gone++;
    for (const name of [`${process.pid}-${randomUUID()}`, `${gone}-${randomUUID()}`]) {
      await mkdir(path.join(work, name));
      await writeFile(path.join(work, name, 'previous-0.txt'), 'stale');
    }
    // The root may be shared (a workDir of /tmp): what is not a comparison's folder stays.
    const others = ['notes', `${gone}-not-a-comparison`, `${gone}`];
    for (const name of others) await writeFile(path.join(work, name), 'not ours');
    await exportTo(new FolderDestination(out), base, '2026-11-26');
    await exportTo(new FolderDestination(out), nextDay, '2026-11-27');
    expect((await readdir(work)).sort()).toEqual([...others].sort());
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

describe('a damaged previous snapshot', () => {
  const day26 = (manifest: Manifest) => manifest.files.find((file) => file.format === 'ndjson')!.key;

  /** Exports the 26th, damages it, exports the 27th: the 27th is published without a change set, and says why. */
  async function afterDamage(damage: (file: string) => Promise<void>, overrides: Partial<ExportSettings> = {}): Promise<{ manifest: Manifest; key: string }> {
    const previous = await exportTo(new FolderDestination(out), base, '2026-11-26', overrides);
    const key = day26(previous);
    await damage(path.join(out, key));
    const manifest = await exportTo(new FolderDestination(out), nextDay, '2026-11-27', overrides);
    expect(manifest.records).toBe(3_000);
    expect(manifest.changes).toMatchObject({ previous: { snapshot_date: '2026-11-26' }, previous_unusable: true, added: 0, changed: 0, removed: 0, files: [] });
    expect(manifest.warnings).toContain(`no change set: ${manifest.changes.skipped}`);
    expect(manifest.changes.skipped).toContain(`${key} of the 2026-11-26 snapshot`);
    expect(manifest.changes.skipped).toMatch(/export 2026-11-26 again \(--date 2026-11-26\) to repair it$/);
    expect(Object.keys(await fingerprint(out)).filter((file) => file.startsWith('changes/') && file.includes('2026-11-27'))).toEqual([]);
    return { manifest, key };
  }

  it('cut at a line end (uncompressed): its line count and hash are not its manifest’s', async () => {
    const { manifest } = await afterDamage(async (file) => {
      const lines = (await readFile(file, 'utf8')).split('\n');
      await writeFile(file, `${lines.slice(0, 2_000).join('\n')}\n`);
    }, { compression: 'none' });
    expect(manifest.changes.skipped).toMatch(/is not what its manifest says \(its SHA-256 is \w+…, not the \w+… its manifest names\)/);
  });

  it('replaced by another valid gzip', async () => {
    const other = await tempDir();
    try {
      const elsewhere = await exportTo(new FolderDestination(other), nextDay, '2026-11-26');
      await afterDamage(async (file) => writeFile(file, await readFile(path.join(other, day26(elsewhere)))));
    } finally {
      await removeDir(other);
    }
  });

  it('unreadable (not gzip at all)', async () => {
    const { manifest } = await afterDamage(async (file) => writeFile(file, 'not a gzip stream\n'));
    expect(manifest.changes.skipped).toMatch(/is (damaged \(incorrect header check\)|not what its manifest says)/);
  });

  it('missing', async () => {
    const { manifest } = await afterDamage(async (file) => removeDir(file));
    expect(manifest.changes.skipped).toContain('is missing');
  });

  it('with its manifest cut in half: the run fails naming the manifest and what to do, and publishes nothing', async () => {
    await exportTo(new FolderDestination(out), base, '2026-11-26');
    const manifestFile = path.join(out, 'manifests/dt=2026-11-26/manifest.json');
    const text = await readFile(manifestFile, 'utf8');
    await writeFile(manifestFile, text.slice(0, text.length / 2));
    const before = await fingerprint(out);
    await expect(exportTo(new FolderDestination(out), nextDay, '2026-11-27')).rejects.toMatchObject({
      code: 'DESTINATION',
      message: expect.stringMatching(/^the manifest manifests\/dt=2026-11-26\/manifest\.json of the previous snapshot is damaged \(.+\); nothing was published\. Export 2026-11-26 again/),
    });
    expect(await fingerprint(out)).toEqual(before);
  });

  it('without NDJSON (exported with other formats): published without a change set, with a warning', async () => {
    await exportTo(new FolderDestination(out), base, '2026-11-26', { formats: ['csv'] });
    const manifest = await exportTo(new FolderDestination(out), nextDay, '2026-11-27');
    expect(manifest.changes).toMatchObject({ previous_unusable: true, skipped: expect.stringContaining('the snapshot of 2026-11-26 has no NDJSON') });
    expect(manifest.warnings).toContain(`no change set: ${manifest.changes.skipped}`);
  });
});
