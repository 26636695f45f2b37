/**
 * The stack's props from CDK context (`cdk.json`, or `npx cdk deploy -c key=value`), validated:
 * an error names the context key and what it got.
 */
import type { Node } from 'constructs';
import { FORMATS } from '../lambda/core/settings';
import type { EsimExportStackProps } from './esim-export-stack';

export const CONTEXT_KEYS = [
  'bucketName',
  'exportPrefix',
  'secret',
  'apiBaseUrl',
  'formats',
  'companyId',
  'inventoryId',
  'pageSize',
  'concurrency',
  'schedule',
  'timezone',
  'alarmEmail',
  'staleAfterHours',
  'memorySize',
  'logRetentionDays',
  'infrequentAccessAfterDays',
  'glacierAfterDays',
  'expireAfterDays',
  'glueDatabaseName',
] as const;

type ContextKey = (typeof CONTEXT_KEYS)[number];

function fail(key: string, expected: string, value: unknown): never {
  throw new Error(`CDK context "${key}" must be ${expected}, got ${JSON.stringify(value)}`);
}

export function propsFromContext(node: Node): EsimExportStackProps {
  const raw = (key: ContextKey): unknown => {
    const value: unknown = node.tryGetContext(key);
    return value === '' || value === null ? undefined : value;
  };
  const text = (key: ContextKey): string | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') fail(key, 'a string', value);
    return value;
  };
  const whole = (key: ContextKey, min: number, max: number): number | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    // `-c key=value` gives strings, cdk.json gives numbers.
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
      fail(key, `a whole number from ${min} to ${max}`, value);
    }
    return number;
  };
  const formatsValue = raw('formats');
  let formats: string[] | undefined;
  if (formatsValue !== undefined) {
    formats = Array.isArray(formatsValue) ? formatsValue.map(String) : String(formatsValue).split(',').map((f) => f.trim());
    if (formats.length === 0 || formats.some((f) => !(FORMATS as readonly string[]).includes(f))) {
      fail('formats', `a list of ${FORMATS.join(', ')}`, formatsValue);
    }
  }
  const schedule = text('schedule');
  if (schedule !== undefined && !/^(cron|rate)\(.+\)$/.test(schedule)) fail('schedule', 'an EventBridge Scheduler expression such as "cron(0 2 * * ? *)"', schedule);
  const timezone = text('timezone');
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-CA', { timeZone: timezone });
    } catch {
      fail('timezone', 'an IANA time zone such as "UTC" or "Europe/Berlin"', timezone);
    }
  }
  const alarmEmail = text('alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) fail('alarmEmail', 'an e-mail address', alarmEmail);
  const apiBaseUrl = text('apiBaseUrl');
  if (apiBaseUrl !== undefined && !apiBaseUrl.startsWith('https://')) fail('apiBaseUrl', 'an https:// URL', apiBaseUrl);

  return {
    bucketName: text('bucketName'),
    exportPrefix: text('exportPrefix'),
    secret: text('secret'),
    apiBaseUrl,
    formats,
    companyId: whole('companyId', 1, Number.MAX_SAFE_INTEGER),
    inventoryId: whole('inventoryId', 1, Number.MAX_SAFE_INTEGER),
    pageSize: whole('pageSize', 1, 1000),
    concurrency: whole('concurrency', 1, 64),
    schedule,
    timezone,
    alarmEmail,
    staleAfterHours: whole('staleAfterHours', 2, 168),
    memorySize: whole('memorySize', 128, 10240),
    logRetentionDays: whole('logRetentionDays', 1, 3653),
    infrequentAccessAfterDays: whole('infrequentAccessAfterDays', 30, 36500),
    glacierAfterDays: whole('glacierAfterDays', 31, 36500),
    expireAfterDays: whole('expireAfterDays', 1, 36500),
    glueDatabaseName: text('glueDatabaseName'),
  };
}
