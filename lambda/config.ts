/**
 * The Lambda's configuration: the environment the stack sets, and the event that started the
 * run. Pure functions, so every rule is testable without AWS.
 *
 * Events:
 * - EventBridge Scheduler (the stack's schedule): `{"scheduledTime": "2026-11-27T02:00:00Z"}`.
 *   The scheduled time, not the clock, names the day, so a retry after midnight still writes
 *   the day it was meant for.
 * - An EventBridge rule's scheduled event (`"detail-type": "Scheduled Event"`): its `time`.
 * - A console test or `aws lambda invoke`: `{}`, or overrides
 *   `{"company": 100, "inventory": 12345, "formats": ["csv"], "snapshotDate": "2026-11-27"}`.
 */
import { ConfigError } from './core/errors';
import {
  DEFAULT_API_BASE_URL,
  DEFAULT_CONCURRENCY,
  DEFAULT_PAGE_SIZE,
  dateIn,
  defaultSettings,
  type ExportSettings,
  type Filters,
  FORMATS,
  MAX_CONCURRENCY,
  MAX_PAGE_SIZE,
  parseApiUrl,
  parseDate,
  parseFormats,
  parseId,
  parseInteger,
  parsePrefix,
  parseTimezone,
} from './core/settings';

export interface FunctionConfig {
  readonly secretId: string;
  readonly bucketName: string;
  readonly exportPrefix: string;
  readonly timezone: string;
  /** Settings of a scheduled run; the event may override some. snapshotDate is filled per run. */
  readonly defaults: Omit<ExportSettings, 'snapshotDate'>;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`Environment variable ${name} is required`);
  return value;
}

/** Reads and validates the environment once; errors name the variable. */
export function configFromEnvironment(env: NodeJS.ProcessEnv): FunctionConfig {
  const optional = (name: string): string | undefined => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const companyId = optional('COMPANY_ID');
  const inventoryId = optional('INVENTORY_ID');
  const filters: Filters = {
    ...(companyId !== undefined && { company: parseId('COMPANY_ID', companyId) }),
    ...(inventoryId !== undefined && { inventory: parseId('INVENTORY_ID', inventoryId) }),
  };
  const { snapshotDate: _unused, ...base } = defaultSettings('');
  return {
    secretId: required(env, 'SECRET_ID'),
    bucketName: required(env, 'BUCKET_NAME'),
    exportPrefix: parsePrefix('EXPORT_PREFIX', optional('EXPORT_PREFIX') ?? 'esims'),
    timezone: parseTimezone('TIMEZONE', optional('TIMEZONE') ?? 'UTC'),
    defaults: {
      ...base,
      apiBaseUrl: parseApiUrl('API_BASE_URL', optional('API_BASE_URL') ?? DEFAULT_API_BASE_URL),
      formats: parseFormats('EXPORT_FORMATS', optional('EXPORT_FORMATS') ?? FORMATS.join(',')),
      filters,
      baseFilters: filters,
      pageSize: parseInteger('PAGE_SIZE', optional('PAGE_SIZE') ?? DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
      concurrency: parseInteger('CONCURRENCY', optional('CONCURRENCY') ?? DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY),
    },
  };
}

const OVERRIDES = ['company', 'inventory', 'formats', 'snapshotDate'] as const;

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
  const attempt = <T>(parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error.message);
      return undefined;
    }
  };

  let snapshotDate = dateIn(config.timezone, now);
  const schedule = scheduledTime(input);
  if (schedule) {
    const time = typeof schedule.value === 'string' ? new Date(schedule.value) : new Date(Number.NaN);
    if (Number.isNaN(time.getTime())) problems.push(`${schedule.label} must be an ISO 8601 time, got ${JSON.stringify(schedule.value)}`);
    else snapshotDate = dateIn(config.timezone, time);
  } else {
    const unknown = Object.keys(input).filter((key) => !(OVERRIDES as readonly string[]).includes(key));
    if (unknown.length > 0) {
      problems.push(`event.${unknown[0]} is not a known field (use ${OVERRIDES.join(', ')})`);
    }
  }

  const filters: { company?: number; inventory?: number } = { ...config.defaults.filters };
  if (input.company !== undefined) filters.company = attempt(() => parseId('event.company', input.company));
  if (input.inventory !== undefined) filters.inventory = attempt(() => parseId('event.inventory', input.inventory));
  const formats = input.formats === undefined ? config.defaults.formats : attempt(() => parseFormats('event.formats', input.formats));
  if (input.snapshotDate !== undefined) snapshotDate = attempt(() => parseDate('event.snapshotDate', input.snapshotDate)) ?? snapshotDate;

  if (problems.length > 0) throw new ConfigError(`invalid event: ${problems.join('; ')}. Nothing was exported.`);
  return { ...config.defaults, filters, formats: formats!, snapshotDate };
}
