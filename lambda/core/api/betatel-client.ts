/**
 * The Betatel list endpoint, one page at a time: `GET {base}/esim/sim-registries`.
 *
 * Each page request is paced (pacer.ts), timed out, retried when the failure is transient
 * (retry.ts), and its body read into records (page.ts). Failures that retrying cannot
 * fix (400, 401, 404, a body that is not the documented JSON) fail at once with a message
 * that names the page and what to do. Nothing the API sends back is quoted before the
 * credentials are redacted from it.
 */
import type http from 'node:http';
import {
  ApiBadRequestError,
  ApiBadResponseError,
  ApiNotFoundError,
  ApiUnauthorizedError,
  ApiUnavailableError,
  ExportAbortedError,
  oneLine,
  BodyTooLargeError,
  GaveUp,
  InvalidPageError,
  redact,
  TransientError,
} from '../errors';
import { type Answer, apiAgent, exchange } from './http-exchange';
import type { Pacer } from './pacer';
import { type Page, parsePage } from './page';
import { parseRetryAfter, type RetryEvent, type RetryPolicy, withRetries } from './retry';
import { type Filters, givenFilters } from '../filters';
import { LIST_PATH } from '../endpoint';

export interface Credentials {
  readonly apiKey: string;
  readonly userId: string;
}

export interface PageRange {
  readonly offset: number;
  readonly count: number;
}

export interface BetatelClientOptions {
  readonly apiBaseUrl: string;
  readonly credentials: Credentials;
  /** Where the credentials came from, for the 401 message ("the secret X", "BETATEL_API_KEY"). */
  readonly credentialsSource: string;
  readonly filters: Filters;
  readonly pacer: Pacer;
  readonly retryPolicy: RetryPolicy;
  readonly requestTimeoutMs: number;
  readonly maxConnections: number;
  readonly onRetry?: (event: RetryEvent & { offset: number }) => void;
}

export class BetatelClient {
  /** HTTP requests sent, retries included. */
  public requests = 0;
  /** Requests that were retries of an earlier attempt. */
  public retries = 0;
  private lastSuccessAt = Date.now();
  /** Whether the API has answered anything at all (a refused first connection fails fast). */
  private answered = false;
  private readonly agent: http.Agent;
  private readonly secrets: string[];

  constructor(private readonly options: BetatelClientOptions) {
    this.agent = apiAgent(options.apiBaseUrl, options.maxConnections);
    this.secrets = [options.credentials.apiKey, options.credentials.userId];
  }

  /** The full URL of the list endpoint with the run's filters (no credentials: they travel as headers). */
  get endpoint(): string {
    return `${this.options.apiBaseUrl}${LIST_PATH}`;
  }

