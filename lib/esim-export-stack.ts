/**
 * The esim-export stack of this repository's app (bin/app.ts): one EsimExport construct
 * (esim-export.ts) and outputs that say where things are and how to run an export by hand.
 * The construct's id is 'Default', which CDK leaves out of logical ids, so every resource keeps
 * the logical id it had when it lived in the stack itself: an update replaces nothing.
 */
import { Aws, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { EsimExport } from './esim-export';
import type { EsimExportProps } from './props';

export interface EsimExportStackProps extends StackProps, EsimExportProps {}

export class EsimExportStack extends Stack {
  public readonly export: EsimExport;

  constructor(scope: Construct, id: string, props: EsimExportStackProps = {}) {
    super(scope, id, props);
    this.export = new EsimExport(this, 'Default', props);
    const { bucket, prefix, secret, stateMachine, function: fn, athena, schedule, operations } = this.export;

    // Outputs: where things are, and how to run it by hand.
    new CfnOutput(this, 'BucketName', { value: bucket.bucketName });
    new CfnOutput(this, 'ExportPrefix', { value: `s3://${bucket.bucketName}/${prefix}/` });
    new CfnOutput(this, 'SecretName', { value: secret.secretName, description: 'Put {"apiKey": "...", "userId": "..."} here.' });
    new CfnOutput(this, 'PutSecretCommand', {
      value: `aws secretsmanager put-secret-value --secret-id ${secret.secretArn} --secret-string '{"apiKey":"YOUR_KEY","userId":"YOUR_USER_ID"}'`,
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
    new CfnOutput(this, 'FunctionRoleArn', {
      value: this.export.exporter.role.roleArn,
      description: "The function's role: name it in the policy of a bucket or KMS key in another account (docs/your-account.md, Your bucket).",
    });
    new CfnOutput(this, 'ConsoleTestLink', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/lambda/home?region=${Aws.REGION}#/functions/${fn.functionName}?tab=testing`,
    });
    new CfnOutput(this, 'InvokeCommand', {
      value: `aws lambda invoke --function-name ${fn.functionName} --cli-binary-format raw-in-base64-out --cli-read-timeout 0 --payload '{}' manifest.json`,
    });
    new CfnOutput(this, 'AthenaTable', { value: `${athena.databaseName}.${athena.tableName}`, description: 'Typed (Parquet): every value of every eSIM, partitioned by dt.' });
    new CfnOutput(this, 'AthenaWorkGroupName', { value: athena.workGroupName });
    new CfnOutput(this, 'ScheduleName', { value: schedule.schedule.scheduleName });
    new CfnOutput(this, 'FunctionLogGroupName', { value: this.export.exporter.logGroup.logGroupName, description: "The function's logs: structured JSON, each line with the request id." });
    new CfnOutput(this, 'StateMachineLogGroupName', { value: this.export.runner.logGroup.logGroupName, description: "Every state machine execution's transitions." });
    new CfnOutput(this, 'DashboardLink', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${operations.dashboard.dashboardName}`,
    });
  }
}
