/**
 * The first promise, proven by injecting faults: a same-day rerun (other formats, more eSIMs)
 * is published while every write, copy and delete it makes, one at a time, is the one where
 * the process is killed, where S3 applies the write but the answer is lost, or from where the
 * destination keeps failing (its restore included). Then whoever comes next recovers: the
 * retried Publish, Clean up (discard), or the next run's Begin. Afterwards the day is exactly
 * the old snapshot, byte for byte, or exactly the new one (its manifest lists exactly the
 * stored files, with their SHA-256), and nothing is staged under `_runs/`. In a folder and in
 * a real S3 server (s3rver with S3's conditional writes).
 */
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { createS3Client } from '../lambda/core/aws';
import { type Destination, FolderDestination, S3Destination } from '../lambda/core/destinations';
import { DestinationError } from '../lambda/core/errors';
import { snapshotLayout } from '../lambda/core/snapshot/layout';
import type { Latest, Manifest } from '../lambda/core/snapshot/manifest';
import { beginRun, discardRun, publishRun, runExport, exportInvocation } from '../lambda/core/run/lifecycle';
import { LOCK_TTL_MS } from '../lambda/core/run/lock';
import { RunStore } from '../lambda/core/run/store';
import { IccidSet } from '../lambda/core/harvest/iccid-set';
import { type Sandbox, startSandbox } from '../sandbox/server';
import { FAST_TUNING, fingerprint, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';
import { type S3Server, startS3, storedObjects } from './s3-server';

const BUCKET = 'faults';
const DAY = '2026-11-27';
const OLD = settingsFor('', { formats: ['ndjson', 'csv'] });
const NEW = settingsFor('', { formats: ['ndjson', 'parquet'] });
const layout = snapshotLayout(NEW);

type Fault = 'killed before' | 'killed after' | 'answer lost' | 'failing from';
type Recovery = 'retried Publish' | 'Clean up' | 'next run';

/** Thrown by a destination whose process is "dead": nothing after it happens. */
class Killed extends Error {}

/**
 * `inner`, with the `at`-th change (copy, document write, delete, streamed write) counted from
 * `arm()` faulted as `fault` says. Reads stay healthy unless the process was killed.
 */
function faulty(inner: Destination, fault: Fault, at: number): Destination & { arm(): void; changes(): number } {
  let armed = false;
  let count = 0;
  let dead = false;
  const wrapped = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'arm') return () => (armed = true);
      if (property === 'changes') return () => count;
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (!['copy', 'putDocument', 'remove', 'write', 'readDocument', 'hash', 'list'].includes(property as string)) return (value as () => unknown).bind(target);
      const change = ['copy', 'putDocument', 'remove', 'write'].includes(property as string);
      return async (...args: unknown[]) => {
        if (dead) throw new Killed('the process is gone');
        if (!change || !armed) return (value as (...a: unknown[]) => unknown).apply(target, args);
        count += 1;
        const failing = count === at || (fault === 'failing from' && count > at);
        if (!failing) return (value as (...a: unknown[]) => unknown).apply(target, args);
        if (fault === 'killed before') throw ((dead = true), new Killed(`killed before change ${count}`));
        if (fault === 'failing from') throw new DestinationError(`injected: change ${count} answered 503 SlowDown`);
        await (value as (...a: unknown[]) => unknown).apply(target, args);
        if (fault === 'killed after') dead = true;
        throw fault === 'killed after' ? new Killed(`killed after change ${count}`) : new DestinationError(`injected: the answer to change ${count} was lost`);
      };
    },
  });
  return wrapped as Destination & { arm(): void; changes(): number };
}

interface Place {
  /** A fresh copy of the template: the old snapshot published, the new run staged. */
  clone(): Promise<{ destination: () => Destination; stored: () => Promise<Record<string, string>> }>;
}

let api: Sandbox;
let more: Sandbox;
let storage: string;
let s3server: S3Server;
const savedEnv = { ...process.env };

beforeAll(async () => {
  api = await startSandbox({ size: 30 });
  more = await startSandbox({ size: 45 });
  storage = await tempDir();
  s3server = await startS3(storage, [BUCKET]);
  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
});

afterAll(async () => {
  process.env = savedEnv;
  client?.destroy();
  await Promise.all([api.close(), more.close(), s3server.close()]);
  await removeDir(storage);
});

let client: ReturnType<typeof createS3Client> | undefined;
const s3 = (prefix: string): Destination => new S3Destination((client ??= createS3Client({ ...process.env, AWS_ENDPOINT_URL_S3: s3server.endpoint })), BUCKET, prefix);
let clones = 0;
const places: Record<'folder' | 'S3', (template: string) => Place> = {
  folder: (template) => ({
    clone: async () => {
      const dir = path.join(storage, `folder-${++clones}`);
      await cp(template, dir, { recursive: true });
      return { destination: () => new FolderDestination(dir), stored: () => objects(dir) };
    },
  }),
  S3: (template) => ({
    clone: async () => {
      const prefix = `s3-${++clones}`;
      await cp(path.join(storage, BUCKET, template), path.join(storage, BUCKET, prefix), { recursive: true });
      return { destination: () => s3(prefix), stored: () => storedObjects(path.join(storage, BUCKET, prefix)) };
    },
  }),
};

