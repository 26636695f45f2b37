/**
 * The shrink guard: a snapshot that lost more eSIMs than maxShrink allows is refused, the
 * folder or bucket left byte for byte as it was; --allow-shrink ({"allowShrink": true})
 * publishes it and the manifest says so. The sandbox serves yesterday's inventory, then 15% of
 * it hidden behind a `total` that matches.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { runCli } from '../cli/run-cli';
import { configFromEnvironment, settingsForEvent } from '../lambda/config';
import { type Destination, FolderDestination, S3Destination } from '../lambda/core/destinations';
import { checkShrink, fewerPercent } from '../lambda/core/snapshot/shrink-guard';
import type { ExportSettings } from '../lambda/core/settings';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { FAST_TUNING, fingerprint, removeDir, SANDBOX_CREDENTIALS, sandboxExport, tempDir } from './helpers';
import { s3ForSuite, storedObjects } from './s3-server';

const BUCKET = 'snapshots';
const s3 = s3ForSuite([BUCKET]);
let yesterday: Sandbox;
let today: Sandbox;

beforeAll(async () => {
  yesterday = await startSandbox({ size: 1_000 });
  today = await startSandbox({ size: 850 });
});
afterAll(async () => {
  await Promise.all([yesterday.close(), today.close()]);
});

const places: Record<string, () => Promise<{ destination: () => Destination; stored: () => Promise<Record<string, string>> }>> = {
  folder: async () => {
    const folder = await tempDir();
    return { destination: () => new FolderDestination(folder), stored: () => fingerprint(folder) };
  },
  S3: async () => {
    const prefix = `shrink-${Math.random().toString(36).slice(2)}`;
    return {
      destination: () => new S3Destination(s3.client(), BUCKET, prefix, true),
      stored: () => storedObjects(path.join(s3.storage(), BUCKET, prefix)),
    };
  },
};

const exportFrom = (api: Sandbox, destination: Destination, settings: Partial<ExportSettings>): Promise<Manifest> => sandboxExport(api.apiBaseUrl, destination, settings);

describe.each(Object.keys(places))('the shrink guard, in a %s', (place) => {
  it('lets a first snapshot through, and records that it had nothing to compare with', async () => {
    const at = await places[place]!();
    const first = await exportFrom(yesterday, at.destination(), { snapshotDate: '2026-11-26' });
    expect(first.shrink).toEqual({ max_shrink_percent: 10, allowed: false, previous: null });
  });

  it('refuses a snapshot 15% smaller than the previous one, naming both counts and the setting, and leaves everything byte for byte', async () => {
    const at = await places[place]!();
    const first = await exportFrom(yesterday, at.destination(), { snapshotDate: '2026-11-26' });
    const before = await at.stored();
    await expect(exportFrom(today, at.destination(), { snapshotDate: '2026-11-27' })).rejects.toMatchObject({
      code: 'SHRINK',
      message:
        'the snapshot has 850 eSIMs, 15% fewer than the 1,000 of 2026-11-26, more than the shrink guard allows (max shrink 10%); nothing was published. ' +
        'If the inventory really shrank, run again with --allow-shrink (or {"allowShrink": true}), or raise maxShrink.',
    });
    expect(await at.stored()).toEqual(before);
    // --allow-shrink publishes it, and the manifest records the override and what it was compared with.
    const allowed = await exportFrom(today, at.destination(), { snapshotDate: '2026-11-27', allowShrink: true });
    expect(allowed).toMatchObject({ records: 850, shrink: { max_shrink_percent: 10, allowed: true, previous: { snapshot_date: '2026-11-26', run_id: first.run_id, records: 1_000 } } });
  });

  it('lets a shrink within the limit through (maxShrink 15 takes 850 after 1,000)', async () => {
    const at = await places[place]!();
    await exportFrom(yesterday, at.destination(), { snapshotDate: '2026-11-26' });
    const manifest = await exportFrom(today, at.destination(), { snapshotDate: '2026-11-27', maxShrink: 15 });
    expect(manifest.shrink).toMatchObject({ max_shrink_percent: 15, allowed: false, previous: { records: 1_000 } });
  });

  it('compares a backfill with the snapshot before its own day, not the newest', async () => {
    const at = await places[place]!();
    await exportFrom(today, at.destination(), { snapshotDate: '2026-11-20' });
    await exportFrom(yesterday, at.destination(), { snapshotDate: '2026-11-26' });
    const backfill = await exportFrom(today, at.destination(), { snapshotDate: '2026-11-21' });
    expect(backfill.shrink.previous).toMatchObject({ snapshot_date: '2026-11-20', records: 850 });
  });
});

describe('the shrink guard from the command line and the event', () => {
  const run = async (args: string[]): Promise<{ status: number; stderr: string; stdout: string }> => {
    let stderr = '';
    let stdout = '';
    const sink = (append: (text: string) => void) => new Writable({ write: (chunk, _encoding, done) => (append(String(chunk)), done()) });
    const status = await runCli(args, {
      env: { BETATEL_API_KEY: SANDBOX_CREDENTIALS.apiKey, BETATEL_USER_ID: SANDBOX_CREDENTIALS.userId },
      stdout: sink((text) => (stdout += text)),
      stderr: sink((text) => (stderr += text)),
      tuning: FAST_TUNING,
    });
    return { status, stderr, stdout };
  };

  it('fails with exit 1 and one line, then --allow-shrink publishes', async () => {
    const out = await tempDir();
    expect((await run(['--api-url', yesterday.apiBaseUrl, '--out', out, '--date', '2026-11-26'])).status).toBe(0);
    const refused = await run(['--api-url', today.apiBaseUrl, '--out', out, '--date', '2026-11-27']);
    expect(refused).toMatchObject({ status: 1, stderr: expect.stringMatching(/^esim-export: the snapshot has 850 eSIMs, 15% fewer than the 1,000 of 2026-11-26, .*\n$/) });
    const allowed = await run(['--api-url', today.apiBaseUrl, '--out', out, '--date', '2026-11-27', '--allow-shrink', '--json']);
    expect(allowed.status).toBe(0);
    expect((JSON.parse(allowed.stdout) as Manifest).shrink.allowed).toBe(true);
    await removeDir(out);
  });

  it('reads maxShrink from the environment and allowShrink from the event, for one run', () => {
    const config = configFromEnvironment({ SECRET_ID: 's', BUCKET_NAME: 'b', MAX_SHRINK: '25' });
    expect(settingsForEvent({}, config)).toMatchObject({ maxShrink: 25, allowShrink: false });
    expect(settingsForEvent({ allowShrink: true }, config)).toMatchObject({ maxShrink: 25, allowShrink: true });
    expect(() => settingsForEvent({ allowShrink: 'yes' }, config)).toThrow('invalid event: event.allowShrink must be true or false, got "yes". Nothing was exported.');
  });
});

describe('the guard’s arithmetic', () => {
  const previous = { snapshot_date: '2026-11-26', run_id: 'r', records: 1_000 } as Manifest;
  it('allows exactly max shrink percent fewer and refuses one eSIM more, at every limit, never saying a percentage it does not mean', () => {
    for (let maxShrink = 0; maxShrink < 100; maxShrink++) {
      const limit = 1_000 - 10 * maxShrink;
      expect(() => checkShrink(limit, previous, { maxShrink, allowShrink: false })).not.toThrow();
      let message = '';
      try {
        checkShrink(limit - 1, previous, { maxShrink, allowShrink: false });
      } catch (error) {
        message = (error as Error).message;
      }
      const shown = Number(/, ([\d.]+)% fewer/.exec(message)?.[1]);
      expect(shown).toBeGreaterThan(maxShrink);
      expect(shown).toBeLessThanOrEqual(maxShrink + 0.1);
    }
  });

  it('shows 18.04% for 819.6 in a thousand-fold inventory, not a rounded 18%', () => {
    expect(fewerPercent(819_600, 1_000_000, 18)).toBe('18.04');
    expect(fewerPercent(850, 1_000, 10)).toBe('15');
  });
});
