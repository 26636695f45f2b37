/**
 * The export's settings: their types, defaults and validation.
 *
 * The CLI (flags), the Lambda (environment and event) and the tests all build `ExportSettings`
 * with the same parsers; each parser takes the label its caller knows the value by
 * (`--company`, `COMPANY_ID`, `event.company`) so an error names exactly what to fix.
 */
import { z } from 'zod';
import { ConfigError } from './errors';

export const FORMATS = ['ndjson', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

export const COMPRESSIONS = ['gzip', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export const DEFAULT_API_BASE_URL = 'https://esim.betatel.com/api/v1';
/** The API's documented default `count`; its maximum is unknown, so we never ask for more by default. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Chosen from `npm run bench`: see README "Choosing the concurrency". */
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
  readonly pageSize: number;
  readonly concurrency: number;
  /** YYYY-MM-DD: names the snapshot's partition. */
  readonly snapshotDate: string;
  /** Key prefix inside the destination ('' for the destination's root). */
  readonly prefix: string;
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
export function parseInteger(label: string, raw: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const message = max === Number.MAX_SAFE_INTEGER ? `must be a whole number ≥ ${min}` : `must be a whole number from ${min} to ${max}`;
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

const prefixSchema = z
  .string()
  .transform((s) => s.replace(/^\/+|\/+$/g, ''))
  .refine((s) => !s.split('/').some((part) => part === '..' || part === '.'), { error: 'must not contain . or .. segments' });

export const parsePrefix = (label: string, raw: unknown): string => parseSetting(label, prefixSchema, raw);

/** The settings every caller starts from; they override what they were given. */
export function defaultSettings(today: string): ExportSettings {
  return {
    apiBaseUrl: DEFAULT_API_BASE_URL,
    formats: [...FORMATS],
    compression: 'gzip',
    filters: {},
    baseFilters: {},
    pageSize: DEFAULT_PAGE_SIZE,
    concurrency: DEFAULT_CONCURRENCY,
    snapshotDate: today,
    prefix: '',
  };
}
