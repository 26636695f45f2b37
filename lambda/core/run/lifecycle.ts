/**
 * The one run lifecycle, which the CLI, a direct Lambda invocation and the state machine's
 * steps all call:
 *
 *   begin ──► invocation ──► … ──► publish ─────────────► (announce: the Lambda)
 *   lock the   one invocation's    a journaled transaction
 *   scope,     share (invocation.ts) (transaction.ts)
 *   recover
 *        any failure ──► discard: finish or undo the run's publication, remove its staging
 *
 * A run that fits one process is `runExport`: all of them in a row. The state machine runs
 * the same steps in separate invocations, the checkpoint in between kept by store.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Destination } from '../destinations';
import { asExportError, ExportAbortedError, ExportError } from '../errors';
import { DEFAULT_TUNING, type ExportContext, type Tuning } from '../export';
import { START } from '../harvest/harvest';
import { IccidSet } from '../harvest/iccid-set';
import { dayOfManifest, manifestKey, runsLayout, snapshotLayout } from '../snapshot/layout';
import { type Latest, type Manifest, manifestOf, movesOf, readManifest } from '../snapshot/manifest';
import { schemaChange } from '../snapshot/schema';
import { checkShrink, previousSnapshot } from '../snapshot/shrink-guard';
import { stageChangeSet } from '../changes/change-set';
import type { ExportSettings } from '../settings';
import { exportInvocation } from './invocation';
import { localHolder } from './lock';
import { type RunCheckpoint, RunStore } from './store';
import { type Document, publishTransaction, recoverTransaction } from './transaction';

export interface StartedRun {
  readonly store: RunStore;
  readonly checkpoint: RunCheckpoint;
}

/**
 * Starts a run: takes the scope's lock, then finishes or undoes a publication that an earlier
 * run left unfinished, and removes the staging of a dead run it took the lock from.
 */
export async function beginRun(destination: Destination, settings: ExportSettings, holder: string, options: { now?: Date; sameHolderIsUs?: boolean } = {}): Promise<StartedRun> {
  const now = options.now ?? new Date();
  const layout = snapshotLayout(settings);
  const store = new RunStore(destination, layout, randomUUID());
  const previous = await store.lock.acquire(holder, { now, sameHolderIsUs: options.sameHolderIsUs });
  try {
    await recoverTransaction(destination, layout);
    if (previous) await new RunStore(destination, layout, previous).clear();
  } catch (error) {
    await store.lock.release().catch(() => undefined);
    throw error;
  }
  const checkpoint: RunCheckpoint = {
    schema_version: 1,
    run_id: store.runId,
    settings,
    started_at: now.toISOString(),
    invocations: 0,
    harvest: START,
    files: [],
    by_status: {},
    schema: {},
    requests: 0,
    retries: 0,
  };
  return { checkpoint, store };
}

export { exportInvocation } from './invocation';

/** Begins a run whose invocations come later (the state machine's Begin): its first checkpoint saved, or nothing left behind. */
export async function beginStagedRun(destination: Destination, settings: ExportSettings, holder: string, options: { sameHolderIsUs?: boolean } = {}): Promise<StartedRun> {
  const started = await beginRun(destination, settings, holder, options);
  try {
    await started.store.save(started.checkpoint, new IccidSet());
  } catch (error) {
    await discardRun(started.store, settings.snapshotDate);
    throw error;
  }
  return started;
}

/** A staged run, by its scope and id (the state machine carries them from step to step). */
export const stagedRun = (destination: Destination, scope: string, runId: string): RunStore => new RunStore(destination, runsLayout(scope), runId);

/** One invocation of a staged run: reads on from its checkpoint until `stopAt`, then saves where it stands. */
export async function continueRun(context: ExportContext, store: RunStore, stopAt: number): Promise<RunCheckpoint> {
  const { checkpoint, seen } = await store.load();
  await store.lock.renew();
  const next = await exportInvocation(context, store, checkpoint, seen, stopAt);
  await store.save(next, seen);
  return next;
}

/** The day's manifest, if run `runId` published it. */
async function publishedBy(destination: Destination, scope: string, snapshotDate: string, runId: string): Promise<Manifest | undefined> {
  const manifest = await readManifest(destination, manifestKey(scope, snapshotDate));
  return manifest?.run_id === runId ? manifest : undefined;
}

export interface PublishOptions {
  readonly snapshotDate: string;
  /** The checkpoint, when the caller has it (a run in one process); otherwise it is loaded. */
  readonly checkpoint?: RunCheckpoint;
  /** Keep an outbox entry for the announcement, removed once the event is sent (announce.ts). */
  readonly announce?: boolean;
  /** Stops the publication before its commit point (Ctrl-C, a deadline): nothing is published. */
  readonly signal?: AbortSignal;
  readonly tuning?: Partial<Tuning>;
}

