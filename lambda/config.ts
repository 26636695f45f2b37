/**
 * The Lambda's configuration: the environment the stack sets, and the event that started the
 * run. Pure functions over core/settings.ts (the parser the CLI and the CDK app use too), so
 * every rule is testable without AWS.
 *
 * Events:
 * - EventBridge Scheduler (the stack's schedule): `{"scheduledTime": "2026-11-27T02:00:00Z"}`.
 *   The scheduled time, not the clock, names the day, so a retry after midnight still writes
 *   the day it was meant for.
 * - An EventBridge rule's scheduled event (`"detail-type": "Scheduled Event"`): its `time`.
 * - A console test or `aws lambda invoke`: `{}`, or overrides
 *   `{"company": 100, "inventory": 12345, "formats": ["csv"], "snapshotDate": "2026-11-27"}`.
 */
import { ConfigError, dateIn, defaultOf, type ExportSettings, exportSettings, type Filters, filtersOf, type GivenSettings, parseTime, readSettings, settingNames, SETTINGS } from './core';

export interface FunctionConfig {
  readonly secretId: string;
  readonly bucketName: string;
  readonly exportPrefix: string;
  readonly timezone: string;
  /** Where "Snapshot Published" events go; undefined for the account's default bus. */
  readonly eventBusName: string | undefined;
  /** How long one invocation exports before it hands over to the next (MAX_RUN_SECONDS). */
  readonly maxRunSeconds: number;
  /** The stack's state machine, named in the message of a direct invocation that does not fit. */
  readonly stateMachineName: string | undefined;
  /** The settings the environment gave. */
  readonly given: GivenSettings;
  /** The deployment's filters: the full snapshot's scope, whatever filters an event asks for. */
  readonly baseFilters: Filters;
}

/** Reads and validates the environment once, every variable through the settings table; errors name the variable. */
export function configFromEnvironment(env: NodeJS.ProcessEnv): FunctionConfig {
  const given = readSettings('env', env);
  const required = (key: 'secretId' | 'bucketName'): string => {
    const value = given[key];
    if (value === undefined) throw new ConfigError(`Environment variable ${SETTINGS[key].names.env} is required`);
    return value;
  };
  const baseFilters = filtersOf(given);
  // Every setting checked now, at a cold start, rather than by the first run.
  exportSettings(given, { baseFilters });
  return {
    secretId: required('secretId'),
    bucketName: required('bucketName'),
    exportPrefix: given.exportPrefix ?? defaultOf('exportPrefix'),
    timezone: given.timezone ?? defaultOf('timezone'),
    eventBusName: given.eventBusName,
    // Default: no limit of our own; the handler still hands over before Lambda's time limit.
    maxRunSeconds: given.maxRunSeconds ?? Number.MAX_SAFE_INTEGER / 1000,
    stateMachineName: given.stateMachineName,
    given,
    baseFilters,
  };
}

/** The overrides an event may carry. */
const OVERRIDES = settingNames('event');

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** When the event says the run was scheduled for, if it does. */
function scheduledTime(event: Record<string, unknown>): { label: string; value: unknown } | undefined {
  if ('scheduledTime' in event) return { label: 'event.scheduledTime', value: event.scheduledTime };
  if (event['detail-type'] === 'Scheduled Event' || event.source === 'aws.events') return { label: 'event.time', value: event.time };
  return undefined;
}

/**
 * The settings of this run: the function's defaults, the day the event names (or today in
 * TIMEZONE), and any overrides. Every invalid field is named; nothing runs if one is wrong.
 */
export function settingsForEvent(event: unknown, config: FunctionConfig, now: Date = new Date()): ExportSettings {
  const input = event ?? {};
  if (!isObject(input)) throw new ConfigError(`event must be a JSON object, got ${JSON.stringify(input)}`);
  const problems: string[] = [];

  let snapshotDate = dateIn(config.timezone, now);
  let dateLabel = 'event.snapshotDate';
  const schedule = scheduledTime(input);
  if (schedule) {
    // Strict: a lenient reading of "0" or "2026-02-30T02:00Z" would overwrite another day's full snapshot.
    try {
      snapshotDate = dateIn(config.timezone, parseTime(schedule.label, schedule.value));
      dateLabel = schedule.label;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error.message);
    }
  } else {
    const unknown = Object.keys(input).filter((key) => !OVERRIDES.includes(key));
    if (unknown.length > 0) problems.push(`event.${unknown[0]} is not a known field (use ${OVERRIDES.join(', ')})`);
  }

  let overrides: GivenSettings = {};
  try {
    overrides = readSettings('event', input);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(error.message);
  }
  if (problems.length > 0) throw new ConfigError(`invalid event: ${problems.join('; ')}. Nothing was exported.`);
  if (overrides.snapshotDate !== undefined) dateLabel = 'event.snapshotDate';
  try {
    return exportSettings({ snapshotDate, ...config.given, ...overrides }, { now, baseFilters: config.baseFilters, dateLabel });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`invalid event: ${error.message}. Nothing was exported.`);
  }
}
