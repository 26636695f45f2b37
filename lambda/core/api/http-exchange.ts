/**
 * One HTTP exchange with the API: the request, its time limit, the body (decompressed, and
 * bounded), and the proxy the environment names. No retries and no meaning: the client
 * (betatel-client.ts) decides what an answer amounts to.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import { BodyTooLargeError, TimeoutError } from '../errors';

/**
 * The largest body we read, decompressed. A page of 1,000 eSIMs is about 1.5 MB, so 16 MiB is
 * ten times what a real page needs; a body that never ends would otherwise be buffered until
 * the Lambda dies. It also bounds memory: at most `concurrency` bodies are read at once, and a
 * parsed page takes several times its bytes on the heap.
 */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface Answer {
  readonly status: number;
  readonly retryAfter: string | string[] | undefined;
  readonly body: Buffer;
}


/**
 * A keep-alive agent for the API, through the proxy HTTPS_PROXY / HTTP_PROXY name unless
 * NO_PROXY exempts the host (proxy-from-env reads them as curl does; the agents are the
 * proxy-agents project's, the same the AWS SDK documents for proxies).
 */
export function apiAgent(apiBaseUrl: string, maxSockets: number): http.Agent {
  const proxy = getProxyForUrl(apiBaseUrl);
  const options = { keepAlive: true, maxSockets };
  if (!proxy) return apiBaseUrl.startsWith('https:') ? new https.Agent(options) : new http.Agent(options);
  return apiBaseUrl.startsWith('https:') ? new HttpsProxyAgent(proxy, options) : new HttpProxyAgent(proxy, options);
}

export interface ExchangeOptions {
  readonly agent: http.Agent;
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

/** GETs `url`. Network failures, timeouts and broken bodies reject; any status is an answer. */
export function exchange(url: string, { agent, headers, signal, timeoutMs }: ExchangeOptions): Promise<Answer> {
  const transport = url.startsWith('https:') ? https : http;
  return new Promise<Answer>((resolve, reject) => {
    const request = transport.request(
      url,
      // The pages compress well: ask for it, and decode whatever encoding comes back.
      { method: 'GET', agent, headers: { ...headers, 'accept-encoding': 'gzip, deflate, br' }, signal },
      (response) => {
        let body: Readable = response;
        const encoding = String(response.headers['content-encoding'] ?? 'identity').toLowerCase();
        if (encoding === 'gzip' || encoding === 'x-gzip') body = response.pipe(createGunzip());
        else if (encoding === 'deflate') body = response.pipe(createInflate());
        else if (encoding === 'br') body = response.pipe(createBrotliDecompress());
        const chunks: Buffer[] = [];
        let length = 0;
        body.on('data', (chunk: Buffer) => {
          length += chunk.length;
          if (length > MAX_BODY_BYTES) request.destroy(new BodyTooLargeError(`the answer is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`));
          else chunks.push(chunk);
        });
        // A broken compressed stream is a broken connection: worth another attempt.
        body.on('error', (error) => request.destroy(Object.assign(error, { code: (error as NodeJS.ErrnoException).code ?? 'ECONNRESET' })));
        response.on('error', reject);
        body.on('end', () => {
          // A connection dropped mid-body ends an incomplete response (with no length to check).
          if (!response.complete) return reject(Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' }));
          resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'], body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
        });
        response.on('close', () => {
          if (!response.complete) request.destroy(Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' }));
        });
      },
    );
    // The request's own time limit: a plain timer (AbortSignal.timeout composed with the run's
    // signal per request cost measurably more CPU and garbage over thousands of pages).
    const timer = setTimeout(() => request.destroy(new TimeoutError()), timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', reject);
    request.end();
  });
}
