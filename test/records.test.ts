import { parse as parseCsv } from 'csv-parse/sync';
import { CSV_COLUMNS, CSV_HEADER, type EncodedRecords, parsePage, scanRecords, statusOf, toCsvRow } from '../lambda/core/records';

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

const body = (sims: unknown[], total = sims.length): Buffer => Buffer.from(JSON.stringify({ total, offset: 0, count: sims.length, sims }));

/** The lines of encoded NDJSON, checking that `ends` marks each one. */
function linesOf({ bytes, ends }: EncodedRecords): string[] {
  const text = Buffer.from(bytes).toString('utf8');
  const lines = text.split('\n').slice(0, -1);
  expect([...ends]).toEqual(lines.map((_, i) => Buffer.byteLength(lines.slice(0, i + 1).join('\n')) + 1));
  return lines;
}

describe('parsePage', () => {
  it('returns the total and every record with unknown fields kept', () => {
    const page = parsePage(body([documented, partial], 250));
    expect(page.total).toBe(250);
    expect(page.sims).toEqual([documented, partial]);
    expect(page.stringify(page.sims[1])).toBe(JSON.stringify(partial));
    expect(linesOf(page.ndjson)).toEqual([JSON.stringify(documented), JSON.stringify(partial)]);
  });

  it('keeps integers beyond 2^53 exactly when writing the record back', () => {
    const raw = `{"total":1,"sims":[{"iccid":"89148000004012345678","usage_bytes":18446744073709551615,"mapped_imsi":310260123456789}]}`;
    const page = parsePage(Buffer.from(raw));
    expect(page.stringify(page.sims[0])).toBe('{"iccid":"89148000004012345678","usage_bytes":18446744073709551615,"mapped_imsi":310260123456789}');
    expect(page.sims[0]!.mapped_imsi).toBe(310260123456789);
  });

  it.each([
    ['a truncated body', '{"total":10,"sims":[{"iccid":"1"', /not valid JSON/],
    ['an HTML page', '<html><body>Maintenance</body></html>', /not valid JSON/],
    ['a body without sims', '{"total":10}', /sims/],
    ['a record without an iccid', '{"total":1,"sims":[{"sim_status":"ACTIVE"}]}', /sims\.0: iccid must be a string/],
    ['a record that is not an object', '{"total":1,"sims":[42]}', /sims\.0: must be an object/],
    ['a numeric status', '{"total":1,"sims":[{"iccid":"1","sim_status":3}]}', /sims\.0: sim_status must be a string/],
    ['a numeric iccid', '{"total":1,"sims":[{"iccid":8914}]}', /iccid must be a string/],
    ['a negative total', '{"total":-1,"sims":[]}', /total/],
  ])('rejects %s with a message saying what is wrong', (_name, raw, message) => {
    expect(() => parsePage(Buffer.from(raw))).toThrow(message);
  });
});

describe('toCsvRow', () => {
  const stringify = (value: unknown): string => JSON.stringify(value);
  /** The row read back by an RFC 4180 parser, as column → value. */
  const rowOf = (record: Record<string, unknown>): Record<string, string> =>
    (parseCsv(CSV_HEADER + toCsvRow(record as { iccid: string }, stringify), { columns: true }) as Record<string, string>[])[0]!;

  it('maps the documented shape: ids and names from the objects, imsis as the JSON array', () => {
    expect(rowOf(documented)).toEqual({
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
    });
  });

  it('maps the partial shape: a plain integer is the id, the name is empty, null is an empty cell', () => {
    expect(rowOf(partial)).toEqual({
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
    });
  });

  it('quotes only what needs it, doubling quotes, and ends rows with CRLF', () => {
    const row = toCsvRow({ iccid: '1', sim_status: 'A', group: { id: 1, name: 'x, "y"\nz' }, inventory: 2, company: { id: 3, name: '=1+1\t✓' } }, stringify);
    expect(row).toBe('1,A,1,"x, ""y""\nz",2,,3,=1+1\t✓,,,,,,\r\n');
  });

  it('quotes a field holding a bare line break, so no reader can take it for the end of a row', () => {
    expect(toCsvRow({ iccid: '1', inventory: { id: 2, name: 'Line\nBreak' } }, stringify)).toBe('1,,,,2,"Line\nBreak",,,,,,,,\r\n');
  });

  it('starts with the contract columns in order', () => {
    expect(CSV_COLUMNS.slice(0, 12)).toEqual([
      'iccid', 'sim_status', 'group_id', 'group_name', 'inventory_id', 'inventory_name',
      'company_id', 'company_name', 'provisioned_date', 'terminated_date', 'mapped_imsi', 'imsis',
    ]);
  });
});

describe('statusOf', () => {
  it('counts an unknown status as itself and a missing one as (none)', () => {
    expect(statusOf({ iccid: '1', sim_status: 'PORTING_OUT' })).toBe('PORTING_OUT');
    expect(statusOf({ iccid: '1', sim_status: null })).toBe('(none)');
  });
});

describe('redact', () => {
  it('removes credentials from server text, leaving words intact around short values', async () => {
    const { redact } = await import('../lambda/core/errors');
    expect(redact('bad key abcd-1234 for user 675aed61', ['abcd-1234', '675aed61'])).toBe('bad key [redacted] for user [redacted]');
    expect(redact('Unauthorized', ['u'])).toBe('Unauthorized');
  });
});

describe('scanRecords', () => {
  it('returns each record’s own text, escapes and nesting included', () => {
    const records = [
      { iccid: '1', name: 'quote " and backslash \\ and \\" together', nested: { a: [1, { b: '}]' }] } },
      { iccid: '2', name: '{"not":"a record"}', empty: [] },
    ];
    const body = Buffer.from(JSON.stringify({ total: 2, sims: records }));
    const { ndjson, longNumbers } = scanRecords(body);
    expect(linesOf(ndjson)).toEqual(records.map((record) => JSON.stringify(record)));
    expect(longNumbers).toBe(false);
  });

  it('puts a pretty-printed record on one line without changing any value', () => {
    const body = Buffer.from(JSON.stringify({ total: 1, sims: [{ iccid: '1', group: { id: 7, name: 'a\nb' } }] }, null, 2));
    const lines = linesOf(scanRecords(body).ndjson);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\r\n]/);
    expect(JSON.parse(lines[0]!)).toEqual({ iccid: '1', group: { id: 7, name: 'a\nb' } });
  });

  it('only reads the top-level sims array', () => {
    const body = '{"meta":{"sims":[{"iccid":"x"}]},"total":1,"sims":[{"iccid":"y"}],"after":[{"iccid":"z"}]}';
    expect(linesOf(scanRecords(Buffer.from(body)).ndjson)).toEqual(['{"iccid":"y"}']);
  });

  it('spots number literals long enough to lose digits, but not long digit strings', () => {
    expect(scanRecords(Buffer.from('{"total":1,"sims":[{"iccid":"89148000004012345678","n":310260123456789}]}')).longNumbers).toBe(false);
    expect(scanRecords(Buffer.from('{"total":1,"sims":[{"iccid":"1","n":18446744073709551615}]}')).longNumbers).toBe(true);
    expect(scanRecords(Buffer.from('{"total":1,"sims":[{"iccid":"1","x":0.12345678901234567}]}')).longNumbers).toBe(true);
  });
});
