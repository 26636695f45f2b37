/**
 * The page decoder: what a page body becomes, on the calling thread and on the worker thread.
 */
import { decodePage, type DecodedPage, InvalidPageError, PageDecoder, selectRecords, transferable } from '../lambda/core/page-decoder';
import { CSV_HEADER, readPage } from '../lambda/core/page-body';
import { parseCsvRows } from './helpers';

const records = [
  { iccid: '89148000000000000001', sim_status: 'IN_SERVICE', group: { id: 1, name: 'Группа ✈️ Travel' }, inventory: 12345, company: 100 },
  { iccid: '89148000000000000019', sim_status: null, group: null, inventory: { id: 2, name: '株式会社ベータ 📶' }, company: 200 },
  { iccid: '89148000000000000027', sim_status: 'PORTING_OUT', imsis: [{ sponsor_id: 200, imsi: 310260000000008 }], mapped_imsi: 310260000000008 },
];
const body = (sims: unknown[]): Buffer => Buffer.from(JSON.stringify({ total: 1_000, offset: 0, count: sims.length, sims }));
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** The same page with plain Buffers for its bytes, whichever thread made them. */
const comparable = (page: DecodedPage): unknown => ({
  ...page,
  encoded: Object.fromEntries(Object.entries(page.encoded).map(([format, { bytes, ends }]) => [format, { text: text(bytes), ends: [...ends] }])),
});

describe('decodePage', () => {
  it('gives the total, ICCIDs, statuses, and each format’s bytes with where every record ends', () => {
    const page = decodePage(body(records), ['ndjson', 'csv']);
    expect(page.total).toBe(1_000);
    expect(page.iccids).toEqual(records.map((record) => record.iccid));
    expect(page.statuses).toEqual(['IN_SERVICE', '(none)', 'PORTING_OUT']);

    const ndjson = page.encoded.ndjson!;
    expect(text(ndjson.bytes)).toBe(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
    const csv = page.encoded.csv!;
    const rowOf = (record: unknown): string => text(readPage(body([record]), ['csv']).encoded.csv!.bytes);
    expect(text(csv.bytes)).toBe(records.map(rowOf).join(''));
    expect(parseCsvRows(CSV_HEADER + text(csv.bytes)).slice(1).map((row) => row[0])).toEqual(page.iccids);

    // Byte offsets, not character offsets: every record holds multi-byte text.
    for (const { bytes, ends } of [ndjson, csv]) {
      expect(ends).toHaveLength(records.length);
      expect(ends.at(-1)).toBe(bytes.length);
    }
    expect(text(selectRecords(ndjson, [1]))).toBe(`${JSON.stringify(records[1])}\n`);
    expect(text(selectRecords(csv, [0, 2]))).toBe(rowOf(records[0]) + rowOf(records[2]));
    expect(selectRecords(csv, [0, 1, 2])).toBe(csv.bytes);
  });

  it('encodes only the formats asked for', () => {
    expect(Object.keys(decodePage(body(records), ['csv']).encoded)).toEqual(['csv']);
  });

  it('says what is wrong with a body that is not the documented JSON', () => {
    expect(() => decodePage(Buffer.from('{"total":1,"sims":[{"iccid":7}]}'), ['ndjson'])).toThrow(InvalidPageError);
    expect(() => decodePage(Buffer.from('<html>'), ['ndjson'])).toThrow(/not valid JSON/);
  });
});

describe('transferable', () => {
  it('hands over a buffer that owns its memory, and copies one that shares Node’s pool', () => {
    const own = Buffer.alloc(10_000);
    expect(transferable(own)).toEqual([own.buffer]);
    const pooled = Buffer.from('small');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length); // the premise: it is a slice of the pool
    expect(transferable(pooled)).toEqual([]);
  });
});

describe('PageDecoder', () => {
  const decoders: PageDecoder[] = [];
  afterEach(async () => {
    await Promise.all(decoders.splice(0).map((decoder) => decoder.close()));
  });
  const start = (thread: boolean): PageDecoder => {
    const decoder = new PageDecoder(['ndjson', 'csv'], { thread });
    decoders.push(decoder);
    return decoder;
  };

  it('decodes on its worker thread exactly as on the calling thread, in order', async () => {
    const pages = [body(records), body(records.slice(1)), body([])];
    const expected = pages.map((page) => comparable(decodePage(page, ['ndjson', 'csv'])));
    const decoded = await Promise.all(pages.map((page) => start(true).decode(Buffer.from(page))));
    expect(decoded.map(comparable)).toEqual(expected);
    const inThread = await Promise.all(pages.map((page) => start(false).decode(Buffer.from(page))));
    expect(inThread.map(comparable)).toEqual(expected);
  });

  it('rejects a bad body with what is wrong, and goes on decoding the next one', async () => {
    const decoder = start(true);
    await expect(decoder.decode(Buffer.from('{"total":1,"sims":[{"sim_status":"ACTIVE"}]}'))).rejects.toThrow(
      new InvalidPageError('the body is not the documented JSON (sims.0: iccid must be a string)'),
    );
    expect((await decoder.decode(body(records))).iccids).toHaveLength(3);
  });

  it('fails what is still waiting when it is closed, and decodes nothing after', async () => {
    const decoder = start(true);
    const waiting = expect(decoder.decode(body(records))).rejects.toThrow('the page decoder was closed');
    await decoder.close();
    await waiting;
    await expect(decoder.decode(body(records))).rejects.toThrow('the page decoder was closed');
  });
});
