/**
 * Athena in the stack: the typed snapshot table, the change sets table, the history view (the
 * SQL DuckDB runs too) and the work group, with partition projection from the first snapshot date.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { historySql } from '../lib/history';
import { synth } from './stack-helpers';
let defaults: Template;
beforeAll(() => {
  defaults = synth({}).template;
});
const template = (): Template => defaults;

describe('Athena in the stack', () => {
  it('defines the typed snapshot table, the change sets table and the history view (no JSON SerDe reads the NDJSON exactly), and a work group with encrypted results', () => {
    // esims_parquet, esims_changes and the view esim_history.
    template().resourceCountIs('AWS::Glue::Table', 3);
    template().hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'esims_changes',
        Parameters: Match.objectLike({ 'storage.location.template': { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^Bucket') }, '/esims/changes/parquet/dt=${dt}/']] } }),
        StorageDescriptor: Match.objectLike({ Columns: Match.arrayWith([{ Name: 'change', Type: 'string' }, { Name: 'changed_fields', Type: 'string' }, { Name: 'iccid', Type: 'string' }]) }),
      }),
    });
    const view = Object.values(template().findResources('AWS::Glue::Table')).find((table) => table.Properties.TableInput.Name === 'esim_history')!;
    expect(view.Properties.TableInput).toMatchObject({ TableType: 'VIRTUAL_VIEW', Parameters: { presto_view: 'true' } });
    const encoded = /^\/\* Presto View: (.+) \*\/$/.exec(view.Properties.TableInput.ViewOriginalText as string)![1]!;
    const presto = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as { originalSql: string; columns: Array<{ name: string; type: string }> };
    // The SQL DuckDB runs in test/history.test.ts, over the Glue table.
    expect(presto.originalSql).toBe(historySql('esim_export.esims_parquet'));
    expect(presto.columns.slice(0, 3)).toEqual([{ name: 'iccid', type: 'varchar' }, { name: 'valid_from', type: 'varchar' }, { name: 'valid_to', type: 'varchar' }]);
    expect(presto.columns).toContainEqual({ name: 'imsis', type: 'array(row(sponsor_id bigint,imsi bigint))' });
    template().hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } }) }),
    });
  });

  it('starts the partitions at the first snapshot date it is given, and keeps tomorrow in range', () => {
    const { template } = synth({ firstSnapshotDate: '2026-11-01' });
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({ Parameters: Match.objectLike({ 'projection.dt.range': '2026-11-01,NOW+1DAYS' }) }),
    });
    expect(() => synth({ firstSnapshotDate: '2026-02-30' })).toThrow('CDK context "firstSnapshotDate" must be a real date YYYY-MM-DD, got "2026-02-30"');
  });

  it('defines the typed table over the Parquet prefix, the one README queries use', () => {
    template().hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'esim_export',
      TableInput: Match.objectLike({
        Name: 'esims_parquet',
        PartitionKeys: [{ Name: 'dt', Type: 'string' }],
        Parameters: Match.objectLike({
          classification: 'parquet',
          'projection.enabled': 'true',
          // From a fixed day, not the deploy date (which would move and hide earlier snapshots).
          'projection.dt.range': '2026-01-01,NOW+1DAYS',
          'storage.location.template': { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^Bucket') }, '/esims/parquet/dt=${dt}/']] },
        }),
        StorageDescriptor: Match.objectLike({
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
          Columns: [
            { Name: 'iccid', Type: 'string' },
            { Name: 'sim_status', Type: 'string' },
            { Name: 'group_id', Type: 'bigint' },
            { Name: 'group_name', Type: 'string' },
            { Name: 'inventory_id', Type: 'bigint' },
            { Name: 'inventory_name', Type: 'string' },
            { Name: 'company_id', Type: 'bigint' },
            { Name: 'company_name', Type: 'string' },
            { Name: 'provisioned_date', Type: 'bigint' },
            { Name: 'terminated_date', Type: 'bigint' },
            { Name: 'mapped_imsi', Type: 'bigint' },
            { Name: 'imsis', Type: 'array<struct<sponsor_id:bigint,imsi:bigint>>' },
            { Name: 'created_date', Type: 'bigint' },
            { Name: 'modified_date', Type: 'bigint' },
            { Name: 'extra', Type: 'string' },
            { Name: 'provisioned_at', Type: 'timestamp' },
            { Name: 'terminated_at', Type: 'timestamp' },
            { Name: 'created_at', Type: 'timestamp' },
            { Name: 'modified_at', Type: 'timestamp' },
          ],
        }),
      }),
    });
  });

});