  /**
   * Fetches one page, retrying transient failures. `signal` aborts everything at once. With
   * `serverFailures`, the page gives up (ApiUnavailableError) once that many attempts have met a
   * server error or a timeout (429s are retried as usual): the caller decides what a page that
   * fails is worth (harvest/page-size.ts, for a large page).
   */
  async fetchPage(range: PageRange, signal: AbortSignal, { serverFailures = Number.POSITIVE_INFINITY } = {}): Promise<Page> {
    const once = async (attempt: number): Promise<Page> => {
      try {
        return await this.attempt(range, attempt, signal);
      } catch (error) {
        if (attempt >= serverFailures && error instanceof TransientError && !error.throttled) throw new ApiUnavailableError(error.message);
        // Nothing has answered yet and the host refuses or does not exist: a wrong URL or port,
        // not an outage to wait out. Two tries, then say so (a full retry budget is minutes).
        const code = (error as { code?: string }).code;
        if (!this.answered && attempt >= 2 && (code === 'ECONNREFUSED' || code === 'ENOTFOUND')) {
          throw new ApiUnavailableError(
            `could not connect to ${new URL(this.options.apiBaseUrl).host} (${code === 'ECONNREFUSED' ? 'connection refused' : 'no such host'}): ` +
              'check the API URL and its port (--api-url, API_BASE_URL).',
          );
        }
        throw error;
      }
    };
    try {
      return await withRetries(once, {
        policy: this.options.retryPolicy,
        signal,
        lastSuccessAt: () => this.lastSuccessAt,
        onRetry: (event) => this.options.onRetry?.({ ...event, offset: range.offset }),
      });
    } catch (error) {
      if (signal.aborted) throw abortedError(signal, error);
      if (error instanceof GaveUp && (error.last.retryAfterMs ?? 0) > this.options.retryPolicy.budgetMs) {
        throw new ApiUnavailableError(
          `the API asked us to wait ${Math.round(error.last.retryAfterMs! / 1000)} s before the page at offset ${range.offset} (Retry-After), ` +
            `longer than an export waits (${this.options.retryPolicy.budgetMs / 1000} s); nothing was published. Run again after that time.`,
        );
      }
      if (error instanceof GaveUp) {
        throw new ApiUnavailableError(
          `the API did not answer the page at offset ${range.offset} after ${error.attempts} attempts ` +
            `(no successful answer for ${Math.round(error.quietMs / 1000)} s; last: ${error.last.message}). ` +
            'Check the API URL and the API status, then run again.',
          { cause: error.last },
        );
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private url(range: PageRange): string {
    const params = new URLSearchParams({ count: String(range.count), offset: String(range.offset) });
    for (const [param, value] of givenFilters(this.options.filters)) params.set(param, String(value));
    return `${this.endpoint}?${params}`;
  }

  private async attempt(range: PageRange, attempt: number, signal: AbortSignal): Promise<Page> {
    const ticket = await this.options.pacer.acquire(signal);
    this.requests++;
    if (attempt > 1) this.retries++;
    let answer: Answer;
    try {
      answer = await this.exchange(range, signal);
    } catch (error) {
      this.options.pacer.release(ticket, { kind: 'failed' });
      throw error;
    }
    // The slot is free as soon as the answer is in: the next request goes out while this one is parsed.
    const { status, retryAfter } = answer;
    this.answered = true;
    if (status === 200) this.lastSuccessAt = Date.now();
    this.options.pacer.release(
      ticket,
      status === 200 ? { kind: 'ok' } : status === 429 ? { kind: 'throttled', retryAfterMs: parseRetryAfter(retryAfter) } : { kind: 'failed' },
    );
    return this.interpret(range, answer);
  }

  /** One HTTP exchange. Network failures and timeouts are transient; any status is an answer. */
  private async exchange(range: PageRange, runSignal: AbortSignal): Promise<Answer> {
    try {
      return await exchange(this.url(range), {
        agent: this.agent,
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          'x-api-key': this.options.credentials.apiKey,
          'x-user-id': this.options.credentials.userId,
        },
        // The run's signal: the deadline, Ctrl-C, a fatal error elsewhere.
        signal: runSignal,
        timeoutMs: this.options.requestTimeoutMs,
      });
    } catch (error) {
      if (runSignal.aborted) throw abortedError(runSignal, error);
      if (error instanceof BodyTooLargeError) throw new ApiBadResponseError(`the page at offset ${range.offset}: ${error.message}; ask for smaller pages (--page-size).`);
      const code = (error as NodeJS.ErrnoException).code;
      throw Object.assign(new TransientError(describeNetworkError(error, this.options.requestTimeoutMs)), { code });
    }
  }

  /** The page, or the error the answer amounts to. */
  private async interpret(range: PageRange, { status, body, retryAfter }: Answer): Promise<Page> {
    const where = `the page at offset ${range.offset}`;
    if (status === 200) {
      try {
        return parsePage(body);
      } catch (error) {
        if (!(error instanceof InvalidPageError)) throw error;
        throw new ApiBadResponseError(`${where}: ${this.quote(error.message)}. The API URL may not point at the Betatel list endpoint.`);
      }
    }
    const detail = this.detail(body.toString('utf8'));
    if (status === 429) throw new TransientError(`HTTP 429 Too Many Requests${detail}`, parseRetryAfter(retryAfter), true);
    if (status >= 500 || status === 408) throw new TransientError(`HTTP ${status}${detail}`, parseRetryAfter(retryAfter));
    if (status === 401) {
      throw new ApiUnauthorizedError(
        `the API rejected the credentials (HTTP 401${detail}): the API key or user id in ${this.options.credentialsSource} was not accepted. Put a valid key and user id there.`,
      );
    }
    if (status === 400) throw new ApiBadRequestError(`the API rejected the request for ${where} (HTTP 400${detail}). Check the filters and --page-size.`);
    if (status === 404) throw new ApiNotFoundError(`the API answered 404 for ${this.endpoint}: check the API base URL (it must end before /esim/sim-registries).`);
    throw new ApiBadResponseError(`the API answered HTTP ${status} for ${where}${detail}.`);
  }

  /** A short, credential-free excerpt of an error body: JSON `message`, plain text or HTML alike. */
  private detail(body: string): string {
    let text = body;
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed?.message === 'string') text = parsed.message;
    } catch {
      text = body.replace(/<[^>]*>/g, ' ');
    }
    const excerpt = oneLine(this.quote(text), 120);
    return excerpt ? `: ${excerpt}` : '';
  }

  private quote(text: string): string {
    return redact(text, this.secrets);
  }
}

function abortedError(signal: AbortSignal, cause: unknown): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError' && reason.name !== 'TimeoutError') return reason;
  return new ExportAbortedError('the export was stopped before it finished; nothing was published.', { cause });
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  return `connection failed (${code ?? message})`;
}
