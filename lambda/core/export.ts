/**
 * The export core: one function that the CLI, the Lambda handler and the tests all call.
 *
 *   API pages ──► records ──► new records ──► one encoder per format ──► staged files
 *             (client)     (harvest)                                  ──► publish ──► manifest ──► latest.json
 *
 * The manifest is the commit point: it is written only after every data file is complete and
 * published, and a failed run discards its staged files, so it publishes nothing at all.
 */
import { setMaxListeners } from 'node:events';
import { version } from '../../package.json';
import { BetatelClient, type Credentials } from './betatel-client';
import type { Destination, StagedObject } from './destinations';
import { asExportError, ExportAbortedError, ExportError } from './errors';
import { Harvest } from './harvest';
import { snapshotLayout } from './layout';
import { Pacer } from './pacer';
import { ENCODERS } from './formats';
import { statusOf } from './records';
import { DEFAULT_RETRY_POLICY, type RetryEvent, type RetryPolicy } from './retry';
import type { ExportSettings } from './settings';
import { contentType, type FileSummary, SnapshotFile } from './snapshot-file';

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
}

export interface ExportRun {
  readonly settings: ExportSettings;
  readonly destination: Destination;
  readonly credentials: Credentials;
  /** Where the credentials came from, named in a 401 message (never their values). */
  readonly credentialsSource: string;
  /** Aborting stops the run at once; nothing is published. A reason that is an Error is rethrown. */
  readonly signal?: AbortSignal;
  readonly tuning?: Partial<Tuning>;
  readonly observer?: ExportObserver;
}

export interface ManifestFile extends Omit<FileSummary, 'warnings'> {
  readonly content_type: string;
}

export interface Manifest {
  readonly schema_version: 1;
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
    readonly page_size: number;
  };
  readonly started_at: string;
  readonly finished_at: string;
  readonly requests: number;
  readonly retries: number;
  readonly passes: number;
  readonly tool: { readonly name: 'esim-export'; readonly version: string };
}

/** `latest.json`: the newest snapshot's manifest and where that manifest is. */
export interface Latest extends Manifest {
  readonly manifest_key: string;
}

export async function runExport(run: ExportRun): Promise<Manifest> {
  const { settings, destination, observer } = run;
  const tuning: Tuning = { ...DEFAULT_TUNING, ...run.tuning };
  const startedAt = new Date();
  const layout = snapshotLayout(settings);
  const controller = new AbortController();
  const signal = run.signal ? AbortSignal.any([run.signal, controller.signal]) : controller.signal;
  setMaxListeners(0, signal);
  const client = new BetatelClient({
    apiBaseUrl: settings.apiBaseUrl,
    credentials: run.credentials,
    credentialsSource: run.credentialsSource,
    filters: settings.filters,
    pacer: new Pacer({ maxConcurrency: settings.concurrency }),
    retryPolicy: tuning.retryPolicy,
    requestTimeoutMs: tuning.requestTimeoutMs,
    maxConnections: settings.concurrency,
    onRetry: (event) => observer?.onRetry?.(event),
  });
  const staged: StagedObject[] = [];
  let published = false;
  // An abort (deadline, Ctrl-C) must also unblock a write stalled on the destination.
  const discardAll = (): Promise<unknown> => Promise.all(staged.map((object) => object.discard()));
  const onAbort = (): void => void discardAll();
  signal.addEventListener('abort', onAbort, { once: true });

  try {
    const files: SnapshotFile[] = [];
    const contentTypes: string[] = [];
    for (const format of settings.formats) {
      const encoder = ENCODERS[format]();
      contentTypes.push(contentType(encoder, settings.compression));
      const object = await destination.stage(layout.data[format], contentTypes.at(-1)!);
      staged.push(object);
      files.push(new SnapshotFile(encoder, destination.keyFor(layout.data[format]), settings.compression, object.stream));
    }

    const harvest = new Harvest(client, {
      pageSize: settings.pageSize,
      concurrency: settings.concurrency,
      maxPasses: tuning.maxPasses,
      signal,
      onProgress: (progress) =>
        observer?.onProgress?.({ ...progress, requests: client.requests, retries: client.retries }),
    });
    const byStatus = new Map<string, number>();
    for await (const records of harvest.batches()) {
      for (const record of records) {
        const status = statusOf(record);
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      }
      await Promise.all(files.map((file) => file.write(records)));
    }
    const summaries = await Promise.all(files.map((file) => file.finish()));
    signal.throwIfAborted();

    // Publish: data files first, then the manifest, then latest.json.
    published = true;
    await Promise.all(staged.map((object) => object.publish()));
    const { summary } = harvest;
    const manifest: Manifest = {
      schema_version: 1,
      snapshot_date: settings.snapshotDate,
      scope: layout.scope || 'full',
      records: summary.records,
      api_total: summary.apiTotal,
      files: summaries.map(({ warnings: _warnings, ...file }, i) => ({ ...file, content_type: contentTypes[i]! })),
      by_status: Object.fromEntries([...byStatus].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      warnings: [...summary.warnings, ...summaries.flatMap((file) => file.warnings)],
      source: {
        api_url: client.endpoint,
        company: settings.filters.company ?? null,
        inventory: settings.filters.inventory ?? null,
        page_size: settings.pageSize,
      },
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      requests: client.requests,
      retries: client.retries,
      passes: summary.passes,
      tool: { name: 'esim-export', version },
    };
    await destination.putDocument(layout.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
    // latest.json never moves back to an older day (a backfill).
    if (await isNewest(destination, layout.manifests, settings.snapshotDate)) {
      const latest: Latest = { ...manifest, manifest_key: destination.keyFor(layout.manifest) };
      await destination.putDocument(layout.latest, `${JSON.stringify(latest, null, 2)}\n`);
    }
    return manifest;
  } catch (error) {
    const failure = run.signal?.aborted ? abortReason(run.signal) : asExportError(error);
    controller.abort();
    if (!published) await discardAll();
    throw failure;
  } finally {
    signal.removeEventListener('abort', onAbort);
    await client.close();
    await destination.close();
  }
}

/** The caller's reason for stopping us, if it gave one we can show, else a generic one. */
function abortReason(signal: AbortSignal): ExportError {
  const reason: unknown = signal.reason;
  return reason instanceof ExportError
    ? reason
    : new ExportAbortedError('the export was stopped before it finished; nothing was published.', { cause: reason });
}

/** True unless a manifest for a later day exists in this scope. */
async function isNewest(destination: Destination, manifests: string, snapshotDate: string): Promise<boolean> {
  const keys = await destination.list(manifests);
  return keys.every((key) => (/dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1] ?? '') <= snapshotDate);
}
