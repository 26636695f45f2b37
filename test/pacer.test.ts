import { Pacer } from '../lambda/core/api/pacer';

describe('Pacer', () => {
  it('never lets more requests in flight than the concurrency allows', async () => {
    const pacer = new Pacer({ maxConcurrency: 3 });
    const tickets = await Promise.all([pacer.acquire(), pacer.acquire(), pacer.acquire()]);
    let fourth = false;
    const waiting = pacer.acquire().then((ticket) => {
      fourth = true;
      return ticket;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fourth).toBe(false);
    pacer.release(tickets[0]!, { kind: 'ok' });
    await waiting;
    expect(fourth).toBe(true);
  });

  /** Sends `count` requests, one every `everyMs`, all answered OK. */
  async function warmUp(pacer: Pacer, clock: { now: number }, count: number, everyMs: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      clock.now += everyMs;
      pacer.release(await pacer.acquire(), { kind: 'ok' });
    }
  }

  it('halves the requests in flight and caps the rate below the measured pace on a 429', async () => {
    const clock = { now: 10_000 };
    const pacer = new Pacer({ maxConcurrency: 8, now: () => clock.now });
    await warmUp(pacer, clock, 40, 10); // 100 requests a second
    const ticket = await pacer.acquire();
    clock.now += 10;
    pacer.release(ticket, { kind: 'throttled' });
    expect(pacer.allowedInFlight).toBe(4);
    expect(pacer.ratePerSecond).toBeGreaterThan(60);
    expect(pacer.ratePerSecond).toBeLessThan(80);
  });

  it('only halves the requests in flight when too few were sent to measure the pace', async () => {
    const pacer = new Pacer({ maxConcurrency: 8 });
    pacer.release(await pacer.acquire(), { kind: 'throttled' });
    expect(pacer.allowedInFlight).toBe(4);
    expect(pacer.ratePerSecond).toBe(Number.POSITIVE_INFINITY);
  });

  it('counts a burst of 429s for requests sent at the old pace as one slow-down', async () => {
    let now = 10_000;
    const pacer = new Pacer({ maxConcurrency: 8, now: () => now });
    const tickets = await Promise.all(Array.from({ length: 8 }, () => pacer.acquire()));
    now += 100;
    for (const ticket of tickets) pacer.release(ticket, { kind: 'throttled' });
    expect(pacer.slowDowns).toBe(1);
    expect(pacer.allowedInFlight).toBe(4);
  });

  it('speeds back up as requests succeed', async () => {
    const clock = { now: 10_000 };
    const pacer = new Pacer({ maxConcurrency: 8, now: () => clock.now });
    await warmUp(pacer, clock, 40, 10);
    clock.now += 10;
    pacer.release(await pacer.acquire(), { kind: 'throttled' });
    const slowRate = pacer.ratePerSecond;
    const slowInFlight = pacer.allowedInFlight;
    await warmUp(pacer, clock, 200, 1_000);
    expect(pacer.ratePerSecond).toBeGreaterThan(slowRate);
    expect(pacer.allowedInFlight).toBeGreaterThan(slowInFlight);
    expect(pacer.allowedInFlight).toBeLessThanOrEqual(8);
  });

  it('holds every request back for the Retry-After', async () => {
    const pacer = new Pacer({ maxConcurrency: 4 });
    pacer.release(await pacer.acquire(), { kind: 'throttled', retryAfterMs: 300 });
    const started = Date.now();
    await pacer.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('rejects a waiting request when its signal aborts', async () => {
    const pacer = new Pacer({ maxConcurrency: 1 });
    await pacer.acquire();
    const controller = new AbortController();
    const waiting = pacer.acquire(controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});
