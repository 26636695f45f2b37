/**
 * Retrying one request: exponential backoff with full jitter, at least the server's
 * Retry-After, within a bounded total time.
 *
 * Why not a library: cockatiel and exponential-backoff both sleep between attempts on a timer
 * that an AbortSignal cannot cancel, so a fatal error on another page, or the Lambda's
 * deadline, would wait out a backoff of up to `maxDelayMs`. This loop sleeps with
 * `timers/promises`, which the signal interrupts at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GaveUp, TransientError } from '../errors';

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /**
   * Stop retrying once the API has not answered anything successfully for this long: a server
   * that is down for good fails the run within about `budgetMs` plus one request timeout.
   */
  readonly budgetMs: number;
}

// Backoff caps 0.5, 1, 2, … 16, then 20 s: twelve attempts span about a minute on average
// (full jitter), so the two-minute budget is what usually ends a long outage.
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 12,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  budgetMs: 120_000,
};


export interface RetryEvent {
  readonly attempt: number;
  readonly delayMs: number;
  readonly reason: string;
}

export interface RetryContext {
  readonly policy: RetryPolicy;
  readonly signal?: AbortSignal;
  /** When the API last answered successfully (ms since epoch): the budget counts from there. */
  readonly lastSuccessAt: () => number;
  readonly onRetry?: (event: RetryEvent) => void;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** The delay before attempt `attempt + 1`: full jitter over an exponential cap, never below Retry-After. */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.max(Math.round(random() * cap), retryAfterMs ?? 0);
}

/**
 * Runs `fn` until it succeeds, throws something other than a TransientError, or the policy
 * gives up; then throws a `GaveUp` holding the last transient error.
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, context: RetryContext): Promise<T> {
  const { policy, signal } = context;
  const random = context.random ?? Math.random;
  const now = context.now ?? Date.now;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!(error instanceof TransientError) || signal?.aborted) throw error;
      const delayMs = backoffDelay(policy, attempt, error.retryAfterMs, random);
      const quietFor = now() - context.lastSuccessAt();
      if (attempt >= policy.maxAttempts || quietFor + delayMs > policy.budgetMs) {
        throw new GaveUp(error, attempt, quietFor);
      }
      context.onRetry?.({ attempt, delayMs, reason: error.message });
      await sleep(delayMs, undefined, { signal });
    }
  }
}


/** Parses a Retry-After header (seconds, or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(header: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
