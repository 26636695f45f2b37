/**
 * The export core: what the CLI, the Lambda's steps and the tests all call.
 *
 *   begin ──► slice ──► slice … ──► publish                        (or, on failure: discard)
 *   lock the   one invocation's    data files, then the manifest,
 *   scope      share (slice.ts)    then latest.json (publish.ts)
 *
 * A run that fits one process is `runExport`: all three in a row. The state machine runs the
 * same steps in separate invocations, the checkpoint in between kept by run-store.ts. The
 * manifest is the commit point, and a failed run discards everything it staged, so it
 * publishes nothing at all.
 */
import { randomUUID } from 'node:crypto';
import { version } from '../../package.json';
import { type Credentials, LIST_PATH } from './betatel-client';
import type { Destination } from './destinations';
import { asExportError, ExportAbortedError, ExportError } from './errors';
import { START } from './harvest';
import { IccidSet } from './iccid-set';
import { snapshotLayout } from './layout';
import { publish, RestoreFailedError } from './publish';
import { DEFAULT_RETRY_POLICY, type RetryEvent, type RetryPolicy } from './retry';
import { localHolder, type RunCheckpoint, RunStore } from './run-store';
import type { ExportSettings } from './settings';
import { exportSlice } from './slice';
import type { FileSummary } from './snapshot-file';

/** Knobs that are not user settings: the defaults suit production; tests shorten them. */
export interface Tuning {
  /** Per request: connect, headers and body each must arrive within this. */
  readonly requestTimeoutMs: number;
  readonly retryPolicy: RetryPolicy;
  /** Passes over the inventory when it moves while we read it. */
  readonly maxPasses: number;
}

export const DEFAULT_TUNING: Tuning = {
  requestTimeoutMs: 30_000,
  retryPolicy: DEFAULT_RETRY_POLICY,
  maxPasses: 3,
};

export interface ExportProgress {
  readonly pass: number;
  readonly records: number;
  readonly total: number | undefined;
  readonly requests: number;
  readonly retries: number;
}

/** What the caller hears while the export runs. All optional. */
export interface ExportObserver {
  onProgress?(progress: ExportProgress): void;
  onRetry?(event: RetryEvent & { offset: number }): void;
  onPageSize?(pageSize: number, reason: string): void;
}

/** What every step needs besides the run's own state. */
export interface ExportContext {
  readonly destination: Destination;
  readonly credentials: Credentials;
  /** Where the credentials came from, named in a 401 message (never their values). */
  readonly credentialsSource: string;
  /** Aborting stops the run at once; nothing is published. A reason that is an Error is rethrown. */
  readonly signal?: AbortSignal;
  readonly tuning?: Partial<Tuning>;
  readonly observer?: ExportObserver;
}

export interface ExportRun extends ExportContext {
  readonly settings: ExportSettings;
  /** Epoch ms: an export not finished by then fails with `tooLong`'s error (a direct Lambda invocation). */
  readonly stopAt?: number;
  readonly tooLong?: (checkpoint: RunCheckpoint) => ExportError;
  /** Who holds the scope's lock, for the message another run gets (default: pid@host). */
  readonly holder?: string;
}

export type ManifestFile = Omit<FileSummary, 'warnings'>;

export interface Manifest {
  readonly schema_version: 1;
  /** The run that published it (a retried step recognises its own snapshot by it). */
  readonly run_id: string;
  readonly snapshot_date: string;
  /** 'full' for the deployment's own scope, else the `filtered/…` path it was written under. */
  readonly scope: string;
  readonly records: number;
  readonly api_total: number;
  readonly files: readonly ManifestFile[];
  readonly by_status: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
  readonly source: {
    readonly api_url: string;
    readonly company: number | null;
    readonly inventory: number | null;
    /** The `count` asked for (what `auto` settled on). */
    readonly page_size: number;
  };
  readonly started_at: string;
  readonly finished_at: string;
  readonly requests: number;
  readonly retries: number;
  readonly passes: number;
  /** Invocations that exported (more than one when the state machine ran a long export). */
  readonly invocations: number;
  readonly tool: { readonly name: 'esim-export'; readonly version: string };
}

/** `latest.json`: the newest snapshot's manifest and where that manifest is. */
export interface Latest extends Manifest {
  readonly manifest_key: string;
}

