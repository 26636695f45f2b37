/**
 * The export function: the export core (lambda/handler.ts) bundled by local esbuild, with its
 * own log group, a least-privilege role and a queue for the runs that failed for good.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Aws, Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
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
  readonly prefix: string;
  /** The bucket's account, when another: objects are written bucket-owner-full-control (s3:PutObjectAcl). */
  readonly bucketOwner?: string;
  /** The key objects and logs are encrypted with. @default none */
  readonly encryptionKey?: kms.IKey;
  /** @default no VPC */
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly secret: secretsmanager.ISecret;
  /** The function's settings, as environment variables (settingsEnvironment, lambda/core/settings). */
  readonly environment: Readonly<Record<string, string>>;
  /** Lambda memory in MB (the settings table's default: 1024). */
  readonly memorySize: number;
  readonly logRetentionDays: number;
  /** The bus "Snapshot Published" events go to. @default the account's default bus */
  readonly eventBusName?: string;
}

/**
 * The function's code. An app run from this repository bundles the TypeScript source at synth
 * (with the local esbuild), so the tests deploy what they test. An app that installed the
 * package (a folder, a tarball, a git URL) takes the bundle the package ships (dist/function,
 * built by `npm run build:function` on install and pack): nothing to bundle, no esbuild, and no
 * entry outside the app's folder, which a folder installed as a link would be.
 */
function functionCode(): { entry: string } | { bundle: string } {
  const source = path.join(__dirname, '..', 'lambda', 'handler.ts');
  if (existsSync(source) && !path.relative(process.cwd(), source).startsWith('..')) return { entry: source };
  const shipped = path.join(__dirname, '..', '..', 'function');
  if (existsSync(path.join(shipped, 'index.js'))) return { bundle: shipped };
  return { entry: [source, path.join(__dirname, '..', 'lambda', 'handler.js')].find((file) => existsSync(file))! };
}

export class ExportFunction extends Construct {
  public readonly function: lambda.Function;
  /** The function's role: name it in the policy of a bucket or key in another account. */
  public readonly role: iam.Role;
  /** Runs that failed every retry, and scheduled runs that could not be delivered. */
  public readonly failedRuns: sqs.Queue;
  /** The function's log group: structured JSON, one line per event, each with the request id. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ExportFunctionProps) {
    super(scope, id);

    // Its logs, kept as long as configured.
    const logGroup = (this.logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    }));
    keepLogicalId(logGroup, 'FunctionLogsAE28C13D');

    // Its role, granted below exactly what it needs.
    const role = (this.role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'esim-export: read the Betatel secret, write snapshots under the export prefix, write its own logs.',
    }));

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
    const functionProps = {
      description: 'Exports every Betatel eSIM into dated snapshots in S3.',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      // /tmp for the change set's comparison: both days' entries (a key of the ICCID, a line
      // hash, an ordinal) in bucket files, 20 bytes an eSIM a side, and the earlier lines of the
      // changed eSIMs (about 480 MB at 10,000,000, 2% changed); 512 MB is Lambda's default.
      ephemeralStorageSize: Size.mebibytes(2048),
      timeout: Duration.minutes(15),
      role,
      logGroup,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
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
    } satisfies Omit<lambda.FunctionProps, 'code' | 'handler'>;
    const code = functionCode();
    this.function =
      'bundle' in code
        ? new lambda.Function(this, 'Function', { ...functionProps, code: lambda.Code.fromAsset(code.bundle), handler: 'index.handler' })
        : new nodejs.NodejsFunction(this, 'Function', {
            ...functionProps,
            entry: code.entry,
            handler: 'handler',
            // Everything bundled, AWS SDK included: the code runs with the versions it was tested
            // with (the shipped bundle is built with the same options: package.json build:function).
            bundling: { bundleAwsSDK: true, minify: true, sourceMap: true, target: 'node24', forceDockerBundling: false },
          });

    // Least privilege: its own logs, that one secret, and writes under the export prefix only.
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    props.secret.grantRead(role);
    events.EventBus.fromEventBusName(this, 'EventBus', props.eventBusName ?? 'default').grantPutEventsTo(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        // Put: snapshots, checkpoints, the lock. Get: checkpoints, the lock, copy sources.
        // Delete: staged files, and a rerun's files that its manifest no longer lists.
        // PutObjectAcl: the bucket-owner-full-control of every object in another account's bucket.
        sid: 'WriteSnapshots',
        actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload', ...(props.bucketOwner ? ['s3:PutObjectAcl'] : [])],
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
    if (props.encryptionKey) {
      // S3 asks for a data key on a write and decrypts on a read, a copy and a multipart upload's
      // completion, on the caller's behalf: that key, through S3 only. (The secret's own grant,
      // through Secrets Manager, comes with grantRead above.)
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'EncryptSnapshots',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [props.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }
    if (props.secret.encryptionKey) {
      // The secret's key, through Secrets Manager only (CDK's grantRead adds none for a key it imported).
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DecryptSecret',
          actions: ['kms:Decrypt'],
          resources: [props.secret.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }
    if (props.vpc) {
      // Lambda creates and deletes the function's network interfaces with its role: AWS's own
      // policy for it (ec2:CreateNetworkInterface and the Describe* actions have no narrower resource).
      role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: "A function in a VPC needs ec2:CreateNetworkInterface and its Describe actions, which support no narrower resource; AWS's managed policy is the documented minimum.",
      });
    }
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagName(Stack.of(this), props.bucket.arnForObjects(`${props.prefix}/*`))}]`,
      reason: 'Snapshot keys are dated (dt=YYYY-MM-DD) and staged runs have ids, so the grant needs a wildcard; it is confined to the export prefix.',
    });
  }
}

/** How cdk-nag names a resource of a finding: `<Logical.Arn>/…` for an attribute, `<AWS::Partition>` for a pseudo parameter. */
function nagName(stack: Stack, value: string): string {
  const render = (part: unknown): string => {
    if (typeof part === 'string') return part;
    const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
    if (token.Ref) return `<${token.Ref}>`;
    if (token['Fn::GetAtt']) return `<${token['Fn::GetAtt'].join('.')}>`;
    if (token['Fn::Join']) return token['Fn::Join'][1].map(render).join(token['Fn::Join'][0]);
    return JSON.stringify(part);
  };
  return render(stack.resolve(value));
}
