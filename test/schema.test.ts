/**
 * A schema change announced the day it happens: three sandbox days, the second in a changed
 * schema (a field added, one gone, one of another type), the third the same as the second.
 * The manifests record the shape and warn of each difference once; one "Schema Changed" event
 * goes out, for the second day only; DuckDB still reads each day's Parquet and CSV.
 */
import path from 'node:path';
import type { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { FolderDestination } from '../lambda/core/destinations';
import { runsLayout } from '../lambda/core/snapshot/layout';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { announcePending } from '../lambda/snapshot-event';
import { startSandbox } from '../sandbox/server';
import { literal, query } from './duckdb';
import { removeDir, sandboxExport, tempDir } from './helpers';

let out: string;
beforeAll(async () => {
  out = await tempDir();
});
afterAll(async () => {
  await removeDir(out);
});

/** Every event put, by detail type, as the bus would receive them. */
const put: Array<{ type: string; detail: Record<string, unknown> }> = [];
const bus = {
  send: async (command: PutEventsCommand) => {
    for (const entry of command.input.Entries ?? []) put.push({ type: entry.DetailType!, detail: JSON.parse(entry.Detail!) as Record<string, unknown> });
    return { FailedEntryCount: 0, Entries: (command.input.Entries ?? []).map(() => ({ EventId: 'e' })) };
  },
};

describe('a schema change', () => {
  it('is recorded in the manifest, warned of and announced once, the day it happens', async () => {
    const days = [
      [0, '2026-11-25'],
      [1, '2026-11-26'],
      [2, '2026-11-27'],
    ] as const;
    const manifests: Manifest[] = [];
    for (const [day, date] of days) {
      const api = await startSandbox({ size: 600, day, schemaChangeDay: 1 });
      try {
        // With its announcement left in the outbox, as the function's runs do.
        manifests.push(await sandboxExport(api.apiBaseUrl, new FolderDestination(out), { snapshotDate: date }, { announce: true }));
      } finally {
        await api.close();
      }
      await announcePending({ client: bus as never, destination: new FolderDestination(out), bucket: 'b' }, runsLayout(''));
    }
    const [first, changed, same] = manifests as [Manifest, Manifest, Manifest];

    // The shape, as sent: the first day's provisioned_date numbers, the second day's strings.
    expect(Object.keys(first.schema.provisioned_date!)).toEqual(['number']);
    expect(first.schema.provisioned_date!.number!.count).toBe(600);
    expect(Object.keys(changed.schema.provisioned_date!)).toEqual(['string']);
    expect(first.schema['group.id']).toBeDefined();
    expect(first.schema['imsis[].imsi']).toBeDefined();
    expect(first.schema_change).toBeNull();

    expect(changed.schema_change).toMatchObject({
      previous: { snapshot_date: '2026-11-25' },
      added: [{ field: 'network', count: 600 }],
      gone: [{ field: 'mapped_imsi', count: 600 }],
      retyped: [{ field: 'provisioned_date', was: ['number'], now: 'string', count: 600 }],
    });
    const example = changed.schema_change!.retyped[0]!.example;
    expect(changed.schema.iccid!.string!.count).toBe(600);
    expect(example).toMatch(/^\d{19,20}$/);
    const schemaWarnings = changed.warnings.filter((warning) => warning.startsWith('schema: '));
    expect(schemaWarnings).toEqual([
      expect.stringMatching(/^schema: the field "network" appeared since the 2026-11-25 snapshot \(600 eSIMs, e\.g\. \d+\); a field the columns do not know lands in "extra"$/),
      'schema: the field "mapped_imsi" is gone since the 2026-11-25 snapshot (600 eSIMs had it)',
      `schema: the field "provisioned_date" came as string since the 2026-11-25 snapshot, which was number (600 eSIMs, e.g. ${example})`,
    ]);
    expect(same.schema_change).toBeNull();
    expect(same.warnings.filter((warning) => warning.startsWith('schema: '))).toEqual([]);

    // One "Schema Changed" event, for the day it changed, with the differences.
    expect(put.filter((event) => event.type === 'Snapshot Published')).toHaveLength(3);
    const schemaEvents = put.filter((event) => event.type === 'Schema Changed');
    expect(schemaEvents).toHaveLength(1);
    expect(schemaEvents[0]!.detail).toMatchObject({ snapshot_date: '2026-11-26', scope: 'full', added: [{ field: 'network' }], gone: [{ field: 'mapped_imsi' }], retyped: [{ field: 'provisioned_date' }] });

    // Each day still reads right: the new field in extra, the retyped one null in Parquet with a warning, as text in CSV.
    for (const [, date] of days) {
      const parquet = await query(`SELECT count(*) AS n, count(provisioned_date) AS typed, count_if(extra LIKE '%"network"%') AS network FROM read_parquet(${literal(path.join(out, `parquet/dt=${date}/esims.parquet`))})`);
      const csv = await query(`SELECT count(*) AS n FROM read_csv(${literal(path.join(out, `csv/dt=${date}/esims.csv.gz`))}, all_varchar = true)`);
      expect(Number(csv[0]!.n)).toBe(600);
      expect(Number(parquet[0]!.n)).toBe(600);
      if (date === '2026-11-25') expect({ typed: Number(parquet[0]!.typed), network: Number(parquet[0]!.network) }).toEqual({ typed: 600, network: 0 });
      else expect({ typed: Number(parquet[0]!.typed), network: Number(parquet[0]!.network) }).toEqual({ typed: 0, network: 600 });
    }
  });
});
