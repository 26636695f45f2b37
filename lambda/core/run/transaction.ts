/**
 * Publishing a snapshot as a transaction recorded in a journal, so that any fault at any step
 * (a kill, a lost answer, an S3 error that lasts, a lost lock) ends with the day exactly as it
 * was or exactly the new snapshot.
 *
 *   1. back up  every object at the day's keys (data files of every format, the manifest,
 *               latest.json) into a folder of this attempt's own; nothing published changes
 *   2. journal  `_runs/journal.json`, created only if absent: the backups, the copies, the keys
 *               to remove, the documents to write, and the manifest
 *   3. apply    copy each staged file to its key, remove the day's files the manifest does
 *               not list, write the documents (latest.json, the announcement's outbox entry),
 *               then the manifest: the commit point
 *   4. finish   delete the journal, then the backup
 * Every write of steps 2 and 3 is preceded by a renewal of the scope's lock with a
 * conditional write (lock.ts), so a run that lost its lock stops before it changes a key. And
 * every write of step 3 is itself conditional on the version the key had when the journal was
 * written (S3's If-Match / If-None-Match on PutObject, CopyObject and DeleteObject): a request
 * sent before the lock was lost that lands after another run published (a manifest PUT held
 * in the network) is refused by S3, and that run's day stands whole. A stop asked for (Ctrl-C,
 * a deadline) before the commit point rolls the publication back.
 *
 * Whoever finds a journal finishes it: a retried Publish, Clean up, the next run's Begin.
 * If the day's manifest is the journal's, the transaction committed: it is rolled forward
 * (step 4; latest.json went before the manifest, as it describes files already in place). Otherwise it is rolled back: every key it may have touched is put back from the
 * backup, or removed if it was new. Both are idempotent, so a recovery that is itself
 * interrupted is finished by the next one. A backup is deleted only after its journal.
 *
 * S3 has no multi-object transaction: while steps 3 and 4 (or a roll-back) run, a reader
 * listing a day's folder may see a mix for the seconds the copies take; the manifest never
 * describes anything but the files stored.
 */
import { randomUUID } from 'node:crypto';
import type { Destination, WriteCondition } from '../destinations';
import { asExportError, DestinationError, LockLostError, RecoveryPendingError } from '../errors';
import { type RunsLayout, scopeInWords, type RunKeys, type SnapshotLayout } from '../snapshot/layout';
import { FORMATS } from '../formats/names';
import { putConditionally, type ScopeLock } from './lock';

export interface Document {
  readonly key: string;
  readonly body: string;
}

export interface Publication {
  /** Staged key → published key. */
  readonly files: readonly { readonly from: string; readonly to: string }[];
  /** Written after the files, before the manifest (latest.json, an outbox entry). */
  readonly documents: readonly Document[];
  /** The day's manifest: written last, the commit point. */
  readonly manifest: Document;
}

export interface Journal extends Publication {
  readonly schema_version: 1;
  readonly run_id: string;
  readonly created_at: string;
  /** Where this attempt's backups are: `<backup><key>` for each key of `existed`. */
  readonly backup: string;
  /** The keys that existed before, each backed up. */
  readonly existed: readonly string[];
  /** The day's files the new manifest does not list. */
  readonly removes: readonly string[];
  /** The version of each key the publication writes or removes, as it was before (null: absent): the condition of each write. */
  readonly versions: Readonly<Record<string, string | null>>;
}


/** The scope's unfinished publication, if there is one. */
export async function readJournal(destination: Destination, layout: RunsLayout): Promise<Journal | undefined> {
  const key = layout.journal;
  const stored = await destination.readDocument(key);
  if (!stored) return undefined;
  try {
    const journal = JSON.parse(stored.body.toString('utf8')) as Journal;
    if (journal?.schema_version !== 1 || !journal.manifest || !Array.isArray(journal.documents) || !Array.isArray(journal.existed)) throw new Error('not a journal');
    return journal;
  } catch (error) {
    throw new DestinationError(
      `the publishing journal ${destination.keyFor(key)} in ${destination.description} is damaged (${(error as Error).message}); ` +
        'compare the day it names with its backup under _runs/, put the day right by hand, then remove the journal.',
      { cause: error },
    );
  }
}

