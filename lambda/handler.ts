/**
 * The Lambda function, the one function every step of the state machine runs (steps.ts), and
 * a whole export when invoked directly (console Test, `aws lambda invoke`). Structured JSON
 * logs and EMF metrics come from Powertools; the export itself is lambda/core/, the same code
 * the CLI runs.
 *
 * An export step hands over after MAX_RUN_SECONDS; a direct invocation that cannot finish by
 * then publishes nothing and names the state machine to start instead. Whatever happens, it
 * stops on its own STOP_BEFORE_TIMEOUT_MS before Lambda would kill it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { configFromEnvironment, type FunctionConfig, settingsForEvent } from './config';
import { createS3Client } from './core/aws';
import type { Credentials } from './core/api/betatel-client';
import { credentialsFromSecret } from './core/api/credentials';
import { S3Destination } from './core/destinations';
import { AnnouncementFailedError, asExportError, CredentialsError, ExportAbortedError } from './core/errors';
import type { ExportContext, ExportProgress } from './core/export';
import { FULL_SCOPE, runsLayout, scopeFolder } from './core/snapshot/layout';
import type { Manifest } from './core/snapshot/manifest';
import { runExport } from './core/run/lifecycle';
import { announcePending } from './snapshot-event';
import { isStepEvent, parseStepEvent, type RunRef, runStep, type StepEvent, type StepResult } from './steps';
import { METRICS_NAMESPACE, SERVICE_NAME } from './telemetry';

/** Leaves time to abort the uploads and report before Lambda's own time limit. */
const STOP_BEFORE_TIMEOUT_MS = 30_000;
/** Time an export step keeps, after it stops reading, to finish its files and save the checkpoint. */
const HANDOVER_MS = 90_000;
/** How long a fetched secret is reused by warm invocations, in seconds. */
const SECRET_MAX_AGE_SECONDS = 300;

