/**
 * The export's settings: their types, defaults and validation, in one place.
 *
 * A user gives a setting as a CLI flag, an environment variable of the function, a field of the
 * function's event or a CDK context key. `SETTINGS` names each setting in every place it can be
 * given, and `readSettings` reads any of them with the same parser, the same limits and the
 * same messages; only the label differs (`--company`, `COMPANY_ID`, `event.company`,
 * `CDK context "companyId"`), so an error names exactly what to fix.
 */
import { z } from 'zod';
import { ConfigError } from './errors';

export const FORMATS = ['ndjson', 'csv', 'parquet'] as const;
export type Format = (typeof FORMATS)[number];

export const COMPRESSIONS = ['gzip', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

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

/** The API's filters. A run's scope is the set of filters it was run with. */
export interface Filters {
  readonly company?: number;
  readonly inventory?: number;
}

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
}

/** Validates `raw` with `schema`; on failure names the setting and quotes what was given. */
export function parseSetting<T>(label: string, schema: z.ZodType<T>, raw: unknown): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const reason = result.error.issues[0]?.message ?? 'is invalid';
  throw new ConfigError(`${label} ${reason}, got ${JSON.stringify(raw)}`);
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True for hosts that never leave this machine: the only ones the API key may reach over plain http. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname) || hostname.endsWith('.localhost');
}

const apiUrlSchema = z.string({ error: 'must be a URL' }).transform((raw, ctx) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
    return z.NEVER;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    ctx.addIssue({
      code: 'custom',
      message: 'must use https:// (plain http:// is only allowed to loopback hosts, so the API key never crosses a network in clear text)',
    });
    return z.NEVER;
  }
  if (url.username || url.password || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials, a query or a fragment' });
    return z.NEVER;
  }
  return url.toString().replace(/\/+$/, '');
});

export const parseApiUrl = (label: string, raw: unknown): string => parseSetting(label, apiUrlSchema, raw);

const formatsSchema = z
  .union([z.string().transform((s) => s.split(',')), z.array(z.string())], {
    error: `must be a comma list of ${FORMATS.join(', ')}`,
  })
  .transform((list) => list.map((f) => f.trim().toLowerCase()).filter((f) => f.length > 0))
  .pipe(
    z
      .array(z.enum(FORMATS, { error: `must list only ${FORMATS.join(', ')}` }))
      .min(1, { error: `must name at least one of ${FORMATS.join(', ')}` }),
  )
  // Keep the canonical order so keys and manifests do not depend on how the list was typed.
  .transform((list) => FORMATS.filter((f) => list.includes(f)));

export const parseFormats = (label: string, raw: unknown): Format[] => parseSetting(label, formatsSchema, raw);

export const parseCompression = (label: string, raw: unknown): Compression =>
  parseSetting(label, z.enum(COMPRESSIONS, { error: `must be one of ${COMPRESSIONS.join(', ')}` }), raw);

/** A whole number in [min, max], given as a JSON number or as digits in a string (flags, env). */
export function parseInteger(label: string, raw: unknown, min: number, max = Number.MAX_SAFE_INTEGER, alternative = ''): number {
  const range = max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
  const message = `must be ${range}${alternative ? ` ${alternative}` : ''}`;
  const schema = z
    .union([z.number(), z.string().trim().regex(/^\d+$/).transform(Number)], { error: message })
    .pipe(z.number().int({ error: message }).min(min, { error: message }).max(max, { error: message }));
  return parseSetting(label, schema, raw);
}

/** An API id filter (company, inventory): a positive whole number. */
export const parseId = (label: string, raw: unknown): number => parseInteger(label, raw, 1);

const dateSchema = z.string({ error: 'must be a date YYYY-MM-DD' }).refine(
  (s) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
    const date = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(s);
  },
  { error: 'must be a real date YYYY-MM-DD' },
);

export const parseDate = (label: string, raw: unknown): string => parseSetting(label, dateSchema, raw);

