/**
 * Parsers of the settings only a deployment has (CDK context keys and the construct's props):
 * the schedule, Glue, logs, alarms, your bucket's account, your KMS key and your network. Same
 * shape as parse.ts: each takes the label a message names and the raw value.
 */
import { z } from 'zod';
import { ConfigError } from '../errors';
import { parseInteger, parseSetting } from './parse';

/** Retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** A whole number in [min, max], as a parser. */
export const whole =
  (min: number, max: number) =>
  (label: string, raw: unknown): number =>
    parseInteger(label, raw, min, max);

const matching = (pattern: RegExp, error: string) => (label: string, raw: unknown) => parseSetting(label, z.string({ error }).regex(pattern, { error }), raw);

export const parseStackName = (label: string, raw: unknown): string =>
  parseSetting(label, z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }), raw);
export const parseGlueName = matching(/^[a-z0-9_]{1,255}$/, 'must be lower-case letters, digits and _');
const SCHEDULE = 'must be an EventBridge Scheduler expression such as "cron(0 2 * * ? *)"';
const cronFields = (expression: string): string[] => expression.slice('cron('.length, -1).trim().split(/\s+/);
/**
 * EventBridge Scheduler's cron has six fields (minutes hours day-of-month month day-of-week
 * year), one of the two days `?`: the five of Unix cron synthesize, then fail at deploy.
 */
export const parseSchedule = (label: string, raw: unknown): string =>
  parseSetting(
    label,
    z
      .string({ error: SCHEDULE })
      .regex(/^(cron|rate|at)\(.+\)$/, { error: SCHEDULE })
      .refine((s) => !s.startsWith('cron(') || cronFields(s).length === 6, {
        error: (issue) =>
          `must be a cron expression of six fields, minutes hours day-of-month month day-of-week year, such as "cron(0 2 * * ? *)" (EventBridge Scheduler's form); got ${cronFields(String(issue.input)).length} fields`,
      })
      .refine((s) => !s.startsWith('cron(') || cronFields(s)[2] === '?' || cronFields(s)[4] === '?', {
        error: 'must have ? as its day-of-month or its day-of-week, such as "cron(0 2 * * ? *)" (EventBridge Scheduler refuses both)',
      }),
    raw,
  );
export const parseEmail = (label: string, raw: unknown): string => parseSetting(label, z.email({ error: 'must be an e-mail address' }), raw);
export const parseLogRetention = (label: string, raw: unknown): number =>
  parseSetting(label, z.coerce.number().refine((days) => LOG_RETENTION_DAYS.includes(days), { error: `must be one of ${LOG_RETENTION_DAYS.join(', ')}` }), raw);

/** An AWS account id: the owner of the bucket, checked on every request. */
export const parseAccount = matching(/^\d{12}$/, 'must be a 12-digit AWS account id');

/**
 * A KMS key, by its key ARN. Not an alias: IAM grants and key policies name the key itself, and
 * an alias can be pointed at another key without the grant following it.
 */
export const parseKmsKeyArn = matching(
  /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
  'must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (not an alias)',
);

export const parseVpcId = matching(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id such as vpc-0abc12345def67890');

/** A list of ids of one kind (subnet-…, sg-…): a JSON list or comma-separated text. */
const idList = (kind: string, example: string) => {
  const id = new RegExp(`^${kind}-[0-9a-f]{8,17}$`);
  const error = `must be a list of ${kind} ids such as ${example}`;
  return (label: string, raw: unknown): string[] =>
    parseSetting(
      label,
      z
        .union([z.array(z.string()), z.string().transform((text) => text.split(','))], { error })
        .transform((ids) => ids.map((each) => each.trim()).filter((each) => each.length > 0))
        .refine((ids) => ids.length > 0 && ids.every((each) => id.test(each)), { error }),
      raw,
    );
};
export const parseSubnetIds = idList('subnet', 'subnet-0abc1234,subnet-0def5678');
export const parseSecurityGroupIds = idList('sg', 'sg-0abc12345def67890');

/**
 * A proxy, as curl and proxy-from-env read HTTPS_PROXY: http(s)://host[:port]. No user or
 * password: they would be written into the function's environment and the template.
 */
export const parseProxyUrl = (label: string, raw: unknown): string => {
  const error = 'must be a proxy URL such as http://proxy.internal:3128, with no user or password';
  if (typeof raw === 'string' && raw.includes('@')) throw new ConfigError(`${label} ${error}`);
  return parseSetting(label, z.string({ error }).regex(/^https?:\/\/[^\s/@]+\/?$/, { error }), raw);
};