/** Publishes `publication` for the run holding `lock`; the scope must have no unfinished journal (recover first). */
export async function publishTransaction(
  destination: Destination,
  layout: SnapshotLayout,
  lock: ScopeLock,
  keys: RunKeys,
  publication: Publication,
  signal?: AbortSignal,
): Promise<void> {
  await lock.renew();
  const folders = FORMATS.flatMap((format) => [layout.dayFolders[format], layout.changeFolders[format]]);
  const dayFiles = (await Promise.all(folders.map((folder) => destination.list(folder)))).flat();
  const documents = [...publication.documents, publication.manifest];
  const published = new Set(publication.files.map((file) => file.to));
  const touched = [...new Set([...dayFiles, ...published, ...documents.map((document) => document.key)])];
  const versions = Object.fromEntries(await Promise.all(touched.map(async (key) => [key, (await destination.version(key)) ?? null] as const)));
  const journal: Journal = {
    schema_version: 1,
    run_id: lock.runId,
    created_at: new Date().toISOString(),
    // Each attempt backs up into a folder of its own: a retry never overwrites an earlier backup.
    backup: keys.backup(randomUUID()),
    existed: touched.filter((key) => versions[key] !== null),
    removes: dayFiles.filter((key) => !published.has(key)),
    versions,
    ...publication,
  };

  // 1. Backups. Nothing published has changed yet; a failure here leaves only staging behind.
  for (const key of journal.existed) await destination.copy(key, `${journal.backup}${key}`);
  signal?.throwIfAborted();
  // 2. The journal: from here on, whoever finds it finishes or undoes this publication.
  await lock.renew();
  if (!(await putConditionally(destination, layout.journal, `${JSON.stringify(journal)}\n`, { absent: true }))) {
    throw new DestinationError(`another publication of ${scopeInWords(layout.scope)} is unfinished in ${destination.description}; run again to finish it first.`);
  }
  // 3. Apply, fenced by the lock before every write and by each key's version in the write itself; the manifest commits.
  const condition = (key: string): WriteCondition => (versions[key] ? { version: versions[key] } : { absent: true });
  const fenced = async (key: string, write: () => Promise<boolean>): Promise<void> => {
    signal?.throwIfAborted();
    await lock.renew();
    if (!(await write())) throw changedMeanwhile(destination, lock, key);
  };
  try {
    for (const file of journal.files) await fenced(file.to, () => copyConditionally(destination, file.from, file.to, condition(file.to)));
    for (const key of journal.removes) await fenced(key, () => destination.removeIf(key, versions[key]!));
    for (const document of documents) await fenced(document.key, () => putConditionally(destination, document.key, document.body, condition(document.key)));
  } catch (error) {
    // A run that lost its lock touches nothing more: the lock's holder recovers the journal.
    if (error instanceof LockLostError) throw error;
    await lock.renew();
    await rollBack(destination, layout, journal).catch((failure: unknown) => {
      throw new RecoveryPendingError(
        `publishing failed (${asExportError(error).message}) and undoing it failed too (${asExportError(failure).message}); ` +
          `the earlier snapshot is kept under ${destination.keyFor(journal.backup)} and the journal ${destination.keyFor(layout.journal)} ` +
          'names it: the next step or run puts the day back before it does anything else.',
        { cause: failure },
      );
    });
    throw error;
  }
  // 4. Committed: only the journal and the backup remain to go.
  await forget(destination, layout, journal);
}

/**
 * Copies under `condition`; true when the target holds the source's bytes, whether by this
 * call or by an earlier attempt of it whose answer was lost (the SDK's retry then meets its own
 * copy and is refused).
 */
async function copyConditionally(destination: Destination, from: string, to: string, condition: WriteCondition): Promise<boolean> {
  if (await destination.copy(from, to, condition)) return true;
  const [source, target] = await Promise.all([destination.hash(from), destination.hash(to)]);
  return target !== undefined && source === target;
}

/** A key changed under a run that held the lock a moment ago: another run holds it now. */
function changedMeanwhile(destination: Destination, lock: ScopeLock, key: string): LockLostError {
  return new LockLostError(
    `run ${lock.runId} found ${destination.keyFor(key)} changed by another run while it published; it publishes nothing more. ` +
      'Whoever holds the lock now finishes or undoes what it left.',
  );
}

/**
 * Finishes or undoes the scope's unfinished publication, if there is one (of run `onlyRun`
 * only, when given): rolled forward if the day's manifest is the journal's, else rolled back.
 */
export async function recoverTransaction(destination: Destination, layout: RunsLayout, onlyRun?: string): Promise<void> {
  const journal = await readJournal(destination, layout);
  if (!journal || (onlyRun !== undefined && journal.run_id !== onlyRun)) return;
  const stored = await destination.readDocument(journal.manifest.key);
  if (stored?.body.equals(Buffer.from(journal.manifest.body))) await forget(destination, layout, journal);
  else await rollBack(destination, layout, journal);
}

/** Puts every key the publication may have touched back as it was: from the backup, or gone if it is new. */
async function rollBack(destination: Destination, layout: RunsLayout, journal: Journal): Promise<void> {
  const existed = new Set(journal.existed);
  const touched = new Set([...journal.files.map((file) => file.to), ...journal.removes, ...journal.documents.map((document) => document.key), journal.manifest.key]);
  for (const key of touched) {
    const backup = `${journal.backup}${key}`;
    const restore = existed.has(key) ? destination.copy(backup, key) : destination.remove([key]);
    await restore.catch(async (error: unknown) => {
      // A key the publication never changed may refuse writes (a bucket policy, a read-only
      // file): if it already holds what it held before, there is nothing to put back.
      const [now, before] = await Promise.all([destination.hash(key), existed.has(key) ? destination.hash(backup) : undefined]);
      if (now !== before) throw error;
    });
  }
  await forget(destination, layout, journal);
}

/** The journal goes first: a backup is never deleted while a journal names it. */
async function forget(destination: Destination, layout: RunsLayout, journal: Journal): Promise<void> {
  await destination.remove([layout.journal]);
  await destination.remove(await destination.list(journal.backup));
}
