/**
 * A page body read in one walk: checked, its ICCIDs and statuses, each record's NDJSON line and
 * CSV row.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { CSV_COLUMNS, CSV_HEADER, type EncodedRecords, type PageContent, InvalidPageError, readPage } from '../lambda/core/page-body';
import { seededRandom } from '../sandbox/inventory';

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
  const { bytes, ends } = readPage(body, ['csv']).encoded.csv!;
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
const ndjsonOf = (body: Buffer): string[] => linesOf(readPage(body, ['ndjson']).encoded.ndjson!);

describe('readPage: NDJSON', () => {
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
    const { encoded } = readPage(page([documented, partial]), ['ndjson', 'csv']);
    expect(encoded.ndjson!.ends).toHaveLength(2);
    expect(encoded.csv!.ends).toHaveLength(2);
    expect(Object.keys(readPage(page([documented]), ['csv']).encoded)).toEqual(['csv']);
  });
});

describe('readPage: CSV', () => {
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
    const [row] = rowsOf(page([{ iccid: '1', mapped_imsi: true, group: [1, 2], inventory: {}, company: { name: 'no id' }, terminated_date: { at: 0 } }]));
    expect(row).toMatchObject({
      mapped_imsi: 'true',
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
    const { bytes, ends } = readPage(body, ['csv']).encoded.csv!;
    const rows = [...ends].map((end, i) => text(bytes.subarray(i === 0 ? 0 : ends[i - 1], end)));
    expect(rows.map((row) => parseCsv(row) as string[][]).map(([cells]) => cells![0])).toEqual(['89148000004012345678', '2', '8914800000401234567']);
  });

  it('has the contract columns in order, then the newer item shape’s dates', () => {
    expect(CSV_COLUMNS).toEqual([
      'iccid', 'sim_status', 'group_id', 'group_name', 'inventory_id', 'inventory_name',
      'company_id', 'company_name', 'provisioned_date', 'terminated_date', 'mapped_imsi', 'imsis',
      'created_date', 'modified_date',
    ]);
    expect(CSV_HEADER).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
  });
});

describe('readPage: the page', () => {
  it('gives the total, each ICCID, and each status (an unknown one as itself, a missing or empty one as (none))', () => {
    const sims = [documented, partial, { iccid: '3', sim_status: 'PORTING_OUT' }, { iccid: '4' }, { iccid: '5', sim_status: '' }];
    const content = readPage(Buffer.from(JSON.stringify({ total: 250, sims })), ['ndjson']);
    expect(content.total).toBe(250);
    expect(content.iccids).toEqual(['89148000004012345678', '8914800000401234567', '3', '4', '5']);
    expect(content.statuses).toEqual(['WAITING_FOR_ASSIGNMENT', 'ACTIVE', 'PORTING_OUT', '(none)', '(none)']);
  });

  it('reads text with escapes as JSON.parse does', () => {
    const content = readPage(rawPage([String.raw`{"iccid":"89\u0031","sim_status":"A\/B \"x\""}`]), ['ndjson']);
    expect(content.iccids).toEqual(['891']);
    expect(content.statuses).toEqual(['A/B "x"']);
  });

  it.each([
    ['a truncated body', '{"total":10,"sims":[{"iccid":"1"', /not valid JSON/],
    ['an HTML page', '<html><body>Maintenance</body></html>', /not valid JSON/],
    ['an empty body', '', /not valid JSON/],
    ['a body that is not an object', '[{"iccid":"1"}]', /not the documented JSON \(the page must be an object\)/],
    ['a body without sims', '{"total":10}', /sims must be an array/],
    ['a body without a total', '{"sims":[]}', /total: total must be a number/],
    ['a record without an iccid', '{"total":1,"sims":[{"sim_status":"ACTIVE"}]}', /sims\.0: iccid must be a string/],
    ['a record that is not an object', '{"total":1,"sims":[42]}', /sims\.0: must be an object/],
    ['a numeric status', '{"total":1,"sims":[{"iccid":"1","sim_status":3}]}', /sims\.0: sim_status must be a string/],
    ['a numeric iccid', '{"total":1,"sims":[{"iccid":8914}]}', /iccid must be a string/],
    ['an empty iccid', '{"total":1,"sims":[{"iccid":""}]}', /sims\.0: iccid must not be empty/],
    ['a negative total', '{"total":-1,"sims":[]}', /total must be ≥ 0/],
    ['a fractional total', '{"total":1.5,"sims":[]}', /total must be a whole number/],
    ['sims that hold something besides objects', '{"total":2,"sims":[{"iccid":"1"},[{"iccid":"2"}]]}', /sims\.1: must be an object/],
  ])('rejects %s with a message saying what is wrong', (_name, raw, message) => {
    expect(() => readPage(Buffer.from(raw), ['ndjson', 'csv'])).toThrow(message);
  });

  it('says why the JSON is invalid in JSON.parse’s own words', () => {
    let parseMessage = '';
    try {
      JSON.parse('{"total":1,"sims":[}');
    } catch (error) {
      parseMessage = (error as Error).message;
    }
    expect(() => readPage(Buffer.from('{"total":1,"sims":[}'), ['ndjson'])).toThrow(`the body is not valid JSON (${parseMessage})`);
  });
});

/** What readPage makes of a body: its records (as JSON.parse reads each NDJSON line), or which kind of problem. */
function verdictOf(body: Buffer): { kind: 'ok'; total: number; records: unknown[]; iccids: readonly string[] } | { kind: 'invalid JSON' | 'not documented' } {
  let content: PageContent;
  try {
    content = readPage(body, ['ndjson', 'csv']);
  } catch (error) {
    if (!(error instanceof InvalidPageError)) throw error;
    return { kind: /not valid JSON/.test(error.message) ? 'invalid JSON' : 'not documented' };
  }
  const lines = text(content.encoded.ndjson!.bytes).split('\n').slice(0, -1);
  return { kind: 'ok', total: content.total, records: lines.map((line) => JSON.parse(line) as unknown), iccids: content.iccids };
}

