/**
 * Where snapshots live: a new bucket (encrypted, private, TLS-only, versioned, retained, with
 * access logs and a lifecycle), or an existing one by name, left as it is.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { keepLogicalId, secureBucketProps } from './secure-defaults';

export interface SnapshotStorageProps {
  /** An existing bucket, by name. @default a new bucket */
  readonly bucketName?: string;
  /** Key prefix of the snapshots (the lifecycle rule's scope). */
  readonly prefix: string;
  /** @default 30 */
  readonly infrequentAccessAfterDays?: number;
  /** @default 90 */
  readonly glacierAfterDays?: number;
  /** @default never */
  readonly expireAfterDays?: number;
}

export class SnapshotStorage extends Construct {
  public readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: SnapshotStorageProps) {
    super(scope, id);
    if (props.bucketName) {
      this.bucket = s3.Bucket.fromBucketName(this, 'Bucket', props.bucketName);
      return;
    }

    // The access-log bucket of the snapshots bucket.
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...secureBucketProps(),
      lifecycleRules: [{ expiration: Duration.days(365), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    keepLogicalId(accessLogs, 'AccessLogs8B620ECA');
    Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access-log bucket of the snapshots bucket; logging it into itself would loop.' });

    // The snapshots bucket.
    const bucket = new s3.Bucket(this, 'Bucket', {
      ...secureBucketProps(),
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'snapshots-bucket/',
      lifecycleRules: [
        // A run killed mid-upload leaves invisible parts; S3 deletes them after a day.
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        {
          id: 'age-snapshots',
          prefix: `${props.prefix}/`,
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
    keepLogicalId(bucket, 'Bucket83908E77');
    // A bucket policy replaced under a new id would be deleted after its successor was written.
    keepLogicalId(bucket.policy!, 'BucketPolicyE9A3008A');
    keepLogicalId(accessLogs.policy!, 'AccessLogsPolicyABDC4D2D');
    this.bucket = bucket;
  }
}
