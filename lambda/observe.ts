/**
 * What the function tells CloudWatch: the Powertools logger and EMF metrics (one of each per
 * container), the metrics and log lines of a published snapshot, and the announcement of the
 * "Snapshot Published" events with its own failure metric.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { FunctionConfig } from './config';
import { AnnouncementFailedError, FULL_SCOPE, type Manifest, runsLayout, type S3Destination, scopeFolder } from './core';
import { announcePending } from './snapshot-event';
import { METRICS_NAMESPACE, SERVICE_NAME } from './telemetry';

export { MetricUnit };
export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
export const eventBridge = new EventBridgeClient({});

/** Statuses with a metric of their own (FACTS.md); any other counts as OTHER, so the API cannot create billed metrics at will. */
const METRIC_STATUSES = new Set(['WAITING_FOR_ASSIGNMENT', 'PRE_SERVICE', 'IN_SERVICE', 'TERMINATED', 'ASSIGNED', 'ACTIVE', 'SUSPENDED']);

export function metricStatuses(byStatus: Readonly<Record<string, number>>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [status, count] of Object.entries(byStatus)) {
    const name = METRIC_STATUSES.has(status) ? status : 'OTHER';
    counts.set(name, (counts.get(name) ?? 0) + count);
  }
  return counts;
}

/** Metrics and logs, once a snapshot is published. */
export function recordPublished(manifest: Manifest): void {
  metrics.addMetric('RecordsExported', MetricUnit.Count, manifest.records);
  metrics.addMetric('PagesFetched', MetricUnit.Count, manifest.requests - manifest.retries);
  metrics.addMetric('Retries', MetricUnit.Count, manifest.retries);
  metrics.addMetric('Warnings', MetricUnit.Count, manifest.warnings.length);
  // A previous snapshot that could not be compared with (damaged, missing, no NDJSON): the day has no change set.
  metrics.addMetric('ChangeSetsMissing', MetricUnit.Count, manifest.changes.previous_unusable ? 1 : 0);
  // The API sent another shape than the previous snapshot's (an alarm the deployment can turn on).
  metrics.addMetric('SchemaChanges', MetricUnit.Count, manifest.schema_change ? 1 : 0);
  // Only the deployment's own snapshot keeps the "no fresh snapshot" alarm quiet.
  if (manifest.scope === FULL_SCOPE) metrics.addMetric('SnapshotsPublished', MetricUnit.Count, 1);
  for (const [status, count] of metricStatuses(manifest.by_status)) {
    const perStatus = metrics.singleMetric();
    perStatus.addDimension('status', status);
    perStatus.addMetric('RecordsByStatus', MetricUnit.Count, count);
  }
  logger.info('snapshot published', {
    snapshotDate: manifest.snapshot_date,
    scope: manifest.scope,
    records: manifest.records,
    apiTotal: manifest.api_total,
    files: manifest.files.map((file) => file.key),
    requests: manifest.requests,
    retries: manifest.retries,
    invocations: manifest.invocations,
    warnings: manifest.warnings,
  });
  for (const warning of manifest.warnings) logger.warn('snapshot warning', { warning });
}

/**
 * Sends the "Snapshot Published" event of every snapshot of the scope still pending. A
 * failure is thrown for the state machine to retry, unless `report` says no retry is left:
 * then it is counted (AnnouncementsFailed, its own alarm) and returned. The snapshot is
 * published either way, and stays pending for the next run to announce.
 */
export async function announce(scope: string, config: FunctionConfig, destination: S3Destination, report: boolean): Promise<{ announced: number; pending: boolean }> {
  try {
    const announced = await announcePending({ client: eventBridge, destination, bucket: config.bucketName, eventBusName: config.eventBusName }, runsLayout(scopeFolder(scope)));
    for (const manifest of announced) logger.info('snapshot announced', { snapshotDate: manifest.snapshot_date, scope: manifest.scope, runId: manifest.run_id });
    return { announced: announced.length, pending: false };
  } catch (error) {
    if (!(error instanceof AnnouncementFailedError)) throw error;
    logger.error('announcement failed', { reason: error.message, willRetry: !report });
    if (!report) throw error;
    // Counted once, when no retry is left: the alarm is for an announcement given up on.
    metrics.addMetric('AnnouncementsFailed', MetricUnit.Count, 1);
    return { announced: 0, pending: true };
  }
}
