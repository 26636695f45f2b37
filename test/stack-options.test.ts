/**
 * Deploying into the account you have: your bucket (in this account or another), your KMS key,
 * your VPC, each alone and all together, from CDK context and from objects given to the
 * construct. The function role's statements exactly, the encryption settings, the key's
 * policy, cdk-nag, and no wildcard grant the default stack does not have.
 */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { EsimExport } from '../lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ENV, fromContext, functionEnvironment, functionStatements, inYourStack, nagErrors, testApp, wildcardGrants } from './stack-helpers';

const KEY_ARN = 'arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const LAKE_ACCOUNT = '210987654321';

const viaService = (service: string) => ({ StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.amazonaws.com']] } } });

let defaults: Stack;
beforeAll(() => {
  defaults = fromContext({});
});

describe("this repository's stack, now the construct and its outputs", () => {
  it('keeps every logical id it had before the construct, so an update replaces nothing', () => {
    const ids = Object.keys(Template.fromStack(defaults).toJSON().Resources as object).sort();
    expect(ids).toEqual([
      'AccessLogs8B620ECA',
      'AccessLogsPolicyABDC4D2D',
      'AlarmsPolicy5C860CFE',
      'AthenaChangesTableD4276692',
      'AthenaHistoryView81406BBC',
      'AthenaParquetTable6B638151',
      'AthenaWorkGroup',
      'Bucket83908E77',
      'BucketPolicyE9A3008A',
      'Dashboard9E4231ED',
      'ExportFunctionC5F39E2E',
      'ExportFunctionEventInvokeConfigEB77B653',
      'ExportFunctionRole5688206B',
      'ExportFunctionRoleDefaultPolicy540E1B0F',
      'FailedRuns6F7FC7C6',
      'FailedRunsPolicyE1DA5ACD',
      'FunctionLogsAE28C13D',
      'GlueDatabase',
      'OperationsAlarms65F99440',
      'OperationsAnnouncementFailedAlarm68EB6E05',
      'OperationsExecutionFailedAlarm9F5A2A16',
      'OperationsFailedRunsQueueAlarmA259C23F',
      'OperationsRunFailedAlarm38DD4A66',
      'OperationsStaleSnapshotAlarmA2850948',
      'RunnerExecutionLogs55552103',
      'RunnerStateMachine7E73C3DD',
      'RunnerStateMachineRole9843EE4D',
      'RunnerStateMachineRoleDefaultPolicyA2E1493D',
      'Schedule251B1F83',
      'ScheduleScheduleRole9D5D633C',
      'ScheduleScheduleRoleDefaultPolicy5CE37FD9',
      'SecretA720EF05'
    ]);
  });

  it('exposes what it made, for your own wiring', () => {
    const app = testApp();
    const stack = new Stack(app, 'Lake', { env: ENV });
    const esims = new EsimExport(stack, 'Esims');
    const template = Template.fromStack(stack);
    const idOf = (construct: IConstruct): string => stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
    const made: Array<[IConstruct, string]> = [
      [esims.bucket, 'AWS::S3::Bucket'],
      [esims.secret, 'AWS::SecretsManager::Secret'],
      [esims.function, 'AWS::Lambda::Function'],
      [esims.stateMachine, 'AWS::StepFunctions::StateMachine'],
      [esims.alarmTopic, 'AWS::SNS::Topic'],
      [esims.exporter.role, 'AWS::IAM::Role'],
      [esims.athena.database, 'AWS::Glue::Database'],
      [esims.athena.parquetTable, 'AWS::Glue::Table'],
      [esims.athena.changesTable, 'AWS::Glue::Table'],
      [esims.athena.historyView, 'AWS::Glue::Table'],
      [esims.athena.workGroup, 'AWS::Athena::WorkGroup'],
    ];
    for (const [construct, type] of made) expect([idOf(construct), template.toJSON().Resources[idOf(construct)]?.Type]).toEqual([idOf(construct), type]);
    expect(esims.prefix).toBe('esims');
    expect(esims.encryptionKey).toBeUndefined();
  });

  it('gives the construct in your stack ids of its own, so two apps never share one', () => {
    const ids = Object.keys(Template.fromStack(inYourStack(() => ({}))).toJSON().Resources as object);
    expect(ids.filter((id) => !id.startsWith('Esims'))).toEqual([]);
  });
});

describe('your KMS key', () => {
  it('by ARN: encrypts the new bucket (with a Bucket Key), the secret, both log groups and Athena results; the function may use it through S3 and Secrets Manager only', () => {
    const stack = fromContext({ kmsKeyArn: KEY_ARN });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY_ARN } }] },
      LoggingConfiguration: Match.anyValue(),
    });
    // The access-log bucket stays SSE-S3: the one encryption S3 server access logging delivers to.
    template.hasResourceProperties('AWS::S3::Bucket', { BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] }, LoggingConfiguration: Match.absent() });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: KEY_ARN });
    expect(Object.values(template.findResources('AWS::Logs::LogGroup')).map((group) => (group as { Properties: { KmsKeyId?: string } }).Properties.KmsKeyId)).toEqual([KEY_ARN, KEY_ARN]);
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: KEY_ARN } }) }),
    });
    expect(functionEnvironment(stack)).toMatchObject({ KMS_KEY_ARN: KEY_ARN });
    const statements = functionStatements(stack);
    expect(statements.filter((statement) => [statement.Action].flat().some((action) => action.startsWith('kms:')))).toEqual([
      { Sid: 'EncryptSnapshots', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: KEY_ARN, Condition: viaService('s3') },
      { Sid: 'DecryptSecret', Effect: 'Allow', Action: 'kms:Decrypt', Resource: KEY_ARN, Condition: viaService('secretsmanager') },
    ]);
    // A key made elsewhere: synth says what its policy must allow for the logs.
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('key policy must allow the service principal logs'))).toHaveLength(1);
    expect(nagErrors(stack)).toEqual([]);
  });

  it('as an object of your app: its policy lets CloudWatch Logs use it for this stack’s log groups only, and synth warns of nothing', () => {
    const stack = inYourStack((scope) => ({ encryptionKey: new kms.Key(scope, 'LakeKey', { enableKeyRotation: true }) }));
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowLogsLake',
            Effect: 'Allow',
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
            Resource: '*',
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:Lake-*']] },
              },
            },
          },
        ]),
      },
    });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('key policy'))).toEqual([]);
    expect(nagErrors(stack)).toEqual([]);
  });

  it('without one, nothing changes: SSE-S3, no key in the environment, no kms action', () => {
    const template = Template.fromStack(defaults);
    template.resourcePropertiesCountIs('AWS::S3::Bucket', { BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }, 2);
    expect(functionEnvironment(defaults)).not.toHaveProperty('KMS_KEY_ARN');
    expect(JSON.stringify(functionStatements(defaults))).not.toContain('kms:');
  });
});

