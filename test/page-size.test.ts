/**
 * Page size `auto` against the sandbox's switches: an API that honours 1,000 items a page, one
 * that answers 400 above 100, one that silently caps pages, and one whose large pages time out.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FolderDestination } from '../lambda/core/destinations';
import type { Manifest } from '../lambda/core/manifest';
import { runExport } from '../lambda/core/run/lifecycle';
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
    // The probe, then three pages of 1,000.
    expect(manifest.requests).toBe(4);
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
});
