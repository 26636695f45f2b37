/**
 * The settings table: one row per setting, naming it in every place it can be given (a CLI
 * flag, an environment variable of the function, a field of the function's event, a CDK
 * context key and the construct's prop of the same name), with its help text, its default and
 * its parser. The functions that read and write it are in index.ts.
 */
import { LIST_PATH, MAX_PAGE_SIZE } from '../endpoint';
import { FILTERS, type FilterName, filterSettingNames } from '../filters';
import { type Compression, FORMATS } from '../formats/names';
import {
  parseAccount,
  parseEmail,
  parseGlueName,
  parseKmsKeyArn,
  parseProxyUrl,
  parseLogRetention,
  parseSchedule,
  parseSecurityGroupIds,
  parseStackName,
  parseSubnetIds,
  parseVpcId,
  whole,
} from './deployment';
import {
  type SettingSource,
  parseApiUrl,
  parseBoolean,
  parseBucketName,
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

/** `auto` finds the largest page the API honours, up to MAX_PAGE_SIZE. */
export type PageSize = number | 'auto';
export const MAX_CONCURRENCY = 64;

export type { SettingSource } from './parse';

export interface Setting<T> {
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

/** A row; its names keep their literal types, so the construct's props are checked against them (lib/props.ts). */
const setting = <T, const N extends Partial<Record<SettingSource, string>>>(definition: Setting<T> & { readonly names: N }): Setting<T> & { readonly names: N } => definition;

const filterSettings = Object.fromEntries(
  FILTERS.map(({ param, help }) => [param, setting({ names: filterSettingNames(param), help, arg: '<id>', defaultText: 'all', parse: parseId })]),
) as Record<FilterName, Setting<number>>;

/** Every setting, by its name in each source. */
export const SETTINGS = {
  apiBaseUrl: setting({
    names: { flag: '--api-url', env: 'API_BASE_URL', context: 'apiBaseUrl' },
    help: `API base URL; ${LIST_PATH} is appended`,
    arg: '<url>',
    default: 'https://esim.betatel.com/api/v1',
    parse: parseApiUrl,
  }),
  formats: setting({
    names: { flag: '--formats', env: 'EXPORT_FORMATS', event: 'formats', context: 'formats' },
    help: `comma list of ${FORMATS.join(', ')} (without ndjson, no change set: it is computed from the NDJSON)`,
    arg: '<list>',
    default: [...FORMATS],
    defaultText: 'all',
    parse: parseFormats,
  }),
  compression: setting({ names: { flag: '--compression' }, help: 'compression of the data files: gzip or none', arg: '<kind>', default: 'gzip' as Compression, parse: parseCompression }),
  ...filterSettings,
  pageSize: setting({
    names: { flag: '--page-size', env: 'PAGE_SIZE', context: 'pageSize' },
    help: `eSIMs per request (the API's count), 1-${MAX_PAGE_SIZE}, or auto: the largest the API honours`,
    arg: '<n>',
    default: 'auto' as PageSize,
    parse: (label, raw) => (raw === 'auto' ? 'auto' : parseInteger(label, raw, 1, MAX_PAGE_SIZE, 'or auto')),
  }),
  concurrency: setting({
    names: { flag: '--concurrency', env: 'CONCURRENCY', context: 'concurrency' },
    help: `requests in flight at most, 1-${MAX_CONCURRENCY}`,
    arg: '<n>',
    default: 8, // chosen from npm run bench: docs/design.md, "Concurrency 8 by default"
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
    default: 10,
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
  exportPrefix: setting({ names: { env: 'EXPORT_PREFIX', context: 'exportPrefix' }, help: 'key prefix of everything the export writes', default: 'esims', parse: parsePrefix }),
  eventBusName: setting({ names: { env: 'EVENT_BUS_NAME', context: 'eventBusName' }, help: 'the EventBridge bus "Snapshot Published" goes to', defaultText: "the account's default bus", parse: parseBusName }),
  secretId: setting({
    names: { flag: '--secret-id', env: 'SECRET_ID', context: 'secret' },
    help: 'read {"apiKey","userId"} from this Secrets Manager secret (name or ARN) instead of the environment',
    arg: '<id>',
    parse: parseName,
  }),
  bucketName: setting({ names: { env: 'BUCKET_NAME', context: 'bucketName' }, help: 'the bucket the snapshots go to', defaultText: 'a bucket the stack creates', parse: parseBucketName }),
  maxRunSeconds: setting({
    names: { env: 'MAX_RUN_SECONDS' },
    help: 'how long one invocation exports before it hands over to the next',
    defaultText: "no limit of its own (it still hands over before Lambda's time limit)",
    parse: (label, raw) => parseInteger(label, raw, 1, 900),
  }),
  stateMachineName: setting({ names: { env: 'STATE_MACHINE_NAME' }, help: 'the state machine that runs long exports, named in messages', parse: parseName }),
  bucketOwner: setting({
    names: { flag: '--bucket-owner', env: 'BUCKET_OWNER', context: 'bucketAccount' },
    help: "the bucket's account, when it is another: every request checks it, and objects are written bucket-owner-full-control",
    arg: '<account>',
    defaultText: 'not checked',
    parse: parseAccount,
  }),
  kmsKeyArn: setting({
    names: { flag: '--kms-key', env: 'KMS_KEY_ARN', context: 'kmsKeyArn' },
    help: 'encrypt every object written with this KMS key (SSE-KMS, with an S3 Bucket Key)',
    arg: '<key-arn>',
    defaultText: "the bucket's default encryption",
    parse: parseKmsKeyArn,
  }),
  httpsProxy: setting({ names: { env: 'HTTPS_PROXY', context: 'httpsProxy' }, help: 'the proxy API requests go through, as curl reads it', defaultText: 'none', parse: parseProxyUrl }),
  noProxy: setting({ names: { env: 'NO_PROXY', context: 'noProxy' }, help: 'hosts reached without the proxy, comma-separated, as curl reads it', defaultText: 'none', parse: parseName }),
  // The deployment's own settings: CDK context keys and the construct's props (lib/props.ts).
  stackName: setting({ names: { context: 'stackName' }, help: 'the stack name', default: 'EsimExport', parse: parseStackName }),
  schedule: setting({ names: { context: 'schedule' }, help: 'when the export runs, an EventBridge Scheduler expression', default: 'cron(0 2 * * ? *)', parse: parseSchedule }),
  alarmEmail: setting({ names: { context: 'alarmEmail' }, help: 'an e-mail address subscribed to the alarms', defaultText: 'none', parse: parseEmail }),
  schemaChangeAlarm: setting({ names: { context: 'schemaChangeAlarm' }, help: "alarm when the API's schema changes (a field added, gone or of another type)", default: false, parse: parseBoolean }),
  staleAfterHours: setting({ names: { context: 'staleAfterHours' }, help: 'alarm when no full snapshot was published for this many hours', default: 26, parse: whole(2, 168) }),
  memorySize: setting({ names: { context: 'memorySize' }, help: "the function's memory in MB", default: 1024, parse: whole(128, 10240) }),
  logRetentionDays: setting({ names: { context: 'logRetentionDays' }, help: 'days the logs are kept', default: 90, parse: parseLogRetention }),
  infrequentAccessAfterDays: setting({ names: { context: 'infrequentAccessAfterDays' }, help: 'move snapshots to S3 Standard-IA after this many days', default: 30, parse: whole(30, 36500) }),
  glacierAfterDays: setting({ names: { context: 'glacierAfterDays' }, help: 'move snapshots to S3 Glacier Instant Retrieval after this many days', default: 90, parse: whole(1, 36500) }),
  expireAfterDays: setting({ names: { context: 'expireAfterDays' }, help: 'delete snapshots after this many days', defaultText: 'never', parse: whole(1, 36500) }),
  glueDatabaseName: setting({ names: { context: 'glueDatabaseName' }, help: "the Glue database of Athena's tables (one per account and region)", default: 'esim_export', defaultText: 'esim_export in the stack EsimExport, else esim_export_<stack name>', parse: parseGlueName }),
  // A query without a `dt` filter lists every day from here, so it should be near the first
  // snapshot (from 2000 it walked about 9,800 empty daily prefixes). Not the deploy date: a date
  // taken at synth would move forward with every deploy and hide every earlier snapshot.
  firstSnapshotDate: setting({ names: { context: 'firstSnapshotDate' }, help: 'the first day Athena looks for snapshots', default: '2026-01-01', parse: parseDate }),
  vpcId: setting({ names: { context: 'vpcId' }, help: 'run the function in this VPC (with subnetIds)', defaultText: "Lambda's own network", parse: parseVpcId }),
  subnetIds: setting({ names: { context: 'subnetIds' }, help: "the function's subnets in vpcId, with a route to the API and to S3", parse: parseSubnetIds }),
  securityGroupIds: setting({ names: { context: 'securityGroupIds' }, help: "the function's security groups in vpcId", defaultText: 'a new one, outbound only', parse: parseSecurityGroupIds }),
} as const;

/** The CDK context keys (and so the construct's props) the table names: a prop must exist for each (lib/props.ts checks it at build time). */
export type ContextSettingName = { [K in keyof typeof SETTINGS]: (typeof SETTINGS)[K]['names'] extends { readonly context: infer C extends string } ? C : never }[keyof typeof SETTINGS];
