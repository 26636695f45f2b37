/**
 * Publishing is all or nothing, a rerun leaves exactly its manifest's files, two runs of one
 * scope never interleave, and an incomplete export publishes nothing: in a folder and in a real
 * S3 server (s3rver, with S3's conditional writes and a bucket-policy-like 403 switch).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createS3Client } from '../lambda/core/aws';
import { type Destination, FolderDestination, S3Destination } from '../lambda/core/destinations';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { runExport } from '../lambda/core/run/lifecycle';
import type { ExportSettings } from '../lambda/core/settings';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { FAST_TUNING, fingerprint, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';
import { objectFile, type S3Server, startS3, storedObjects } from './s3-server';

const BUCKET = 'snapshots';
let api: Sandbox;
let storage: string;
let s3server: S3Server;
const savedEnv = { ...process.env };

beforeAll(async () => {
  api = await startSandbox({ size: 450 });
  storage = await tempDir();
  s3server = await startS3(storage, [BUCKET]);
  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
});

afterAll(async () => {
  process.env = savedEnv;
  await api.close();
  await s3server.close();
  await removeDir(storage);
});

afterEach(() => s3server.denyWrites(undefined));

interface Place {
  readonly destination: () => Destination;
  /** Every stored object (relative key → SHA-256). */
  readonly stored: () => Promise<Record<string, string>>;
  readonly read: (key: string) => Promise<string>;
  /** Make writes to matching keys fail from now on. */
  readonly breakWrites: (keys: RegExp) => void;
}

let folder = '';
let prefix = '';
const places: Record<'folder' | 'S3', () => Promise<Place>> = {
  folder: async () => {
    folder = await tempDir();
    let broken: RegExp | undefined;
    return {
      // A folder whose writes fail for some keys, as a full disk or a read-only subfolder would.
      destination: () => {
        const inner = new FolderDestination(folder);
        const failing = (key: string): void => {
          if (broken?.test(key)) throw Object.assign(new Error(`EACCES: permission denied, open '${key}'`), { code: 'EACCES', path: key });
        };
        return Object.assign(Object.create(inner) as Destination, {
          copy: async (from: string, to: string) => (failing(to), inner.copy(from, to)),
          putDocument: async (key: string, body: string | Buffer, condition?: never) => (failing(key), inner.putDocument(key, body, condition)),
        });
      },
      stored: async () => Object.fromEntries(Object.entries(await fingerprint(folder)).filter(([, hash]) => hash !== 'dir')),
      read: (key) => readFile(path.join(folder, key), 'utf8'),
      breakWrites: (keys) => (broken = keys),
    };
  },
  S3: async () => {
    prefix = `run-${Math.random().toString(36).slice(2)}`;
    return {
      destination: () => new S3Destination(createS3Client({ ...process.env, AWS_ENDPOINT_URL_S3: s3server.endpoint }), BUCKET, prefix, true),
      stored: () => storedObjects(path.join(storage, BUCKET, prefix)),
      read: (key) => readFile(objectFile(path.join(storage, BUCKET, prefix), key), 'utf8'),
      breakWrites: (keys) => s3server.denyWrites(new RegExp(`^/${BUCKET}/${prefix}/${keys.source.replace(/^\^/, '')}`)),
    };
  },
};

const exportTo = (place: Place, settings: Partial<ExportSettings> = {}, sandbox = api): Promise<Manifest> =>
  runExport({
    settings: settingsFor(sandbox.apiBaseUrl, settings),
    destination: place.destination(),
    credentials: SANDBOX_CREDENTIALS,
    credentialsSource: 'test',
    tuning: FAST_TUNING,
  });

describe.each(['folder', 'S3'] as const)('publishing into a %s', (kind) => {
  let place: Place;
  beforeEach(async () => {
    place = await places[kind]();
  });
  afterEach(async () => {
    if (kind === 'folder') await removeDir(folder);
  });

  it.each([
    ['the CSV file', /^csv\//],
    ['the manifest', /^manifests\//],
    ['latest.json', /^latest\.json$/],
  ])('leaves the published snapshot exactly as it was when writing %s fails on a rerun', async (_what, keys) => {
    await exportTo(place);
    const before = await place.stored();
    place.breakWrites(keys);
    await expect(exportTo(place, { formats: ['ndjson', 'csv'] })).rejects.toMatchObject({ code: 'DESTINATION' });
    expect(await place.stored()).toEqual(before);
  });

  it('leaves exactly the files its manifest lists when a rerun uses other formats and compression', async () => {
    await exportTo(place);
    const manifest = await exportTo(place, { formats: ['csv'], compression: 'none' });
    const keys = Object.keys(await place.stored()).sort();
    expect(keys).toEqual(['csv/dt=2026-11-27/esims.csv', 'latest.json', 'manifests/dt=2026-11-27/manifest.json']);
    expect(manifest.files.map((file) => file.key)).toEqual([kind === 'S3' ? `${prefix}/csv/dt=2026-11-27/esims.csv` : 'csv/dt=2026-11-27/esims.csv']);
  });

  it('lets one of two overlapping runs of a scope publish and refuses the other, whose manifest never describes the stored files', async () => {
    const slow = await startSandbox({ size: 450, latencyMs: 30 });
    try {
      const runs = await Promise.allSettled([exportTo(place, {}, slow), exportTo(place, { formats: ['csv'] }, slow)]);
      const failed = runs.filter((run) => run.status === 'rejected');
      expect(failed).toHaveLength(1);
      expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'BUSY', message: expect.stringMatching(/^another export of the full snapshot is running/) });
      const manifest = JSON.parse(await place.read('manifests/dt=2026-11-27/manifest.json')) as Manifest;
      const stored = await place.stored();
      const dataKeys = Object.keys(stored).filter((key) => /^(ndjson|csv|parquet)\//.test(key));
      expect(dataKeys.sort()).toEqual(manifest.files.map((file) => (kind === 'S3' ? file.key.slice(prefix.length + 1) : file.key)).sort());
      expect(Object.keys(stored).some((key) => key.startsWith('_runs/'))).toBe(false);
    } finally {
      await slow.close();
    }
  });

  if (kind === 'folder') {
    it('leaves the published snapshot as it was when a stray file sits where a day’s folder goes', async () => {
      await exportTo(place);
      await writeFile(path.join(folder, 'parquet', 'dt=2026-11-26'), 'not a folder');
      const before = await place.stored();
      await expect(exportTo(place, { snapshotDate: '2026-11-26' })).rejects.toMatchObject({
        code: 'DESTINATION',
        message: expect.stringMatching(/^could not write .*parquet\/dt=2026-11-26\/esims\.parquet: a file is in the way of a folder \(ENOTDIR\)|could not write .*: something is already in the way \(EEXIST\)/),
      });
      expect(await place.stored()).toEqual(before);
    });
  }

  it('publishes nothing, and keeps latest.json, when the API lists fewer eSIMs than its steady total', async () => {
    await exportTo(place);
    const before = await place.stored();
    const broken = await startSandbox({ size: 450, ignoreOffset: true });
    try {
      await expect(exportTo(place, { snapshotDate: '2026-11-28' }, broken)).rejects.toMatchObject({
        code: 'API_BAD_RESPONSE',
        message: expect.stringContaining('the API reported a total of 450 eSIMs but its pages listed only 100 distinct ones'),
      });
    } finally {
      await broken.close();
    }
    expect(await place.stored()).toEqual(before);
  });
});
