/**
 * The esim-export stack: a daily EventBridge Scheduler schedule invokes a Lambda function that
 * exports every eSIM of a Betatel account into an S3 bucket, with alarms, a dashboard and an
 * Athena table over the snapshots. Reads top to bottom: storage, credentials, the function,
 * the schedule, operations, Athena, outputs.
 */
import * as path from 'node:path';
import { Aws, CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps, TimeZone, Token, Validations } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { PLACEHOLDER_API_KEY, PLACEHOLDER_USER_ID } from '../lambda/core/credentials';
import { DEFAULT_API_BASE_URL, DEFAULT_CONCURRENCY, DEFAULT_PAGE_SIZE } from '../lambda/core/settings';
import { secureBucketProps } from './secure-defaults';

export interface EsimExportStackProps extends StackProps {
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
  /** @default ['ndjson', 'csv'] */
  readonly formats?: readonly string[];
  /** Export only this company. @default all companies */
  readonly companyId?: number;
  /** Export only this inventory. @default all inventories */
  readonly inventoryId?: number;
  /** @default 100 */
  readonly pageSize?: number;
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
}

/** The function's metrics: Powertools EMF, namespace and service as the handler sets them. */
const METRICS_NAMESPACE = 'EsimExport';
const SERVICE = 'esim-export';

