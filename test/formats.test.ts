/** The encoders: pure, no I/O. The CSV mapping covers both item shapes. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { CSV_COLUMNS, csvEncoder, csvRow } from '../lambda/core/formats/csv';
import { ndjsonEncoder } from '../lambda/core/formats/ndjson';
import { parquetEncoder } from '../lambda/core/formats/parquet';
import { parsePage } from '../lambda/core/api/page';
import type { ApiRecord } from '../lambda/core/record';
import { epochMillis } from '../lambda/core/columns';
import { literal, query } from './duckdb';

const recordOf = (json: string): ApiRecord => parsePage(Buffer.from(`{"total":1,"sims":[${json}]}`)).records[0]!;

const documented = recordOf(
  '{"iccid":"89148000004012345678","sim_status":"WAITING_FOR_ASSIGNMENT","group":{"id":1001,"name":"Premium, \\"Group\\""},' +
    '"inventory":{"id":12345,"name":"US\\nEast"},"company":{"id":100,"name":"Acme Corp"},"provisioned_date":1640995200,' +
    '"terminated_date":0,"imsis":[{"sponsor_id":200,"imsi":310260123456789}],"mapped_imsi":310260123456789}',
);
const partial = recordOf(
  '{"iccid":"89148000004012345679","sim_status":null,"group":null,"inventory":12345,"company":100,"provisioned_date":1640995200,' +
    '"terminated_date":0,"imsis":[],"mapped_imsi":null,"created_date":1761330317000,"modified_date":1761330318000,"extra_field":true}',
);

describe('csvRow', () => {
  it('maps the documented shape: ids and names from the objects, imsis as JSON', () => {
    expect(csvRow(documented)).toEqual([
      '89148000004012345678',
      'WAITING_FOR_ASSIGNMENT',
      '1001',
      'Premium, "Group"',
      '12345',
      'US\nEast',
      '100',
      'Acme Corp',
      '1640995200',
      '0',
      '310260123456789',
      '[{"sponsor_id":200,"imsi":310260123456789}]',
      '',
      '',
      '',
    ]);
  });

  it('maps the newer shape: a plain integer is the id and the name is empty; null is empty', () => {
    expect(csvRow(partial)).toEqual([
      '89148000004012345679',
      '',
      '',
      '',
      '12345',
      '',
      '100',
      '',
      '1640995200',
      '0',
      '',
      '[]',
      '1761330317000',
      '1761330318000',
      '{"extra_field":true}',
    ]);
  });

  it('writes integers beyond 2^53 with the digits the API sent', () => {
    const big = recordOf('{"iccid":"1","mapped_imsi":123456789012345678901,"company":{"id":98765432109876543210,"name":"x"}}');
    const row = csvRow(big);
    expect(row[CSV_COLUMNS.indexOf('mapped_imsi')]).toBe('123456789012345678901');
    expect(row[CSV_COLUMNS.indexOf('company_id')]).toBe('98765432109876543210');
  });
});

describe('csvEncoder', () => {
  it('writes an RFC 4180 header and rows that a CSV parser reads back to the same cells', () => {
    const text = csvEncoder().header + csvEncoder().encode([documented, partial]);
    expect(text.startsWith(`${CSV_COLUMNS.join(',')}\r\n`)).toBe(true);
    expect(parseCsv(text)).toEqual([[...CSV_COLUMNS], csvRow(documented), csvRow(partial)]);
  });

  it('quotes a cell holding a lone line feed or carriage return', () => {
    const line = csvEncoder().encode([recordOf('{"iccid":"1","group":{"id":1,"name":"a\\nb"},"company":{"id":2,"name":"c\\rd"}}')]);
    expect(line).toContain('"a\nb"');
    expect(line).toContain('"c\rd"');
  });
});

describe('ndjsonEncoder', () => {
  it('writes each record as one line holding the same JSON values, unknown fields included', () => {
    const line = ndjsonEncoder().encode([partial]);
    expect((line as string).endsWith('\n')).toBe(true);
    expect((line as string).slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line as string)).toEqual({ ...partial });
  });
});

describe('parquetEncoder', () => {
  const writeParquet = async (records: ApiRecord[]): Promise<{ file: string; warnings: string[] }> => {
    const encoder = parquetEncoder();
    const parts = [encoder.encode(records), encoder.end()].map((part) => Buffer.from(part as Uint8Array));
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'parquet-')), 'esims.parquet');
    await writeFile(file, Buffer.concat(parts));
    return { file, warnings: encoder.warnings() };
  };

  it('stores a value that does not fit its column as null, and warns naming the column and an ICCID', async () => {
    const { file, warnings } = await writeParquet([
      recordOf('{"iccid":"8900000000000000001","mapped_imsi":18446744073709551615,"group":{"id":1.5,"name":"g"},"imsis":"none"}'),
      recordOf('{"iccid":"8900000000000000002","mapped_imsi":310260000000001,"group":7,"imsis":[{"sponsor_id":1,"imsi":2}]}'),
    ]);
    const rows = await query(`SELECT iccid, mapped_imsi, group_id, group_name, imsis FROM read_parquet(${literal(file)})`);
    expect(rows).toEqual([
      { iccid: '8900000000000000001', mapped_imsi: null, group_id: null, group_name: 'g', imsis: null },
      { iccid: '8900000000000000002', mapped_imsi: 310260000000001n, group_id: 7n, group_name: null, imsis: [{ sponsor_id: 1n, imsi: 2n }] },
    ]);
    expect(warnings).toEqual([
      'parquet: 3 value(s) did not fit their column and are null there (group_id 1, e.g. ICCID 8900000000000000001; ' +
        'mapped_imsi 1, e.g. ICCID 8900000000000000001; imsis 1, e.g. ICCID 8900000000000000001); the NDJSON keeps them exactly.',
    ]);
  });

  it('writes an empty file that readers open as zero rows', async () => {
    const { file, warnings } = await writeParquet([]);
    expect(await query(`SELECT count(*) AS n FROM read_parquet(${literal(file)})`)).toEqual([{ n: 0n }]);
    expect(warnings).toEqual([]);
  });
});

describe('epochMillis (the timestamp columns)', () => {
  it.each([
    [null, null],
    [0, null],
    [1, 1000n],
    [1640995200, 1640995200000n],
    [99_999_999_999, 99_999_999_999_000n],
    [100_000_000_000, 100_000_000_000n],
    [1761330317000, 1761330317000n],
    [99_999_999_999_999, 99_999_999_999_999n],
  ])('reads %p as %p ms', (value, millis) => {
    expect(epochMillis(value)).toBe(millis);
  });

  it.each([[-1], [1.5], ['1640995200'], [100_000_000_000_000], [{ seconds: 1 }]])('finds that %p fits neither unit', (value) => {
    expect(epochMillis(value)).toBeUndefined();
  });

  it('stores a time that fits neither unit as null in Parquet and counts it in a warning', async () => {
    const encoder = parquetEncoder();
    encoder.encode([recordOf('{"iccid":"1","created_date":-5,"modified_date":1761330318000}'), recordOf('{"iccid":"2","created_date":1e15}')]);
    encoder.end();
    expect(encoder.warnings()).toEqual([expect.stringMatching(/^parquet: 2 value\(s\) did not fit their column and are null there \(created_at 2, e\.g\. ICCID 1\)/)]);
  });
});
