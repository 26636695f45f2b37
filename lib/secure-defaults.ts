/**
 * Secure settings every bucket of this stack starts from, in one place.
 */
import { CfnResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export function secureBucketProps(): s3.BucketProps {
  return {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    versioned: true,
    // Snapshots are the point of the product: deleting the stack never deletes them.
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

/**
 * Keeps a resource's logical id from version 0.1, when it lived directly in this repository's
 * stack. Stateful and named resources (buckets, the secret, Glue, Athena, the dashboard) must
 * keep theirs, or an update would create a second one beside the first, or fail on its name.
 * Only in that stack (where the construct's id is 'Default'): in your own app, the construct's
 * resources get the ids CDK gives them, so nothing collides with yours.
 */
export function keepLogicalId(resource: Construct, logicalId: string): void {
  const inStack = resource.node.scopes.some((scope) => scope.node.id === 'Default' && scope.node.scope !== undefined && Stack.isStack(scope.node.scope));
  if (!inStack) return;
  const cfn = resource instanceof CfnResource ? resource : (resource.node.defaultChild as CfnResource);
  cfn.overrideLogicalId(logicalId);
}
