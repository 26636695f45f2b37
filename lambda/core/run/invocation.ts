/**
 * One invocation's share of an export: read on from the checkpoint until the inventory is read
 * or `stopAt` comes, encode the new records into one complete file per format in the run's
 * folder, and return the checkpoint the next invocation starts from.
 *
 *   API pages ──► records ──► new records ──► one encoder per format ──► staged files (_runs/…)
 *             (client)     (harvest)
 */
import { setMaxListeners } from 'node:events';
import { BetatelClient } from '../api/betatel-client';
import type { Destination, WrittenObject } from '../destinations';
import { DEFAULT_TUNING, type ExportContext, type Tuning } from '../export';
import type { ExportSettings } from '../settings';
import { ApiBadResponseError } from '../errors';
import { ENCODERS } from '../formats';
import { Harvest } from '../harvest/harvest';
import type { IccidSet } from '../harvest/iccid-set';
import { Pacer } from '../api/pacer';
import { statusOf, TOO_DEEP, tooDeep } from '../record';
import { fileExtension } from '../snapshot/layout';
import { ShapeCounter } from '../snapshot/schema';
import { LOCK_RENEW_MS } from './lock';
import type { RunCheckpoint, RunStore } from './store';
import { contentType, SnapshotFile } from '../snapshot/snapshot-file';

/** One invocation's share of a run: reads on from the checkpoint until the inventory is read or `stopAt`. */
export async function exportInvocation(context: ExportContext, store: RunStore, checkpoint: RunCheckpoint, seen: IccidSet, stopAt?: number): Promise<RunCheckpoint> {
  const { settings } = checkpoint;
  const tuning = { ...DEFAULT_TUNING, ...context.tuning };
  const controller = new AbortController();
  const signal = context.signal ? AbortSignal.any([context.signal, controller.signal]) : controller.signal;
  setMaxListeners(0, signal);
  const client = apiClient(context, settings, tuning);
  const objects: WrittenObject[] = [];
  // An abort (deadline, Ctrl-C) must also unblock a write stalled on the destination. One
  // discard, however often asked: a failure awaits the one its abort started, so nothing
  // removes staged files (and their folders) behind the run's own cleanup.
  let discarding: Promise<unknown> | undefined;
  const discardAll = (): Promise<unknown> => (discarding ??= Promise.all(objects.map((object) => object.discard())));
  const onAbort = (): void => void discardAll();
  signal.addEventListener('abort', onAbort, { once: true });
  // The lock expires unless renewed: a long invocation renews it as it goes.
  const renewal = setInterval(() => store.lock.renew().catch((error: unknown) => controller.abort(error)), LOCK_RENEW_MS);

  try {
    const invocation = checkpoint.invocations + 1;
    const files = await stageFiles(context.destination, store, settings, invocation, objects);
    const { observer } = context;
    const harvest = new Harvest(
      client,
      {
        // The setting ('auto' stays 'auto' in every invocation); the size it settled on is in
        // the harvest's checkpoint, so a later large page that fails still falls back.
        pageSize: settings.pageSize,
        concurrency: settings.concurrency,
        maxPasses: tuning.maxPasses,
        signal,
        stopAt,
        onProgress: (progress) =>
          observer?.onProgress?.({ ...progress, requests: checkpoint.requests + client.requests, retries: checkpoint.retries + client.retries }),
        onPageSize: (pageSize, reason) => observer?.onPageSize?.(pageSize, reason),
      },
      checkpoint.harvest,
      seen,
    );
    const shape = new ShapeCounter(checkpoint.schema);
    const byStatus = await writeRecords(harvest, files, checkpoint.by_status, shape);
    const summaries = await Promise.all(files.map((file) => file.finish()));
    await Promise.all(objects.map((object) => object.complete()));
    signal.throwIfAborted();
    return {
      ...checkpoint,
      invocations: invocation,
      harvest: harvest.checkpoint,
      files: [...checkpoint.files, ...summaries],
      by_status: byStatus,
      schema: shape.shape,
      requests: checkpoint.requests + client.requests,
      retries: checkpoint.retries + client.retries,
    };
  } catch (error) {
    // Our own abort means the lock was lost: that is the failure, not the aborted requests.
    const failure: unknown = controller.signal.aborted ? controller.signal.reason : error;
    controller.abort();
    await discardAll();
    throw failure;
  } finally {
    clearInterval(renewal);
    signal.removeEventListener('abort', onAbort);
    await client.close();
  }
}

/** The API client a run's settings and tuning call for (an export's invocation, and `check`'s one request). */
export function apiClient(context: Pick<ExportContext, 'credentials' | 'credentialsSource' | 'observer'>, settings: ExportSettings, tuning: Tuning): BetatelClient {
  return new BetatelClient({
    apiBaseUrl: settings.apiBaseUrl,
    credentials: context.credentials,
    credentialsSource: context.credentialsSource,
    filters: settings.filters,
    pacer: new Pacer({ maxConcurrency: settings.concurrency }),
    retryPolicy: tuning.retryPolicy,
    requestTimeoutMs: tuning.requestTimeoutMs,
    maxConnections: settings.concurrency,
    onRetry: (event) => context.observer?.onRetry?.(event),
  });
}

/** One staged file per format for this invocation; each object opened is added to `objects`. */
async function stageFiles(destination: Destination, store: RunStore, settings: ExportSettings, invocation: number, objects: WrittenObject[]): Promise<SnapshotFile[]> {
  const files: SnapshotFile[] = [];
  for (const format of settings.formats) {
    const encoder = ENCODERS[format]();
    const key = store.keys.file(format, invocation, fileExtension(format, settings.compression));
    const object = await destination.write(key, contentType(encoder, settings.compression));
    objects.push(object);
    files.push(new SnapshotFile(encoder, key, settings.compression, object.stream));
  }
  return files;
}

/** Writes every new record into every file; returns the counts by status, the checkpoint's and these, and counts their shape. */
async function writeRecords(harvest: Harvest, files: readonly SnapshotFile[], counted: Readonly<Record<string, number>>, shape: ShapeCounter): Promise<Record<string, number>> {
  const byStatus = new Map(Object.entries(counted));
  for await (const records of harvest.batches()) {
    for (const record of records) {
      const status = statusOf(record);
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      shape.add(record);
    }
    await Promise.all(files.map((file) => file.write(records))).catch((error: unknown) => {
      throw tooDeep(error) ? new ApiBadResponseError(`the API sent a page where ${TOO_DEEP}; nothing was published.`) : error;
    });
  }
  return Object.fromEntries(byStatus);
}
