/**
 * Where snapshots live: a new bucket (encrypted, private, TLS-only, versioned, retained, with
 * access logs and a lifecycle), or yours (an object, a name or an ARN), left as it is.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { keepLogicalId, secureBucketProps } from './secure-defaults';

/** Where Athena's query results go in the export's bucket, deleted after 30 days: never the export's prefix. */
export const ATHENA_RESULTS_FOLDER = 'athena-results';

export interface SnapshotStorageProps {
  /** Your bucket. @default a new bucket */
  readonly existingBucket?: s3.IBucket;
  /** Your bucket by name, in `bucketAccount`. @default a new bucket */
  readonly bucketName?: string;
  /** @default this account */
  readonly bucketAccount?: string;
  /** Encrypts a new bucket (SSE-KMS, with an S3 Bucket Key). @default S3-managed keys */
  readonly encryptionKey?: kms.IKey;
  /** Key prefix of the snapshots (the lifecycle rule's scope). */
  readonly prefix: string;
  readonly infrequentAccessAfterDays: number;
  readonly glacierAfterDays: number;
  /** @default never */
  readonly expireAfterDays?: number;
}

export class SnapshotStorage extends Construct {
  public readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: SnapshotStorageProps) {
    super(scope, id);
    if (props.existingBucket) {
      this.bucket = props.existingBucket;
      return;
    }
    if (props.bucketName) {
      this.bucket = s3.Bucket.fromBucketAttributes(this, 'Bucket', { bucketName: props.bucketName, account: props.bucketAccount });
      return;
    }

    // The access-log bucket of the snapshots bucket: SSE-S3 whatever the key, the one encryption
    // S3 server access logging delivers to.
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...secureBucketProps(),
      lifecycleRules: [{ expiration: Duration.days(365), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    keepLogicalId(accessLogs, 'AccessLogs8B620ECA');
    Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access-log bucket of the snapshots bucket; logging it into itself would loop.' });

    // The snapshots bucket.
    const bucket = new s3.Bucket(this, 'Bucket', {
      ...secureBucketProps(),
      // The Bucket Key: S3 asks KMS for a bucket-level key now and then, not for every object.
      ...(props.encryptionKey && { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }),
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'snapshots-bucket/',
      lifecycleRules: [
        // A run killed mid-upload leaves invisible parts; S3 deletes them after a day.
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        {
          id: 'age-snapshots',
          prefix: `${props.prefix}/`,
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(props.infrequentAccessAfterDays) },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(props.glacierAfterDays) },
          ],
          // Versions replaced by a same-day re-run are kept a while for recovery, then go.
          noncurrentVersionExpiration: Duration.days(30),
          ...(props.expireAfterDays !== undefined && { expiration: Duration.days(props.expireAfterDays) }),
        },
        { id: 'expire-athena-results', prefix: `${ATHENA_RESULTS_FOLDER}/`, expiration: Duration.days(30) },
      ],
    });
    keepLogicalId(bucket, 'Bucket83908E77');
    // A bucket policy replaced under a new id would be deleted after its successor was written.
    keepLogicalId(bucket.policy!, 'BucketPolicyE9A3008A');
    keepLogicalId(accessLogs.policy!, 'AccessLogsPolicyABDC4D2D');
    this.bucket = bucket;
  }
}
