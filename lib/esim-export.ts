/**
 * EsimExport: the whole export as one construct for your own CDK stack. A daily EventBridge
 * Scheduler schedule starts a Step Functions state machine whose steps invoke one Lambda
 * function, exporting every eSIM of a Betatel account into S3 however long it takes, with
 * alarms, a dashboard and Athena tables over the snapshots. Reads top to bottom: storage,
 * credentials, the function, the state machine, the schedule, operations, Athena; each part is
 * a small construct of its own, exposed here. This repository's stack (esim-export-stack.ts) is
 * this construct and its outputs.
 */
import { Annotations, Fn, RemovalPolicy, SecretValue, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PLACEHOLDER_API_KEY, PLACEHOLDER_USER_ID } from '../lambda/core/api/credentials';
import { ConfigError } from '../lambda/core/errors';
import { checkDeployment, defaultOf, type GivenSettings, readSettings, settingsEnvironment } from '../lambda/core/settings';
import { allowLogs } from './key';
import { AthenaTables } from './athena';
import { ExportFunction } from './export-function';
import { Operations } from './operations';
import type { EsimExportProps } from './props';
import { ExportSchedule } from './schedule';
import { ExportStateMachine } from './state-machine';
import { keepLogicalId } from './secure-defaults';
import { ATHENA_RESULTS_FOLDER, SnapshotStorage } from './storage';

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
  /** The key everything is encrypted with, if you gave one (or your bucket has one). */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: EsimExportProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    // Access logs are delivered by bucket policy (ACLs stay disabled), whatever the app's flags.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    // Props are read as the CDK context is (the same parsers and messages), so props given in
    // code are checked too: the prefix, for one, is the function's grant on the bucket.
    const given = readSettings('prop', props as Record<string, unknown>);
    checkDeployment(given, 'prop');
    const prefix = given.exportPrefix ?? defaultOf('exportPrefix');
    if (prefix === ATHENA_RESULTS_FOLDER || prefix.startsWith(`${ATHENA_RESULTS_FOLDER}/`)) {
      throw new ConfigError(`exportPrefix "${prefix}" is where Athena's query results go, which are deleted after 30 days: choose another folder, such as esims.`);
    }
    const timezone = given.timezone ?? defaultOf('timezone');
    const logRetentionDays = given.logRetentionDays ?? defaultOf('logRetentionDays');
    // Its secret, state machine, work group and dashboard are named after the stack: one a stack.
    const other = stack.node.findAll().find((construct) => construct !== this && construct instanceof EsimExport);
    if (other) {
      throw new ConfigError(
        `${stack.stackName} already has an EsimExport (${other.node.path}): its secret, state machine, Athena work group and dashboard are named after the stack, so a second one would take the same names. Put it in a stack of its own.`,
      );
    }
    const stateMachineName = `${stack.stackName}-export`;
    this.prefix = prefix;
    const yours = this.resources(props, given);
    this.encryptionKey = yours.encryptionKey;

    // Storage: the snapshots' bucket (or yours).
    this.storage = new SnapshotStorage(this, 'Storage', {
      existingBucket: props.existingBucket,
      bucketName: given.bucketName,
      bucketAccount: given.bucketOwner,
      encryptionKey: yours.encryptionKey,
      prefix,
      infrequentAccessAfterDays: given.infrequentAccessAfterDays ?? defaultOf('infrequentAccessAfterDays'),
      glacierAfterDays: given.glacierAfterDays ?? defaultOf('glacierAfterDays'),
      expireAfterDays: given.expireAfterDays,
    });
    const { bucket } = this.storage;
    this.bucket = bucket;

    // Credentials: the secret the function reads `{"apiKey", "userId"}` from.
    this.secret = this.credentials(given.secretId, yours.encryptionKey);

    // The function: the export core, configured through its environment (lambda/config.ts).
    this.exporter = new ExportFunction(this, 'Export', {
      bucket,
      prefix,
      bucketOwner: yours.bucketOwner,
      encryptionKey: yours.encryptionKey,
      vpc: yours.vpc,
      vpcSubnets: yours.vpcSubnets,
      securityGroups: yours.securityGroups,
      secret: this.secret,
      memorySize: given.memorySize ?? defaultOf('memorySize'),
      logRetentionDays,
      eventBusName: given.eventBusName,
      environment: settingsEnvironment({
        ...given,
        secretId: this.secret.secretArn,
        bucketName: bucket.bucketName,
        bucketOwner: yours.bucketOwner,
        kmsKeyArn: yours.encryptionKey?.keyArn,
        // Each invocation exports 12 minutes, then has 3 to finish its files and save the checkpoint.
        maxRunSeconds: 12 * 60,
        stateMachineName,
      }),
    });
    this.function = this.exporter.function;

    // The state machine: runs every export, over as many invocations as it needs.
    this.runner = new ExportStateMachine(this, 'Runner', { function: this.function, stateMachineName, logRetentionDays, encryptionKey: yours.encryptionKey });
    this.stateMachine = this.runner.stateMachine;

    // The schedule: daily, in the configured time zone.
    this.schedule = new ExportSchedule(this, 'Schedule', {
      stateMachine: this.stateMachine,
      deadLetterQueue: this.exporter.failedRuns,
      expression: given.schedule ?? defaultOf('schedule'),
      timezone,
    });

    // Operations: alarms into SNS, and a dashboard.
    this.operations = new Operations(this, 'Operations', {
      function: this.function,
      stateMachine: this.stateMachine,
      failedRuns: this.exporter.failedRuns,
      alarmEmail: given.alarmEmail,
      staleAfterHours: given.staleAfterHours ?? defaultOf('staleAfterHours'),
      schemaChangeAlarm: given.schemaChangeAlarm ?? defaultOf('schemaChangeAlarm'),
    });
    this.alarmTopic = this.operations.alarmTopic;

    // Athena: tables over the snapshots.
    this.athena = new AthenaTables(this, 'Athena', {
      bucket,
      prefix,
      databaseName: given.glueDatabaseName ?? glueDatabaseFor(stack.stackName),
      firstSnapshotDate: given.firstSnapshotDate ?? defaultOf('firstSnapshotDate'),
      encryptionKey: yours.encryptionKey,
    });
  }

  /**
   * Your key, bucket owner and network, from objects or from the ids context gives; one of each.
   * A key is allowed to encrypt the logs where this stack writes its policy; a key made
   * elsewhere is warned about at synth, with the statement its policy needs.
   */
  private resources(props: EsimExportProps, given: GivenSettings) {
    const both = (object: string, id: string): never => {
      throw new ConfigError(`give ${object} or ${id}, not both: they name the same thing`);
    };
    if (props.existingBucket && given.bucketName) both('existingBucket', 'bucketName');
    if (props.encryptionKey && given.kmsKeyArn) both('encryptionKey', 'kmsKeyArn');
    if (props.vpc && given.vpcId) both('vpc', 'vpcId');
    if (given.bucketOwner && !props.existingBucket && !given.bucketName) {
      throw new ConfigError('bucketAccount names the owner of your bucket: give the bucket too (bucketName or existingBucket), or leave bucketAccount out');
    }
    // The function's grant on the key names s3.<stack region>: a key of another region could never be used.
    const keyRegion = given.kmsKeyArn?.split(':')[3];
    const stackRegion = Stack.of(this).region;
    if (keyRegion !== undefined && !Token.isUnresolved(stackRegion) && keyRegion !== stackRegion) {
      throw new ConfigError(`kmsKeyArn is a key of ${keyRegion}, but the stack deploys to ${stackRegion}: S3 and the function use a key of their own region; give a key of ${stackRegion}.`);
    }
    const encryptionKey = props.encryptionKey ?? (given.kmsKeyArn ? kms.Key.fromKeyArn(this, 'Key', given.kmsKeyArn) : props.existingBucket?.encryptionKey);
    if (encryptionKey) allowLogs(this, encryptionKey);
    // A bucket object made for another account says so; otherwise the owner is what you give.
    const bucketAccount = props.existingBucket?.env.account;
    const inferred = bucketAccount && !Token.isUnresolved(bucketAccount) && bucketAccount !== Stack.of(this).account ? bucketAccount : undefined;
    // By ids, the subnets are named one by one, so the VPC's own zones and subnets are never read.
    const vpc = props.vpc ?? (given.vpcId ? this.vpcById(given.vpcId) : undefined);
    const subnets = given.subnetIds?.map((id) => {
      const subnet = ec2.Subnet.fromSubnetId(this, id, id);
      Annotations.of(subnet).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'The function only places its network interfaces in the subnet; no route table is read.');
      return subnet;
    });
    const groups = given.securityGroupIds?.map((id) => ec2.SecurityGroup.fromSecurityGroupId(this, id, id));
    return {
      encryptionKey,
      bucketOwner: given.bucketOwner ?? inferred,
      vpc,
      vpcSubnets: props.vpcSubnets ?? (subnets && { subnets }),
      securityGroups: props.securityGroups ?? groups,
    };
  }

  private vpcById(vpcId: string): ec2.IVpc {
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId, availabilityZones: Fn.getAzs() });
    Annotations.of(vpc).acknowledgeWarning('@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones', 'The subnets are given by id; the zones are never read.');
    return vpc;
  }

  /** The secret you name, or a new one holding a placeholder that the handler refuses to use. */
  private credentials(secret: string | undefined, encryptionKey: kms.IKey | undefined): secretsmanager.ISecret {
    if (secret?.startsWith('arn:')) return secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', secret);
    if (secret) return secretsmanager.Secret.fromSecretNameV2(this, 'Secret', secret);
    const created = new secretsmanager.Secret(this, 'Secret', {
      secretName: `${Stack.of(this).stackName}/betatel-api`,
      description: 'Betatel API credentials for esim-export: {"apiKey": "...", "userId": "..."}. Replace the placeholder after deploying.',
      // A placeholder, not a credential: the handler refuses to run until it is replaced.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ apiKey: PLACEHOLDER_API_KEY, userId: PLACEHOLDER_USER_ID })),
      encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    keepLogicalId(created, 'SecretA720EF05');
    Validations.of(created).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'The API key is issued by Betatel and can only be rotated in their portal; there is no rotation Lambda to run.' });
    return created;
  }
}

/**
 * The Glue database a stack creates when none is named: a database is one per account and
 * region, so it carries the stack's name; the repository's own stack (EsimExport) keeps the
 * name it has had since 0.1, esim_export.
 */
export function glueDatabaseFor(stackName: string): string {
  const fallback = defaultOf('glueDatabaseName');
  return stackName === defaultOf('stackName') ? fallback : `${fallback}_${stackName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 255);
}
