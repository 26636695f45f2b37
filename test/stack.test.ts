/**
 * The CDK stack, synthesized offline with the project's own cdk.json context: the properties
 * that matter for security and operations, cdk-nag's AwsSolutions pack, and the bundle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { PLACEHOLDER_API_KEY } from '../lambda/core/api/credentials';
import { propsFromContext } from '../lib/context';
import { EsimExportStack } from '../lib/esim-export-stack';
import { nagErrors, projectContext } from './stack-helpers';

function synth(context: Record<string, unknown> = {}): { app: App; stack: EsimExportStack; template: Template } {
  const app = new App({ context: { ...projectContext, ...context } });
  const stack = new EsimExportStack(app, 'EsimExport', { ...propsFromContext(app.node), env: { account: '123456789012', region: 'eu-west-1' } });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The folder of the function's bundled asset in the cloud assembly. */
function bundleDir(app: App, template: Template): string {
  const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Array<{ Properties: { Code: { S3Key: string } } }>;
  const hash = functions[0]!.Properties.Code.S3Key.replace(/\.zip$/, '');
  return path.join(app.outdir, `asset.${hash}`);
}

let defaults: { app: App; stack: EsimExportStack; template: Template };
beforeAll(() => {
  defaults = synth();
});

describe('EsimExportStack with default context', () => {
  it('creates a bucket that is encrypted, private, TLS-only, versioned and retained', () => {
    const { template } = defaults;
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'snapshots-bucket/' }),
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('aborts incomplete uploads after a day and moves older snapshots to cheaper storage', () => {
    defaults.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
          Match.objectLike({
            Prefix: 'esims/',
            Transitions: [
              { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
              { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
            ],
          }),
        ]),
      },
    });
  });

  it('creates a retained secret holding only the placeholder', () => {
    const { template } = defaults;
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        Name: 'EsimExport/betatel-api',
        SecretString: JSON.stringify({ apiKey: PLACEHOLDER_API_KEY, userId: 'REPLACE_WITH_BETATEL_USER_ID' }),
      }),
    });
  });

  it('runs the function on the newest Node.js runtime, ARM64, 15 minutes, handing over after 12', () => {
    defaults.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 900,
      MemorySize: 1024,
      // /tmp for the change set's comparison at 10,000,000 eSIMs.
      EphemeralStorage: { Size: 2048 },
      // Runs are kept apart by the scope lock in S3, not by a concurrency of 1.
      ReservedConcurrentExecutions: Match.absent(),
      LoggingConfig: { LogFormat: 'JSON', LogGroup: Match.anyValue() },
      Environment: {
        Variables: Match.objectLike({
          SECRET_ID: { Ref: Match.stringLikeRegexp('^Secret') },
          BUCKET_NAME: { Ref: Match.stringLikeRegexp('^Bucket') },
          EXPORT_PREFIX: 'esims',
          API_BASE_URL: 'https://esim.betatel.com/api/v1',
          EXPORT_FORMATS: 'ndjson,csv,parquet',
          TIMEZONE: 'UTC',
          PAGE_SIZE: 'auto',
          MAX_RUN_SECONDS: '720',
          STATE_MACHINE_NAME: 'EsimExport-export',
          NODE_OPTIONS: '--enable-source-maps',
        }),
      },
    });
    defaults.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('gives the function least privilege: its logs, the one secret, writes under the prefix', () => {
    const policies = defaults.template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('FunctionRole') }] } });
    const statements = Object.values(policies).flatMap(
      (policy) => (policy as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties.PolicyDocument.Statement,
    );
    const actions = statements.flatMap((statement) => [statement.Action].flat());
    expect(actions.sort()).toEqual(
      [
        'events:PutEvents',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:AbortMultipartUpload',
        's3:DeleteObject',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ].sort(),
    );
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"|"s3:\*"/);
    // Reads and deletes too (checkpoints, the lock, staged and stale files), under the prefix only.
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Bucket/), 'Arn'] }, '/esims/*']] },
      }),
    );
    expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['esims/*'] } } }));
    // Events go to the default bus only.
    expect(JSON.stringify(statements.find((statement) => statement.Action === 'events:PutEvents')?.Resource)).toContain(':event-bus/default');
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: { Ref: expect.stringMatching(/^Secret/) } }),
    );
    // No AWS managed policy (such as AWSLambdaBasicExecutionRole, which writes to any log group).
    defaults.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] }),
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('schedules a daily run with the scheduled time as input, retries and a dead-letter queue', () => {
    defaults.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      Target: Match.objectLike({
        Input: '{"scheduledTime":"<aws.scheduler.scheduled-time>"}',
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 7200 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FailedRuns'), 'Arn'] } },
      }),
    });
    defaults.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FailedRuns'), 'Arn'] } } },
    });
    defaults.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
  });

  it('runs every export through a Standard state machine that the schedule starts, with its own logs and outputs', () => {
    const { template } = defaults;
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'EsimExport-export',
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^RunnerStateMachine') } }),
    });
    // The schedule's role may start that state machine and nothing else.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'states:StartExecution', Resource: { Ref: Match.stringLikeRegexp('^RunnerStateMachine') } })]) },
    });
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['StateMachineName', 'StartExecutionLink', 'StartExecutionCommand']));
    expect(JSON.stringify(outputs.StartExecutionLink)).toContain('#/statemachines/view/');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'failed + timedOut + aborted' })]),
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Alarms') }],
    });
  });

  it('alarms on failed runs, on the dead-letter queue, on an event given up on and on a stale snapshot, into SNS', () => {
    const { template } = defaults;
    const alarmAction = { AlarmActions: [{ Ref: Match.stringLikeRegexp('Alarms') }] };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 1, ...alarmAction });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1, ...alarmAction });
    // Publishing and announcing fail apart, and each alarm says which one did.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'AnnouncementsFailed',
      Namespace: 'EsimExport',
      AlarmDescription: Match.stringLikeRegexp('^A snapshot was published, but its "Snapshot Published" event'),
      ...alarmAction,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmDescription: Match.stringLikeRegexp('before its snapshot was published: the day keeps the snapshot it had') });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SnapshotsPublished',
      Namespace: 'EsimExport',
      Dimensions: [{ Name: 'service', Value: 'esim-export' }],
      Period: 3600,
      EvaluationPeriods: 26,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      ...alarmAction,
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('outputs where things are and how to run it by hand, each one named in docs/deploy.md', () => {
    const outputs = Object.keys(defaults.template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining(['BucketName', 'ExportPrefix', 'FunctionName', 'FunctionRoleArn', 'ConsoleTestLink', 'InvokeCommand', 'AthenaTable', 'SecretName', 'PutSecretCommand']),
    );
    const page = readFileSync(path.join(__dirname, '..', 'docs', 'deploy.md'), 'utf8');
    expect(outputs.filter((output) => !page.includes(`\`${output}\``))).toEqual([]);
  });

  it('has as many alarms as README and docs/ say, wherever they say it', () => {
    const alarms = Object.keys(defaults.template.findResources('AWS::CloudWatch::Alarm')).length;
    const pages = ['README.md', ...readdirSync(path.join(__dirname, '..', 'docs')).map((page) => path.join('docs', page))];
    const numbers: Record<string, number> = { Five: 5, five: 5 };
    const said = pages.flatMap((page) =>
      [...readFileSync(path.join(__dirname, '..', page), 'utf8').matchAll(/\b(\d+|[Ff]ive) alarms/g)].map((match) => numbers[match[1]!] ?? Number(match[1])),
    );
    expect(said.length).toBeGreaterThan(0);
    expect(new Set(said)).toEqual(new Set([alarms]));
  });

  it('passes cdk-nag’s AwsSolutions checks, every exception acknowledged with a reason', () => {
    expect(nagErrors(defaults.stack)).toEqual([]);
  });

  it('bundles the function with local esbuild into one minified file with a source map', () => {
    const dir = bundleDir(defaults.app, defaults.template);
    const bundle = readFileSync(path.join(dir, 'index.js'), 'utf8');
    expect(bundle.length).toBeGreaterThan(100_000);
    expect(bundle).toContain('sourceMappingURL=index.js.map');
    // The AWS SDK is bundled too; only its optional CRT signer (for SigV4a, unused here) stays a lazy require.
    const unbundled = new Set([...bundle.matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((match) => match[1]));
    expect([...unbundled]).toEqual(['@aws-sdk/signature-v4-crt']);
  });
});
