/**
 * What an EsimExport takes: every prop is optional, with its default beside it. The CDK context
 * keys of this repository's app (cdk.json, `-c key=value`) have the same names, and props given
 * in code are checked by the same parsers (lambda/core/settings).
 */
import type { FilterName } from '../lambda/core/filters';
import type { PageSize } from '../lambda/core/settings';

/** Export only this company (`companyId`), inventory (`inventoryId`), …: one prop per API filter (lambda/core/filters.ts). @default all */
export type FilterProps = { readonly [Name in FilterName as `${Name}Id`]?: number };

export interface EsimExportProps extends FilterProps {
  /**
   * An existing bucket to export into, by name. The stack then creates no bucket and leaves
   * that bucket's settings (encryption, versioning, lifecycle) to you.
   * @default a new bucket, encrypted, private, TLS-only, versioned and retained
   */
  readonly bucketName?: string;
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
