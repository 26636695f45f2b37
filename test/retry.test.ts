import { backoffDelay, DEFAULT_RETRY_POLICY, parseRetryAfter, withRetries } from '../lambda/core/api/retry';
import { GaveUp, TransientError } from '../lambda/core/errors';
import { DEFAULT_TUNING } from '../lambda/core/export';

const fast = { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5, budgetMs: 10_000 };

describe('withRetries', () => {
  it('retries transient failures until one attempt succeeds', async () => {
    const attempts: number[] = [];
    const result = await withRetries(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw new TransientError('HTTP 503');
        return 'ok';
      },
      { policy: fast, lastSuccessAt: () => Date.now() },
    );
    expect(result).toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('does not retry an error that is not transient', async () => {
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          throw new Error('HTTP 401');
        },
        { policy: fast, lastSuccessAt: () => Date.now() },
      ),
    ).rejects.toThrow('HTTP 401');
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts', async () => {
    let calls = 0;
    const failing = withRetries(
      async () => {
        calls++;
        throw new TransientError('HTTP 502');
      },
      { policy: fast, lastSuccessAt: () => Date.now() },
    );
    await expect(failing).rejects.toBeInstanceOf(GaveUp);
    expect(calls).toBe(5);
  });

  it('gives up once the API has been failing for longer than the budget', async () => {
    let calls = 0;
    const failing = withRetries(
      async () => {
        calls++;
        throw new TransientError('HTTP 503');
      },
      { policy: { ...fast, maxAttempts: 100, budgetMs: 1_000 }, lastSuccessAt: () => Date.now() - 5_000 },
    );
    await expect(failing).rejects.toBeInstanceOf(GaveUp);
    expect(calls).toBe(1);
  });

  it('stops sleeping when the signal aborts, with the abort as its reason', async () => {
    const controller = new AbortController();
    const failing = withRetries(
      async () => {
        throw new TransientError('HTTP 429', 60_000);
      },
      { policy: { ...fast, budgetMs: 120_000 }, lastSuccessAt: () => Date.now(), signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 50);
    // The server asked for a minute: a sleep the abort did not end would outlast the test's timeout.
    await expect(failing).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('reports each retry with its delay', async () => {
    const events: number[] = [];
    await withRetries(
      async (attempt) => {
        if (attempt === 1) throw new TransientError('HTTP 429', 20);
        return 1;
      },
      { policy: fast, lastSuccessAt: () => Date.now(), onRetry: (event) => events.push(event.delayMs) },
    );
    expect(events).toEqual([20]);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1_000, budgetMs: 60_000 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(policy, attempt, undefined, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelay(policy, 3, undefined, () => 0.5)).toBe(200);
  });

  it('never waits less than the Retry-After', () => {
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 1, 5_000, () => 0)).toBe(5_000);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2_000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 10:00:05 GMT', Date.parse('2026-11-27T10:00:00Z'))).toBe(5_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('default retry bounds', () => {
  it('let a server that is down for good fail a run within three minutes', () => {
    // The last sleep ends inside the budget; the last attempt can then take one request timeout.
    expect(DEFAULT_RETRY_POLICY.budgetMs + DEFAULT_TUNING.requestTimeoutMs).toBeLessThanOrEqual(180_000);
  });
});
