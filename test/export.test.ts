/**
 * The export core against the real sandbox server, writing to a real folder.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { FolderDestination } from '../lambda/core/destinations';
import { ExportError } from '../lambda/core/errors';
import { type Tuning } from '../lambda/core/export';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { runExport } from '../lambda/core/run/lifecycle';
import type { ExportSettings } from '../lambda/core/settings';
import { type Sandbox, type SandboxOptions, startSandbox } from '../sandbox/server';
import { FAST_TUNING, fingerprint, ndjsonLines, parseCsvRows, readGzip, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';

let out: string;
const sandboxes: Sandbox[] = [];

beforeEach(async () => {
  out = await tempDir();
});
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((sandbox) => sandbox.close()));
  await removeDir(out);
});

async function sandbox(options: SandboxOptions): Promise<Sandbox> {
  const started = await startSandbox(options);
  sandboxes.push(started);
  return started;
}

async function exportFrom(
  api: Sandbox,
  overrides: Partial<ExportSettings> = {},
  extra: { tuning?: Partial<Tuning>; credentials?: { apiKey: string; userId: string }; folder?: string } = {},
): Promise<Manifest> {
  return runExport({
    settings: settingsFor(api.apiBaseUrl, overrides),
    destination: new FolderDestination(extra.folder ?? out),
    credentials: extra.credentials ?? SANDBOX_CREDENTIALS,
    credentialsSource: 'the test credentials',
    tuning: { ...FAST_TUNING, ...extra.tuning },
  });
}

const ndjsonOf = async (folder = out, date = '2026-11-27'): Promise<string[]> =>
  ndjsonLines(await readGzip(path.join(folder, `ndjson/dt=${date}/esims.ndjson.gz`)));
const csvOf = async (folder = out, date = '2026-11-27'): Promise<string[][]> =>
  parseCsvRows(await readGzip(path.join(folder, `csv/dt=${date}/esims.csv.gz`)));

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
    expect(new Set(strict.map((row) => row.length))).toEqual(new Set([14]));
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

  it('loses nothing when the server returns 37 items where 100 were asked', async () => {
    const reference = await exportFrom(await sandbox({ size: 1_234 }), {}, { folder: path.join(out, 'reference') });
    const short = await sandbox({ size: 1_234, maxPageSize: 37 });
    const manifest = await exportFrom(short, {}, { folder: path.join(out, 'short') });
    expect(manifest.files.map((file) => file.sha256)).toEqual(reference.files.map((file) => file.sha256));
    expect(manifest.records).toBe(1_234);
    expect(manifest.requests).toBeGreaterThan(reference.requests * 2);
  });

  it('survives 429 with Retry-After, 502/503 with HTML bodies, dropped connections and hung requests with the exact same snapshot', async () => {
    const reference = await exportFrom(await sandbox({ size: 1_500 }), {}, { folder: path.join(out, 'reference') });
    const flaky = await sandbox({
      size: 1_500,
      faults: {
        sequence: ['hang', 'drop', 'throttle', 'serverError', 'serverError'],
        throttle: 0.1,
        serverError: 0.1,
        drop: 0.05,
        hang: 0.02,
        retryAfterSeconds: 0,
      },
    });
    const manifest = await exportFrom(flaky, {}, { folder: path.join(out, 'flaky'), tuning: { requestTimeoutMs: 500 } });
    expect(manifest.files.map((file) => file.sha256)).toEqual(reference.files.map((file) => file.sha256));
    expect(manifest.retries).toBeGreaterThan(0);
    expect(flaky.stats.byStatus[429]).toBeGreaterThan(0);
    expect((flaky.stats.byStatus[502] ?? 0) + (flaky.stats.byStatus[503] ?? 0)).toBeGreaterThan(0);
    expect(flaky.stats.dropped).toBeGreaterThan(0);
    expect(flaky.stats.hung).toBeGreaterThan(0);
  });

  it('honours Retry-After before asking again', async () => {
    const api = await sandbox({ size: 50, faults: { throttle: 1, maxPerPage: 1, retryAfterSeconds: 1 } });
    const started = Date.now();
    const manifest = await exportFrom(api);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(manifest.retries).toBe(1);
  });

  it('fails within its retry budget when the server is down for good, and publishes nothing', async () => {
    const api = await sandbox({ size: 100, down: true });
    const started = Date.now();
    const failing = exportFrom(api, {}, { tuning: { retryPolicy: { maxAttempts: 1_000, baseDelayMs: 10, maxDelayMs: 200, budgetMs: 2_000 } } });
    await expect(failing).rejects.toMatchObject({ code: 'API_UNAVAILABLE', message: expect.stringMatching(/did not answer the page at offset 0 .*HTTP 503/) });
    expect(Date.now() - started).toBeLessThan(2_000 + 1_000 + 1_000);
    expect(await fingerprint(out)).toEqual({});
  });

  it('gives up on a request that gets no answer within its time limit, and says so', async () => {
    const api = await sandbox({ size: 100, faults: { hang: 1, maxPerPage: Number.POSITIVE_INFINITY } });
    const failing = exportFrom(api, {}, { tuning: { requestTimeoutMs: 200, retryPolicy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 5_000 } } });
    await expect(failing).rejects.toMatchObject({ code: 'API_UNAVAILABLE', message: expect.stringContaining('last: no answer within 0.2 s') });
    expect(api.stats.hung).toBe(2);
    expect(await fingerprint(out)).toEqual({});
  });

  it('reads the inventory again when it changes during the export, and never writes an ICCID twice', async () => {
    const api = await sandbox({ size: 2_000, drift: { everyRequests: 4, add: 3, remove: 2, steps: 5 } });
    const manifest = await exportFrom(api, { concurrency: 4 });
    const iccids = (await ndjsonOf()).map((line) => (JSON.parse(line) as { iccid: string }).iccid);
    expect(new Set(iccids).size).toBe(iccids.length);
    const final = api.listing().map((line) => (JSON.parse(line) as { iccid: string }).iccid);
    // Everything listed at the end is in the snapshot...
    const exported = new Set(iccids);
    expect(final.filter((iccid) => !exported.has(iccid))).toEqual([]);
    // ...and whatever else is there (removed during the run) is said in a warning.
    const extra = iccids.length - final.length;
    expect(extra).toBeGreaterThan(0);
    expect(manifest.passes).toBeGreaterThan(1);
    expect(manifest.warnings.join(' ')).toContain(`${extra} eSIM(s) in this snapshot were no longer listed`);
    expect(manifest.records).toBe(iccids.length);
    // The CSV drops exactly the same repeats: its rows are the NDJSON's records, in order.
    expect((await csvOf()).slice(1).map((row) => row[0])).toEqual(iccids);
  });

  it('warns when the inventory never holds still', async () => {
    const api = await sandbox({ size: 500, drift: { everyRequests: 1, add: 1, remove: 0, steps: 1_000 } });
    const manifest = await exportFrom(api, {}, { tuning: { maxPasses: 2 } });
    expect(manifest.passes).toBe(2);
    expect(manifest.warnings.join(' ')).toMatch(/kept changing/);
    const iccids = (await ndjsonOf()).map((line) => (JSON.parse(line) as { iccid: string }).iccid);
    expect(new Set(iccids).size).toBe(iccids.length);
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

describe('runExport failures leave the output exactly as it was', () => {
  let before: Record<string, string>;

  beforeEach(async () => {
    // An earlier snapshot, and an unrelated file of the user's.
    await exportFrom(await sandbox({ size: 150 }));
    await mkdir(path.join(out, 'notes'), { recursive: true });
    await writeFile(path.join(out, 'notes/readme.txt'), 'mine');
    before = await fingerprint(out);
  });

  async function expectFailure(run: Promise<unknown>, code: string, message: RegExp): Promise<void> {
    const error = await run.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ExportError);
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/\n/);
    expect(await fingerprint(out)).toEqual(before);
  }

  it('on 401: names where the rejected credentials came from, and never quotes them', async () => {
    const api = await sandbox({ size: 500 });
    await expectFailure(
      exportFrom(api, {}, { credentials: { apiKey: 'wrong-key-123', userId: 'wrong-user' } }),
      'API_UNAUTHORIZED',
      /HTTP 401.*the test credentials/,
    );
    expect(api.stats.requests).toBe(1);
  });

  it('on 400: says the API rejected the request', async () => {
    const api = await sandbox({ size: 500 });
    await expectFailure(exportFrom(api, { pageSize: 5_000 }), 'API_BAD_REQUEST', /HTTP 400: Invalid parameter 'count'/);
  });

  it('on a truncated JSON body: names the page', async () => {
    const api = await sandbox({ size: 500, faults: { truncate: 1, maxPerPage: Number.POSITIVE_INFINITY } });
    await expectFailure(exportFrom(api), 'API_BAD_RESPONSE', /page at offset 0: the body is not valid JSON/);
  });

  it('on a failure in the middle of the run: discards the files already being written', async () => {
    const api = await sandbox({ size: 3_000, faults: { truncate: 0.05, maxPerPage: Number.POSITIVE_INFINITY } });
    await expectFailure(exportFrom(api, { concurrency: 2 }), 'API_BAD_RESPONSE', /page at offset [1-9]\d*: the body is not valid JSON/);
  });

  it('on a wrong base URL: says so', async () => {
    const api = await sandbox({ size: 10 });
    await expectFailure(
      runExport({
        settings: settingsFor(`${api.apiBaseUrl}/v2`),
        destination: new FolderDestination(out),
        credentials: SANDBOX_CREDENTIALS,
        credentialsSource: 'the test credentials',
      }),
      'API_NOT_FOUND',
      /404.*check the API base URL/,
    );
  });

  it('when stopped by its caller: publishes nothing', async () => {
    const api = await sandbox({ size: 5_000, latencyMs: 20 });
    const controller = new AbortController();
    const run = runExport({
      settings: settingsFor(api.apiBaseUrl, { concurrency: 2 }),
      destination: new FolderDestination(out),
      credentials: SANDBOX_CREDENTIALS,
      credentialsSource: 'the test credentials',
      signal: controller.signal,
      observer: { onProgress: (progress) => progress.records >= 500 && controller.abort() },
    });
    await expectFailure(run, 'ABORTED', /stopped before it finished; nothing was published/);
  });
});
