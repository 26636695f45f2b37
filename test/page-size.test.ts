/**
 * Page size `auto` against the sandbox's switches: an API that honours 1,000 items a page, one
 * that answers 400 above 100, one that silently caps pages, and one whose large pages time out.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { FolderDestination } from '../lambda/core/destinations';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import { beginRun, publishRun, runExport, exportInvocation } from '../lambda/core/run/lifecycle';
import { IccidSet } from '../lambda/core/harvest/iccid-set';
import { type SandboxOptions, startSandbox } from '../sandbox/server';
import { FAST_TUNING, ndjsonLines, readGzip, removeDir, SANDBOX_CREDENTIALS, settingsFor, tempDir } from './helpers';

async function exportAuto(options: SandboxOptions, concurrency = 8, tuning = FAST_TUNING): Promise<{ manifest: Manifest; lines: string[]; listing: string[]; sizes: number[] }> {
  const api = await startSandbox({ size: 2_500, ...options });
  const out = await tempDir();
  const sizes: number[] = [];
  try {
    const manifest = await runExport({
      settings: settingsFor(api.apiBaseUrl, { pageSize: 'auto', formats: ['ndjson'], concurrency }),
      destination: new FolderDestination(out),
      credentials: SANDBOX_CREDENTIALS,
      credentialsSource: 'test',
      tuning,
      observer: { onPageSize: (size) => sizes.push(size) },
    });
    const lines = ndjsonLines(await readGzip(path.join(out, manifest.files[0]!.key)));
    expect(JSON.parse(await readFile(path.join(out, 'latest.json'), 'utf8'))).toMatchObject({ records: 2_500 });
    return { manifest, lines, listing: api.listing(), sizes };
  } finally {
    await api.close();
    await removeDir(out);
  }
}

describe('page size auto', () => {
  it('asks for 1,000 items a page when the API honours it: a tenth of the requests', async () => {
    const { manifest, lines, listing, sizes } = await exportAuto({});
    expect(lines).toEqual(listing);
    expect(sizes).toEqual([1000]);
    expect(manifest.source.page_size).toBe(1000);
    // Three pages of 1,000: the probe is the first of them, not fetched twice.
    expect(manifest.requests).toBe(3);
  });

  it('falls back to the documented 100 when the API answers 400 to a larger count, without failing', async () => {
    const { manifest, lines, listing, sizes } = await exportAuto({ maxCount: 100 });
    expect(lines).toEqual(listing);
    expect(sizes).toEqual([100]);
    expect(manifest).toMatchObject({ records: 2_500, warnings: [], source: { page_size: 100 } });
  });

  it('follows an API that silently answers fewer items than asked', async () => {
    const { manifest, lines, listing, sizes } = await exportAuto({ maxPageSize: 250 });
    expect(lines).toEqual(listing);
    expect(sizes).toEqual([250]);
    expect(manifest.source.page_size).toBe(250);
  });

  it('falls back to 100 for the rest of the run when a large page fails twice mid-run', async () => {
    // One request at a time: the probe and the first page of 1,000 are answered; then the pages
    // at 1,000 and 2,000 get a 5xx, and the page at 1,000 again on its retry.
    const { manifest, lines, listing, sizes } = await exportAuto({ faults: { sequence: [undefined, undefined, 'serverError', 'serverError', 'serverError'] } }, 1);
    expect(lines).toEqual(listing);
    expect(sizes).toEqual([1000, 100]);
    expect(manifest).toMatchObject({ records: 2_500, warnings: [], source: { page_size: 100 } });
  });

  it('falls back to 100 when the large page fails twice, and still retries what fails at 100', async () => {
    // The probe gets a 503 and a timeout-like 502, as a server whose large pages are too slow
    // would; then a page of 100 is throttled once, and retried.
    const { manifest, lines, listing, sizes } = await exportAuto({ faults: { sequence: ['serverError', 'serverError', 'throttle'] } }, 1);
    expect(lines).toEqual(listing);
    expect(sizes).toEqual([100]);
    expect(manifest.retries).toBe(2);
  });

  it('keeps large pages through a single server error', async () => {
    const { lines, listing, sizes } = await exportAuto({ faults: { sequence: ['serverError'] } }, 1);
    expect(lines).toEqual(listing);
    expect(sizes).toEqual([1000]);
  });

  it('reads again in pages of 100 when large pages repeat items and fall short, instead of failing', async () => {
    const { manifest, lines, listing, sizes } = await exportAuto({ largePagesRepeat: true });
    expect(lines).toEqual(listing);
    expect(sizes).toEqual([1000, 100]);
    expect(manifest).toMatchObject({ records: 2_500, passes: 2, source: { page_size: 100 } });
  });

  it('asks for smaller pages when a large page is over the body cap (16 MiB), instead of failing', async () => {
    // Pages of 100 are ordinary; a page of more is padded past the cap, as very large items would make it.
    const items = Array.from({ length: 300 }, (_, i) => ({ iccid: `89148000000000${String(i).padStart(6, '0')}`, sim_status: 'IN_SERVICE' }));
    const httpServer = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://localhost');
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const count = Number(url.searchParams.get('count') ?? 100);
      const sims = items.slice(offset, offset + count).map((item) => (count > 100 ? { ...item, padding: 'x'.repeat(60_000) } : item));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ total: items.length, sims }));
    });
    httpServer.listen(0, '127.0.0.1');
    await once(httpServer, 'listening');
    const out = await tempDir();
    const sizes: number[] = [];
    try {
      const manifest = await runExport({
        settings: settingsFor(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/api/v1`, { pageSize: 'auto', formats: ['ndjson'] }),
        destination: new FolderDestination(out),
        credentials: SANDBOX_CREDENTIALS,
        credentialsSource: 'test',
        tuning: FAST_TUNING,
        observer: { onPageSize: (size) => sizes.push(size) },
      });
      expect(sizes).toEqual([100]);
      expect(ndjsonLines(await readGzip(path.join(out, manifest.files[0]!.key))).map((line) => JSON.parse(line) as unknown)).toEqual(items);
    } finally {
      httpServer.close();
      await removeDir(out);
    }
  });

  it('stays auto across invocations: a later invocation whose large page gets a 400 falls back to 100', async () => {
    // Large pages work up to offset 3,000, then get a 400; each invocation reads one page.
    const api = await startSandbox({ size: 5_000, maxCount: 100, maxCountFrom: 3_000 });
    const out = await tempDir();
    const sizes: number[] = [];
    try {
      const context = { destination: new FolderDestination(out), credentials: SANDBOX_CREDENTIALS, credentialsSource: 'test', tuning: FAST_TUNING, observer: { onPageSize: (size: number) => sizes.push(size) } };
      const settings = settingsFor(api.apiBaseUrl, { pageSize: 'auto', formats: ['ndjson'] });
      const started = await beginRun(context.destination, settings, 'execution-1');
      let checkpoint = started.checkpoint;
      const seen = new IccidSet();
      for (let invocation = 0; invocation < 40 && !checkpoint.harvest.summary; invocation++) {
        checkpoint = await exportInvocation(context, started.store, checkpoint, seen, Date.now());
        // What the next invocation is handed: the checkpoint as saved, through JSON.
        checkpoint = JSON.parse(JSON.stringify(checkpoint)) as typeof checkpoint;
      }
      expect(checkpoint.invocations).toBeGreaterThan(3);
      const manifest = await publishRun(started.store, { snapshotDate: settings.snapshotDate, checkpoint });
      expect(sizes).toEqual([1000, 100]);
      const lines = (await Promise.all(manifest.files.map(async (file) => ndjsonLines(await readGzip(path.join(out, file.key)))))).flat();
      expect(lines).toEqual(api.listing());
    } finally {
      await api.close();
      await removeDir(out);
    }
  });
});
