/**
 * The stack from CDK context values: an existing bucket and secret, the schedule and the
 * function's settings, and every bad value refused at synth with one line naming its key.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { nagErrors, synth, testApp } from './stack-helpers';

describe('EsimExportStack with context values', () => {
  it('uses an existing bucket and secret by name, creating neither', () => {
    const { stack, template } = synth({ bucketName: 'acme-data', secret: 'betatel/prod', alarmEmail: 'ops@example.com', companyId: '100' });
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ BUCKET_NAME: 'acme-data', COMPANY_ID: '100' }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::acme-data/esims/*' }),
        ]),
      },
    });
    expect(nagErrors(stack)).toEqual([]);
  });

  it('takes the schedule, time zone, memory and prefix from context', () => {
    const { template } = synth({ schedule: 'cron(30 4 * * ? *)', timezone: 'Europe/Berlin', memorySize: '512', exportPrefix: 'inventory/esims' });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(30 4 * * ? *)', ScheduleExpressionTimezone: 'Europe/Berlin' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 512,
      Environment: { Variables: Match.objectLike({ TIMEZONE: 'Europe/Berlin', EXPORT_PREFIX: 'inventory/esims' }) },
    });
  });

  it('alarms on a schema change only when schemaChangeAlarm is on', () => {
    const schemaAlarms = (template: ReturnType<typeof synth>['template']) =>
      Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((alarm) => (alarm as { Properties: { MetricName?: string } }).Properties.MetricName === 'SchemaChanges');
    expect(schemaAlarms(synth({}).template)).toHaveLength(0);
    expect(schemaAlarms(synth({ schemaChangeAlarm: 'true' }).template)).toHaveLength(1);
  });

  it.each([
    // The same messages as the CLI's and the function's (one settings parser), naming the key.
    [{ companyId: 'acme' }, 'CDK context "companyId" must be a whole number ≥ 1, got "acme"'],
    [{ formats: 'xml' }, 'CDK context "formats" must list only ndjson, csv, parquet, got "xml"'],
    [{ timezone: 'Mars/Base' }, 'CDK context "timezone" must be an IANA time zone'],
    [{ apiBaseUrl: 'http://esim.betatel.com/api/v1' }, 'CDK context "apiBaseUrl" must use https://'],
    [{ pageSize: 5000 }, 'CDK context "pageSize" must be a whole number from 1 to 1000 or auto, got 5000'],
    // A misspelled key is an error, not silently ignored.
    [{ alarmEmial: 'ops@example.com' }, 'CDK context "alarmEmial" is not a setting of this app (did you mean alarmEmail?)'],
    [{ pagesize: '500' }, 'CDK context "pagesize" is not a setting of this app (did you mean pageSize?)'],
    // Values CloudFormation or S3 would refuse at deploy time fail at synth.
    [{ logRetentionDays: 100 }, 'CDK context "logRetentionDays" must be one of 1, 3, 5, 7, 14, 30, 60, 90'],
    [{ infrequentAccessAfterDays: 60, glacierAfterDays: 45 }, 'CDK context "glacierAfterDays" must be at least 30 days after infrequentAccessAfterDays (60), got 45'],
    [{ expireAfterDays: 10 }, 'CDK context "expireAfterDays" must be after glacierAfterDays (90), got 10'],
    // The prefix is the function's S3 grant: never a pattern, never the bucket's root.
    [{ exportPrefix: '*' }, 'CDK context "exportPrefix" must not contain * or ?'],
    [{ exportPrefix: 'es?ims' }, 'CDK context "exportPrefix" must not contain * or ?'],
    [{ exportPrefix: '/' }, 'CDK context "exportPrefix" must not start with /'],
    [{ exportPrefix: 'data//esims' }, 'CDK context "exportPrefix" must not contain //'],
    [{ exportPrefix: '' }, 'CDK context "exportPrefix" must name a folder, such as esims, got ""'],
    // Templates that synthesize must deploy, and keep the data.
    [{ exportPrefix: 'x'.repeat(1_000) }, 'CDK context "exportPrefix" is 1000 bytes: with the longest key the export writes below it (400 bytes) a key would pass S3\'s 1024-byte limit; use at most 623 bytes'],
    [{ exportPrefix: 'athena-results' }, 'exportPrefix "athena-results" is where Athena\'s query results go, which are deleted after 30 days'],
    [{ exportPrefix: 'athena-results/esims' }, 'exportPrefix "athena-results/esims" is where Athena\'s query results go'],
    [{ schedule: 'cron(0 2 * * *)' }, 'CDK context "schedule" must be a cron expression of six fields, minutes hours day-of-month month day-of-week year, such as "cron(0 2 * * ? *)" (EventBridge Scheduler\'s form); got 5 fields'],
    [{ schedule: 'cron(0 2 * * * *)' }, 'CDK context "schedule" must have ? as its day-of-month or its day-of-week'],
  ])('rejects bad context %j naming the key', (context, message) => {
    expect(() => synth(context)).toThrow(message);
  });
});

describe('cdk-nag in these tests', () => {
  it('does report a finding that is not acknowledged (so the check above can fail)', () => {
    const app = testApp();
    const stack = new Stack(app, 'Bad');
    new s3.Bucket(stack, 'Open', { enforceSSL: false });
    expect(nagErrors(stack)).toEqual(expect.arrayContaining([expect.stringMatching(/AwsSolutions-S10/)]));
    Validations.of(stack).acknowledge({ id: 'AwsSolutions-S10', reason: 'test' });
    expect(nagErrors(stack).some((finding) => finding.includes('AwsSolutions-S10'))).toBe(false);
  });
});
