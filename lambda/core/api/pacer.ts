/**
 * How fast the export may talk to the API: requests in flight, and requests per second.
 *
 * The API's rate limit is undocumented, so the pacer discovers it (AIMD, as TCP does):
 * it starts at the configured concurrency with no rate cap; every 429 halves the requests in
 * flight, caps the rate at 70% of what was just being sent and pauses everyone for the
 * Retry-After; every success adds back a little (about one request per second, per second).
 * One 429 burst counts once: answers to requests sent before the last slow-down do not slow
 * down again.
 */

export interface PacerOptions {
  /** The most requests in flight at once (the `--concurrency` setting). */
  readonly maxConcurrency: number;
  /** Clock, injectable for tests. */
  readonly now?: () => number;
}

/** Proof of a slot; hand it back to `release`. */
export interface Ticket {
  readonly sentAt: number;
}

export type Outcome = { readonly kind: 'ok' } | { readonly kind: 'failed' } | { readonly kind: 'throttled'; readonly retryAfterMs?: number };

const MIN_RATE = 0.5; // requests per second: never slower than one request every two seconds
const RATE_WINDOW = 32; // recent send times kept to measure the current rate

export class Pacer {
  private readonly maxConcurrency: number;
  private readonly now: () => number;
  private concurrency: number;
  private rate = Number.POSITIVE_INFINITY;
  private inFlight = 0;
  private nextSendAt = 0;
  private pausedUntil = 0;
  private lastSlowDownAt = Number.NEGATIVE_INFINITY;
  private readonly recentSends: number[] = [];
  private readonly waiting: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  /** How many times a 429 made the pacer slow down. */
  public slowDowns = 0;

  constructor(options: PacerOptions) {
    this.maxConcurrency = options.maxConcurrency;
    this.concurrency = options.maxConcurrency;
    this.now = options.now ?? Date.now;
  }

  /** The requests currently allowed in flight. */
  get allowedInFlight(): number {
    return Math.max(1, Math.floor(this.concurrency));
  }

  /** The current rate cap in requests per second (Infinity until the API first says 429). */
  get ratePerSecond(): number {
    return this.rate;
  }

  /** Waits for a slot; rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<Ticket> {
    return new Promise<Ticket>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.take());
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
      this.pump();
    });
  }

  /** Returns a slot and says how the request went. */
  release(ticket: Ticket, outcome: Outcome): void {
    this.inFlight--;
    if (outcome.kind === 'throttled') this.slowDown(ticket, outcome.retryAfterMs);
    else if (outcome.kind === 'ok') this.speedUp();
    this.pump();
  }

  private take(): Ticket {
    const now = this.now();
    this.inFlight++;
    this.nextSendAt = Math.max(now, this.nextSendAt) + (Number.isFinite(this.rate) ? 1000 / this.rate : 0);
    this.recentSends.push(now);
    if (this.recentSends.length > RATE_WINDOW) this.recentSends.shift();
    return { sentAt: now };
  }

  private slowDown(ticket: Ticket, retryAfterMs: number | undefined): void {
    const now = this.now();
    if (retryAfterMs !== undefined) this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
    // Requests sent before the last slow-down were sent at the old pace: count that burst once.
    if (ticket.sentAt < this.lastSlowDownAt) return;
    this.lastSlowDownAt = now;
    this.slowDowns++;
    this.concurrency = Math.max(1, this.concurrency / 2);
    const current = Number.isFinite(this.rate) ? this.rate : this.measuredRate(now);
    if (current === undefined) return; // too few requests yet to know the pace: fewer in flight must do
    this.rate = Math.max(MIN_RATE, current * 0.7);
    this.nextSendAt = Math.max(this.nextSendAt, now + 1000 / this.rate);
  }

  private speedUp(): void {
    if (this.concurrency < this.maxConcurrency) {
      this.concurrency = Math.min(this.maxConcurrency, this.concurrency + 1 / this.concurrency);
    }
    // One success in `rate` per second adds 1/rate: about +1 request/s every second.
    if (Number.isFinite(this.rate)) this.rate += 1 / this.rate;
  }

  /** Requests per second over the last RATE_WINDOW sends; undefined until that many were sent. */
  private measuredRate(now: number): number | undefined {
    const oldest = this.recentSends[0];
    if (oldest === undefined || this.recentSends.length < RATE_WINDOW) return undefined;
    const seconds = Math.max(0.001, (now - oldest) / 1000);
    return this.recentSends.length / seconds;
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.inFlight < this.allowedInFlight) {
      const wait = Math.max(this.pausedUntil, this.nextSendAt) - this.now();
      if (wait > 0) {
        this.schedule(wait);
        return;
      }
      this.waiting.shift()!();
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delayMs);
  }
}
