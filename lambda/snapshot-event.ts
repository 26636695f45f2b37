/**
 * The "Snapshot Published" event: put on EventBridge once a snapshot is published, so that a
 * downstream pipeline can start on it instead of polling latest.json.
 */
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DestinationError } from './core/errors';
import type { Manifest } from './core/export';

export const EVENT_SOURCE = 'esim-export';
export const EVENT_DETAIL_TYPE = 'Snapshot Published';

/** What the event says: enough to find and trust the snapshot without reading anything first. */
export interface SnapshotPublishedDetail {
  readonly snapshot_date: string;
  readonly scope: string;
  readonly records: number;
  readonly api_total: number;
  readonly bucket: string;
  readonly manifest_key: string;
  readonly files: ReadonlyArray<{ readonly format: string; readonly key: string; readonly records: number; readonly bytes: number }>;
  readonly warnings: number;
}

export function snapshotPublishedEntry(manifest: Manifest, bucket: string, manifestKey: string, eventBusName?: string): PutEventsRequestEntry {
  const detail: SnapshotPublishedDetail = {
    snapshot_date: manifest.snapshot_date,
    scope: manifest.scope,
    records: manifest.records,
    api_total: manifest.api_total,
    bucket,
    manifest_key: manifestKey,
    files: manifest.files.map(({ format, key, records, bytes }) => ({ format, key, records, bytes })),
    warnings: manifest.warnings.length,
  };
  return {
    Source: EVENT_SOURCE,
    DetailType: EVENT_DETAIL_TYPE,
    Detail: JSON.stringify(detail),
    Resources: [`arn:aws:s3:::${bucket}/${manifestKey}`],
    ...(eventBusName && { EventBusName: eventBusName }),
  };
}

/** Puts the event; a bus that refuses it fails the run (the snapshot stays published: a retry re-publishes it idempotently). */
export async function putSnapshotPublished(client: EventBridgeClient, entry: PutEventsRequestEntry): Promise<void> {
  const bus = entry.EventBusName ?? 'default';
  let failure: string | undefined;
  try {
    const result = await client.send(new PutEventsCommand({ Entries: [entry] }));
    if (result.FailedEntryCount) failure = `${result.Entries?.[0]?.ErrorCode ?? 'failed'}: ${result.Entries?.[0]?.ErrorMessage ?? ''}`;
  } catch (error) {
    failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  if (failure !== undefined) {
    throw new DestinationError(
      `the snapshot was published, but the "${EVENT_DETAIL_TYPE}" event could not be put on the event bus ${bus} (${failure}). Check events:PutEvents on that bus.`,
    );
  }
}