/** Every file under `dir` (key → SHA-256). */
async function objects(dir: string): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await fingerprint(dir)).filter(([, hash]) => hash !== 'dir'));
}

const published = (stored: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(stored).filter(([key]) => !key.startsWith('_runs/')));

describe.each(['folder', 'S3'] as const)('publishing into a %s, with a fault at every change', (kind) => {
  let place: Place;
  let runId = '';
  let oldDay: Record<string, string> = {};
  let changes = 0;

  // The template: yesterday's run published the day (ndjson, csv); today's rerun (ndjson,
  // parquet, 15 more eSIMs) has exported and holds the lock, about to publish.
  beforeAll(async () => {
    const template = kind === 'folder' ? path.join(storage, 'template') : 'template';
    const destination = (): Destination => (kind === 'folder' ? new FolderDestination(template) : s3(template));
    const context = { credentials: SANDBOX_CREDENTIALS, credentialsSource: 'test', tuning: FAST_TUNING };
    await runExport({ ...context, settings: { ...OLD, apiBaseUrl: api.apiBaseUrl }, destination: destination() });
    const started = await beginRun(destination(), { ...NEW, apiBaseUrl: more.apiBaseUrl }, 'execution-A');
    const checkpoint = await exportInvocation({ ...context, destination: destination() }, started.store, started.checkpoint, new IccidSet());
    await started.store.save(checkpoint, new IccidSet());
    runId = started.store.runId;
    place = places[kind](template);
    const probe = await place.clone();
    oldDay = published(await probe.stored());
    // How many changes a publication makes: each one is faulted in turn below.
    const counting = faulty(probe.destination(), 'failing from', Number.POSITIVE_INFINITY);
    counting.arm();
    await publishRun(new RunStore(counting, layout, runId), { snapshotDate: DAY, announce: true });
    changes = counting.changes();
  });

  it('makes enough changes to publish that every step is faulted', () => {
    // Backups of 4 objects, the journal, 2 copies, a delete, 3 documents, renewals, clean-up.
    expect(changes).toBeGreaterThan(15);
  });

  /** The day is exactly the old snapshot, or exactly the run's; says which. */
  async function judge(stored: Record<string, string>, read: (key: string) => Promise<string>): Promise<'old' | 'new'> {
    const staged = Object.keys(stored).filter((key) => key.startsWith('_runs/'));
    if (JSON.stringify(published(stored)) === JSON.stringify(oldDay)) {
      expect(staged).toEqual([]);
      return 'old';
    }
    // Published, and waiting to be announced (the Lambda's Announce step sends and removes it).
    const manifest = JSON.parse(await read(layout.manifest)) as Manifest;
    expect(staged).toEqual([layout.outboxEntry(manifest)]);
    expect(manifest.run_id).toBe(runId);
    const local = (key: string): string => (kind === 'S3' ? key.slice(key.indexOf('/') + 1) : key);
    const files = Object.fromEntries([...manifest.files, ...manifest.changes.files].map((file) => [local(file.key), file.sha256]));
    const latest = JSON.parse(await read(layout.latest)) as Latest;
    expect({ ...latest, manifest_key: undefined }).toEqual({ ...manifest, manifest_key: undefined });
    const { [layout.manifest]: _manifest, [layout.latest]: _latest, ...dataFiles } = published(stored);
    expect(dataFiles).toEqual(files);
    return 'new';
  }

  const faults: Fault[] = ['killed before', 'killed after', 'answer lost', 'failing from'];
  const recoveries: Recovery[] = ['retried Publish', 'Clean up', 'next run'];
  it.each(faults.flatMap((fault) => recoveries.map((recovery) => [fault, recovery] as const)))(
    'leaves the day old or new when %s each change, then the %s recovers',
    async (fault, recovery) => {
      const outcomes = new Set<string>();
      for (let at = 1; at <= changes; at++) {
        const clone = await place.clone();
        const broken = faulty(clone.destination(), fault, at);
        broken.arm();
        await publishRun(new RunStore(broken, layout, runId), { snapshotDate: DAY, announce: true }).catch((error: unknown) => error);
        const healthy = new RunStore(clone.destination(), layout, runId);
        let result: 'old' | 'new' | undefined;
        if (recovery === 'retried Publish') {
          await publishRun(healthy, { snapshotDate: DAY, announce: true });
          result = 'new';
        } else if (recovery === 'Clean up') {
          result = (await discardRun(healthy, DAY)) ? 'new' : 'old';
        } else {
          const next = await beginRun(clone.destination(), NEW, 'execution-B', { now: new Date(Date.now() + LOCK_TTL_MS + 60_000) });
          await discardRun(next.store, DAY);
        }
        const read = async (key: string): Promise<string> => (await clone.destination().readDocument(key))!.body.toString('utf8');
        const day = await judge(await clone.stored(), read).catch((error: Error) => {
          throw new Error(`${fault} change ${at} of ${changes}, then ${recovery}: ${error.message}`);
        });
        if (result) expect([at, day]).toEqual([at, result]);
        outcomes.add(day);
      }
      // Faults early in the publication leave the old day; late ones (after the manifest) the new.
      if (recovery !== 'retried Publish') expect([...outcomes].sort()).toEqual(['new', 'old']);
    },
  );
});
