/**
 * The "Snapshot Published" event: put on EventBridge once a snapshot is published, so that a
 * downstream pipeline can start on it instead of polling latest.json.
 *
 * At least once: publishing leaves the manifest in the scope's outbox (`_runs/outbox/`, in the
 * same transaction as the manifest), and an entry leaves the outbox only once its event is
 * on the bus. A failed announcement never undoes the publication; the state machine retries
 * it, and every later run sends whatever is still pending first.
 */
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { AnnouncementFailedError, type CheckLine, type Destination, type Manifest, manifestKey, readManifest, type RunsLayout } from './core';

const EVENT_SOURCE = 'esim-export';
const EVENT_DETAIL_TYPE = 'Snapshot Published';

/** What the event says: enough to find and trust the snapshot without reading anything first. */
export interface SnapshotPublishedDetail {
  readonly snapshot_date: string;
  /** The run that published it: the same in every copy of the event (it comes at least once). */
  readonly run_id: string;
  readonly scope: string;
  readonly records: number;
  readonly api_total: number;
  readonly bucket: string;
  readonly manifest_key: string;
  readonly files: ReadonlyArray<{ readonly format: string; readonly key: string; readonly records: number; readonly bytes: number }>;
  readonly warnings: number;
  /**
   * Set when this snapshot was replaced before its event went out (a same-day rerun): the run
   * whose snapshot the day holds now. Its own event follows this one.
   */
  readonly replaced_by_run_id?: string;
  /** What changed since the previous snapshot (0s, with `skipped`, when there is no change set). */
  readonly changes: { readonly added: number; readonly changed: number; readonly removed: number; readonly previous_date: string | null; readonly skipped?: string };
}

export function snapshotPublishedEntry(manifest: Manifest, bucket: string, manifestKey: string, eventBusName?: string, replacedBy?: string): PutEventsRequestEntry {
  const detail: SnapshotPublishedDetail = {
    snapshot_date: manifest.snapshot_date,
    run_id: manifest.run_id,
    scope: manifest.scope,
    records: manifest.records,
    api_total: manifest.api_total,
    bucket,
    manifest_key: manifestKey,
    files: manifest.files.map(({ format, key, records, bytes }) => ({ format, key, records, bytes })),
    warnings: manifest.warnings.length,
    ...(replacedBy !== undefined && { replaced_by_run_id: replacedBy }),
    changes: {
      added: manifest.changes.added,
      changed: manifest.changes.changed,
      removed: manifest.changes.removed,
      previous_date: manifest.changes.previous?.snapshot_date ?? null,
      ...(manifest.changes.skipped !== undefined && { skipped: manifest.changes.skipped }),
    },
  };
  return {
    Source: EVENT_SOURCE,
    DetailType: EVENT_DETAIL_TYPE,
    Detail: JSON.stringify(detail),
    Resources: [`arn:aws:s3:::${bucket}/${manifestKey}`],
    ...(eventBusName && { EventBusName: eventBusName }),
  };
}

/**
 * The "Schema Changed" event of a snapshot whose shape differs from the previous one's
 * (snapshot/schema.ts): the differences, the day and the scope. None when it does not differ.
 */
export function schemaChangedEntry(manifest: Manifest, bucket: string, manifestKey: string, eventBusName?: string): PutEventsRequestEntry | undefined {
  if (!manifest.schema_change) return undefined;
  const detail = { snapshot_date: manifest.snapshot_date, scope: manifest.scope, run_id: manifest.run_id, bucket, manifest_key: manifestKey, ...manifest.schema_change };
  return {
    Source: EVENT_SOURCE,
    DetailType: 'Schema Changed',
    Detail: JSON.stringify(detail),
    Resources: [`arn:aws:s3:::${bucket}/${manifestKey}`],
    ...(eventBusName && { EventBusName: eventBusName }),
  };
}

