/**
 * Your KMS key and CloudWatch Logs: a log group encrypted with a key needs the key's policy to
 * let the Logs service use it for that log group. A key in this app gets the statement here; a
 * key made elsewhere (an ARN) cannot be changed from this stack, so synth warns with what to add.
 */
import { Annotations, Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/** The statement a key's policy needs so CloudWatch Logs can encrypt this stack's log groups. */
function logsKeyStatement(stackName: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: `AllowLogs${stackName.replace(/[^A-Za-z0-9]/g, '')}`,
    principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    // In a key policy, "*" is the key itself.
    resources: ['*'],
    // Only for log groups of this stack (CloudFormation names them after it), as the Logs guide shows.
    conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:${stackName}-*` } },
  });
}

/** Lets CloudWatch Logs use `key` for this stack's log groups, or warns that its policy must. */
export function allowLogs(scope: Construct, key: kms.IKey): void {
  const stackName = Stack.of(scope).stackName;
  const statement = logsKeyStatement(stackName);
  const { statementAdded } = key.addToResourcePolicy(statement, true);
  if (statementAdded) return;
  Annotations.of(scope).addWarningV2(
    'esim-export:key-policy',
    `The KMS key ${key.keyArn} encrypts the logs: its key policy must allow the service principal logs.<region>.amazonaws.com ` +
      `${statement.actions.join(', ')} for log groups arn:aws:logs:<region>:<account>:log-group:${stackName}-* (docs/your-account.md, "Your key").`,
  );
}
