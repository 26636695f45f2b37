/**
 * A page body's records as bytes: where each record is, its NDJSON line, its CSV row.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { CSV_COLUMNS, CSV_HEADER, type EncodedRecords, encodeRecords } from '../lambda/core/record-bytes';

const documented = {
  iccid: '89148000004012345678',
  sim_status: 'WAITING_FOR_ASSIGNMENT',
  group: { id: 1001, name: 'Premium, "Group"' },
  inventory: { id: 12345, name: 'US East Inventory' },
  company: { id: 100, name: 'Acme Corp' },
  provisioned_date: 1640995200,
  terminated_date: 0,
  imsis: [{ sponsor_id: 200, imsi: 310260123456789 }],
  mapped_imsi: 310260123456789,
};

const partial = {
  iccid: '8914800000401234567',
  sim_status: 'ACTIVE',
  group: null,
  inventory: 12345,
  company: 100,
  provisioned_date: 1640995200,
  terminated_date: 0,
  imsis: [],
  mapped_imsi: null,
  created_date: 1761330317000,
  modified_date: 1761330318000,
  brand_new_field: { nested: [1, 2] },
};

/** A page body holding `sims`, as the API would send it (or `raw` record texts, exactly). */
const page = (sims: readonly unknown[]): Buffer => Buffer.from(JSON.stringify({ total: sims.length, offset: 0, count: sims.length, sims }));
const rawPage = (records: readonly string[]): Buffer => Buffer.from(`{"total":${records.length},"sims":[${records.join(',')}]}`);

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** The page's CSV rows, checking that `ends` marks each one. */
function csvOf(body: Buffer): string {
  const { bytes, ends } = encodeRecords(body, ['csv']).encoded.csv!;
  expect(ends.at(-1) ?? 0).toBe(bytes.length);
  return text(bytes);
}

/** Each row read back by an RFC 4180 parser, as column → value. */
const rowsOf = (body: Buffer): Record<string, string>[] => parseCsv(CSV_HEADER + csvOf(body), { columns: true }) as Record<string, string>[];

/** The lines of encoded NDJSON, checking that `ends` marks each one. */
function linesOf({ bytes, ends }: EncodedRecords): string[] {
  const lines = text(bytes).split('\n').slice(0, -1);
  expect([...ends]).toEqual(lines.map((_, i) => Buffer.byteLength(lines.slice(0, i + 1).join('\n')) + 1));
  return lines;
}
const ndjsonOf = (body: Buffer): string[] => linesOf(encodeRecords(body, ['ndjson']).encoded.ndjson!);

describe('encodeRecords as NDJSON', () => {
  it('gives each record’s own text, escapes and nesting included', () => {
    const records = [
      { iccid: '1', name: 'quote " and backslash \\ and \\" together', nested: { a: [1, { b: '}]' }] } },
      { iccid: '2', name: '{"not":"a record"}', empty: [] },
    ];
    expect(ndjsonOf(page(records))).toEqual(records.map((record) => JSON.stringify(record)));
  });

  it('keeps every digit of an integer too large for a JavaScript number', () => {
    expect(ndjsonOf(rawPage(['{"iccid":"1","usage_bytes":18446744073709551615}']))).toEqual(['{"iccid":"1","usage_bytes":18446744073709551615}']);
  });

  it('puts a pretty-printed record on one line without changing any value', () => {
    const body = Buffer.from(JSON.stringify({ total: 1, sims: [{ iccid: '1', group: { id: 7, name: 'a\nb' } }] }, null, 2));
    const lines = ndjsonOf(body);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\r\n]/);
    expect(JSON.parse(lines[0]!)).toEqual({ iccid: '1', group: { id: 7, name: 'a\nb' } });
  });

  it('reads only the top-level sims array, the last one if the key repeats (as JSON.parse does)', () => {
    const body = '{"meta":{"sims":[{"iccid":"x"}]},"total":1,"sims":[{"iccid":"w"}],"sims":[{"iccid":"y"}],"after":[{"iccid":"z"}]}';
    expect(ndjsonOf(Buffer.from(body))).toEqual(['{"iccid":"y"}']);
    expect(ndjsonOf(Buffer.from(' { "total" : 0 , "sims" : [ ] } '))).toEqual([]);
  });

  it('encodes each format asked for, with the same records in each', () => {
    const { count, encoded } = encodeRecords(page([documented, partial]), ['ndjson', 'csv']);
    expect(count).toBe(2);
    expect(encoded.ndjson!.ends).toHaveLength(2);
    expect(encoded.csv!.ends).toHaveLength(2);
    expect(Object.keys(encodeRecords(page([documented]), ['csv']).encoded)).toEqual(['csv']);
  });
});

