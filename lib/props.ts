/**
 * What an EsimExport takes: every prop is optional, with its default beside it. The CDK context
 * keys of this repository's app (cdk.json, `-c key=value`) have the same names, and props given
 * in code are checked by the same parsers (lambda/core/settings).
 */
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { FilterName } from '../lambda/core/filters';
import type { ContextSettingName, PageSize } from '../lambda/core/settings';

/** Export only this company (`companyId`), inventory (`inventoryId`), …: one prop per API filter (lambda/core/filters.ts). @default all */
export type FilterProps = { readonly [Name in FilterName as `${Name}Id`]?: number };

export interface EsimExportProps extends FilterProps {
  /**
   * Your bucket to export into, in this account or another. Nothing about it changes: its
   * encryption, versioning, lifecycle and policy stay yours. The function's rights are scoped
   * to `exportPrefix`; a bucket of another account must grant them too (docs/your-account.md, "Your bucket").
   * @default a new bucket, encrypted, private, TLS-only, versioned and retained
   */
  readonly existingBucket?: s3.IBucket;
  /** `existingBucket` by name or ARN (`arn:aws:s3:::my-lake`), as CDK context can give it. @default a new bucket */
  readonly bucketName?: string;
  /**
   * The account that owns your bucket, when it is not this one. Every request then checks it
   * (S3 refuses it if another account owns a bucket of that name), and every object is written
   * `bucket-owner-full-control`, so the bucket's account owns it whatever its Object Ownership.
   * @default the bucket owner is not checked, and this account owns what it writes
   */
  readonly bucketAccount?: string;
  /**
   * Your KMS key. Encrypts every object the export writes (SSE-KMS with an S3 Bucket Key),
   * the bucket it creates, the secret it creates, Athena's query results and the logs; the
   * function gets kms:GenerateDataKey and kms:Decrypt on this key only, through S3 and Secrets
   * Manager. A key made elsewhere must allow CloudWatch Logs (docs/your-account.md, "Your key").
   * @default `existingBucket`'s key if it has one, else S3-managed keys (SSE-S3) and AWS-managed keys
   */
  readonly encryptionKey?: kms.IKey;
  /** `encryptionKey` by its key ARN, as CDK context can give it. @default no key */
  readonly kmsKeyArn?: string;
  /**
   * Run the function in your VPC, so it reaches the API through your NAT or your proxy
   * (`httpsProxy`). Its subnets need a route to the API, to S3, to
   * Secrets Manager and to EventBridge.
   * @default Lambda's own network
   */
  readonly vpc?: ec2.IVpc;
  /** @default the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default a new security group that allows all outbound traffic and no inbound */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** `vpc` by id, as CDK context can give it (with `subnetIds`). @default no VPC */
  readonly vpcId?: string;
  /** The subnets in `vpcId`. @default none */
  readonly subnetIds?: readonly string[];
  /** The security groups in `vpcId`. @default a new one */
  readonly securityGroupIds?: readonly string[];
  /** The function's proxy to the API: HTTPS_PROXY in its environment. @default none */
  readonly httpsProxy?: string;
  /** Hosts the function reaches without the proxy: NO_PROXY in its environment. @default none */
  readonly noProxy?: string;
  /**
   * Key prefix of every object the export writes; the function may write nowhere else.
   * @default 'esims'
   */
  readonly exportPrefix?: string;
  /**
   * An existing Secrets Manager secret holding `{"apiKey": "...", "userId": "..."}`, by name or ARN.
   * @default a new secret holding a placeholder that you replace after deploying
   */
  readonly secret?: string;
  /** @default 'https://esim.betatel.com/api/v1' */
  readonly apiBaseUrl?: string;
  /** @default every format */
  readonly formats?: readonly string[];
  /** @default 'auto' */
  readonly pageSize?: PageSize;
  /** @default 8 */
  readonly concurrency?: number;
  /**
   * When the export runs, as an EventBridge Scheduler cron expression.
   * @default 'cron(0 2 * * ? *)' (daily at 02:00 in `timezone`)
   */
  readonly schedule?: string;
  /** Alarm when the API's schema changes: a field added, gone, or come as another type (each day's manifest warns, and a "Schema Changed" event goes out, either way). @default false */
  readonly schemaChangeAlarm?: boolean;
  /**
   * The shrink guard: a snapshot with more than this percentage fewer eSIMs than the previous
   * one is not published (100: never refuse). An event's `{"maxShrink": …}` or
   * `{"allowShrink": true}` overrides it for one run.
   * @default 10
   */
  readonly maxShrink?: number;
  /** Write the day's change set (what was added, changed, removed since the previous snapshot) under changes/. @default true */
  readonly changeSet?: boolean;
  /**
   * Time zone of the schedule, and of the day a snapshot is named after.
   * @default 'UTC'
   */
  readonly timezone?: string;
  /** An e-mail address subscribed to the alarms. @default no subscription */
  readonly alarmEmail?: string;
  /**
   * Alarm when no full snapshot was published for this many hours.
   * @default 26 (a daily schedule, with two hours to spare)
   */
  readonly staleAfterHours?: number;
  /**
   * Lambda memory in MB. The export streams, so memory stays flat; more memory also buys CPU.
   * @default 1024
   */
  readonly memorySize?: number;
  /** @default 90 */
  readonly logRetentionDays?: number;
  /** Move snapshots to S3 Standard-IA after this many days. @default 30 */
  readonly infrequentAccessAfterDays?: number;
  /** Move snapshots to S3 Glacier Instant Retrieval after this many days. @default 90 */
  readonly glacierAfterDays?: number;
  /** Delete snapshots after this many days. @default never */
  readonly expireAfterDays?: number;
  /** @default 'esim_export' */
  readonly glueDatabaseName?: string;
  /**
   * The first day Athena's table looks for snapshots (YYYY-MM-DD): set it to your first
   * snapshot's day, or earlier for backfills.
   * @default '2026-01-01'
   */
  readonly firstSnapshotDate?: string;
  /** The EventBridge bus "Snapshot Published" events go to, by name. @default the account's default bus */
  readonly eventBusName?: string;
}

/**
 * Every deployment setting of the table (lambda/core/settings/table.ts) is a prop: a row with a
 * CDK context key and no prop here fails the build, naming the key. (`stackName` is the stack's
 * own prop, StackProps.)
 */
type WithoutProp = Exclude<ContextSettingName, keyof EsimExportProps | 'stackName'>;
const everySettingIsAProp: [WithoutProp] extends [never] ? true : { missing: WithoutProp } = true;
void everySettingIsAProp;

