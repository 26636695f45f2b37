/**
 * Athena: a Glue database with two tables partitioned by day with partition projection
 * (queryable right after the first run, no crawler, no MSCK REPAIR): `esims_parquet`, typed,
 * every value of every eSIM. And a work group whose results expire.
 * (aws-cdk-lib has only the L1 Glue resources; the L2 constructs are in the alpha package.)
 */
import { Aws, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TYPED_HIVE_COLUMNS } from '../lambda/core/columns';
import { keepLogicalId } from './secure-defaults';
import { CHANGE_HIVE_COLUMNS, CHANGES_TABLE, historyView, SNAPSHOTS_TABLE } from './history';
import { ATHENA_RESULTS_FOLDER } from './storage';

export interface AthenaTablesProps {
  readonly bucket: s3.IBucket;
  readonly prefix: string;
  readonly databaseName: string;
  /** The first day Athena looks for snapshots (YYYY-MM-DD). */
  readonly firstSnapshotDate: string;
  /** Encrypts the query results (SSE-KMS). @default S3-managed keys */
  readonly encryptionKey?: kms.IKey;
}

/**
 * Days the `dt` partitions span: from the first snapshot's day to tomorrow in UTC, so a
 * snapshot named after today in a time zone ahead of UTC is visible the moment it lands.
 */
const partitionRange = (firstDate: string): string => `${firstDate},NOW+1DAYS`;

/** Partition projection over `dt=YYYY-MM-DD/` folders under `location`. */
function projection(location: string, firstDate: string): Record<string, string> {
  return {
    'projection.enabled': 'true',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': partitionRange(firstDate),
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
    'storage.location.template': `${location}dt=\${dt}/`,
  };
}

export class AthenaTables extends Construct {
  public readonly databaseName: string;
  /** The typed table over the Parquet files. */
  public readonly tableName = SNAPSHOTS_TABLE;
  public readonly workGroupName: string;
  public readonly database: glue.CfnDatabase;
  /** The typed snapshot table (`tableName`), the change sets table and the history view. */
  public readonly parquetTable: glue.CfnTable;
  public readonly changesTable: glue.CfnTable;
  public readonly historyView: glue.CfnTable;
  public readonly workGroup: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, props: AthenaTablesProps) {
    super(scope, id);
    this.databaseName = props.databaseName;

    // The database.
    const database = (this.database = new glue.CfnDatabase(this, 'GlueDatabase', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'esim-export snapshots' },
    }));
    keepLogicalId(database, 'GlueDatabase');

    // No table over the NDJSON. Athena's JSON SerDes cannot read it as the API sends it: the
    // Hive JSON SerDe (Athena's own choice, as Trino implements it) refuses an object in a
    // string column ("must be a scalar json value"), and `group`, `inventory` and `company` are
    // objects in one item shape and plain ids in the other; its bigint reader overflows on
    // 2^64 - 1. The OpenX SerDe reads both, but Athena's documentation warns that its results
    // "can be non-deterministic" (more rows, fewer rows, unexpected nulls). The typed table
    // below holds every value (the raw integers, the names, `extra` with every other field
    // exactly), so it is the one table; the NDJSON stays for DuckDB, jq and pandas.
    // The typed table: the Parquet files, columns as the contract types them.
    const firstDate = props.firstSnapshotDate;
    const typedTable = (id: string, name: string, folder: string, description: string, columns: ReadonlyArray<{ name: string; type: string }>): glue.CfnTable => {
      const location = `s3://${props.bucket.bucketName}/${props.prefix}/${folder}/`;
      const table = new glue.CfnTable(this, id, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: this.databaseName,
        tableInput: {
          name,
          description,
          tableType: 'EXTERNAL_TABLE',
          parameters: { classification: 'parquet', ...projection(location, firstDate) },
          partitionKeys: [{ name: 'dt', type: 'string' }],
          storageDescriptor: {
            location,
            inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
            columns: [...columns],
          },
        },
      });
      table.addResourceDependency(database);
      return table;
    };
    this.parquetTable = typedTable(
      'ParquetTable',
      this.tableName,
      'parquet',
      'One row per eSIM per daily snapshot (Parquet), typed: ids and raw dates bigint, imsis an array of structs, provisioned_at etc. UTC timestamps, extra the JSON text of any other field.',
      TYPED_HIVE_COLUMNS,
    );
    // The change sets, and the history (a view over the snapshots: one row per eSIM version).
    this.changesTable = typedTable(
      'ChangesTable',
      CHANGES_TABLE,
      'changes/parquet',
      "One row per eSIM added, changed or removed since the scope's previous snapshot (Parquet); change, changed_fields, then the snapshot's columns.",
      CHANGE_HIVE_COLUMNS,
    );
    const history = (this.historyView = new glue.CfnTable(this, 'HistoryView', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: historyView(this.databaseName, this.tableName),
    }));
    history.addResourceDependency(database);

    // The work group: results under athena-results/, expired by the bucket's lifecycle.
    const workGroup = (this.workGroup = new athena.CfnWorkGroup(this, 'AthenaWorkGroup', {
      name: `${Stack.of(this).stackName}-esim-export`,
      description: 'Queries over the esim-export snapshots; results kept 30 days.',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${props.bucket.bucketName}/${ATHENA_RESULTS_FOLDER}/`,
          encryptionConfiguration: props.encryptionKey ? { encryptionOption: 'SSE_KMS', kmsKey: props.encryptionKey.keyArn } : { encryptionOption: 'SSE_S3' },
        },
      },
    }));
    keepLogicalId(workGroup, 'AthenaWorkGroup');
    this.workGroupName = workGroup.name;
  }
}
