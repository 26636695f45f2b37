/**
 * The parsers behind every setting: each validates a raw value (a flag, an environment
 * variable, an event field, a context value) and names the setting and the value when it is
 * wrong, so an error says exactly what to fix. zod does the checking.
 */
import { z } from 'zod';
import { ConfigError } from '../errors';

import { COMPRESSIONS, type Compression, FORMATS, type Format } from '../formats/names';

/** Where a setting was given. */
export type SettingSource = 'flag' | 'env' | 'event' | 'context';

/** How a message names a setting from `source` (`prop`: given to the construct in code). */
export function settingLabel(source: SettingSource | 'prop', name: string): string {
  if (source === 'event') return `event.${name}`;
  if (source === 'context') return `CDK context "${name}"`;
  if (source === 'prop') return `EsimExport prop "${name}"`;
  return name;
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
function isLoopbackHost(hostname: string): boolean {
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

/**
 * The longest key the export writes below its prefix, in bytes: the backup, during a
 * publication, of a filtered scope's file (`<scope>/_runs/<run>/publish-<id>/backup/<scope>/…`),
 * the filters at their largest. test/layout.test.ts measures it from the layout.
 */
export const LONGEST_KEY_BELOW_PREFIX = 400;
/** S3's limit on a key. */
const S3_KEY_BYTES = 1024;
const MAX_PREFIX_BYTES = S3_KEY_BYTES - 1 - LONGEST_KEY_BELOW_PREFIX;

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
  .refine((s) => !s.split('/').some((part) => part === '..' || part === '.'), { error: 'must not contain . or .. segments' })
  .refine((s) => Buffer.byteLength(s) <= MAX_PREFIX_BYTES, {
    error: (issue) =>
      `is ${Buffer.byteLength(String(issue.input))} bytes: with the longest key the export writes below it (${LONGEST_KEY_BELOW_PREFIX} bytes) a key would pass S3's ${S3_KEY_BYTES}-byte limit; use at most ${MAX_PREFIX_BYTES} bytes`,
  });

/** Where "Snapshot Published" goes: a bus name, as EventBridge allows it. */
const busName = z.string().regex(/^[A-Za-z0-9._\-/]{1,256}$/, { error: 'must be an EventBridge bus name' });

export const parsePrefix = (label: string, raw: unknown): string => parseSetting(label, prefixSchema, raw);

/** Where "Snapshot Published" goes: a bus name, as EventBridge allows it. */
export const parseBusName = (label: string, raw: unknown): string => parseSetting(label, busName, raw);

/** Yes or no: a JSON boolean, or true/false as text (flags, environment, context). */
export const parseBoolean = (label: string, raw: unknown): boolean =>
  parseSetting(label, z.union([z.boolean(), z.enum(['true', 'false']).transform((text) => text === 'true')], { error: 'must be true or false' }), raw);

/** A name or ARN the stack or the user gives (a secret, a bucket, a state machine). */
export const parseName = (label: string, raw: unknown): string =>
  parseSetting(label, z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }), raw);

/** A bucket, by name or ARN (`arn:aws:s3:::my-lake`): its name. A path is not a bucket (the prefix is exportPrefix). */
export const parseBucketName = (label: string, raw: unknown): string =>
  parseSetting(
    label,
    z
      .string({ error: 'must be a bucket name or ARN' })
      .transform((text) => text.replace(/^arn:aws[a-z-]*:s3:::/, ''))
      .refine((name) => name.length > 0 && !/[/:\s]/.test(name), { error: 'must be a bucket name or ARN such as my-lake or arn:aws:s3:::my-lake (the folder in it is exportPrefix)' }),
    raw,
  );
