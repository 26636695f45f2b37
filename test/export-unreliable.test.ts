/**
 * The export against an unreliable API and a failing run: faults the sandbox injects, an
 * inventory that moves while it is read, and failures that leave the output exactly as it was.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExportError } from '../lambda/core/errors';
import { FolderDestination } from '../lambda/core/destinations';
import { runExport } from '../lambda/core/run/lifecycle';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { fingerprint, SANDBOX_CREDENTIALS, settingsFor } from './helpers';
import { exportHarness } from './export-harness';

const harness = exportHarness();
const { sandbox, exportFrom, ndjsonOf, csvOf } = harness;
let out = '';
beforeEach(() => {
  out = harness.out();
});

describe('runExport against an unreliable API', () => {
  it('loses nothing when the server returns 37 items where 100 were asked', async () => {
    const reference = await exportFrom(await sandbox({ size: 1_234 }), {}, { folder: path.join(out, 'reference') });
    const short = await sandbox({ size: 1_234, maxPageSize: 37 });
    const manifest = await exportFrom(short, {}, { folder: path.join(out, 'short') });
    expect(manifest.files.map((file) => file.sha256)).toEqual(reference.files.map((file) => file.sha256));
    expect(manifest.records).toBe(1_234);
    // Pages answered (requests less retries): a busy machine may retry either run's requests.
    const pages = (run: Manifest): number => run.requests - run.retries;
    expect(pages(manifest)).toBeGreaterThan(pages(reference) * 2);
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
    const failing = exportFrom(api, {}, { tuning: { retryPolicy: { maxAttempts: 1_000, baseDelayMs: 10, maxDelayMs: 200, budgetMs: 2_000 } } });
    await expect(failing).rejects.toMatchObject({ code: 'API_UNAVAILABLE', message: expect.stringMatching(/did not answer the page at offset 0 .*HTTP 503/) });
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
