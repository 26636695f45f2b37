/**
 * The export function: the export core (lambda/handler.ts) bundled by local esbuild, with its
 * own log group, a least-privilege role and a queue for the runs that failed for good.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy, Size, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { keepLogicalId } from './secure-defaults';

export interface ExportFunctionProps {
  readonly bucket: s3.IBucket;
  /** Set when the bucket is an existing one, by name (the IAM acknowledgement names it). */
  readonly importedBucketName?: string;
  readonly prefix: string;
  readonly secret: secretsmanager.ISecret;
  /** The function's settings, as environment variables (settingsEnvironment, lambda/core/settings). */
  readonly environment: Readonly<Record<string, string>>;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default 90 */
  readonly logRetentionDays?: number;
  /** The bus "Snapshot Published" events go to. @default the account's default bus */
  readonly eventBusName?: string;
}

export class ExportFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  /** Runs that failed every retry, and scheduled runs that could not be delivered. */
  public readonly failedRuns: sqs.Queue;

  constructor(scope: Construct, id: string, props: ExportFunctionProps) {
    super(scope, id);

    // Its logs, kept as long as configured.
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: props.logRetentionDays ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    keepLogicalId(logGroup, 'FunctionLogsAE28C13D');

    // Its role, granted below exactly what it needs.
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'esim-export: read the Betatel secret, write snapshots under the export prefix, write its own logs.',
    });

    // The dead-letter queue of the schedule and the failure destination of the function.
    this.failedRuns = new sqs.Queue(this, 'FailedRuns', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    keepLogicalId(this.failedRuns, 'FailedRuns6F7FC7C6');
    keepLogicalId(this.failedRuns.node.findChild('Policy'), 'FailedRunsPolicyE1DA5ACD');
    Validations.of(this.failedRuns).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the schedule and the failure destination of the function.' });

    // The function. No reserved concurrency of 1 any more: the scope lock in S3 keeps two runs of
    // one scope apart, and runs of different scopes may overlap.
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'Exports every Betatel eSIM into dated snapshots in S3.',
      entry: path.join(__dirname, '..', 'lambda', 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      // /tmp for the change set's comparison: both days' NDJSON spread by ICCID into gzipped
      // bucket files, about 35 bytes an eSIM a side (700 MB at 10,000,000); 512 MB is Lambda's default.
      ephemeralStorageSize: Size.mebibytes(2048),
      timeout: Duration.minutes(15),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // Async invocations (the schedule, `aws lambda invoke --invocation-type Event`): two
      // retries, safe because keys are deterministic; then the event goes to FailedRuns.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new lambdaDestinations.SqsDestination(this.failedRuns),
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
      bundling: {
        // Everything bundled, AWS SDK included: the code runs with the versions it was tested with.
        bundleAwsSDK: true,
        minify: true,
        sourceMap: true,
        target: 'node24',
        forceDockerBundling: false,
      },
    });

    // Least privilege: its own logs, that one secret, and writes under the export prefix only.
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    props.secret.grantRead(role);
    events.EventBus.fromEventBusName(this, 'EventBus', props.eventBusName ?? 'default').grantPutEventsTo(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        // Put: snapshots, checkpoints, the lock. Get: checkpoints, the lock, copy sources.
        // Delete: staged files, and a rerun's files that its manifest no longer lists.
        sid: 'WriteSnapshots',
        actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [props.bucket.arnForObjects(`${props.prefix}/*`)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListOwnManifests',
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${props.prefix}/*`] } },
      }),
    );
    const stack = Stack.of(this);
    const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
    const snapshotObjects = props.importedBucketName
      ? `arn:${partition}:s3:::${props.importedBucketName}/${props.prefix}/*`
      : `<${stack.resolve(((props.bucket as s3.Bucket).node.defaultChild as s3.CfnBucket).logicalId)}.Arn>/${props.prefix}/*`;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${snapshotObjects}]`,
      reason: 'Snapshot keys are dated (dt=YYYY-MM-DD) and staged runs have ids, so the grant needs a wildcard; it is confined to the export prefix.',
    });
  }
}
