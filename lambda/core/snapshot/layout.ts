/**
 * Where each part of a snapshot lives, relative to the destination's root. Deterministic: the
 * same scope and day always give the same keys, so a re-run replaces and a retry is idempotent.
 *
 *   ndjson/dt=2026-11-27/esims.ndjson.gz        one prefix per format, Hive-style partitions,
 *   csv/dt=2026-11-27/esims.csv.gz              so an Athena table over one never reads the other
 *   parquet/dt=2026-11-27/esims.parquet         (compressed inside: never gzipped)
 *   manifests/dt=2026-11-27/manifest.json       written after every data file is complete
 *   latest.json                                 the newest manifest, written last
 *   _runs/                                      runs not yet published (run/store.ts)
 *
 * An export that spanned several invocations may hold several files of a format in a day's
 * folder (esims-00001.csv.gz, esims-00002.csv.gz, …); the manifest lists them all.
 *
 * A run with filters other than the deployment's own goes under
 * `filtered/company=100/inventory=12345/` with the same layout inside, never on the full
 * snapshot's keys.
 */
import { type Filters, givenFilters, sameFilters } from '../filters';
import { type Compression, fileCompression, type Format, FORMATS } from '../formats/names';

export interface SnapshotLayout extends RunsLayout {
  /** Each format's folder for the day: after a publish it holds exactly the manifest's files. */
  readonly dayFolders: Readonly<Record<Format, string>>;
  /** The key of file `n` (1-based) of `count` of a format: esims.csv.gz alone, esims-00001.csv.gz of several (one per invocation). */
  dataKey(format: Format, n: number, count: number): string;
  /** Each format's change-set folder for the day (changes/<format>/dt=…/): after a publish it holds exactly the manifest's. */
  readonly changeFolders: Readonly<Record<Format, string>>;
  /** The day's change set in a format: changes/csv/dt=2026-11-27/changes.csv.gz. */
  changeKey(format: Format): string;
  readonly manifest: string;
  /** Where every day's manifest of this scope lives. */
  readonly manifests: string;
  readonly latest: string;
}

/**
 * The deployment's own scope, as the manifest, the event and messages name it. Its keys sit at
 * the prefix itself, so as a folder (the code's `scope`) it is ''. These two functions are the
 * only places that turn one into the other.
 */
export const FULL_SCOPE = 'full';
/** The scope's name for people and the manifest: 'full', or its `filtered/…` folder. */
export const scopeName = (scope: string): string => scope || FULL_SCOPE;
/** The scope in a message: "the full snapshot", or its `filtered/…` folder. */
export const scopeInWords = (scope: string): string => scopeFolder(scope) || 'the full snapshot';
/** The scope's folder under the prefix: '' for the full scope. */
export const scopeFolder = (name: string): string => (name === FULL_SCOPE ? '' : name);

export function scopeOf(filters: Filters, baseFilters: Filters): string {
  if (sameFilters(filters, baseFilters)) return '';
  const parts = ['filtered', ...givenFilters(filters).map(([param, value]) => `${param}=${value}`)];
  // Fewer filters than the deployment's own (possible only from code): still not the full snapshot.
  if (parts.length === 1) parts.push('unfiltered');
  return parts.join('/');
}

/** Where a day's manifest of a scope is (its folder or its name). */
export function manifestKey(scope: string, snapshotDate: string): string {
  const key = `manifests/dt=${snapshotDate}/manifest.json`;
  const folder = scopeFolder(scope);
  return folder ? `${folder}/${key}` : key;
}

/** The day of a manifest's key (`…manifests/dt=2026-11-27/manifest.json`), the inverse of manifestKey. */
export const dayOfManifest = (key: string): string | undefined => /(?:^|\/)manifests\/dt=(\d{4}-\d{2}-\d{2})\/manifest\.json$/.exec(key)?.[1];

