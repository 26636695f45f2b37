/**
 * The export's settings, in one table.
 *
 * A user gives a setting as a CLI flag, an environment variable of the function, a field of the
 * function's event or a CDK context key. Each row of `SETTINGS` names the setting in every
 * place it can be given, with its help text, its default and its parser; from the table come
 * the CLI's options (cli/run-cli.ts), the function's environment (the stack), the CDK context
 * mapping (lib/context.ts) and the event's overrides (lambda/config.ts). `readSettings` reads
 * any source with the same parser, limits and messages; only the label differs (`--company`,
 * `COMPANY_ID`, `event.company`, `CDK context "companyId"`), so an error names what to fix.
 */
import { ConfigError } from '../errors';
import { FILTERS, type FilterName, type Filters, filterSettingNames } from '../filters';
import {
  type Compression,
  dateIn,
  type Format,
  FORMATS,
  parseApiUrl,
  parseBoolean,
  parseBusName,
  parseCompression,
  parseDate,
  parseFormats,
  parseId,
  parseInteger,
  parseName,
  parsePrefix,
  parseTimezone,
} from './parse';

export * from './parse';
export type { Filters } from '../filters';

export const DEFAULT_API_BASE_URL = 'https://esim.betatel.com/api/v1';
/** The endpoint under the base URL that lists the eSIMs. */
export const LIST_PATH = '/esim/sim-registries';
/** The API's documented default `count`: what `auto` falls back to. */
export const DOCUMENTED_PAGE_SIZE = 100;
/** The largest `count` we ask for: what `auto` tries first (SPEC.md, "Page size auto"). */
export const MAX_PAGE_SIZE = 1000;
/** `auto` finds the largest page the API honours, up to MAX_PAGE_SIZE. */
export type PageSize = number | 'auto';
export const DEFAULT_PAGE_SIZE: PageSize = 'auto';
/** Chosen from `npm run bench`: see README "Memory, speed and concurrency". */
export const DEFAULT_CONCURRENCY = 8;
export const MAX_CONCURRENCY = 64;
/** The shrink guard's default: at most 10% fewer eSIMs than the previous snapshot. */
export const DEFAULT_MAX_SHRINK = 10;
/** Where the export writes under the bucket when no prefix is given. */
export const DEFAULT_EXPORT_PREFIX = 'esims';

export interface ExportSettings {
  /** API base URL; `/esim/sim-registries` is appended. */
  readonly apiBaseUrl: string;
  readonly formats: readonly Format[];
  readonly compression: Compression;
  readonly filters: Filters;
  /**
   * The filters of the deployment's own full snapshot. A run whose filters differ is written
   * under `filtered/…` so it never lands on the full snapshot's keys.
   * @default {} (no filters)
   */
  readonly baseFilters: Filters;
  readonly pageSize: PageSize;
  readonly concurrency: number;
  /** YYYY-MM-DD: names the snapshot's partition. */
  readonly snapshotDate: string;
  /** The shrink guard: a snapshot with more than this percentage fewer eSIMs than the previous one is not published. */
  readonly maxShrink: number;
  /** Publish even so, this once (the manifest says so). */
  readonly allowShrink: boolean;
  /** Write the day's change set (changes/…) beside the snapshot. */
  readonly changeSet: boolean;
}

/** Where a setting was given. */
export type SettingSource = 'flag' | 'env' | 'event' | 'context';

interface Setting<T> {
  /** The setting's name in each place it can be given. */
  readonly names: Partial<Record<SettingSource, string>>;
  /** One line for --help and the docs. */
  readonly help: string;
  /** The flag's argument, as --help shows it. */
  readonly arg?: string;
  /** The value when not given; absent when "not given" means none. */
  readonly default?: T;
  /** How --help says the default when the value alone would not. */
  readonly defaultText?: string;
  readonly parse: (label: string, raw: unknown) => T;
}

const setting = <T>(definition: Setting<T>): Setting<T> => definition;

const filterSettings = Object.fromEntries(
  FILTERS.map(({ param, help }) => [param, setting({ names: filterSettingNames(param), help, arg: '<id>', defaultText: 'all', parse: parseId })]),
) as Record<FilterName, Setting<number>>;

