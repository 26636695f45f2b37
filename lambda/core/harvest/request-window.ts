/**
 * The requests of one pass: which pages are in flight (page-plan.ts decides), their answers
 * kept until they can be handed on in offset order, and a page size `auto` that shrinks when a
 * large page fails. The harvest (harvest.ts) does the bookkeeping on what it hands on.
 *
 * Answers go into the plan the moment they arrive, and the freed slot is refilled at once,
 * whether or not the writer is keeping up: the window alone bounds how far ahead we read.
 */
import { setMaxListeners } from 'node:events';
import type { BetatelClient, PageRange } from '../api/betatel-client';
import type { Page } from '../api/page';
import { DOCUMENTED_PAGE_SIZE } from '../endpoint';
import { PagePlan } from './page-plan';
import { isSizeFailure, LARGE_PAGE_TRIES } from './page-size';

export interface WindowOptions {
  readonly pageSize: number;
  /** How many records may be requested beyond what was handed on. */
  readonly lookahead: number;
  /** Where the pass starts (0, or where an earlier invocation stopped). */
  readonly start: number;
  readonly signal: AbortSignal;
  /** `auto` with large pages: a large page that fails falls back to the documented size, for that page and the rest of the run (SPEC.md). */
  readonly large: boolean;
  /** Told the API's first total of the pass. */
  readonly onFirstTotal: (total: number) => void;
  /** Told when a large page failed and pages are now of the documented size. */
  readonly onShrink: (reason: string) => void;
}

export class RequestWindow {
  private readonly plan: PagePlan;
  private readonly pages = new Map<number, Page>();
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private large: boolean;
  private failure: { error: unknown } | undefined;
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private stopping = false;

  constructor(
    private readonly client: BetatelClient,
    private readonly options: WindowOptions,
  ) {
    this.plan = new PagePlan(options.pageSize, options.lookahead, options.start);
    this.signal = AbortSignal.any([options.signal, this.controller.signal]);
    // Every request and pacer wait listens on this signal: many listeners is expected, not a leak.
    setMaxListeners(0, this.signal);
    this.large = options.large;
  }

  /** Every item before this offset has been handed on. */
  get handedOn(): number {
    return this.plan.handedOn;
  }

  get latestTotal(): number | undefined {
    return this.plan.latestTotal;
  }

  /** Every total the API reported in this window's answers. */
  get totalsSeen(): ReadonlySet<number> {
    return this.plan.totalsSeen;
  }

  /** Starts requesting; `first` is the pass's first page if it is already at hand (`auto`'s probe). */
  open(first?: Page): void {
    if (first && this.options.start === 0) this.arrived(this.plan.next()!, first);
    else this.fill();
  }

  /** Wakes a wait in `ready`, so it can look at the clock again. */
  poke(): void {
    this.wake?.();
  }

  /**
   * The next pages to hand on, in offset order, once at least one is there: 'done' when the pass
   * is read, 'due' when `due()` says to stop first. Throws what a request failed with.
   */
  async ready(due: () => boolean): Promise<Page[] | 'done' | 'due'> {
    for (;;) {
      if (this.failure) throw this.failure.error;
      if (!this.plan.done && due()) return 'due';
      const ranges = [...this.plan.ready()];
      if (ranges.length > 0) {
        this.fill(); // handing pages on moved the window
        return ranges.map((range) => {
          const page = this.pages.get(range.offset)!;
          this.pages.delete(range.offset);
          return page;
        });
      }
      if (this.plan.done) return 'done';
      if (this.inFlight === 0) throw new Error('internal error: paging stalled');
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  /** Stops the other requests and waits for them: nothing keeps running behind the pass. */
  async close(): Promise<void> {
    this.stopping = true;
    this.controller.abort();
    while (this.inFlight > 0) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  private fill(): void {
    if (this.failure || this.stopping) return;
    for (let range = this.plan.next(); range; range = this.plan.next()) this.request(range);
  }

  private arrived(range: PageRange, page: Page): void {
    this.pages.set(range.offset, page);
    if (this.plan.latestTotal === undefined) this.options.onFirstTotal(page.total);
    this.plan.arrive(range, page.records.length, page.total);
    this.fill();
  }

  private request(range: PageRange): void {
    this.inFlight++;
    const large = this.large && range.count > DOCUMENTED_PAGE_SIZE;
    this.client
      .fetchPage(range, this.signal, large ? LARGE_PAGE_TRIES : {})
      .then(
        (page) => this.arrived(range, page),
        (error: unknown) => {
          if (this.stopping) return;
          if (large && isSizeFailure(error)) {
            // Several large pages can be in flight when the first fails: each is asked again in
            // pages of the documented size, and the change is reported once.
            if (this.large) this.options.onShrink(`a page of ${range.count} failed (${(error as Error).message.slice(0, 160)})`);
            this.large = false;
            this.plan.shrink(range, DOCUMENTED_PAGE_SIZE);
            this.fill();
            return;
          }
          this.failure ??= { error };
        },
      )
      .finally(() => {
        this.inFlight--;
        this.wake?.();
      });
  }
}