/**
 * Where a scope keeps its unpublished runs, its lock, its journal and its outbox (run/): every
 * staging key is made here.
 *
 *   _runs/lock.json                          who is exporting this scope now (lock.ts)
 *   _runs/journal.json                       a publication under way (transaction.ts)
 *   _runs/outbox/<published at>-<day>-<run id>.json   published snapshots not yet announced
 *   _runs/<run id>/…                         one run's staging (RunKeys)
 */
export interface RunsLayout {
  /** '' for the deployment's own scope, else `filtered/…`. */
  readonly scope: string;
  readonly runs: string;
  readonly lock: string;
  readonly journal: string;
  readonly outbox: string;
  /** A published snapshot's outbox entry, named by the moment of publication: the outbox is announced in that order. */
  outboxEntry(manifest: { readonly finished_at: string; readonly snapshot_date: string; readonly run_id: string }): string;
  /** One run's staging keys. */
  run(runId: string): RunKeys;
}

/** One run's staging, under `_runs/<run id>/`. */
export interface RunKeys {
  readonly folder: string;
  /** Settings, where the harvest stands, the files so far (run/store.ts). */
  readonly checkpoint: string;
  /** The ICCIDs handed on by invocation n (harvest/iccid-set.ts). */
  iccids(invocation: number): string;
  /** Invocation n's complete data file of a format. */
  file(format: Format, invocation: number, extension: string): string;
  /** The change set of a format, staged at Publish (changes/change-set.ts). */
  change(format: Format, extension: string): string;
  /** Where a publication attempt keeps what it replaces, until it is final (run/transaction.ts). */
  backup(attempt: string): string;
}

const fiveDigits = (n: number): string => String(n).padStart(5, '0');

export function runsLayout(scope: string): RunsLayout {
  const runs = scope ? `${scope}/_runs/` : '_runs/';
  const outbox = `${runs}outbox/`;
  return {
    scope,
    runs,
    lock: `${runs}lock.json`,
    journal: `${runs}journal.json`,
    outbox,
    outboxEntry: ({ finished_at, snapshot_date, run_id }) => `${outbox}${finished_at.replace(/[:.]/g, '')}-${snapshot_date}-${run_id}.json`,
    run: (runId) => {
      const folder = `${runs}${runId}/`;
      return {
        folder,
        checkpoint: `${folder}checkpoint.json`,
        iccids: (invocation) => `${folder}iccids-${fiveDigits(invocation)}.bin`,
        file: (format, invocation, extension) => `${folder}files/${format}/${fiveDigits(invocation)}${extension}`,
        change: (format, extension) => `${folder}changes/${format}${extension}`,
        backup: (attempt) => `${folder}publish-${attempt}/backup/`,
      };
    },
  };
}

/** A data file's extension: `.csv.gz`, `.ndjson`, `.parquet` (never gzipped: it compresses itself). */
export function fileExtension(format: Format, compression: Compression): string {
  return `.${format}${fileCompression(format, compression) === 'gzip' ? '.gz' : ''}`;
}

export function snapshotLayout(options: {
  filters: Filters;
  baseFilters: Filters;
  snapshotDate: string;
  compression: Compression;
}): SnapshotLayout {
  const scope = scopeOf(options.filters, options.baseFilters);
  const under = (key: string): string => (scope ? `${scope}/${key}` : key);
  const partition = `dt=${options.snapshotDate}`;
  const folder = (format: Format): string => under(`${format}/${partition}/`);
  const dataKey = (format: Format, n = 1, count = 1): string =>
    `${folder(format)}esims${count > 1 ? `-${fiveDigits(n)}` : ''}${fileExtension(format, options.compression)}`;
  return {
    dayFolders: Object.fromEntries(FORMATS.map((format) => [format, folder(format)])) as Record<Format, string>,
    dataKey,
    changeFolders: Object.fromEntries(FORMATS.map((format) => [format, under(`changes/${format}/${partition}/`)])) as Record<Format, string>,
    changeKey: (format) => under(`changes/${format}/${partition}/changes${fileExtension(format, options.compression)}`),
    ...runsLayout(scope),
    manifest: manifestKey(scope, options.snapshotDate),
    manifests: under('manifests/'),
    latest: under('latest.json'),
  };
}