/** Every setting, by its name in each source. */
export const SETTINGS = {
  apiBaseUrl: setting({
    names: { flag: '--api-url', env: 'API_BASE_URL', context: 'apiBaseUrl' },
    help: `API base URL; ${LIST_PATH} is appended`,
    arg: '<url>',
    default: DEFAULT_API_BASE_URL,
    parse: parseApiUrl,
  }),
  formats: setting<Format[]>({
    names: { flag: '--formats', env: 'EXPORT_FORMATS', event: 'formats', context: 'formats' },
    help: `comma list of ${FORMATS.join(', ')}`,
    arg: '<list>',
    default: [...FORMATS],
    defaultText: 'all',
    parse: parseFormats,
  }),
  compression: setting<Compression>({ names: { flag: '--compression' }, help: 'compression of the data files: gzip or none', arg: '<kind>', default: 'gzip', parse: parseCompression }),
  ...filterSettings,
  pageSize: setting<PageSize>({
    names: { flag: '--page-size', env: 'PAGE_SIZE', context: 'pageSize' },
    help: `eSIMs per request (the API's count), 1-${MAX_PAGE_SIZE}, or auto: the largest the API honours`,
    arg: '<n>',
    default: DEFAULT_PAGE_SIZE,
    parse: (label, raw) => (raw === 'auto' ? 'auto' : parseInteger(label, raw, 1, MAX_PAGE_SIZE, 'or auto')),
  }),
  concurrency: setting({
    names: { flag: '--concurrency', env: 'CONCURRENCY', context: 'concurrency' },
    help: `requests in flight at most, 1-${MAX_CONCURRENCY}`,
    arg: '<n>',
    default: DEFAULT_CONCURRENCY,
    parse: (label, raw) => parseInteger(label, raw, 1, MAX_CONCURRENCY),
  }),
  timezone: setting({
    names: { flag: '--timezone', env: 'TIMEZONE', context: 'timezone' },
    help: 'time zone that decides "today"',
    arg: '<tz>',
    default: 'UTC',
    parse: parseTimezone,
  }),
  snapshotDate: setting({ names: { flag: '--date', event: 'snapshotDate' }, help: "the snapshot's date", arg: '<YYYY-MM-DD>', defaultText: 'today in --timezone', parse: parseDate }),
  maxShrink: setting({
    names: { flag: '--max-shrink', env: 'MAX_SHRINK', event: 'maxShrink', context: 'maxShrink' },
    help: 'refuse to publish a snapshot with more than this percentage fewer eSIMs than the previous one (100: never refuse)',
    arg: '<percent>',
    default: DEFAULT_MAX_SHRINK,
    parse: (label, raw) => parseInteger(label, raw, 0, 100),
  }),
  allowShrink: setting({
    names: { flag: '--allow-shrink', event: 'allowShrink' },
    help: 'publish this once even if the snapshot shrank more than --max-shrink allows (the manifest records it)',
    parse: parseBoolean,
  }),
  changeSet: setting({
    names: { flag: '--change-set', env: 'CHANGE_SET', event: 'changeSet', context: 'changeSet' },
    help: "write the day's change set (what was added, changed, removed since the previous snapshot) under changes/",
    arg: '<true|false>',
    default: true,
    parse: parseBoolean,
  }),
  exportPrefix: setting({ names: { env: 'EXPORT_PREFIX', context: 'exportPrefix' }, help: 'key prefix of everything the export writes', default: DEFAULT_EXPORT_PREFIX, parse: parsePrefix }),
  eventBusName: setting({ names: { env: 'EVENT_BUS_NAME', context: 'eventBusName' }, help: 'the EventBridge bus "Snapshot Published" goes to', defaultText: "the account's default bus", parse: parseBusName }),
  secretId: setting({
    names: { flag: '--secret-id', env: 'SECRET_ID', context: 'secret' },
    help: 'read {"apiKey","userId"} from this Secrets Manager secret (name or ARN) instead of the environment',
    arg: '<id>',
    parse: parseName,
  }),
  bucketName: setting({ names: { env: 'BUCKET_NAME', context: 'bucketName' }, help: 'the bucket the snapshots go to', defaultText: 'a bucket the stack creates', parse: parseName }),
  maxRunSeconds: setting({
    names: { env: 'MAX_RUN_SECONDS' },
    help: 'how long one invocation exports before it hands over to the next',
    defaultText: "no limit of its own (it still hands over before Lambda's time limit)",
    parse: (label, raw) => parseInteger(label, raw, 1, 900),
  }),
  stateMachineName: setting({ names: { env: 'STATE_MACHINE_NAME' }, help: 'the state machine that runs long exports, named in messages', parse: parseName }),
} as const;

export type SettingKey = keyof typeof SETTINGS;

/** What a user can set, as given (validated); any of it may be absent. */
export type GivenSettings = { -readonly [K in SettingKey]?: ReturnType<(typeof SETTINGS)[K]['parse']> };

/** A setting's default, from the table (for a setting that has one). */
export function defaultOf<K extends SettingKey>(key: K): NonNullable<GivenSettings[K]> {
  return (SETTINGS[key] as Setting<unknown>).default as NonNullable<GivenSettings[K]>;
}

/** The settings every caller starts from; they override what they were given. */
export function defaultSettings(today: string): ExportSettings {
  return exportSettings({ snapshotDate: today });
}

