/**
 * The stack's props from CDK context (`cdk.json`, or `npx cdk deploy -c key=value`), validated
 * by the settings parser the CLI and the function use (lambda/core/settings.ts): the same
 * limits, the same messages, each naming the context key. A key this app does not know is an
 * error, not silently ignored.
 */
import type { Node } from 'constructs';
import { ConfigError } from '../lambda/core/errors';
import { namedBy, parseDate, parseInteger, parseSetting, readSettings, settingLabel, settingNames } from '../lambda/core/settings';
import { z } from 'zod';
import type { EsimExportStackProps } from './esim-export-stack';
import leven from 'leven';

/** Retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const text = z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' });
const whole = (min: number, max: number) => (label: string, raw: unknown) => parseInteger(label, raw, min, max);

/** Settings of the stack alone (the export's own are in core/settings.ts). */
const STACK_SETTINGS = {
  stackName: (label: string, raw: unknown) => parseSetting(label, text, raw),
  glueDatabaseName: (label: string, raw: unknown) =>
    parseSetting(label, z.string().regex(/^[a-z0-9_]{1,255}$/, { error: 'must be lower-case letters, digits and _' }), raw),
  schedule: (label: string, raw: unknown) =>
    parseSetting(label, z.string().regex(/^(cron|rate|at)\(.+\)$/, { error: 'must be an EventBridge Scheduler expression such as "cron(0 2 * * ? *)"' }), raw),
  alarmEmail: (label: string, raw: unknown) => parseSetting(label, z.email({ error: 'must be an e-mail address' }), raw),
  staleAfterHours: whole(2, 168),
  firstSnapshotDate: parseDate,
  memorySize: whole(128, 10240),
  logRetentionDays: (label: string, raw: unknown) =>
    parseSetting(label, z.coerce.number().refine((days) => LOG_RETENTION_DAYS.includes(days), { error: `must be one of ${LOG_RETENTION_DAYS.join(', ')}` }), raw),
  infrequentAccessAfterDays: whole(30, 36500),
  glacierAfterDays: whole(1, 36500),
  expireAfterDays: whole(1, 36500),
} as const;

type StackSettings = { -readonly [K in keyof typeof STACK_SETTINGS]?: ReturnType<(typeof STACK_SETTINGS)[K]> };

/** Every context key this app reads. */
export const CONTEXT_KEYS: readonly string[] = [...settingNames('context'), ...Object.keys(STACK_SETTINGS)];

export function propsFromContext(node: Node): EsimExportStackProps & { stackName?: string } {
  const context = node.getAllContext() as Record<string, unknown>;
  // Keys of our own are plain words; CDK's feature flags and tools' keys hold '/', ':' or '-'.
  for (const key of Object.keys(context).filter((k) => /^[A-Za-z][A-Za-z0-9]*$/.test(k))) {
    if (CONTEXT_KEYS.includes(key)) continue;
    const suggestion = closestName(key, CONTEXT_KEYS);
    throw new ConfigError(`${settingLabel('context', key)} is not a setting of this app${suggestion ? ` (did you mean ${suggestion}?)` : ''}`);
  }
  const given = readSettings('context', context);
  const stack: StackSettings = {};
  const problems: string[] = [];
  for (const [key, parse] of Object.entries(STACK_SETTINGS)) {
    const raw = context[key];
    if (raw === undefined || raw === null || raw === '') continue;
    try {
      (stack as Record<string, unknown>)[key] = parse(settingLabel('context', key), raw);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  checkLifecycle(stack);
  // The export's settings keep their context names, which are the stack's prop names.
  return { ...stack, ...namedBy('context', given) };
}

/** S3 refuses a lifecycle rule whose steps are out of order: say so at synth, not at deploy. */
function checkLifecycle({ infrequentAccessAfterDays: ia = 30, glacierAfterDays: glacier = 90, expireAfterDays: expire }: StackSettings): void {
  // An object must stay 30 days in Standard-IA before it may move on.
  if (glacier < ia + 30) {
    throw new ConfigError(`CDK context "glacierAfterDays" must be at least 30 days after infrequentAccessAfterDays (${ia}), got ${glacier}`);
  }
  if (expire !== undefined && expire <= glacier) {
    throw new ConfigError(`CDK context "expireAfterDays" must be after glacierAfterDays (${glacier}), got ${expire}`);
  }
}

/**
 * The close match of a misspelled name among `known`, for "did you mean …" (leven: the edit
 * distance, a well-used library rather than our own loop).
 */
function closestName(name: string, known: readonly string[]): string | undefined {
  const plain = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]/g, '');
  return known.find((candidate) => plain(candidate) === plain(name)) ?? known.find((candidate) => leven(plain(candidate), plain(name)) <= 2);
}
