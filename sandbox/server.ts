/**
 * The sandbox: a faithful simulator of `GET /api/v1/esim/sim-registries`.
 *
 * It honours the vendor's page: the two headers (401 as plain text otherwise), `count`,
 * `offset`, `company`, `inventory` (400 with `{message, statusCode}` on invalid values) and the
 * response `{total, offset, count, sims}`. On request it also misbehaves the ways a real API
 * does: latency, short pages, a rate limit with 429 + Retry-After, 5xx with HTML bodies,
 * dropped connections, hung requests, truncated bodies, and an inventory that changes while
 * it is being read. Everything is deterministic for a given seed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { LIST_PATH as ENDPOINT_PATH } from '../lambda/core/endpoint';
import { type DriftOptions, DriftingList } from './drift';
import { type FaultKind, type FaultOptions, FaultPlan, sendEndless, sendCut } from './faults';
import { type Filter, type InventoryOptions, type ItemShape, itemJson, seededRandom, viewOf } from './inventory';

export type { DriftOptions };

export type { FaultKind, FaultOptions };

export interface SandboxOptions {
  readonly port?: number;
  readonly host?: string;
  readonly size?: number;
  readonly seed?: number;
  readonly shape?: ItemShape;
  readonly bigNumbers?: boolean;
  /** The inventory as it is this many days after the base one (inventory.ts, `day`). */
  readonly day?: number;
  /** From this day on, items come in a changed schema (inventory.ts, `schemaChangeDay`). */
  readonly schemaChangeDay?: number;
  readonly apiKey?: string;
  readonly userId?: string;
  /** Delay before each answer. */
  readonly latencyMs?: number;
  /** Answer at most this many items per page, whatever `count` asked (a silent cap: short pages). */
  readonly maxPageSize?: number;
  /** The largest `count` accepted; above it, 400 (page size `auto` must fall back). @default 1000 */
  readonly maxCount?: number;
  /** `maxCount` holds only from this offset on: large pages work at first and fail deep into the listing. */
  readonly maxCountFrom?: number;
  /** Pages over 100 items start at half their offset: they repeat items and never reach the last ones (a broken cache); pages of 100 are right. */
  readonly largePagesRepeat?: boolean;
  /** Answer every request from offset 0 (a broken API: page size `auto` must not hide it, the export must fail). */
  readonly ignoreOffset?: boolean;
  /** Requests per second allowed; beyond it, 429 with Retry-After. */
  readonly rateLimit?: number;
  readonly faults?: FaultOptions;
  readonly drift?: DriftOptions;
  /** Answer gzip to a client that accepts it, as a real API behind a CDN would. */
  readonly compress?: boolean;
  /** Answer every request 503 (a server down for good). */
  readonly down?: boolean;
  /** Record when each request was answered, and with which status (benchmarks). */
  readonly timeline?: boolean;
  /**
   * Keep each page's body once rendered and answer repeats from memory (benchmarks: a remote
   * API's own work does not run on the client's machine). Ignored with drift, which changes pages.
   */
  readonly cachePages?: boolean;
}

export interface SandboxStats {
  requests: number;
  /** With `timeline`: when each request was answered (ms since start) and with which status. */
  timeline?: Array<[ms: number, status: number]>;
  byStatus: Record<number, number>;
  dropped: number;
  hung: number;
  /** Pages answered gzip-compressed (with `compress`). */
  compressed: number;
  maxInFlight: number;
}

export interface Sandbox {
  /** The API base URL to give the exporter, e.g. http://127.0.0.1:4010/api/v1. */
  readonly apiBaseUrl: string;
  readonly stats: SandboxStats;
  /** The eSIM JSON texts currently listed under `filter`, in order (for tests: small inventories only). */
  listing(filter?: Filter): string[];
  close(): Promise<void>;
}

export const SANDBOX_API_KEY = 'sandbox-api-key';
export const SANDBOX_USER_ID = 'sandbox-user';
export const MAX_COUNT = 1000;
const BASE_PATH = '/api/v1';
const LIST_PATH = `${BASE_PATH}${ENDPOINT_PATH}`;
/** The sandbox's own statistics, as JSON (not part of the Betatel API). */
export const STATS_PATH = '/_sandbox/stats';
const HTML_ERROR = (status: number, text: string): string =>
  `<!DOCTYPE html><html><head><title>${status} ${text}</title></head><body><center><h1>${status} ${text}</h1></center><hr><center>nginx</center></body></html>`;

class BadRequest extends Error {}

