/**
 * Publishing a snapshot, all or nothing.
 *
 * Everything is staged and complete before this starts. Then:
 *   1. back up what is at the day's keys now (data files of every format, the day's manifest,
 *      latest.json) into the run's folder;
 *   2. copy each staged file to its key;
 *   3. remove the day's files the new manifest does not list (another run's formats, or its
 *      other compression), so a reader globbing a day's folder never counts an eSIM twice;
 *   4. write the manifest, then latest.json.
 * If any step fails, every key touched is put back from the backup (or removed if it was new),
 * so the earlier snapshot is exactly as it was. S3 has no multi-object transaction: a reader
 * may see new data files for the seconds the copies take, but the manifest (the commit point)
 * never describes files other than the ones stored. The scope's lock (run-store.ts) keeps a
 * second run from interleaving.
 */
import type { Destination } from './destinations';
import { DestinationError, asExportError } from './errors';
import type { SnapshotLayout } from './layout';
import { FORMATS } from './settings';

export interface Publication {
  /** Staged key → published key. */
  readonly files: readonly { readonly from: string; readonly to: string }[];
  readonly manifest: string;
  /** latest.json's body, unless a later day's snapshot exists (a backfill does not move it). */
  readonly latest?: string;
}

export async function publish(destination: Destination, layout: SnapshotLayout, backupFolder: string, publication: Publication): Promise<void> {
  const documents = publication.latest === undefined ? [layout.manifest] : [layout.manifest, layout.latest];
  const dayFiles = (await Promise.all(FORMATS.map((format) => destination.list(layout.dayFolders[format])))).flat();
  const existing = [...dayFiles, ...(await Promise.all(documents.map(async (key) => ((await destination.readDocument(key)) ? [key] : [])))).flat()];
  const published = new Set(publication.files.map((file) => file.to));
  const backup = (key: string): string => `${backupFolder}${key}`;

  // 1. A copy of everything we may replace or remove. A failure here has changed nothing.
  for (const key of existing) await destination.copy(key, backup(key));

  // What changed, each key noted once its write succeeded (a write that fails leaves its key as it was).
  const touched = new Set<string>();
  try {
    for (const file of publication.files) {
      await destination.copy(file.from, file.to);
      touched.add(file.to);
    }
    const stale = dayFiles.filter((key) => !published.has(key));
    stale.forEach((key) => touched.add(key)); // a batch delete may stop part way
    await destination.remove(stale);
    await destination.putDocument(layout.manifest, publication.manifest);
    touched.add(layout.manifest);
    if (publication.latest !== undefined) {
      await destination.putDocument(layout.latest, publication.latest);
      touched.add(layout.latest);
    }
  } catch (error) {
    await restore(destination, [...touched], new Set(existing), backup, error);
    throw error;
  }
}

/** Publishing failed and so did putting the earlier snapshot back: the backup must be kept. */
export class RestoreFailedError extends DestinationError {}

/** Puts every touched key back as it was: from the backup, or gone if it did not exist. */
async function restore(destination: Destination, touched: readonly string[], existed: ReadonlySet<string>, backup: (key: string) => string, cause: unknown): Promise<void> {
  try {
    for (const key of touched) {
      if (existed.has(key)) await destination.copy(backup(key), key);
      else await destination.remove([key]);
    }
  } catch (failure) {
    throw new RestoreFailedError(
      `publishing failed (${asExportError(cause).message}) and putting the earlier snapshot back failed too ` +
        `(${asExportError(failure).message}); its files are kept under ${backup('')} in ${destination.description}.`,
      { cause: failure },
    );
  }
}
