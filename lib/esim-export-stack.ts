/**
 * The esim-export stack: a daily EventBridge Scheduler schedule starts a Step Functions state
 * machine whose steps invoke one Lambda function, exporting every eSIM of a Betatel account
 * into an S3 bucket however long it takes, with alarms, a dashboard and Athena tables over the
 * snapshots. Reads top to bottom: storage, credentials, the function, the state machine, the
 * schedule, operations, Athena, outputs; each part is a small construct of its own.
 */
import { Aws, CfnOutput, RemovalPolicy, SecretValue, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { PLACEHOLDER_API_KEY, PLACEHOLDER_USER_ID } from '../lambda/core/api/credentials';
import type { FilterName } from '../lambda/core/filters';
import { defaultOf, type PageSize, readSettings, settingsEnvironment } from '../lambda/core/settings';
import { AthenaTables } from './athena';
import { ExportFunction } from './export-function';
import { Operations } from './operations';
import { ExportSchedule } from './schedule';
import { ExportStateMachine } from './state-machine';
import { keepLogicalId } from './secure-defaults';
import { SnapshotStorage } from './storage';

/** Export only this company (`companyId`), inventory (`inventoryId`), …: one prop per API filter (lambda/core/filters.ts). @default all */
export type FilterProps = { readonly [Name in FilterName as `${Name}Id`]?: number };

export interface EsimExportStackProps extends StackProps, FilterProps {
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

export class EsimExportStack extends Stack {
  public readonly storage: SnapshotStorage;
  public readonly secret: secretsmanager.ISecret;
  public readonly exporter: ExportFunction;
  public readonly runner: ExportStateMachine;
  public readonly schedule: ExportSchedule;
  public readonly operations: Operations;
  public readonly athena: AthenaTables;

  constructor(scope: Construct, id: string, props: EsimExportStackProps = {}) {
    super(scope, id, props);
    // Access logs are delivered by bucket policy (ACLs stay disabled), whatever the app's flags.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    // Props are read as the CDK context is (the same parsers and messages), so props given in
    // code are checked too: the prefix, for one, is the function's grant on the bucket.
    const given = readSettings('context', props as Record<string, unknown>);
    const prefix = given.exportPrefix ?? defaultOf('exportPrefix');
    const timezone = given.timezone ?? defaultOf('timezone');
    const stateMachineName = `${this.stackName}-export`;

    // Storage: the snapshots' bucket (or the one you name).
    this.storage = new SnapshotStorage(this, 'Storage', {
      bucketName: given.bucketName,
      prefix,
      infrequentAccessAfterDays: props.infrequentAccessAfterDays,
      glacierAfterDays: props.glacierAfterDays,
      expireAfterDays: props.expireAfterDays,
    });
    const { bucket } = this.storage;

    // Credentials: the secret the function reads `{"apiKey", "userId"}` from.
    this.secret = this.credentials(given.secretId);

    // The function: the export core, configured through its environment (lambda/config.ts).
    this.exporter = new ExportFunction(this, 'Export', {
      bucket,
      importedBucketName: given.bucketName,
      prefix,
      secret: this.secret,
      memorySize: props.memorySize,
      logRetentionDays: props.logRetentionDays,
      eventBusName: given.eventBusName,
      environment: settingsEnvironment({
        ...given,
        secretId: this.secret.secretArn,
        bucketName: bucket.bucketName,
        // Each invocation exports 12 minutes, then has 3 to finish its files and save the checkpoint.
        maxRunSeconds: 12 * 60,
        stateMachineName,
      }),
    });
    const fn = this.exporter.function;

    // The state machine: runs every export, over as many invocations as it needs.
    this.runner = new ExportStateMachine(this, 'Runner', { function: fn, stateMachineName, logRetentionDays: props.logRetentionDays });
    const { stateMachine } = this.runner;

    // The schedule: daily, in the configured time zone.
    this.schedule = new ExportSchedule(this, 'Schedule', {
      stateMachine,
      deadLetterQueue: this.exporter.failedRuns,
      expression: props.schedule,
      timezone,
    });

    // Operations: alarms into SNS, and a dashboard.
    this.operations = new Operations(this, 'Operations', {
      function: fn,
      stateMachine,
      failedRuns: this.exporter.failedRuns,
      alarmEmail: props.alarmEmail,
      staleAfterHours: props.staleAfterHours,
    });

    // Athena: tables over the snapshots.
    this.athena = new AthenaTables(this, 'Athena', { bucket, prefix, databaseName: props.glueDatabaseName, firstSnapshotDate: props.firstSnapshotDate });

    // Outputs: where things are, and how to run it by hand.
    new CfnOutput(this, 'BucketName', { value: bucket.bucketName });
    new CfnOutput(this, 'ExportPrefix', { value: `s3://${bucket.bucketName}/${prefix}/` });
    new CfnOutput(this, 'SecretName', { value: this.secret.secretName, description: 'Put {"apiKey": "...", "userId": "..."} here.' });
    new CfnOutput(this, 'PutSecretCommand', {
      value: `aws secretsmanager put-secret-value --secret-id ${this.secret.secretArn} --secret-string '{"apiKey":"YOUR_KEY","userId":"YOUR_USER_ID"}'`,
    });
    new CfnOutput(this, 'StateMachineName', { value: stateMachine.stateMachineName });
    new CfnOutput(this, 'StartExecutionLink', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/states/home?region=${Aws.REGION}#/statemachines/view/${stateMachine.stateMachineArn}`,
      description: 'Start execution, with {} or overrides such as {"snapshotDate": "2026-11-27"} as input.',
    });
    new CfnOutput(this, 'StartExecutionCommand', {
      value: `aws stepfunctions start-execution --state-machine-arn ${stateMachine.stateMachineArn} --input '{}'`,
    });
    new CfnOutput(this, 'FunctionName', { value: fn.functionName });
    new CfnOutput(this, 'ConsoleTestLink', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/lambda/home?region=${Aws.REGION}#/functions/${fn.functionName}?tab=testing`,
    });
    new CfnOutput(this, 'InvokeCommand', {
      value: `aws lambda invoke --function-name ${fn.functionName} --cli-binary-format raw-in-base64-out --cli-read-timeout 0 --payload '{}' manifest.json`,
    });
    new CfnOutput(this, 'AthenaTable', { value: `${this.athena.databaseName}.${this.athena.tableName}`, description: 'Typed (Parquet): every value of every eSIM, partitioned by dt.' });
    new CfnOutput(this, 'AthenaWorkGroupName', { value: this.athena.workGroupName });
    new CfnOutput(this, 'ScheduleName', { value: this.schedule.schedule.scheduleName });
    new CfnOutput(this, 'DashboardLink', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${this.operations.dashboard.dashboardName}`,
    });
  }

  /** The secret you name, or a new one holding a placeholder that the handler refuses to use. */
  private credentials(secret: string | undefined): secretsmanager.ISecret {
    if (secret?.startsWith('arn:')) return secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', secret);
    if (secret) return secretsmanager.Secret.fromSecretNameV2(this, 'Secret', secret);
    const created = new secretsmanager.Secret(this, 'Secret', {
      secretName: `${this.stackName}/betatel-api`,
      description: 'Betatel API credentials for esim-export: {"apiKey": "...", "userId": "..."}. Replace the placeholder after deploying.',
      // A placeholder, not a credential: the handler refuses to run until it is replaced.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ apiKey: PLACEHOLDER_API_KEY, userId: PLACEHOLDER_USER_ID })),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    keepLogicalId(created, 'SecretA720EF05');
    Validations.of(created).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'The API key is issued by Betatel and can only be rotated in their portal; there is no rotation Lambda to run.' });
    return created;
  }
}