describe('your bucket', () => {
  it('in another account, by ARN: no bucket created, rights under the prefix only, objects owned by the bucket’s account', () => {
    const stack = fromContext({ bucketName: 'arn:aws:s3:::central-lake', bucketAccount: LAKE_ACCOUNT, exportPrefix: 'raw/betatel' });
    Template.fromStack(stack).resourceCountIs('AWS::S3::Bucket', 0);
    expect(functionEnvironment(stack)).toMatchObject({ BUCKET_NAME: 'central-lake', BUCKET_OWNER: LAKE_ACCOUNT, EXPORT_PREFIX: 'raw/betatel' });
    const s3Statements = functionStatements(stack).filter((statement) => [statement.Action].flat().some((action) => action.startsWith('s3:')));
    expect(s3Statements).toEqual([
      {
        Sid: 'WriteSnapshots',
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject', 's3:PutObjectAcl'],
        Resource: 'arn:aws:s3:::central-lake/raw/betatel/*',
      },
      { Sid: 'ListOwnManifests', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::central-lake', Condition: { StringLike: { 's3:prefix': ['raw/betatel/*'] } } },
    ]);
    expect(nagErrors(stack)).toEqual([]);
  });

  it('as an object made for another account: its account is the owner the function checks', () => {
    const stack = inYourStack((scope) => ({ existingBucket: s3.Bucket.fromBucketAttributes(scope, 'Lake', { bucketName: 'central-lake', account: LAKE_ACCOUNT }) }));
    expect(functionEnvironment(stack)).toMatchObject({ BUCKET_NAME: 'central-lake', BUCKET_OWNER: LAKE_ACCOUNT });
    expect(nagErrors(stack)).toEqual([]);
  });

  it('as an object of your app, encrypted with your key: uses that key', () => {
    const stack = inYourStack((scope) => {
      const key = new kms.Key(scope, 'LakeKey', { enableKeyRotation: true });
      return { existingBucket: new s3.Bucket(scope, 'Lake', { encryption: s3.BucketEncryption.KMS, encryptionKey: key, enforceSSL: true }) };
    });
    expect(functionEnvironment(stack)).toMatchObject({ KMS_KEY_ARN: { 'Fn::GetAtt': [expect.stringMatching(/^LakeKey/), 'Arn'] } });
    expect(functionEnvironment(stack)).not.toHaveProperty('BUCKET_OWNER');
    expect(JSON.stringify(functionStatements(stack))).not.toContain('s3:PutObjectAcl');
  });
});

describe('your VPC', () => {
  it('by ids: the function in those subnets with a security group of its own, and AWS’s policy for its network interfaces', () => {
    const stack = fromContext({ vpcId: 'vpc-0abc12345def67890', subnetIds: 'subnet-0abc1234,subnet-0def5678' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: ['subnet-0abc1234', 'subnet-0def5678'], SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('SecurityGroup'), 'GroupId'] }] },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-0abc12345def67890', SecurityGroupIngress: Match.absent() });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] }),
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole']] }],
    });
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    expect(nagErrors(stack)).toEqual([]);
  });

  it('as an object: its private subnets, and your security groups when given', () => {
    const stack = inYourStack((scope) => {
      const vpc = new ec2.Vpc(scope, 'Net', { maxAzs: 2, natGateways: 1 });
      return { vpc, securityGroups: [new ec2.SecurityGroup(scope, 'Egress', { vpc })] };
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SubnetIds: [{ Ref: Match.stringLikeRegexp('NetPrivateSubnet1') }, { Ref: Match.stringLikeRegexp('NetPrivateSubnet2') }],
        SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Egress'), 'GroupId'] }],
      },
    });
  });
});

describe('all together: a bucket in another account, your key and your VPC', () => {
  const context = {
    bucketName: 'central-lake',
    bucketAccount: LAKE_ACCOUNT,
    kmsKeyArn: KEY_ARN,
    vpcId: 'vpc-0abc12345def67890',
    subnetIds: ['subnet-0abc1234', 'subnet-0def5678'],
    securityGroupIds: 'sg-0abc12345def67890',
    httpsProxy: 'http://proxy.internal:3128',
  };

  it('gives the function exactly these rights', () => {
    const stack = fromContext(context);
    const statements = functionStatements(stack).map(({ Sid, Action, Condition }) => ({ Sid, Action, Condition }));
    expect(statements).toEqual([
      { Sid: undefined, Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Condition: undefined },
      { Sid: undefined, Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Condition: undefined },
      { Sid: undefined, Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Condition: undefined },
      { Sid: undefined, Action: 'events:PutEvents', Condition: undefined },
      { Sid: 'WriteSnapshots', Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject', 's3:PutObjectAcl'], Condition: undefined },
      { Sid: 'ListOwnManifests', Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['esims/*'] } } },
      { Sid: 'EncryptSnapshots', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Condition: viaService('s3') },
      { Sid: 'DecryptSecret', Action: 'kms:Decrypt', Condition: viaService('secretsmanager') },
    ]);
    expect(functionEnvironment(stack)).toMatchObject({ BUCKET_NAME: 'central-lake', BUCKET_OWNER: LAKE_ACCOUNT, KMS_KEY_ARN: KEY_ARN, HTTPS_PROXY: 'http://proxy.internal:3128' });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { VpcConfig: { SubnetIds: context.subnetIds, SecurityGroupIds: ['sg-0abc12345def67890'] } });
    Template.fromStack(stack).resourceCountIs('AWS::EC2::SecurityGroup', 0);
    expect(nagErrors(stack)).toEqual([]);
  });

  it('adds no wildcard grant the default stack does not have', () => {
    expect(wildcardGrants(fromContext(context))).toEqual(wildcardGrants(defaults));
    expect(wildcardGrants(inYourStack((scope) => ({ existingBucket: s3.Bucket.fromBucketName(scope, 'Lake', 'central-lake'), encryptionKey: new kms.Key(scope, 'K', { enableKeyRotation: true }), vpc: new ec2.Vpc(scope, 'Net') })))).toEqual(wildcardGrants(defaults));
  });
});

describe('the settings, checked as context and as props', () => {
  it.each([
    [{ kmsKeyArn: 'alias/lake' }, 'CDK context "kmsKeyArn" must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (not an alias), got "alias/lake"'],
    [{ bucketAccount: 'lake' }, 'CDK context "bucketAccount" must be a 12-digit AWS account id, got "lake"'],
    [{ bucketName: 'central-lake/raw' }, 'CDK context "bucketName" must be a bucket name or ARN such as my-lake or arn:aws:s3:::my-lake (the folder in it is exportPrefix)'],
    [{ vpcId: 'vpc-0abc12345def67890' }, 'CDK context "vpcId" and "subnetIds" go together'],
    [{ subnetIds: 'subnet-0abc1234' }, 'CDK context "vpcId" and "subnetIds" go together'],
    [{ vpcId: 'vpc-0abc12345def67890', subnetIds: 'sub-1' }, 'CDK context "subnetIds" must be a list of subnet ids such as subnet-0abc1234,subnet-0def5678, got "sub-1"'],
    [{ vpcId: 'vpc-0abc12345def67890', subnetIds: 'subnet-0abc1234', securityGroupIds: 'default' }, 'CDK context "securityGroupIds" must be a list of sg ids'],
    [{ bucketAccount: LAKE_ACCOUNT }, 'bucketAccount names the owner of your bucket: give the bucket too (bucketName or existingBucket), or leave bucketAccount out'],
    [{ httpsProxy: 'proxy:3128' }, 'CDK context "httpsProxy" must be a proxy URL such as http://proxy.internal:3128, with no user or password'],
  ])('refuses %j in one line naming it', (context, message) => {
    expect(() => fromContext(context)).toThrow(message);
  });

  it('refuses a second EsimExport in one stack, whose names would collide, saying what to do', () => {
    const stack = inYourStack(() => ({}));
    expect(() => new EsimExport(stack, 'Again', {})).toThrow(
      'Lake already has an EsimExport (Lake/Esims): its secret, state machine, Athena work group and dashboard are named after the stack, so a second one would take the same names. Put it in a stack of its own.',
    );
  });

  it('names the Glue database after the stack, so two stacks in one account and region do not collide', () => {
    const database = (stack: Stack): unknown => Object.values(Template.fromStack(stack).findResources('AWS::Glue::Database'))[0]?.Properties?.DatabaseInput?.Name;
    expect(database(inYourStack(() => ({})))).toBe('esim_export_lake');
    expect(database(defaults)).toBe('esim_export');
    expect(database(inYourStack(() => ({ glueDatabaseName: 'lake_esims' })))).toBe('lake_esims');
  });

  it('refuses a key of another region than the stack’s, naming both', () => {
    expect(() => inYourStack(() => ({ kmsKeyArn: KEY_ARN.replace('eu-west-1', 'us-east-1') }))).toThrow(
      'kmsKeyArn is a key of us-east-1, but the stack deploys to eu-west-1: S3 and the function use a key of their own region; give a key of eu-west-1.',
    );
  });

  it('never repeats a proxy password it refuses', () => {
    expect(() => fromContext({ httpsProxy: 'http://me:hunter2@proxy.internal:3128' })).toThrow(/^CDK context "httpsProxy" must be a proxy URL[^@]*$/);
  });

  it('refuses two names for one thing, and a bad value given in code', () => {
    expect(() => inYourStack((scope) => ({ existingBucket: s3.Bucket.fromBucketName(scope, 'Lake', 'central-lake'), bucketName: 'other' }))).toThrow(
      'give existingBucket or bucketName, not both: they name the same thing',
    );
    expect(() => inYourStack(() => ({ memorySize: 64 }))).toThrow('EsimExport prop "memorySize" must be a whole number from 128 to 10240, got 64');
  });
});