/** The same, from JSON.parse and the contract's rules (what the walk must agree with). */
function expectedVerdictOf(body: Buffer): ReturnType<typeof verdictOf> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { kind: 'invalid JSON' };
  }
  const page = json as { total?: unknown; sims?: unknown };
  const documentedPage =
    page !== null &&
    typeof page === 'object' &&
    !Array.isArray(page) &&
    Number.isInteger(page.total) &&
    (page.total as number) >= 0 &&
    Array.isArray(page.sims) &&
    page.sims.every((record: unknown) => {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) return false;
      const { iccid, sim_status: status } = record as { iccid?: unknown; sim_status?: unknown };
      return typeof iccid === 'string' && iccid.length > 0 && (status === undefined || status === null || typeof status === 'string');
    });
  if (!documentedPage) return { kind: 'not documented' };
  const sims = page.sims as { iccid: string }[];
  return { kind: 'ok', total: page.total as number, records: sims, iccids: sims.map((record) => record.iccid) };
}

describe('readPage agrees with JSON.parse', () => {
  it.each([
    // numbers
    '0', '-0', '12', '-12', '1.5', '-0.25', '1e5', '1E+5', '1e-5', '0.0e0', '18446744073709551615',
    '01', '-', '+1', '1.', '.5', '1e', '1e+', '--1', '0x1F', 'NaN', 'Infinity', '1.2.3',
    // strings
    '"plain"', '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"\\u00e9\\uD83D\\uDCF6"', '"\\ud800"', '"é 📶"',
    '"\\x"', '"\\u12"', '"\\u12G4"', '"tab\there"', '"line\nbreak"', '"\u0001"', '"unterminated',
    // literals and structure
    'true', 'false', 'null', 'tru', 'nul', 'falsey', 'True',
    '[]', '{}', '[1,2]', '{"a":{"b":[{}]}}', '[1,]', '{"a":1,}', '{"a" 1}', '{a:1}', '[1 2]', '{"a":1}}', '[[1]', '{"a":[}',
    ' [ 1 , { "a" : null } ] ',
  ])('on a record holding %s', (value) => {
    const body = Buffer.from(`{"total":1,"sims":[{"iccid":"1","x":${value}}]}`);
    expect(verdictOf(body)).toEqual(expectedVerdictOf(body));
  });

  it.each([
    ['a byte-order mark', '\ufeff{"total":0,"sims":[]}'],
    ['leading and trailing whitespace', ' \r\n\t{"total":0,"sims":[]} \n'],
    ['trailing garbage', '{"total":0,"sims":[]}x'],
    ['two documents', '{"total":0,"sims":[]}{}'],
    ['a repeated sims key', '{"total":1,"sims":[{"iccid":"1"}],"sims":[{"iccid":"2"}]}'],
    ['a repeated sims key whose last value is not an array', '{"total":1,"sims":[{"iccid":"1"}],"sims":3}'],
    ['a control character between tokens', '{"total":0,\u0001"sims":[]}'],
  ])('on %s', (_name, raw) => {
    const body = Buffer.from(raw);
    expect(verdictOf(body)).toEqual(expectedVerdictOf(body));
  });

  it('on nesting far deeper than a call stack', () => {
    const depth = 100_000;
    const body = Buffer.from(`{"total":1,"sims":[{"iccid":"1","deep":${'['.repeat(depth)}${']'.repeat(depth)}}]}`);
    expect(() => JSON.parse(body.toString())).not.toThrow();
    expect(readPage(body, ['ndjson', 'csv']).iccids).toEqual(['1']);
    const unbalanced = Buffer.from(`{"total":1,"sims":[{"iccid":"1","deep":${'['.repeat(depth)}${']'.repeat(depth - 1)}}]}`);
    expect(verdictOf(unbalanced)).toEqual({ kind: 'invalid JSON' });
  });

  it('on thousands of damaged pages: cut short, bytes changed, inserted or removed', () => {
    const random = seededRandom(20261127);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const pieces = ['{', '}', '[', ']', ':', ',', '"', '\\', ' ', '\n', '-', '+', '.', 'e', 'E', '0', '1', '9', 't', 'f', 'n', 'u', 'x', '\u0001', 'é', '\\u00e9', '\\"'];
    const sample = Buffer.from(
      JSON.stringify({
        total: 3,
        offset: 0,
        sims: [
          documented,
          partial,
          { iccid: '3', sim_status: 'say "hi"\\\n', group: { id: -1.5e3, name: 'a,b' }, imsis: [[], {}, [null, true, false]], extra: '\u00e9📶' },
        ],
      }),
    );
    let agreed = 0;
    for (let round = 0; round < 3_000; round++) {
      let bytes = Buffer.from(sample);
      for (let edit = 1 + Math.floor(random() * 3); edit > 0; edit--) {
        const at = Math.floor(random() * (bytes.length + 1));
        const kind = random();
        const piece = Buffer.from(pick(pieces));
        if (kind < 0.1) bytes = bytes.subarray(0, at);
        else if (kind < 0.5) bytes = Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(at + 1)]);
        else if (kind < 0.8) bytes = Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(at)]);
        else bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
      }
      const expected = expectedVerdictOf(bytes);
      const actual = verdictOf(bytes);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) expect({ body: bytes.toString('utf8'), verdict: actual }).toEqual({ body: bytes.toString('utf8'), verdict: expected });
      agreed++;
    }
    expect(agreed).toBe(3_000);
  });
});