function integerParam(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new BadRequest(`Invalid parameter '${name}': must be an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const inventory: InventoryOptions = {
    size: options.size ?? 1000,
    seed: options.seed ?? 1,
    shape: options.shape ?? 'mixed',
    bigNumbers: options.bigNumbers ?? false,
    day: options.day ?? 0,
    schemaChangeDay: options.schemaChangeDay,
  };
  const apiKey = options.apiKey ?? SANDBOX_API_KEY;
  const userId = options.userId ?? SANDBOX_USER_ID;
  const faults = options.faults ?? {};
  const chance = seededRandom(inventory.seed ^ 0x5eed);
  const faultPlan = new FaultPlan(faults, chance);
  const lists = new Map<string, DriftingList>();
  const pageCache = options.cachePages && !options.drift ? new Map<string, Buffer>() : undefined;
  const sockets = new Set<Socket>();
  const stats: SandboxStats = { requests: 0, byStatus: {}, dropped: 0, hung: 0, compressed: 0, maxInFlight: 0, ...(options.timeline && { timeline: [] }) };
  const startedAt = Date.now();
  let inFlight = 0;
  // Token bucket for the rate limit: `rateLimit` tokens a second, at most one second's worth saved.
  let tokens = options.rateLimit ?? 0;
  let tokensAt = Date.now();

  const listFor = (filter: Filter): DriftingList => {
    const key = `${filter.company ?? ''}/${filter.inventory ?? ''}`;
    let list = lists.get(key);
    if (!list) {
      list = new DriftingList(viewOf(inventory.size, filter), options.drift, seededRandom(inventory.seed + key.length));
      lists.set(key, list);
    }
    return list;
  };

  // Latency is the time from a request to its answer, the server's own work included: the
  // answer is prepared at once and held back for what remains of the latency.
  const answerAt = new WeakMap<ServerResponse, number>();
  const afterLatency = (res: ServerResponse, action: () => void): void => {
    const wait = (answerAt.get(res) ?? 0) - performance.now();
    if (wait > 0) setTimeout(action, wait);
    else action();
  };
  const send = (res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void =>
    afterLatency(res, () => {
      stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
      stats.timeline?.push([Date.now() - startedAt, status]);
      res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
      res.end(body);
    });
  const sendJson = (res: ServerResponse, status: number, value: unknown): void =>
    send(res, status, JSON.stringify(value), { 'content-type': 'application/json' });
  const tooManyRequests = (res: ServerResponse, retryAfterSeconds: number): void =>
    send(res, 429, JSON.stringify({ message: 'Too Many Requests', statusCode: 429 }), {
      'content-type': 'application/json',
      'retry-after': String(retryAfterSeconds),
    });
  const sendHtml = (res: ServerResponse, status: number, text: string): void =>
    send(res, status, HTML_ERROR(status, text), { 'content-type': 'text/html' });

  const takeToken = (): number => {
    const limit = options.rateLimit!;
    const now = Date.now();
    tokens = Math.min(limit, tokens + ((now - tokensAt) / 1000) * limit);
    tokensAt = now;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - tokens) / limit));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    if (url.pathname === STATS_PATH) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stats));
      return;
    }
    stats.requests++;
    if (options.down) return sendHtml(res, 503, 'Service Temporarily Unavailable');
    if (req.method !== 'GET' || url.pathname !== LIST_PATH) {
      return sendJson(res, 404, { message: `Cannot ${req.method} ${url.pathname}`, statusCode: 404 });
    }
    if (req.headers['x-api-key'] !== apiKey || req.headers['x-user-id'] !== userId) {
      return send(res, 401, 'Unauthorized', { 'content-type': 'text/plain' });
    }
    if (options.rateLimit) {
      const waitSeconds = takeToken();
      if (waitSeconds > 0) return tooManyRequests(res, waitSeconds);
    }
    let count: number;
    let offset: number;
    let filter: Filter;
    try {
      offset = options.ignoreOffset ? 0 : (integerParam(url.searchParams, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0);
      const limited = options.maxCountFrom === undefined || offset >= options.maxCountFrom;
      count = integerParam(url.searchParams, 'count', 1, limited ? (options.maxCount ?? MAX_COUNT) : MAX_COUNT) ?? 100;
      if (options.largePagesRepeat && count > 100) offset = Math.floor(offset / 2);
      filter = {
        company: integerParam(url.searchParams, 'company', 1, Number.MAX_SAFE_INTEGER),
        inventory: integerParam(url.searchParams, 'inventory', 1, Number.MAX_SAFE_INTEGER),
      };
    } catch (error) {
      return sendJson(res, 400, { message: (error as Error).message, statusCode: 400 });
    }

    const pageKey = `${filter.company}/${filter.inventory}/${offset}/${count}`;
    const fault = faultPlan.next(pageKey);
    if (fault === 'hang') {
      stats.hung++;
      return; // never answer; the socket stays open until the client gives up or we close
    }
    if (fault === 'drop') {
      stats.dropped++;
      afterLatency(res, () => req.socket.destroy());
      return;
    }
    if (fault === 'throttle') return tooManyRequests(res, faults.retryAfterSeconds ?? 1);
    if (fault === 'serverError') {
      return chance() < 0.5 ? sendHtml(res, 502, 'Bad Gateway') : sendHtml(res, 503, 'Service Temporarily Unavailable');
    }

    const body = pageCache?.get(pageKey) ?? renderPage(filter, offset, count);
    if (pageCache && !pageCache.has(pageKey)) pageCache.set(pageKey, body);
    if (fault === 'truncate') return send(res, 200, body.subarray(0, Math.floor(body.length / 2)), { 'content-type': 'application/json' });
    if (fault === 'cut') return afterLatency(res, () => ((stats.dropped++), sendCut(res, body)));
    if (fault === 'endless') return afterLatency(res, () => sendEndless(res));
    if (options.compress && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      stats.compressed++;
      return send(res, 200, gzipSync(body), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    }
    send(res, 200, body, { 'content-type': 'application/json' });
  };

  const renderPage = (filter: Filter, offset: number, count: number): Buffer => {
    const list = listFor(filter);
    list.tick();
    const total = list.size;
    const end = Math.min(total, offset + Math.min(count, options.maxPageSize ?? count));
    const items: string[] = [];
    for (let position = offset; position < end; position++) items.push(itemJson(list.indexAt(position), inventory));
    return Buffer.from(`{"total":${total},"offset":${offset},"count":${items.length},"sims":[${items.join(',')}]}`);
  };

  const server: Server = createServer((req, res) => {
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    answerAt.set(res, performance.now() + (options.latencyMs ?? 0));
    try {
      handle(req, res);
    } catch (error) {
      sendJson(res, 500, { message: (error as Error).message, statusCode: 500 });
    }
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    apiBaseUrl: `http://${host}:${port}${BASE_PATH}`,
    stats,
    listing: (filter = {}) => {
      const list = listFor(filter);
      return Array.from({ length: list.size }, (_, position) => itemJson(list.indexAt(position), inventory));
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