/** Starts a run: takes the scope's lock. Nothing else is written until the first slice. */
export async function beginExport(context: Pick<ExportContext, 'destination'>, settings: ExportSettings, holder: string, now = new Date()): Promise<{ checkpoint: RunCheckpoint; store: RunStore }> {
  const store = new RunStore(context.destination, snapshotLayout(settings), randomUUID());
  await store.lock(holder, now);
  const checkpoint: RunCheckpoint = {
    schema_version: 1,
    run_id: store.runId,
    settings,
    started_at: now.toISOString(),
    invocations: 0,
    harvest: START,
    parts: [],
    by_status: {},
    requests: 0,
    retries: 0,
  };
  return { checkpoint, store };
}

export async function continueExport(context: ExportContext, store: RunStore, checkpoint: RunCheckpoint, seen: IccidSet, stopAt?: number): Promise<RunCheckpoint> {
  return exportSlice(context, { ...DEFAULT_TUNING, ...context.tuning }, store, checkpoint, seen, stopAt);
}

/** Publishes a finished run (its harvest has a summary) and clears its staging and lock. */
export async function publishExport(context: Pick<ExportContext, 'destination'>, store: RunStore, checkpoint: RunCheckpoint): Promise<Manifest> {
  const { destination } = context;
  const { settings, harvest } = checkpoint;
  const summary = harvest.summary;
  if (!summary) throw new ExportError('INTERNAL', `run ${checkpoint.run_id} has not finished reading the API; it cannot be published.`);
  const layout = snapshotLayout(settings);
  // Each format's files in order; a file with no records is kept only if the format has no other.
  const moves: { from: string; to: string; file: FileSummary }[] = [];
  for (const format of settings.formats) {
    const all = checkpoint.parts.filter((part) => part.format === format);
    const parts = all.some((part) => part.records > 0) ? all.filter((part) => part.records > 0) : all.slice(0, 1);
    parts.forEach((part, i) => moves.push({ from: part.key, to: layout.dataKey(format, i + 1, parts.length), file: part }));
  }
  const manifest: Manifest = {
    schema_version: 1,
    run_id: checkpoint.run_id,
    snapshot_date: settings.snapshotDate,
    scope: layout.scope || 'full',
    records: summary.records,
    api_total: summary.apiTotal,
    files: moves.map(({ to, file: { warnings: _warnings, ...file } }) => ({ ...file, key: destination.keyFor(to) })),
    by_status: Object.fromEntries(Object.entries(checkpoint.by_status).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    warnings: [...summary.warnings, ...moves.flatMap(({ file }) => file.warnings)],
    source: {
      api_url: `${settings.apiBaseUrl}${LIST_PATH}`,
      company: settings.filters.company ?? null,
      inventory: settings.filters.inventory ?? null,
      page_size: harvest.pageSize ?? 0,
    },
    started_at: checkpoint.started_at,
    finished_at: new Date().toISOString(),
    requests: checkpoint.requests,
    retries: checkpoint.retries,
    passes: summary.passes,
    invocations: checkpoint.invocations,
    tool: { name: 'esim-export', version },
  };
  // latest.json never moves back to an older day (a backfill).
  const newest = (await destination.list(layout.manifests)).every((key) => (/dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1] ?? '') <= settings.snapshotDate);
  const latest: Latest = { ...manifest, manifest_key: destination.keyFor(layout.manifest) };
  await publish(destination, layout, `${store.folder}backup/`, {
    files: moves,
    manifest: `${JSON.stringify(manifest, null, 2)}\n`,
    latest: newest ? `${JSON.stringify(latest, null, 2)}\n` : undefined,
  });
  await store.clear();
  return manifest;
}

/** Removes everything a failed run staged, and its lock; the published snapshot is untouched. */
export async function discardExport(store: RunStore, failure: unknown): Promise<void> {
  // If putting the earlier snapshot back failed, its backup is in the run's folder: keep it.
  if (failure instanceof RestoreFailedError) return;
  await store.clear();
}

/** A whole export in this process: the CLI, a direct Lambda invocation, tests. */
export async function runExport(run: ExportRun): Promise<Manifest> {
  let started: { checkpoint: RunCheckpoint; store: RunStore } | undefined;
  try {
    started = await beginExport(run, run.settings, run.holder ?? localHolder());
    const checkpoint = await continueExport(run, started.store, started.checkpoint, new IccidSet(), run.stopAt);
    if (!checkpoint.harvest.summary) throw run.tooLong?.(checkpoint) ?? new ExportAbortedError('the export did not finish in the time it was given; nothing was published.');
    return await publishExport(run, started.store, checkpoint);
  } catch (error) {
    const failure = run.signal?.aborted ? abortReason(run.signal) : asExportError(error);
    if (started) await discardExport(started.store, error).catch(() => undefined);
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