/** The API filters among given settings. */
export const filtersOf = (given: GivenSettings): Filters =>
  Object.fromEntries(FILTERS.flatMap(({ param }) => (given[param] === undefined ? [] : [[param, given[param]]])));

/**
 * An export's settings: what was given, the table's defaults for the rest. `baseFilters` are
 * the deployment's own (its full snapshot's scope); the day defaults to today in the time zone.
 */
export function exportSettings(given: GivenSettings, options: { now?: Date; baseFilters?: Filters; dateLabel?: string } = {}): ExportSettings {
  const timezone = given.timezone ?? defaultOf('timezone');
  // A day after tomorrow cannot have a snapshot yet, and would hold latest.json there for good.
  const tomorrow = dateIn(timezone, new Date((options.now ?? new Date()).getTime() + 86_400_000));
  if (given.snapshotDate !== undefined && given.snapshotDate > tomorrow) {
    throw new ConfigError(`${options.dateLabel ?? 'the snapshot date'} must not be after tomorrow (${tomorrow} in ${timezone}), got "${given.snapshotDate}"`);
  }
  return {
    apiBaseUrl: given.apiBaseUrl ?? defaultOf('apiBaseUrl'),
    formats: given.formats ?? defaultOf('formats'),
    compression: given.compression ?? defaultOf('compression'),
    filters: filtersOf(given),
    baseFilters: options.baseFilters ?? {},
    pageSize: given.pageSize ?? defaultOf('pageSize'),
    concurrency: given.concurrency ?? defaultOf('concurrency'),
    snapshotDate: given.snapshotDate ?? dateIn(timezone, options.now),
    maxShrink: given.maxShrink ?? defaultOf('maxShrink'),
    allowShrink: given.allowShrink ?? false,
    changeSet: given.changeSet ?? defaultOf('changeSet'),
  };
}

/** The value a setting has in `given`, or its default. */
export const valueOf = <K extends SettingKey>(given: GivenSettings, key: K): GivenSettings[K] => given[key] ?? (SETTINGS[key] as Setting<GivenSettings[K]>).default;

/**
 * The function's environment for `given`: every setting the function reads from its
 * environment, given or defaulted, as text (lists comma-separated).
 */
export function settingsEnvironment(given: GivenSettings): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const name = SETTINGS[key].names.env;
    const value = valueOf(given, key);
    if (name !== undefined && value !== undefined) environment[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return environment;
}

/** `given` keyed by the names `source` knows its settings by (the CDK context keys, say). */
export function namedBy(source: SettingSource, given: GivenSettings): Record<string, unknown> {
  return Object.fromEntries(
    (Object.keys(given) as SettingKey[]).flatMap((key) => {
      const name = SETTINGS[key].names[source];
      return name === undefined || given[key] === undefined ? [] : [[name, given[key]]];
    }),
  );
}

/** The settings a source knows, with their help text and default as --help shows them. */
export function settingsHelp(source: SettingSource): Array<{ name: string; arg?: string; help: string }> {
  return Object.values(SETTINGS as Record<string, Setting<unknown>>).flatMap((definition) => {
    const name = definition.names[source];
    if (name === undefined) return [];
    const shown = definition.defaultText ?? (definition.default === undefined ? undefined : String(definition.default));
    return [{ name, arg: definition.arg, help: shown === undefined ? definition.help : `${definition.help} (default: ${shown})` }];
  });
}

/** How a message names a setting from `source`. */
export function settingLabel(source: SettingSource, name: string): string {
  if (source === 'event') return `event.${name}`;
  if (source === 'context') return `CDK context "${name}"`;
  return name;
}

/** The names `source` knows settings by. */
export function settingNames(source: SettingSource): string[] {
  return Object.values(SETTINGS as Record<string, Setting<unknown>>).flatMap((definition) => definition.names[source] ?? []);
}

/**
 * Reads the settings `values` holds, keyed by their names in `source`. Absent values are not
 * given, nor an empty environment variable ("not set"); an empty flag, context value or event
 * field is a mistake (`--page-size ''`, `-c exportPrefix=`) and named as one. Every invalid
 * value is named, all at once, in one ConfigError.
 */
export function readSettings(source: SettingSource, values: Readonly<Record<string, unknown>>): GivenSettings {
  const given: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, definition] of Object.entries(SETTINGS as Record<string, Setting<unknown>>)) {
    const name = definition.names[source];
    const raw = name === undefined ? undefined : values[name];
    if (raw === undefined || raw === null || (source === 'env' && typeof raw === 'string' && raw.trim() === '')) continue;
    try {
      given[key] = definition.parse(settingLabel(source, name!), typeof raw === 'string' ? raw.trim() : raw);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return given as GivenSettings;
}