/** Puts a snapshot's events (its "Snapshot Published" first); a bus that refuses one throws AnnouncementFailedError (the snapshot stays published). */
export async function putSnapshotPublished(client: EventBridgeClient, ...entries: PutEventsRequestEntry[]): Promise<void> {
  const [entry] = entries as [PutEventsRequestEntry];
  const bus = entry.EventBusName ?? 'default';
  let failure: string | undefined;
  try {
    const result = await client.send(new PutEventsCommand({ Entries: entries }));
    const refused = result.Entries?.find((answer) => answer.ErrorCode);
    if (result.FailedEntryCount) failure = `${refused?.ErrorCode ?? 'failed'}: ${refused?.ErrorMessage ?? ''}`;
  } catch (error) {
    failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  if (failure !== undefined) {
    const { snapshot_date: day } = JSON.parse(entry.Detail ?? '{}') as { snapshot_date?: string };
    throw new AnnouncementFailedError(
      `the ${day} snapshot is published, but its "${EVENT_DETAIL_TYPE}" event could not be put on the event bus ${bus} (${failure}); ` +
        'it stays pending and the next attempt or run sends it. Check events:PutEvents on that bus.',
    );
  }
}

export interface AnnounceTarget {
  readonly client: EventBridgeClient;
  readonly destination: Destination;
  readonly bucket: string;
  readonly eventBusName?: string;
}

/**
 * Sends the event of every snapshot of the scope still in its outbox, in the order they were published, and
 * removes each entry once its event is on the bus. Returns the manifests announced; throws
 * AnnouncementFailedError at the first that the bus refuses, leaving it and the rest pending.
 */
export async function announcePending(target: AnnounceTarget, layout: RunsLayout): Promise<Manifest[]> {
  const { destination } = target;
  const announced: Manifest[] = [];
  for (const entryKey of (await destination.list(layout.outbox)).sort()) {
    const stored = await destination.readDocument(entryKey);
    if (!stored) continue;
    const manifest = JSON.parse(stored.body.toString('utf8')) as Manifest;
    const key = manifestKey(manifest.scope, manifest.snapshot_date);
    // A snapshot replaced before it was announced says so, naming the run the day holds now.
    const current = (await readManifest(destination, key))?.run_id;
    const entry = snapshotPublishedEntry(manifest, target.bucket, destination.keyFor(key), target.eventBusName, current === manifest.run_id ? undefined : (current ?? 'none'));
    const schema = schemaChangedEntry(manifest, target.bucket, destination.keyFor(key), target.eventBusName);
    await putSnapshotPublished(target.client, entry, ...(schema ? [schema] : []));
    await destination.remove([entryKey]);
    announced.push(manifest);
  }
  return announced;
}

/**
 * `check`'s line for the bus: one "Export Check" event put on it (never a "Snapshot Published":
 * a rule on those does not fire), which only a bus that exists and lets the function put
 * events accepts.
 */
export async function checkEventBus(client: EventBridgeClient, eventBusName: string | undefined): Promise<CheckLine> {
  const what = `the event bus ${eventBusName ?? 'default'}`;
  try {
    const answer = await client.send(
      new PutEventsCommand({ Entries: [{ Source: EVENT_SOURCE, DetailType: 'Export Check', Detail: JSON.stringify({ check: true }), EventBusName: eventBusName }] }),
    );
    const refused = answer.Entries?.find((entry) => entry.ErrorCode);
    if (answer.FailedEntryCount || refused) return { ok: false, what, says: `it refused the check's event (${refused?.ErrorCode ?? 'failed'}: ${refused?.ErrorMessage ?? ''})` };
    return { ok: true, what, says: 'it accepted an "Export Check" event' };
  } catch (error) {
    const name = (error as Error).name;
    return { ok: false, what, says: `${name}: ${(error as Error).message}; check that the bus exists in this region and that the function may put events on it (events:PutEvents)` };
  }
}