describe('encodeRecords as CSV', () => {
  it('maps the documented shape: ids and names from the objects, imsis as the JSON array', () => {
    expect(rowsOf(page([documented]))).toEqual([
      {
        iccid: '89148000004012345678',
        sim_status: 'WAITING_FOR_ASSIGNMENT',
        group_id: '1001',
        group_name: 'Premium, "Group"',
        inventory_id: '12345',
        inventory_name: 'US East Inventory',
        company_id: '100',
        company_name: 'Acme Corp',
        provisioned_date: '1640995200',
        terminated_date: '0',
        mapped_imsi: '310260123456789',
        imsis: '[{"sponsor_id":200,"imsi":310260123456789}]',
        created_date: '',
        modified_date: '',
      },
    ]);
  });

  it('maps the partial shape: a plain integer is the id, the name is empty, null is an empty cell', () => {
    expect(rowsOf(page([partial]))).toEqual([
      {
        iccid: '8914800000401234567',
        sim_status: 'ACTIVE',
        group_id: '',
        group_name: '',
        inventory_id: '12345',
        inventory_name: '',
        company_id: '100',
        company_name: '',
        provisioned_date: '1640995200',
        terminated_date: '0',
        mapped_imsi: '',
        imsis: '[]',
        created_date: '1761330317000',
        modified_date: '1761330318000',
      },
    ]);
  });

  it('quotes only what needs it, doubling quotes, and ends rows with CRLF', () => {
    const body = page([{ iccid: '1', sim_status: 'A', group: { id: 1, name: 'x, "y"\nz' }, inventory: 2, company: { id: 3, name: '=1+1\t✓' } }]);
    expect(csvOf(body)).toBe('1,A,1,"x, ""y""\nz",2,,3,=1+1\t✓,,,,,,\r\n');
  });

  it('quotes a cell holding a bare line break, so no reader can take it for the end of a row', () => {
    expect(csvOf(page([{ iccid: '1', inventory: { id: 2, name: 'Line\nBreak' } }]))).toBe('1,,,,2,"Line\nBreak",,,,,,,,\r\n');
  });

  it('writes numbers and imsis exactly as the API sent them, less the whitespace between tokens', () => {
    const record = String.raw`{ "iccid" : "1",
      "mapped_imsi": 18446744073709551615, "provisioned_date": 1.50,
      "imsis": [ { "sponsor_id": 200, "imsi": 310260123456789012, "note": "a \"b\", c" } ] }`;
    const [row] = rowsOf(rawPage([record]));
    expect(row).toMatchObject({
      mapped_imsi: '18446744073709551615',
      provisioned_date: '1.50',
      imsis: String.raw`[{"sponsor_id":200,"imsi":310260123456789012,"note":"a \"b\", c"}]`,
    });
  });

  it('reads text and keys the way JSON.parse does: escapes decoded, the last of a repeated key', () => {
    const record = String.raw`{"\u0069ccid":"8914\u0030","sim_status":"OLD","sim_status":"caf\u00e9 \ud83d\udcf6","company":{"id":5,"name":"tab\there"}}`;
    expect(rowsOf(rawPage([record]))).toEqual([expect.objectContaining({ iccid: '89140', sim_status: 'café 📶', company_id: '5', company_name: 'tab\there' })]);
  });

  it('keeps values of an unexpected type: true and false as words, an object or array as its JSON', () => {
    const [row] = rowsOf(page([{ iccid: '1', sim_status: true, group: [1, 2], inventory: {}, company: { name: 'no id' }, terminated_date: { at: 0 } }]));
    expect(row).toMatchObject({
      sim_status: 'true',
      group_id: '[1,2]',
      group_name: '',
      inventory_id: '',
      inventory_name: '',
      company_id: '',
      company_name: 'no id',
      terminated_date: '{"at":0}',
    });
  });

  it('gives the byte offset where each row ends, multi-byte text included', () => {
    const body = page([documented, { iccid: '2', company: { id: 1, name: '株式会社ベータ 📶' } }, partial]);
    const { bytes, ends } = encodeRecords(body, ['csv']).encoded.csv!;
    const rows = [...ends].map((end, i) => text(bytes.subarray(i === 0 ? 0 : ends[i - 1], end)));
    expect(rows.map((row) => parseCsv(row) as string[][]).map(([cells]) => cells![0])).toEqual(['89148000004012345678', '2', '8914800000401234567']);
  });

  it('starts with the contract columns in order', () => {
    expect(CSV_COLUMNS.slice(0, 12)).toEqual([
      'iccid', 'sim_status', 'group_id', 'group_name', 'inventory_id', 'inventory_name',
      'company_id', 'company_name', 'provisioned_date', 'terminated_date', 'mapped_imsi', 'imsis',
    ]);
  });
});
