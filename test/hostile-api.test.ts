/**
 * Answers a hostile or broken API gives, and what the export makes of them: compressed pages,
 * a body cut without a length, a body that never ends, a refused port, a day-long Retry-After,
 * terminal escapes in an error body, and requests through a proxy.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { FolderDestination } from '../lambda/core/destinations';
import type { Tuning } from '../lambda/core/export';
import type { Manifest } from '../lambda/core/snapshot/manifest';
import type { ExportSettings } from '../lambda/core/settings';
import { type Sandbox, type SandboxOptions, startSandbox } from '../sandbox/server';
import { FAST_TUNING, fingerprint, ndjsonLines, readGzip, removeDir, sandboxExport, tempDir } from './helpers';

let out: string;
beforeEach(async () => {
  out = await tempDir();
});
afterEach(async () => {
  await removeDir(out);
});

const exportFrom = (apiBaseUrl: string, settings: Partial<ExportSettings> = {}, tuning: Partial<Tuning> = FAST_TUNING): Promise<Manifest> =>
  sandboxExport(apiBaseUrl, new FolderDestination(out), { formats: ['ndjson'], ...settings }, { tuning });

async function withSandbox<T>(options: SandboxOptions, use: (url: string, listing: () => string[], api: Sandbox) => Promise<T>): Promise<T> {
  const api = await startSandbox({ size: 500, ...options });
  try {
    return await use(api.apiBaseUrl, () => api.listing(), api);
  } finally {
    await api.close();
  }
}

/** A one-route HTTP server answering every request with `answer`. */
async function server(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const httpServer = http.createServer(answer);
  httpServer.listen(0, '127.0.0.1');
  await once(httpServer, 'listening');
  const { port } = httpServer.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/api/v1`, close: () => new Promise((resolve) => httpServer.close(() => resolve())) };
}

describe('a hostile API', () => {
  it('asks for compressed pages and decodes them into the same snapshot', async () => {
    await withSandbox({ compress: true }, async (url, listing, api) => {
      const manifest = await exportFrom(url);
      expect(api.stats.compressed).toBe(manifest.requests);
      expect(ndjsonLines(await readGzip(path.join(out, manifest.files[0]!.key)))).toEqual(listing());
    });
  });

  it('retries a page whose connection dropped mid-body on an answer without a length', async () => {
    await withSandbox({ faults: { sequence: [undefined, 'cut'] } }, async (url, listing) => {
      const manifest = await exportFrom(url);
      expect(manifest.retries).toBe(1);
      expect(ndjsonLines(await readGzip(path.join(out, manifest.files[0]!.key)))).toEqual(listing());
    });
  });

  it('stops reading a body that never ends, fails naming the page, and publishes nothing', async () => {
    await withSandbox({ faults: { sequence: ['endless'] } }, async (url) => {
      await expect(exportFrom(url)).rejects.toMatchObject({
        code: 'API_BAD_RESPONSE',
        message: 'the page at offset 0: the answer is larger than 16 MiB; ask for smaller pages (--page-size).',
      });
    });
    expect(await fingerprint(out)).toEqual({});
  });

  it('fails after two tries, saying so, when the very first connection is refused', async () => {
    const closed = await server((_req, res) => res.end());
    const { url } = closed;
    await closed.close();
    const failing = exportFrom(url, {}, { ...FAST_TUNING, retryPolicy: { ...FAST_TUNING.retryPolicy!, maxAttempts: 12 } });
    await expect(failing).rejects.toMatchObject({
      code: 'API_UNAVAILABLE',
      message: `could not connect to ${new URL(url).host} (connection refused): check the API URL and its port (--api-url, API_BASE_URL).`,
    });
  });

  it('fails at once, saying why, when the API asks to wait longer than an export waits', async () => {
    await withSandbox({ faults: { sequence: ['throttle'], retryAfterSeconds: 86_400 } }, async (url) => {
      await expect(exportFrom(url)).rejects.toMatchObject({
        code: 'API_UNAVAILABLE',
        message: expect.stringMatching(/^the API asked us to wait 86400 s before the page at offset 0 \(Retry-After\), longer than an export waits/),
      });
    });
  });

  it('keeps terminal escapes in an error body off the terminal', async () => {
    const hostile = await server((_req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('\u001b[2J\u001b[31mbad\u001b[0m\u0007 count\r\n');
    });
    try {
      await expect(exportFrom(hostile.url)).rejects.toMatchObject({ message: expect.stringContaining('(HTTP 400: bad count)') });
    } finally {
      await hostile.close();
    }
  });

  it('sends its requests through the proxy HTTP_PROXY names, unless NO_PROXY exempts the host', async () => {
    const seen: string[] = [];
    // A forwarding proxy: requests arrive with the absolute URL, as curl and the AWS CLI send them.
    const proxy = await server((req, res) => {
      seen.push(req.url ?? '');
      const upstream = http.request(req.url!, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
    try {
      await withSandbox({}, async (url, listing) => {
        process.env.HTTP_PROXY = new URL(proxy.url).origin;
        delete process.env.NO_PROXY;
        const manifest = await exportFrom(url);
        expect(ndjsonLines(await readGzip(path.join(out, manifest.files[0]!.key)))).toEqual(listing());
        expect(seen.length).toBe(manifest.requests);
        expect(seen[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/esim\/sim-registries\?count=100&offset=0$/);
        process.env.NO_PROXY = '127.0.0.1';
        const before = seen.length;
        await exportFrom(url, { snapshotDate: '2026-11-26' });
        expect(seen.length).toBe(before);
      });
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await proxy.close();
    }
  });
  it.each([
    ['ordinary numbers', '1'],
    ['a number too long for a double (read losslessly)', '123456789012345678901'],
  ])('fails in one clear line, publishing nothing, on values nested thousands of levels deep, with %s', async (_what, imsi) => {
    const nested = `${'{"a":'.repeat(5_000)}"x"${'}'.repeat(5_000)}`;
    const deep = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"total":1,"sims":[{"iccid":"8901000000000000001","sim_status":"IN_SERVICE","imsi":${imsi},"extra":${nested}}]}`);
    });
    try {
      await expect(exportFrom(deep.url, { formats: ['ndjson', 'parquet'] })).rejects.toMatchObject({
        code: 'API_BAD_RESPONSE',
        message: expect.stringContaining("an eSIM's values are nested thousands of levels deep, more than a snapshot can hold"),
      });
      expect(await fingerprint(out)).toEqual({});
    } finally {
      await deep.close();
    }
  });

  it('waits for a Retry-After given as an HTTP date before asking again', async () => {
    await withSandbox({ size: 50 }, async (sandboxUrl, listing) => {
      let waitUntil = 0;
      const arrivals: number[] = [];
      const throttling = await server((req, res) => {
        arrivals.push(Date.now());
        if (waitUntil === 0) {
          // A whole second (HTTP dates have no finer unit), at least a second away.
          waitUntil = Math.ceil(Date.now() / 1000) * 1000 + 1000;
          res.writeHead(429, { 'retry-after': new Date(waitUntil).toUTCString() });
          res.end();
          return;
        }
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => /^x-|^accept$/.test(name))) as Record<string, string>;
        void fetch(`${sandboxUrl.replace(/\/api\/v1$/, '')}${req.url}`, { headers }).then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        });
      });
      try {
        const manifest = await exportFrom(throttling.url, {}, { ...FAST_TUNING, retryPolicy: { ...FAST_TUNING.retryPolicy!, budgetMs: 10_000 } });
        expect(ndjsonLines(await readGzip(path.join(out, manifest.files[0]!.key)))).toEqual(listing());
        // Timers never fire early; a millisecond of clock rounding is allowed.
        expect(arrivals[1]).toBeGreaterThanOrEqual(waitUntil - 1);
      } finally {
        await throttling.close();
      }
    });
  });
});