/** An ISO 8601 time with seconds and an offset, as EventBridge sends (`2026-11-27T02:00:00Z`); impossible dates refused. */
export const parseTime = (label: string, raw: unknown): Date =>
  new Date(parseSetting(label, z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as "2026-11-27T02:00:00Z"' }), raw));

const timezoneSchema = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-CA', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { error: 'must be an IANA time zone such as UTC or Europe/Berlin' },
);

export const parseTimezone = (label: string, raw: unknown): string => parseSetting(label, timezoneSchema, raw);

/** Today's date (YYYY-MM-DD) in `timeZone`: the default snapshot date. */
export function dateIn(timeZone: string, at: Date = new Date()): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

// The prefix goes into the function's IAM grant (`<prefix>/*`) and every key: a wildcard would
// widen the grant, a leading or doubled slash makes keys S3 shows under an empty folder name.
const prefixSchema = z
  .string()
  .refine((s) => !/[*?]/.test(s), { error: 'must not contain * or ? (it is a folder of the bucket, not a pattern)' })
  .refine((s) => !s.startsWith('/'), { error: 'must not start with / (write esims, not /esims)' })
  .refine((s) => !s.includes('//'), { error: 'must not contain //' })
  .refine((s) => ![...s].some((c) => c < ' ' || c === '\u007f' || c === '\\'), { error: 'must not contain control characters or backslashes' })
  .transform((s) => s.replace(/\/+$/, ''))
  .refine((s) => s.length > 0, { error: 'must name a folder, such as esims' })
  .refine((s) => !s.split('/').some((part) => part === '..' || part === '.'), { error: 'must not contain . or .. segments' });

/** Where "Snapshot Published" goes: a bus name, as EventBridge allows it. */
const busName = z.string().regex(/^[A-Za-z0-9._\-/]{1,256}$/, { error: 'must be an EventBridge bus name' });

export const parsePrefix = (label: string, raw: unknown): string => parseSetting(label, prefixSchema, raw);

/** The settings every caller starts from; they override what they were given. */
export function defaultSettings(today: string): ExportSettings {
  return exportSettings({ snapshotDate: today });
}

/** The API filters among given settings. */
export function filtersOf(given: GivenSettings): Filters {
  return {
    ...(given.company !== undefined && { company: given.company }),
    ...(given.inventory !== undefined && { inventory: given.inventory }),
  };
}

/**
 * An export's settings: what was given, the defaults for the rest. `baseFilters` are the
 * deployment's own (its full snapshot's scope); the day defaults to today in the time zone.
 */
export function exportSettings(given: GivenSettings, options: { now?: Date; baseFilters?: Filters; dateLabel?: string } = {}): ExportSettings {
  const timezone = given.timezone ?? 'UTC';
  // A day after tomorrow cannot have a snapshot yet, and would hold latest.json there for good.
  const tomorrow = dateIn(timezone, new Date((options.now ?? new Date()).getTime() + 86_400_000));
  if (given.snapshotDate !== undefined && given.snapshotDate > tomorrow) {
    throw new ConfigError(`${options.dateLabel ?? 'the snapshot date'} must not be after tomorrow (${tomorrow} in ${timezone}), got "${given.snapshotDate}"`);
  }
  return {
    apiBaseUrl: given.apiBaseUrl ?? DEFAULT_API_BASE_URL,
    formats: given.formats ?? [...FORMATS],
    compression: given.compression ?? 'gzip',
    filters: filtersOf(given),
    baseFilters: options.baseFilters ?? {},
    pageSize: given.pageSize ?? DEFAULT_PAGE_SIZE,
    concurrency: given.concurrency ?? DEFAULT_CONCURRENCY,
    snapshotDate: given.snapshotDate ?? dateIn(timezone, options.now),
  };
}

/** Where a setting was given. */
export type SettingSource = 'flag' | 'env' | 'event' | 'context';

/** What a user can set, as given (validated); any of it may be absent. */
export interface GivenSettings {
  readonly apiBaseUrl?: string;
  readonly formats?: Format[];
  readonly compression?: Compression;
  readonly company?: number;
  readonly inventory?: number;
  readonly pageSize?: PageSize;
  readonly concurrency?: number;
  readonly timezone?: string;
  readonly snapshotDate?: string;
  readonly exportPrefix?: string;
  readonly eventBusName?: string;
}

interface Definition {
  /** The setting's name in each place it can be given. */
  readonly names: Partial<Record<SettingSource, string>>;
  readonly parse: (label: string, raw: unknown) => unknown;
}

/** Every user setting, by its name in each source. */
export const SETTINGS: Readonly<Record<keyof GivenSettings, Definition>> = {
  apiBaseUrl: { names: { flag: '--api-url', env: 'API_BASE_URL', context: 'apiBaseUrl' }, parse: parseApiUrl },
  formats: { names: { flag: '--formats', env: 'EXPORT_FORMATS', event: 'formats', context: 'formats' }, parse: parseFormats },
  compression: { names: { flag: '--compression' }, parse: parseCompression },
  company: { names: { flag: '--company', env: 'COMPANY_ID', event: 'company', context: 'companyId' }, parse: parseId },
  inventory: { names: { flag: '--inventory', env: 'INVENTORY_ID', event: 'inventory', context: 'inventoryId' }, parse: parseId },
  pageSize: {
    names: { flag: '--page-size', env: 'PAGE_SIZE', context: 'pageSize' },
    parse: (label, raw) => (raw === 'auto' ? 'auto' : parseInteger(label, raw, 1, MAX_PAGE_SIZE, 'or auto')),
  },
  concurrency: {
    names: { flag: '--concurrency', env: 'CONCURRENCY', context: 'concurrency' },
    parse: (label, raw) => parseInteger(label, raw, 1, MAX_CONCURRENCY),
  },
  timezone: { names: { flag: '--timezone', env: 'TIMEZONE', context: 'timezone' }, parse: parseTimezone },
  snapshotDate: { names: { flag: '--date', event: 'snapshotDate' }, parse: parseDate },
  exportPrefix: { names: { env: 'EXPORT_PREFIX', context: 'exportPrefix' }, parse: parsePrefix },
  eventBusName: { names: { env: 'EVENT_BUS_NAME', context: 'eventBusName' }, parse: (label, raw) => parseSetting(label, busName, raw) },
};

/** How a message names a setting from `source`. */
export function settingLabel(source: SettingSource, name: string): string {
  if (source === 'event') return `event.${name}`;
  if (source === 'context') return `CDK context "${name}"`;
  return name;
}

/** The names `source` knows settings by. */
export function settingNames(source: SettingSource): string[] {
  return Object.values(SETTINGS).flatMap((definition) => definition.names[source] ?? []);
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
  for (const [key, definition] of Object.entries(SETTINGS)) {
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
