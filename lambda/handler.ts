/**
 * The Lambda function, the one function every step of the state machine runs (steps.ts), and
 * a whole export when invoked directly (console Test, `aws lambda invoke`): it reads its
 * configuration and dispatches. Logs, metrics and announcements are observe.ts; the soft and
 * hard stops deadline.ts; the export itself lambda/core/, the same code the CLI runs.
 */
import type { Context } from 'aws-lambda';
import { configFromEnvironment, type FunctionConfig, settingsForEvent } from './config';
import { asExportError, type CheckLine, createS3Client, type Credentials, credentialsFromSecretsManager, type ExportContext, type ExportProgress, type Manifest, runCheck, runExport, S3Destination } from './core';
import { hardStop, softStop, tooLong } from './deadline';
import { announce, eventBridge, logger, metrics, MetricUnit, recordPublished } from './observe';
import { checkEventBus } from './snapshot-event';
import { isStepEvent, parseStepEvent, type RunRef, runStep, type StepEvent, type StepResult } from './steps';

/** How long a fetched secret is reused by warm invocations, in seconds. */
const SECRET_MAX_AGE_SECONDS = 300;

// Built once per container and reused by warm invocations.
const s3 = createS3Client();

/** What `{"check": true}` answers: every line, and whether all passed. */
interface CheckResult {
  readonly ok: boolean;
  readonly lines: readonly CheckLine[];
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

export const handler = async (event: unknown, context: Context): Promise<Manifest | StepAnswer | CheckResult> => {
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
      credentials: async () => ({ credentials: await credentialsFromSecretsManager(config.secretId, SECRET_MAX_AGE_SECONDS), credentialsSource: `the secret ${config.secretId}` }),
      stopAt: softStop(startedAt, context, config),
      holder: `Lambda request ${context.awsRequestId}`,
    };
    if (step) return await stepInvocation(step, invocation);
    return isCheck(event) ? await checkInvocation(event, invocation) : await directInvocation(event, invocation);
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

const isCheck = (event: unknown): event is Record<string, unknown> & { check: true } => typeof event === 'object' && event !== null && (event as { check?: unknown }).check === true;

/** `{"check": true}` (with any export settings): whether an export would work (core/run/check.ts), each line logged and returned. */
async function checkInvocation(event: Record<string, unknown>, invocation: Invocation): Promise<CheckResult> {
  const { check: _check, ...settingsEvent } = event;
  const { config, destination } = invocation;
  const lines = await runCheck({
    settings: settingsForEvent(settingsEvent, config),
    destination,
    credentials: invocation.credentials,
    signal: invocation.context.signal,
    more: [() => checkEventBus(eventBridge, config.eventBusName)],
  });
  for (const line of lines) logger[line.ok ? 'info' : 'warn']('check', { ...line });
  return { ok: lines.every((line) => line.ok), lines };
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
    tooLong: tooLong(invocation.lambda, config),
  });
  recordPublished(manifest);
  await announce(manifest.scope, config, destination, true);
  return manifest;
}