export class EsimExportStack extends Stack {
  public readonly bucket: s3.IBucket;
  public readonly secret: secretsmanager.ISecret;
  public readonly function: nodejs.NodejsFunction;
  public readonly failedRuns: sqs.Queue;
  public readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: EsimExportStackProps = {}) {
    super(scope, id, props);
    // Access logs are delivered by bucket policy (ACLs stay disabled), whatever the app's flags.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const prefix = (props.exportPrefix ?? 'esims').replace(/^\/+|\/+$/g, '');
    const timezone = props.timezone ?? 'UTC';
    const databaseName = props.glueDatabaseName ?? 'esim_export';

    // Storage: the snapshots' bucket (or the one you name), and where its access logs go.
    if (props.bucketName) {
      this.bucket = s3.Bucket.fromBucketName(this, 'Bucket', props.bucketName);
    } else {
      const accessLogs = new s3.Bucket(this, 'AccessLogs', {
        ...secureBucketProps(),
        lifecycleRules: [{ expiration: Duration.days(365), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      });
      Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access-log bucket of the snapshots bucket; logging it into itself would loop.' });
      this.bucket = new s3.Bucket(this, 'Bucket', {
        ...secureBucketProps(),
        serverAccessLogsBucket: accessLogs,
        serverAccessLogsPrefix: 'snapshots-bucket/',
        lifecycleRules: [
          // A run killed mid-upload leaves invisible parts; S3 deletes them after a day.
          { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
          {
            id: 'age-snapshots',
            prefix: `${prefix}/`,
            transitions: [
              { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(props.infrequentAccessAfterDays ?? 30) },
              { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(props.glacierAfterDays ?? 90) },
            ],
            // Versions replaced by a same-day re-run are kept a while for recovery, then go.
            noncurrentVersionExpiration: Duration.days(30),
            ...(props.expireAfterDays !== undefined && { expiration: Duration.days(props.expireAfterDays) }),
          },
          { id: 'expire-athena-results', prefix: 'athena-results/', expiration: Duration.days(30) },
        ],
      });
    }

    // Credentials: the secret the function reads `{"apiKey", "userId"}` from.
    if (props.secret?.startsWith('arn:')) {
      this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', props.secret);
    } else if (props.secret) {
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Secret', props.secret);
    } else {
      const created = new secretsmanager.Secret(this, 'Secret', {
        secretName: `${Stack.of(this).stackName}/betatel-api`,
        description: 'Betatel API credentials for esim-export: {"apiKey": "...", "userId": "..."}. Replace the placeholder after deploying.',
        // A placeholder, not a credential: the handler refuses to run until it is replaced.
        secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ apiKey: PLACEHOLDER_API_KEY, userId: PLACEHOLDER_USER_ID })),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(created).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'The API key is issued by Betatel and can only be rotated in their portal; there is no rotation Lambda to run.' });
      this.secret = created;
    }

    // The function: the export core bundled by local esbuild, one run at a time.
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: props.logRetentionDays ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'esim-export: read the Betatel secret, write snapshots under the export prefix, write its own logs.',
    });
    this.failedRuns = new sqs.Queue(this, 'FailedRuns', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failedRuns).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the schedule and the failure destination of the function.' });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'Exports every Betatel eSIM into dated NDJSON and CSV snapshots in S3.',
      entry: path.join(__dirname, '..', 'lambda', 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: Duration.minutes(15),
      // One run at a time: a manual run and the schedule never overlap on the same keys.
      reservedConcurrentExecutions: 1,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // Async invocations (the schedule, `aws lambda invoke --invocation-type Event`): two
      // retries, safe because keys are deterministic; then the event goes to FailedRuns.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new lambdaDestinations.SqsDestination(this.failedRuns),
      environment: {
        SECRET_ID: this.secret.secretArn,
        BUCKET_NAME: this.bucket.bucketName,
        EXPORT_PREFIX: prefix,
        API_BASE_URL: props.apiBaseUrl ?? DEFAULT_API_BASE_URL,
        EXPORT_FORMATS: (props.formats ?? ['ndjson', 'csv']).join(','),
        PAGE_SIZE: String(props.pageSize ?? DEFAULT_PAGE_SIZE),
        CONCURRENCY: String(props.concurrency ?? DEFAULT_CONCURRENCY),
        TIMEZONE: timezone,
        ...(props.companyId !== undefined && { COMPANY_ID: String(props.companyId) }),
        ...(props.inventoryId !== undefined && { INVENTORY_ID: String(props.inventoryId) }),
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
        // The page decoder's worker thread is its own script beside index.js (lambda/core/page-decoder.ts).
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) => [
            `"${path.join(inputDir, 'node_modules', '.bin', 'esbuild')}" "${path.join(inputDir, 'lambda', 'core', 'page-decoder-thread.ts')}" ` +
              `--bundle --platform=node --target=node24 --minify --sourcemap --log-level=warning --outfile="${path.join(outputDir, 'page-decoder-thread.js')}"`,
          ],
        },
      },
    });

    // Least privilege: its own logs, that one secret, and writes under the export prefix only.
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );
    this.secret.grantRead(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteSnapshots',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [this.bucket.arnForObjects(`${prefix}/*`)],
      }),
    );
    const partition = Token.isUnresolved(this.partition) ? '<AWS::Partition>' : this.partition;
    const snapshotObjects = props.bucketName
      ? `arn:${partition}:s3:::${props.bucketName}/${prefix}/*`
      : `<${this.getLogicalId((this.bucket as s3.Bucket).node.defaultChild as s3.CfnBucket)}.Arn>/${prefix}/*`;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${snapshotObjects}]`,
      reason: 'Snapshot keys are dated (dt=YYYY-MM-DD), so writing them needs a wildcard; it is confined to the export prefix.',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListOwnManifests',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}/*`] } },
      }),
    );

    // The schedule: EventBridge Scheduler, in the configured time zone, passing the scheduled
    // time so a retried run still writes the day it was meant for.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
      description: 'EventBridge Scheduler: invoke the esim-export function, and send what it cannot deliver to FailedRuns.',
    });
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'The invoke grant covers the function and its versions (ARN:*), as CDK writes it; it names this one function only.',
    });
    const schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Runs the esim-export function.',
      schedule: scheduler.ScheduleExpression.expression(props.schedule ?? 'cron(0 2 * * ? *)', TimeZone.of(timezone)),
      target: new schedulerTargets.LambdaInvoke(this.function, {
        role: scheduleRole,
        input: scheduler.ScheduleTargetInput.fromObject({ scheduledTime: scheduler.ContextAttribute.scheduledTime }),
        retryAttempts: 3,
        maxEventAge: Duration.hours(2),
        deadLetterQueue: this.failedRuns,
      }),
    });

    // Operations: an SNS topic for alarms, three alarms, and a dashboard.
    this.alarmTopic = new sns.Topic(this, 'Alarms', { displayName: 'esim-export alarms', enforceSSL: true });
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'Alarm notifications carry no data; CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key.',
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const metric = (metricName: string, statistic = 'Sum', period = Duration.days(1)): cloudwatch.Metric =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE }, statistic, period });

    const whenAny = (id: string, alarmDescription: string, anyOf: cloudwatch.IMetric): cloudwatch.Alarm =>
      new cloudwatch.Alarm(this, id, {
        alarmDescription,
        metric: anyOf,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const alarms = [
      whenAny(
        'RunFailedAlarm',
        'An esim-export run failed. Its log says why in one line ("export failed"); nothing was published.',
        this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      ),
      whenAny(
        'FailedRunsQueueAlarm',
        'A scheduled run could not be delivered or failed all its retries: see the FailedRuns queue.',
        this.failedRuns.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      ),
      new cloudwatch.Alarm(this, 'StaleSnapshotAlarm', {
        alarmDescription: `No full snapshot was published for ${props.staleAfterHours ?? 26} hours.`,
        metric: metric('SnapshotsPublished', 'Sum', Duration.hours(1)),
        threshold: 1,
        evaluationPeriods: props.staleAfterHours ?? 26,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // No data point is exactly the problem: missing counts as breaching.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    ];
    for (const alarm of alarms) {
      alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alarmTopic));
      alarm.addOkAction(new cloudwatchActions.SnsAction(this.alarmTopic));
    }

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-esim-export`,
      defaultInterval: Duration.days(30),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'eSIMs exported per run', left: [metric('RecordsExported', 'Maximum')], width: 12 }),
      new cloudwatch.GraphWidget({
        title: 'eSIMs per status',
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},service,status} MetricName="RecordsByStatus"', 'Maximum', 86400)`,
            label: '',
            period: Duration.days(1),
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({ title: 'Run duration (s)', left: [metric('DurationSeconds', 'Maximum')], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Retries and warnings', left: [metric('Retries'), metric('Warnings')], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Errors',
        left: [this.function.metricErrors({ period: Duration.days(1) }), metric('ExportsFailed')],
        width: 8,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }),
    );

    // Athena: a table over the NDJSON snapshots, partitioned by day with partition projection,
    // so it can be queried right after the first run with no crawler or MSCK REPAIR.
    const database = new glue.CfnDatabase(this, 'GlueDatabase', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: databaseName, description: 'esim-export snapshots' },
    });
    const location = `s3://${this.bucket.bucketName}/${prefix}/ndjson/`;
    const table = new glue.CfnTable(this, 'EsimsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName,
      tableInput: {
        name: 'esims',
        description: 'One row per eSIM per daily snapshot (NDJSON). group, inventory and company are JSON text or a plain id, as the API sent them.',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          classification: 'json',
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': '2020-01-01,NOW',
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'storage.location.template': `${location}dt=\${dt}/`,
        },
        partitionKeys: [{ name: 'dt', type: 'string' }],
        storageDescriptor: {
          location,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
          columns: [
            { name: 'iccid', type: 'string' },
            { name: 'sim_status', type: 'string' },
            // Either item shape: the OpenX SerDe gives an object as its JSON text, a number as digits.
            { name: 'group', type: 'string' },
            { name: 'inventory', type: 'string' },
            { name: 'company', type: 'string' },
            { name: 'provisioned_date', type: 'bigint' },
            { name: 'terminated_date', type: 'bigint' },
            { name: 'imsis', type: 'array<struct<sponsor_id:bigint,imsi:bigint>>' },
            { name: 'mapped_imsi', type: 'bigint' },
            { name: 'created_date', type: 'bigint' },
            { name: 'modified_date', type: 'bigint' },
          ],
        },
      },
    });
    table.addResourceDependency(database);
    const workGroup = new athena.CfnWorkGroup(this, 'AthenaWorkGroup', {
      name: `${Stack.of(this).stackName}-esim-export`,
      description: 'Queries over the esim-export snapshots; results kept 30 days.',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/athena-results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    // Outputs: where things are, and how to run it by hand.
    const fn = this.function.functionName;
    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
    new CfnOutput(this, 'ExportPrefix', { value: `s3://${this.bucket.bucketName}/${prefix}/` });
    new CfnOutput(this, 'SecretName', { value: this.secret.secretName, description: 'Put {"apiKey": "...", "userId": "..."} here.' });
    new CfnOutput(this, 'PutSecretCommand', {
      value: `aws secretsmanager put-secret-value --secret-id ${this.secret.secretArn} --secret-string '{"apiKey":"YOUR_KEY","userId":"YOUR_USER_ID"}'`,
    });
    new CfnOutput(this, 'FunctionName', { value: fn });
    new CfnOutput(this, 'ConsoleTestLink', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/lambda/home?region=${Aws.REGION}#/functions/${fn}?tab=testing`,
    });
    new CfnOutput(this, 'InvokeCommand', {
      value: `aws lambda invoke --function-name ${fn} --cli-binary-format raw-in-base64-out --cli-read-timeout 0 --payload '{}' manifest.json`,
    });
    new CfnOutput(this, 'AthenaTable', { value: `${databaseName}.esims` });
    new CfnOutput(this, 'AthenaWorkGroupName', { value: workGroup.name });
    new CfnOutput(this, 'ScheduleName', { value: schedule.scheduleName });
    new CfnOutput(this, 'DashboardLink', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${dashboard.dashboardName}`,
    });
  }
}
