/**
 * Athena: a Glue database with two tables partitioned by day with partition projection
 * (queryable right after the first run, no crawler, no MSCK REPAIR): `esims_parquet`, typed, the
 * one to query; `esims`, the raw NDJSON as the API sent it. And a work group whose results expire.
 * (aws-cdk-lib has only the L1 Glue resources; the L2 constructs are in the alpha package.)
 */
import { Aws, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { JSON_HIVE_COLUMNS } from '../lambda/core/columns';
import { PARQUET_HIVE_COLUMNS } from '../lambda/core/formats/parquet';

export interface AthenaTablesProps {
  readonly bucket: s3.IBucket;
  readonly prefix: string;
  /** @default 'esim_export' */
  readonly databaseName?: string;
}

/**
 * Days the `dt` partitions span: from long before any export to tomorrow in UTC, so a snapshot
 * named after today in a time zone ahead of UTC is visible the moment it lands.
 */
export const PARTITION_RANGE = '2000-01-01,NOW+1DAYS';

/** Partition projection over `dt=YYYY-MM-DD/` folders under `location`. */
function projection(location: string): Record<string, string> {
  return {
    'projection.enabled': 'true',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': PARTITION_RANGE,
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
    'storage.location.template': `${location}dt=\${dt}/`,
  };
}

export class AthenaTables extends Construct {
  public readonly databaseName: string;
  /** The typed table over the Parquet files. */
  public readonly tableName = 'esims_parquet';
  public readonly workGroupName: string;

  constructor(scope: Construct, id: string, props: AthenaTablesProps) {
    super(scope, id);
    this.databaseName = props.databaseName ?? 'esim_export';

    // The database.
    const database = new glue.CfnDatabase(this, 'GlueDatabase', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'esim-export snapshots' },
    });
    database.overrideLogicalId('GlueDatabase');

    // The raw table: the NDJSON, as the API sent it.
    const location = `s3://${props.bucket.bucketName}/${props.prefix}/ndjson/`;
    const table = new glue.CfnTable(this, 'EsimsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: 'esims',
        description: 'One row per eSIM per daily snapshot (NDJSON). group, inventory and company are JSON text or a plain id, as the API sent them.',
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'json', ...projection(location) },
        partitionKeys: [{ name: 'dt', type: 'string' }],
        storageDescriptor: {
          location,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
          // Either item shape: a reference (group, inventory, company) is its JSON text or a plain id.
          columns: [...JSON_HIVE_COLUMNS],
        },
      },
    });
    table.overrideLogicalId('EsimsTable');
    table.addResourceDependency(database);

    // The typed table: the Parquet files, columns as the contract types them.
    const parquetLocation = `s3://${props.bucket.bucketName}/${props.prefix}/parquet/`;
    const parquetTable = new glue.CfnTable(this, 'ParquetTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: this.tableName,
        description: 'One row per eSIM per daily snapshot (Parquet), typed: ids and dates bigint, imsis an array of structs.',
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'parquet', ...projection(parquetLocation) },
        partitionKeys: [{ name: 'dt', type: 'string' }],
        storageDescriptor: {
          location: parquetLocation,
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
          columns: [...PARQUET_HIVE_COLUMNS],
        },
      },
    });
    parquetTable.addResourceDependency(database);

    // The work group: results under athena-results/, expired by the bucket's lifecycle.
    const workGroup = new athena.CfnWorkGroup(this, 'AthenaWorkGroup', {
      name: `${Stack.of(this).stackName}-esim-export`,
      description: 'Queries over the esim-export snapshots; results kept 30 days.',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${props.bucket.bucketName}/athena-results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    workGroup.overrideLogicalId('AthenaWorkGroup');
    this.workGroupName = workGroup.name;
  }
}