// Built once per container and reused by warm invocations.
const logger = new Logger({ serviceName: SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
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

/** Metrics and logs, once a snapshot is published. */
function recordPublished(manifest: Manifest): void {
  metrics.addMetric('RecordsExported', MetricUnit.Count, manifest.records);
  metrics.addMetric('PagesFetched', MetricUnit.Count, manifest.requests - manifest.retries);
  metrics.addMetric('Retries', MetricUnit.Count, manifest.retries);
  metrics.addMetric('Warnings', MetricUnit.Count, manifest.warnings.length);
  // A previous snapshot that could not be compared with (damaged, missing, no NDJSON): the day has no change set.
  metrics.addMetric('ChangeSetsMissing', MetricUnit.Count, manifest.changes.previous_unusable ? 1 : 0);
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
async function announce(scope: string, config: FunctionConfig, destination: S3Destination, report: boolean): Promise<{ announced: number; pending: boolean }> {
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

type StepAnswer = StepResult | { cleaned: RunRef; published: boolean } | { announced: number; pending: boolean };

/** What one invocation works with, whichever kind it is. */
interface Invocation {
  readonly lambda: Context;
  readonly config: FunctionConfig;
  readonly destination: S3Destination;
  /** The export's context, less the credentials (read only when a step needs them). */
  readonly context: Omit<ExportContext, 'credentials' | 'credentialsSource'>;
  readonly credentials: () => Promise<{ credentials: Credentials; credentialsSource: string }>;
  /** The soft stop: hand over to the next invocation, with time left to save the checkpoint. */
  readonly stopAt: number;
  readonly holder: string;
}

export const handler = async (event: unknown, context: Context): Promise<Manifest | StepAnswer> => {
  const startedAt = Date.now();
  // The request id on every log line, and a cold-start metric.
  logger.addContext(context);
  metrics.captureColdStartMetric();
  const seen: { progress?: ExportProgress } = {};
  const deadline = hardStop(context, seen);
  let step: StepEvent | undefined;
  try {
    step = isStepEvent(event) ? parseStepEvent(event) : undefined;
    const config = configFromEnvironment(process.env);
    const destination = new S3Destination(s3, config.bucketName, config.exportPrefix, false, { kmsKeyArn: config.given.kmsKeyArn, bucketOwner: config.given.bucketOwner });
    const invocation: Invocation = {
      lambda: context,
      config,
      destination,
      context: {
        destination,
        signal: deadline.signal,
        observer: {
          onProgress: (update) => (seen.progress = update),
          onRetry: ({ offset, attempt, delayMs, reason }) => logger.warn('retrying a page', { offset, attempt, delayMs, reason }),
          onPageSize: (pageSize, reason) => logger.info('page size chosen', { pageSize, reason }),
        },
      },
      credentials: async () => ({ credentials: await loadCredentials(config.secretId), credentialsSource: `the secret ${config.secretId}` }),
      stopAt: startedAt + Math.min(config.maxRunSeconds * 1000, context.getRemainingTimeInMillis() - HANDOVER_MS),
      holder: `Lambda request ${context.awsRequestId}`,
    };
    return step ? await stepInvocation(step, invocation) : await directInvocation(event, invocation);
  } catch (caught) {
    const error = asExportError(caught);
    metrics.addMetric('ExportsFailed', MetricUnit.Count, 1);
    logger.error(step ? 'step failed' : 'export failed', { step: step?.step, code: error.code, reason: error.message });
    throw error;
  } finally {
    clearTimeout(deadline.timer);
    metrics.addMetric('DurationSeconds', MetricUnit.Seconds, (Date.now() - startedAt) / 1000);
    metrics.publishStoredMetrics();
  }
};

/** The hard stop: aborts STOP_BEFORE_TIMEOUT_MS before Lambda's time limit, saying how far it got. */
function hardStop(context: Context, seen: { progress?: ExportProgress }): { signal: AbortSignal; timer: NodeJS.Timeout } {
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    const { progress } = seen;
    const done = progress ? `${progress.records.toLocaleString('en-US')} of ${progress.total?.toLocaleString('en-US') ?? '?'} eSIMs` : 'no eSIMs';
    deadline.abort(new ExportAbortedError(`stopped ${STOP_BEFORE_TIMEOUT_MS / 1000} s before the Lambda time limit with ${done} read; nothing was published.`));
  }, Math.max(0, context.getRemainingTimeInMillis() - STOP_BEFORE_TIMEOUT_MS));
  return { signal: deadline.signal, timer };
}

/** One step of the state machine (steps.ts). */
async function stepInvocation(step: StepEvent, invocation: Invocation): Promise<StepAnswer> {
  const { config, destination } = invocation;
  logger.info('step starting', { step: step.step, ...('run' in step && { run: step.run }) });
  const outcome = await runStep(step, {
    context: invocation.context,
    settingsFor: (input) => settingsForEvent(input, config),
    credentials: invocation.credentials,
    stopAt: invocation.stopAt,
    holder: invocation.holder,
  });
  if ('announce' in outcome) return announce(outcome.announce.scope, config, destination, outcome.lastTry);
  if ('cleaned' in outcome) return outcome;
  if (outcome.manifest) recordPublished(outcome.manifest);
  logger.info('step finished', { step: step.step, ...outcome.result });
  return outcome.result;
}

/** A whole export in this invocation (console Test, aws lambda invoke, a schedule that targets the function). */
async function directInvocation(event: unknown, invocation: Invocation): Promise<Manifest> {
  const { config, destination } = invocation;
  const settings = settingsForEvent(event, config);
  logger.info('export starting', { snapshotDate: settings.snapshotDate, filters: settings.filters, formats: settings.formats, destination: destination.description });
  const manifest = await runExport({
    settings,
    ...invocation.context,
    ...(await invocation.credentials()),
    stopAt: invocation.stopAt,
    holder: invocation.holder,
    announce: true,
    tooLong: ({ harvest: { records, total } }) => {
      const count = (n: number): string => n.toLocaleString('en-US');
      // Every eSIM can be read while the run still has work left (another pass to reconcile a
      // changing inventory): say that, not "20,000 of 20,000 read".
      const progress =
        total !== undefined && records >= total ? `all ${count(total)} eSIMs read, but not reconciled and written` : `${count(records)} of ${total === undefined ? '?' : count(total)} eSIMs read`;
      return new ExportAbortedError(
        `this export does not fit one invocation (${progress} in ${config.maxRunSeconds} s); nothing was published. ` +
          `Start the state machine ${stateMachineArn(invocation.lambda, config)} with the same input instead.`,
      );
    },
  });
  recordPublished(manifest);
  await announce(manifest.scope, config, destination, true);
  return manifest;
}

/** The state machine's ARN, from its name (the stack sets it) and this function's region and account. */
function stateMachineArn(context: Context, config: FunctionConfig): string {
  const [, partition, , region, account] = (context.invokedFunctionArn ?? '').split(':');
  if (!config.stateMachineName) return 'of this stack (see the stack output StateMachineName)';
  return partition && region && account ? `arn:${partition}:states:${region}:${account}:stateMachine:${config.stateMachineName}` : config.stateMachineName;
}