/**
 * Publishes a finished run, then clears its staging and lock. Idempotent: an attempt retried
 * after a kill or a lost answer first finishes or undoes what the earlier attempt left, and
 * returns the manifest if that attempt had published.
 */
export async function publishRun(store: RunStore, options: PublishOptions): Promise<Manifest> {
  const { destination } = store;
  await recoverTransaction(destination, store.layout);
  const published = await publishedBy(destination, store.scope, options.snapshotDate, store.runId);
  if (published) {
    await store.clear();
    return published;
  }
  const checkpoint = options.checkpoint ?? (await store.loadCheckpoint());
  const summary = checkpoint.harvest.summary;
  if (!summary) throw new ExportError('INTERNAL', `run ${checkpoint.run_id} has not finished reading the API; it cannot be published.`);
  const layout = snapshotLayout(checkpoint.settings);
  // Before anything is touched: a snapshot that lost too many eSIMs is not published.
  const previous = await previousSnapshot(destination, layout, options.snapshotDate);
  const shrink = checkShrink(summary.records, previous, checkpoint.settings);
  // What changed since the previous snapshot: staged beside the run's files, published with them.
  const { signal } = options;
  const comparison = options.tuning?.comparison ?? DEFAULT_TUNING.comparison;
  const changes = await stageChangeSet({ destination, keys: store.keys, run: checkpoint, records: summary.records, layout, previous, renew: () => store.lock.renew(), signal, ...comparison });
  const moves = movesOf(checkpoint, layout);
  const schemaChanged = schemaChange(checkpoint.schema ?? {}, previous);
  const manifest = manifestOf(checkpoint, summary, layout, moves, destination, { shrink, changes: changes.summary, schemaChange: schemaChanged, warnings: changes.warning ? [changes.warning] : [] });
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  const documents: Document[] = [];
  // latest.json never moves back to an older day (a backfill).
  const newest = (await destination.list(layout.manifests)).every((key) => (dayOfManifest(key) ?? '') <= manifest.snapshot_date);
  if (newest) documents.push({ key: layout.latest, body: json({ ...manifest, manifest_key: destination.keyFor(layout.manifest) } satisfies Latest) });
  if (options.announce) documents.push({ key: layout.outboxEntry(manifest), body: json(manifest) });
  await publishTransaction(destination, layout, store.lock, store.keys, {
    files: [...moves.map(({ from, to }) => ({ from, to })), ...changes.moves],
    documents,
    manifest: { key: layout.manifest, body: json(manifest) },
  }, signal);
  await store.clear();
  return manifest;
}

/**
 * Ends a failed run of day `snapshotDate`: finishes or undoes its publication if one was under
 * way, then removes its staging and lock. Returns the day's manifest if the run published it
 * after all (its publication had committed, or even finished, before the failure).
 */
export async function discardRun(store: RunStore, snapshotDate: string): Promise<Manifest | undefined> {
  await recoverTransaction(store.destination, store.layout, store.runId);
  const published = await publishedBy(store.destination, store.scope, snapshotDate, store.runId);
  await store.clear();
  return published;
}

export interface ExportRun extends ExportContext {
  readonly settings: ExportSettings;
  /** Epoch ms: an export not finished by then fails with `tooLong`'s error (a direct Lambda invocation). */
  readonly stopAt?: number;
  readonly tooLong?: (checkpoint: RunCheckpoint) => ExportError;
  /** Who holds the scope's lock, for the message another run gets (default: pid@host). */
  readonly holder?: string;
  /** Keep the published snapshot in the outbox until the Lambda announces it. */
  readonly announce?: boolean;
}

/** A whole export in this process: the CLI, a direct Lambda invocation, tests. */
export async function runExport(run: ExportRun): Promise<Manifest> {
  let started: StartedRun | undefined;
  try {
    started = await beginRun(run.destination, run.settings, run.holder ?? localHolder());
    const checkpoint = await exportInvocation(run, started.store, started.checkpoint, new IccidSet(), run.stopAt);
    if (!checkpoint.harvest.summary) throw run.tooLong?.(checkpoint) ?? new ExportAbortedError('the export did not finish in the time it was given; nothing was published.');
    return await publishRun(started.store, { snapshotDate: run.settings.snapshotDate, checkpoint, announce: run.announce, signal: run.signal, tuning: run.tuning });
  } catch (error) {
    const failure = run.signal?.aborted ? abortReason(run.signal) : asExportError(error);
    const published = started && (await discardRun(started.store, run.settings.snapshotDate).catch(() => undefined));
    if (published) return published;
    throw failure;
  } finally {
    await run.destination.close();
  }
}

/** The caller's reason for stopping us, if it gave one we can show, else a generic one. */
function abortReason(signal: AbortSignal): ExportError {
  const reason: unknown = signal.reason;
  return reason instanceof ExportError
    ? reason
    : new ExportAbortedError('the export was stopped before it finished; nothing was published.', { cause: reason });
}
