/**
 * The export core against the real sandbox server, writing to a real folder.
 */
import { parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { fingerprint, readGzip } from './helpers';
import { exportHarness } from './export-harness';
import { KNOWN_FIELDS } from './oracle';

const harness = exportHarness();
const { sandbox, exportFrom, ndjsonOf, csvOf } = harness;
let out = '';
beforeEach(() => {
  out = harness.out();
});

const KNOWN = KNOWN_FIELDS;

/** What the contract says a CSV row holds, computed straight from the API's JSON. */
function expectedCsvRow(json: string): Record<string, string> {
  const record = JSON.parse(json) as Record<string, unknown>;
  const text = (value: unknown): string =>
    value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const ref = (value: unknown): [string, string] =>
    value !== null && typeof value === 'object'
      ? [text((value as { id: unknown }).id), text((value as { name: unknown }).name)]
      : [text(value), ''];
  const [group_id, group_name] = ref(record.group);
  const [inventory_id, inventory_name] = ref(record.inventory);
  const [company_id, company_name] = ref(record.company);
  return {
    iccid: text(record.iccid),
    sim_status: text(record.sim_status),
    group_id,
    group_name,
    inventory_id,
    inventory_name,
    company_id,
    company_name,
    provisioned_date: text(record.provisioned_date),
    terminated_date: text(record.terminated_date),
    mapped_imsi: text(record.mapped_imsi),
    imsis: text(record.imsis),
    created_date: text(record.created_date),
    modified_date: text(record.modified_date),
    // Every field neither item shape names, as JSON text with every digit the API sent.
    extra: ((rest) => (Object.keys(rest).length === 0 ? '' : losslessStringify(rest)!))(
      Object.fromEntries(Object.entries(losslessParse(json) as Record<string, unknown>).filter(([key]) => !KNOWN.includes(key))),
    ),
  };
}

function rowsAsObjects(rows: string[][]): Record<string, string>[] {
  const [header, ...body] = rows;
  return body.map((row) => Object.fromEntries(header!.map((column, i) => [column, row[i]!])));
}

describe('runExport against the sandbox', () => {
  it.each(['documented', 'partial', 'mixed'] as const)('exports the %s item shape completely and exactly', async (shape) => {
    const api = await sandbox({ size: 730, shape, bigNumbers: true });
    const manifest = await exportFrom(api);
    const listing = api.listing();

    // NDJSON: each line is the API's record, the same JSON values and the same digits.
    const lines = await ndjsonOf();
    expect(lines).toEqual(listing);
    expect(lines.join('\n')).toContain('"usage_bytes":18446744073709551615');

    // CSV: an RFC 4180 parser reads back exactly the contract's values.
    const rows = await csvOf();
    expect(rows[0]!.slice(0, 12)).toEqual([
      'iccid', 'sim_status', 'group_id', 'group_name', 'inventory_id', 'inventory_name',
      'company_id', 'company_name', 'provisioned_date', 'terminated_date', 'mapped_imsi', 'imsis',
    ]);
    expect(rowsAsObjects(rows)).toEqual(listing.map(expectedCsvRow));

    expect(manifest.records).toBe(730);
    expect(manifest.api_total).toBe(730);
    expect(manifest.warnings).toEqual([]);
    expect(Object.values(manifest.by_status).reduce((a, b) => a + b, 0)).toBe(730);
  });

  it('carries hard text through CSV: commas, quotes, line breaks, tabs, a leading =, non-Latin and emoji', async () => {
    const api = await sandbox({ size: 60, shape: 'documented' });
    await exportFrom(api);
    // Readers that end a row at a bare LF too (Python's csv, many spreadsheets) must see the same rows.
    const strict = parseCsv(await readGzip(path.join(out, 'csv/dt=2026-11-27/esims.csv.gz')), { record_delimiter: ['\r\n', '\n'] }) as string[][];
    expect(strict).toHaveLength(61);
    expect(new Set(strict.map((row) => row.length))).toEqual(new Set([15]));
    const cells = new Set(rowsAsObjects(await csvOf()).flatMap((row) => [row.group_name, row.inventory_name, row.company_name]));
    for (const hard of [
      'Globex, "International"',
      'Say "hi", then\r\nleave',
      'EU\tWest',
      'Line\nBreak Stock',
      '=HYPERLINK("http://example.invalid","click")',
      '株式会社ベータ 📶',
      'Группа ✈️ Travel',
    ]) {
      expect(cells).toContain(hard);
    }
  });

  it('writes a manifest whose files match what is on disk, then latest.json', async () => {
    const api = await sandbox({ size: 250 });
    const manifest = await exportFrom(api);
    const onDisk = JSON.parse(await readFile(path.join(out, 'manifests/dt=2026-11-27/manifest.json'), 'utf8')) as Manifest;
    expect(onDisk).toEqual(manifest);
    const { createHash } = await import('node:crypto');
    for (const file of manifest.files) {
      const bytes = await readFile(path.join(out, file.key));
      expect(file.bytes).toBe(bytes.length);
      expect(file.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(file.records).toBe(250);
    }
    const latest = JSON.parse(await readFile(path.join(out, 'latest.json'), 'utf8'));
    expect(latest).toEqual({ ...manifest, manifest_key: 'manifests/dt=2026-11-27/manifest.json' });
    expect(manifest.source).toEqual({ api_url: `${api.apiBaseUrl}/esim/sim-registries`, company: null, inventory: null, page_size: 100 });
  });

  it('applies the company and inventory filters under a scope of their own', async () => {
    const api = await sandbox({ size: 1_000 });
    const manifest = await exportFrom(api, { filters: { company: 200, inventory: 12356 } });
    const folder = path.join(out, 'filtered/company=200/inventory=12356');
    const lines = await ndjsonOf(folder);
    expect(lines).toEqual(api.listing({ company: 200, inventory: 12356 }));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.stringify(JSON.parse(line))).toMatch(/"company":(200|\{"id":200)/);
    expect(manifest.scope).toBe('filtered/company=200/inventory=12356');
    expect(manifest.source.company).toBe(200);
    // The full snapshot's keys are untouched.
    expect(Object.keys(await fingerprint(out)).filter((key) => key.startsWith('ndjson') || key === 'latest.json')).toEqual([]);
  });

  it('writes an empty inventory as zero records and a header-only CSV', async () => {
    const api = await sandbox({ size: 0 });
    const manifest = await exportFrom(api);
    expect(await ndjsonOf()).toEqual([]);
    expect(await csvOf()).toHaveLength(1);
    expect(manifest.records).toBe(0);
    expect(manifest.files.map((file) => file.records)).toEqual([0, 0, 0]);
  });

  it('writes only the formats asked for', async () => {
    const api = await sandbox({ size: 120 });
    const manifest = await exportFrom(api, { formats: ['csv'] });
    expect(manifest.files.map((file) => file.format)).toEqual(['csv']);
    expect(Object.keys(await fingerprint(out)).some((key) => key.startsWith('ndjson'))).toBe(false);
    expect(await csvOf()).toHaveLength(121);
  });

  it('gets the same snapshot from a sandbox that answers repeated pages from memory', async () => {
    const reference = await exportFrom(await sandbox({ size: 640 }), {}, { folder: path.join(out, 'reference') });
    const cached = await sandbox({ size: 640, cachePages: true });
    await exportFrom(cached, {}, { folder: path.join(out, 'warm-up') });
    const manifest = await exportFrom(cached, {}, { folder: path.join(out, 'cached') });
    expect(manifest.files.map((file) => file.sha256)).toEqual(reference.files.map((file) => file.sha256));
  });

  it('replaces the snapshot when the same day is exported again', async () => {
    await exportFrom(await sandbox({ size: 300, seed: 1 }));
    const before = await fingerprint(out);
    const second = await exportFrom(await sandbox({ size: 200, seed: 2 }));
    const after = await fingerprint(out);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    expect(after['ndjson/dt=2026-11-27/esims.ndjson.gz']).not.toBe(before['ndjson/dt=2026-11-27/esims.ndjson.gz']);
    expect(second.records).toBe(200);
    expect(await ndjsonOf()).toHaveLength(200);
  });

  it('keeps latest.json on the newest day when an older day is exported', async () => {
    const api = await sandbox({ size: 10 });
    await exportFrom(api, { snapshotDate: '2026-11-27' });
    await exportFrom(api, { snapshotDate: '2026-11-01' });
    expect(JSON.parse(await readFile(path.join(out, 'latest.json'), 'utf8')).snapshot_date).toBe('2026-11-27');
    expect(await ndjsonOf(out, '2026-11-01')).toHaveLength(10);
  });
});

