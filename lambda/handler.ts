/**
 * The Lambda function: reads its settings and the event, fetches the credentials, runs the
 * shared export core into S3 and returns the manifest. Structured JSON logs and EMF metrics
 * come from Powertools; the export itself is lambda/core/export.ts, the same code the CLI runs.
 *
 * It stops on its own STOP_BEFORE_TIMEOUT_MS before Lambda would kill it, so an export that
 * cannot finish in time aborts its uploads, publishes nothing and says why.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { configFromEnvironment, settingsForEvent } from './config';
import { createS3Client } from './core/aws';
import type { Credentials } from './core/betatel-client';
import { credentialsFromSecret } from './core/credentials';
import { S3Destination } from './core/destinations';
import { asExportError, CredentialsError, ExportAbortedError } from './core/errors';
import { type ExportProgress, type Manifest, runExport } from './core/export';
import { snapshotLayout } from './core/layout';
import { putSnapshotPublished, snapshotPublishedEntry } from './snapshot-event';

/** Leaves time to abort the uploads and report before Lambda's own time limit. */
export const STOP_BEFORE_TIMEOUT_MS = 30_000;
/** How long a fetched secret is reused by warm invocations, in seconds. */
const SECRET_MAX_AGE_SECONDS = 300;

// Built once per container and reused by warm invocations.
const logger = new Logger({ serviceName: 'esim-export' });
const metrics = new Metrics({ namespace: 'EsimExport', serviceName: 'esim-export' });
const s3 = createS3Client();
const eventBridge = new EventBridgeClient({});

async function loadCredentials(secretId: string): Promise<Credentials> {
  let value: unknown;
  try {
    value = await getSecret(secretId, { maxAge: SECRET_MAX_AGE_SECONDS });
  } catch (error) {
    const cause = (error as { cause?: { name?: string } }).cause;
    const name = cause?.name ?? (error as Error).name;
    throw new CredentialsError(`could not read the secret ${secretId} (${name}): check that it exists and that the function may read it.`, {
      cause: error,
    });
  }
  return credentialsFromSecret(typeof value === 'string' ? value : undefined, secretId);
}

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

export const handler = async (event: unknown, context: Context): Promise<Manifest> => {
  const startedAt = Date.now();
  // The request id on every log line, and a cold-start metric.
  logger.addContext(context);
  metrics.captureColdStartMetric();
  let progress: ExportProgress | undefined;
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    const done = progress ? `${progress.records.toLocaleString('en-US')} of ${progress.total?.toLocaleString('en-US') ?? '?'} eSIMs` : 'no eSIMs';
    deadline.abort(
      new ExportAbortedError(
        `stopped ${STOP_BEFORE_TIMEOUT_MS / 1000} s before the Lambda time limit with ${done} read; nothing was published. ` +
          'Raise CONCURRENCY if the API allows it, or split the export with COMPANY_ID / INVENTORY_ID.',
      ),
    );
  }, Math.max(0, context.getRemainingTimeInMillis() - STOP_BEFORE_TIMEOUT_MS));

  try {
    const config = configFromEnvironment(process.env);
    const settings = settingsForEvent(event, config);
    logger.info('export starting', {
      snapshotDate: settings.snapshotDate,
      filters: settings.filters,
      formats: settings.formats,
      destination: `s3://${config.bucketName}/${config.exportPrefix}`,
    });
    const credentials = await loadCredentials(config.secretId);
    const destination = new S3Destination(s3, config.bucketName, config.exportPrefix);
    const manifest = await runExport({
      settings,
      destination,
      credentials,
      credentialsSource: `the secret ${config.secretId}`,
      signal: deadline.signal,
      observer: {
        onProgress: (update) => (progress = update),
        onRetry: ({ offset, attempt, delayMs, reason }) => logger.warn('retrying a page', { offset, attempt, delayMs, reason }),
      },
    });

    // Downstream pipelines start on this event rather than polling latest.json.
    const manifestKey = destination.keyFor(snapshotLayout(settings).manifest);
    await putSnapshotPublished(eventBridge, snapshotPublishedEntry(manifest, config.bucketName, manifestKey, config.eventBusName));

    metrics.addMetric('RecordsExported', MetricUnit.Count, manifest.records);
    metrics.addMetric('PagesFetched', MetricUnit.Count, manifest.requests - manifest.retries);
    metrics.addMetric('Retries', MetricUnit.Count, manifest.retries);
    metrics.addMetric('Warnings', MetricUnit.Count, manifest.warnings.length);
    // Only the deployment's own snapshot keeps the "no fresh snapshot" alarm quiet.
    if (manifest.scope === 'full') metrics.addMetric('SnapshotsPublished', MetricUnit.Count, 1);
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
      warnings: manifest.warnings,
    });
    for (const warning of manifest.warnings) logger.warn('snapshot warning', { warning });
    return manifest;
  } catch (caught) {
    const error = asExportError(caught);
    metrics.addMetric('ExportsFailed', MetricUnit.Count, 1);
    logger.error('export failed', { code: error.code, reason: error.message });
    throw error;
  } finally {
    clearTimeout(timer);
    metrics.addMetric('DurationSeconds', MetricUnit.Seconds, (Date.now() - startedAt) / 1000);
    metrics.publishStoredMetrics();
  }
};
