/**
 * EsimExport: the whole export as one construct for your own CDK stack. A daily EventBridge
 * Scheduler schedule starts a Step Functions state machine whose steps invoke one Lambda
 * function, exporting every eSIM of a Betatel account into S3 however long it takes, with
 * alarms, a dashboard and Athena tables over the snapshots. Reads top to bottom: storage,
 * credentials, the function, the state machine, the schedule, operations, Athena; each part is
 * a small construct of its own, exposed here. This repository's stack (esim-export-stack.ts) is
 * this construct and its outputs.
 */
import { RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PLACEHOLDER_API_KEY, PLACEHOLDER_USER_ID } from '../lambda/core/api/credentials';
import { defaultOf, readSettings, settingsEnvironment } from '../lambda/core/settings';
import { AthenaTables } from './athena';
import { ExportFunction } from './export-function';
import { Operations } from './operations';
import type { EsimExportProps } from './props';
import { ExportSchedule } from './schedule';
import { ExportStateMachine } from './state-machine';
import { keepLogicalId } from './secure-defaults';
import { SnapshotStorage } from './storage';

export type { EsimExportProps, FilterProps } from './props';

export class EsimExport extends Construct {
  /** The bucket the snapshots go to: the one created, or yours. */
  public readonly bucket: s3.IBucket;
  /** The key prefix of everything the export writes. */
  public readonly prefix: string;
  /** The secret the function reads `{"apiKey", "userId"}` from. */
  public readonly secret: secretsmanager.ISecret;
  /** The export function. */
  public readonly function: lambda.IFunction;
  /** The state machine that runs every export: start an execution to run one by hand. */
  public readonly stateMachine: sfn.StateMachine;
  /** Where the alarms go. */
  public readonly alarmTopic: sns.ITopic;
  public readonly storage: SnapshotStorage;
  public readonly exporter: ExportFunction;
  public readonly runner: ExportStateMachine;
  public readonly schedule: ExportSchedule;
  public readonly operations: Operations;
  /** The Glue database, tables and Athena work group. */
  public readonly athena: AthenaTables;

  constructor(scope: Construct, id: string, props: EsimExportProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    // Access logs are delivered by bucket policy (ACLs stay disabled), whatever the app's flags.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    // Props are read as the CDK context is (the same parsers and messages), so props given in
    // code are checked too: the prefix, for one, is the function's grant on the bucket.
    const given = readSettings('context', props as Record<string, unknown>);
    const prefix = given.exportPrefix ?? defaultOf('exportPrefix');
    const timezone = given.timezone ?? defaultOf('timezone');
    const stateMachineName = `${stack.stackName}-export`;
    this.prefix = prefix;

    // Storage: the snapshots' bucket (or the one you name).
    this.storage = new SnapshotStorage(this, 'Storage', {
      bucketName: given.bucketName,
      prefix,
      infrequentAccessAfterDays: props.infrequentAccessAfterDays,
      glacierAfterDays: props.glacierAfterDays,
      expireAfterDays: props.expireAfterDays,
    });
    const { bucket } = this.storage;
    this.bucket = bucket;

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
    this.function = this.exporter.function;

    // The state machine: runs every export, over as many invocations as it needs.
    this.runner = new ExportStateMachine(this, 'Runner', { function: this.function, stateMachineName, logRetentionDays: props.logRetentionDays });
    this.stateMachine = this.runner.stateMachine;

    // The schedule: daily, in the configured time zone.
    this.schedule = new ExportSchedule(this, 'Schedule', {
      stateMachine: this.stateMachine,
      deadLetterQueue: this.exporter.failedRuns,
      expression: props.schedule,
      timezone,
    });

    // Operations: alarms into SNS, and a dashboard.
    this.operations = new Operations(this, 'Operations', {
      function: this.function,
      stateMachine: this.stateMachine,
      failedRuns: this.exporter.failedRuns,
      alarmEmail: props.alarmEmail,
      staleAfterHours: props.staleAfterHours,
    });
    this.alarmTopic = this.operations.alarmTopic;

    // Athena: tables over the snapshots.
    this.athena = new AthenaTables(this, 'Athena', { bucket, prefix, databaseName: props.glueDatabaseName, firstSnapshotDate: props.firstSnapshotDate });
  }

  /** The secret you name, or a new one holding a placeholder that the handler refuses to use. */
  private credentials(secret: string | undefined): secretsmanager.ISecret {
    if (secret?.startsWith('arn:')) return secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', secret);
    if (secret) return secretsmanager.Secret.fromSecretNameV2(this, 'Secret', secret);
    const created = new secretsmanager.Secret(this, 'Secret', {
      secretName: `${Stack.of(this).stackName}/betatel-api`,
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
