/**
 * Reads every eSIM of the inventory exactly once: yields, page by page in offset order, the
 * records not handed on before.
 *
 * One pass fetches every page (page-plan.ts decides which, the client fetches them
 * concurrently). The pass is consistent when the API reported one `total` throughout and we
 * saw exactly that many distinct ICCIDs. If the inventory moved while we read it, we read it
 * again (up to `maxPasses`), handing on only ICCIDs not seen before, until a pass is
 * consistent. Whatever could not be reconciled is reported as a warning; a shortfall that no
 * change of the inventory explains fails the export, unless a second pass finds nothing new
 * and eSIMs listed twice make up the total (duplicates are data; repeated whole pages are not).
 * With `auto`, a pass of large pages that falls short is read again in pages of 100 first.
 *
 * An export longer than one Lambda invocation stops at `stopAt` and carries on in the next one
 * from `checkpoint` (plain JSON) and the ICCID set (saved as bytes): the same records, in the
 * same order, as one long read.
 */
import { setMaxListeners } from 'node:events';
import type { BetatelClient, PageRange } from '../api/betatel-client';
import { IccidSet } from './iccid-set';
import { type HarvestSummary, type PassResult, summarize } from './reconcile';

export type { HarvestSummary };
import { PagePlan } from './page-plan';
import type { Page } from '../api/page';
import type { ApiRecord } from '../record';
import { choosePageSize, isSizeFailure } from './page-size';
import { DOCUMENTED_PAGE_SIZE, type PageSize } from '../settings';

/** Records fetched ahead of the writer at most (parsed, about 1 KB each on the JS heap). */
const MAX_LOOKAHEAD = 10_000;
/** ICCIDs the set makes room for up front at most (about 150 MB); beyond, it grows as it fills. */
const MAX_RESERVE = 10_000_000;

export interface HarvestOptions {
  /** A number, or 'auto' (SPEC.md): ask for MAX_PAGE_SIZE, keep the largest size the API honours. */
  readonly pageSize: PageSize;
  readonly concurrency: number;
  readonly maxPasses: number;
  readonly signal: AbortSignal;
  /** Epoch ms: hand over at this time (checkpoint) instead of reading on. Absent: read to the end. */
  readonly stopAt?: number;
  readonly onProgress?: (progress: HarvestProgress) => void;
  /** Told when `auto` settles on a page size, and why. */
  readonly onPageSize?: (pageSize: number, reason: string) => void;
}

export interface HarvestProgress {
  readonly pass: number;
  /** Distinct eSIMs handed on so far. */
  readonly records: number;
  /** The API's latest total. */
  readonly total: number | undefined;
}


/**
 * Where a harvest stands, as plain JSON: enough for the next invocation to carry on exactly
 * where this one stopped. With the ICCID set, it is the export's whole memory.
 */
export interface HarvestCheckpoint {
  /** The page size in use, once `auto` has settled it. */
  readonly pageSize?: number;
  readonly pass: number;
  /** Every item before this offset has been handed on in this pass. */
  readonly offset: number;
  readonly totalsSeen: readonly number[];
  readonly total?: number;
  /** Counts of the current pass so far. */
  readonly distinct: number;
  readonly repeats: number;
  /** Pages of the current pass whose every item had been listed before in it: broken paging, not duplicates. */
  readonly repeatedPages?: number;
  /** Distinct eSIMs handed on in all passes. */
  readonly records: number;
  /** `records` when the current pass began. */
  readonly passStartRecords?: number;
  /** Set once the last pass has ended. */
  readonly summary?: HarvestSummary;
}

export const START: HarvestCheckpoint = { pass: 1, offset: 0, totalsSeen: [], distinct: 0, repeats: 0, records: 0 };


export class Harvest {
  private state: HarvestCheckpoint;
  /** The page `auto` probed with (the listing's first), used by the first pass. */
  private first: Page | undefined;

  constructor(
    private readonly client: BetatelClient,
    private readonly options: HarvestOptions,
    from: HarvestCheckpoint = START,
    /** The ICCIDs handed on before (a resumed export passes the saved set). */
    public readonly seen = new IccidSet(),
  ) {
    this.state = from;
  }

  /** Where the harvest stands: saved between invocations. */
  get checkpoint(): HarvestCheckpoint {
    return this.state;
  }

  /** Available once the last pass has ended. */
  get summary(): HarvestSummary {
    if (!this.state.summary) throw new Error('the harvest has not finished');
    return this.state.summary;
  }

  /** Yields new records until the inventory is read (summary set) or `stopAt` comes (checkpoint set). */
  async *batches(): AsyncGenerator<readonly ApiRecord[]> {
    if (this.state.summary) return;
    const { pageSize, signal, onPageSize } = this.options;
    if (this.state.pageSize === undefined) {
      const chosen = await choosePageSize(this.client, pageSize, signal, onPageSize);
      this.state = { ...this.state, pageSize: chosen.pageSize };
      this.first = chosen.first;
    }
    for (;;) {
      const result = yield* this.pass(this.state.pageSize!);
      if (!result) return; // stopped for a checkpoint
      if (this.largePagesFellShort(result)) {
        // Large pages listed fewer distinct eSIMs than a total that held still (they repeat
        // items, or skip): read again at the documented size before calling the API broken.
        this.options.onPageSize?.(DOCUMENTED_PAGE_SIZE, `pages of ${this.state.pageSize} listed only ${this.state.records} distinct of ${result.total} eSIMs`);
        this.state = { ...START, pageSize: DOCUMENTED_PAGE_SIZE, pass: this.state.pass + 1, records: this.state.records, passStartRecords: this.state.records };
        continue;
      }
      // A pass after the first that found nothing new, short of a steady total only by eSIMs it
      // listed twice (no whole page repeated), reads an API whose total counts duplicates: data.
      const { pass, records, passStartRecords = 0 } = this.state;
      const duplicates = pass > 1 && records === passStartRecords && result.totalsSeen.length === 1 && result.repeatedPages === 0 && result.distinct + result.repeats === result.total;
      if (result.consistent || duplicates || pass >= this.options.maxPasses) {
        this.state = { ...this.state, summary: summarize(result, duplicates, this.state.pass, this.state.records) };
        return;
      }
      this.state = { ...START, pageSize: this.state.pageSize, pass: pass + 1, records, passStartRecords: records };
    }
  }

  /** `auto` read a pass in pages over the documented size, and the pass fell short of a steady total. */
  private largePagesFellShort(result: PassResult): boolean {
    const { pageSize = 0, records } = this.state;
    return this.options.pageSize === 'auto' && pageSize > DOCUMENTED_PAGE_SIZE && !result.consistent && result.totalsSeen.length <= 1 && records < result.total;
  }

  /** Reads the current pass from the checkpoint's offset; undefined when stopped for a checkpoint. */
  private async *pass(pageSize: number): AsyncGenerator<readonly ApiRecord[], PassResult | undefined> {
    const { concurrency, stopAt } = this.options;
    const { pass } = this.state;
    // Look ahead by two rounds of requests (enough to keep every slot busy), and never by more
    // than MAX_LOOKAHEAD records, so memory stays bounded whatever --page-size and --concurrency say.
    const plan = new PagePlan(pageSize, Math.max(pageSize, Math.min(pageSize * concurrency * 2, MAX_LOOKAHEAD)), this.state.offset);
    const controller = new AbortController();
    const signal = AbortSignal.any([this.options.signal, controller.signal]);
    // Every request and pacer wait listens on this signal: many listeners is expected, not a leak.
    setMaxListeners(0, signal);
    // `auto` with large pages: a large page that fails falls back to the documented size, for
    // that page and the rest of the export, instead of failing the run (SPEC.md).
    let large = this.options.pageSize === 'auto' && pageSize > DOCUMENTED_PAGE_SIZE;
    let failure: { error: unknown } | undefined;
    let inFlight = 0;
    let wake: (() => void) | undefined;
    let stopping = false;
    // Stop at `stopAt`, but never before this invocation has handed on a page: each one makes progress.
    const startOffset = this.state.offset;
    const due = (): boolean => stopAt !== undefined && Date.now() >= stopAt && plan.handedOn > startOffset;
    const timer = stopAt === undefined ? undefined : setTimeout(() => wake?.(), Math.max(0, stopAt - Date.now()));
    const pageByOffset = new Map<number, Page>();
    const totalsSeen = new Set(this.state.totalsSeen);
    let { distinct, repeats, records } = this.state;
    let repeatedPages = this.state.repeatedPages ?? 0;

    // Answers go into the plan the moment they arrive, and the freed slot is refilled at once,
    // whether or not the writer is keeping up: the window alone bounds how far ahead we read.
    const fill = (): void => {
      if (failure || stopping) return;
      for (let range = plan.next(); range; range = plan.next()) start(range);
    };
    const arrived = (range: PageRange, page: Page): void => {
      pageByOffset.set(range.offset, page);
      // Sized once from the API's total, within reason: a total of 10^12 must not allocate a table.
      if (plan.latestTotal === undefined) this.seen.reserve(Math.min(page.total, MAX_RESERVE));
      plan.arrive(range, page.records.length, page.total);
      totalsSeen.add(page.total);
      fill();
    };
    const start = (range: PageRange): void => {
      inFlight++;
      const probe = large && range.count > DOCUMENTED_PAGE_SIZE;
      this.client
        .fetchPage(range, signal, { probe })
        .then(
          (page) => arrived(range, page),
          (error: unknown) => {
            if (stopping) return;
            if (probe && isSizeFailure(error)) {
              large = false;
              plan.shrink(range, DOCUMENTED_PAGE_SIZE);
              this.state = { ...this.state, pageSize: DOCUMENTED_PAGE_SIZE };
              this.options.onPageSize?.(DOCUMENTED_PAGE_SIZE, `a page of ${range.count} failed (${(error as Error).message.slice(0, 160)})`);
              fill();
              return;
            }
            failure ??= { error };
          },
        )
        .finally(() => {
          inFlight--;
          wake?.();
        });
    };
    const save = (): void => {
      this.state = { ...this.state, offset: plan.handedOn, totalsSeen: [...totalsSeen], total: plan.latestTotal, distinct, repeats, repeatedPages, records };
    };

    try {
      // The page `auto` probed with is this pass's first: 100 pages cost 100 requests, not 101.
      const first = this.first;
      this.first = undefined;
      if (first && this.state.offset === 0) arrived(plan.next()!, first);
      else fill();
      for (;;) {
        if (failure) throw failure.error;
        if (!plan.done && due()) {
          stopping = true;
          return undefined; // `finally` saves where we are
        }
        const ready = [...plan.ready()];
        if (ready.length === 0) {
          if (plan.done) break;
          if (inFlight === 0) throw new Error(`internal error: paging stalled at pass ${pass}`);
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        fill(); // handing pages on moved the window
        for (const range of ready) {
          const page = pageByOffset.get(range.offset)!;
          pageByOffset.delete(range.offset);
          const fresh: ApiRecord[] = [];
          const repeatsBefore = repeats;
          for (const record of page.records) {
            const sighting = this.seen.mark(record.iccid, pass);
            if (sighting === 'repeat-in-pass') repeats++;
            else distinct++;
            if (sighting === 'new') fresh.push(record);
          }
          if (page.records.length > 1 && repeats - repeatsBefore === page.records.length) repeatedPages++;
          records += fresh.length;
          save();
          if (fresh.length > 0) yield fresh;
          this.options.onProgress?.({ pass, records, total: plan.latestTotal });
        }
      }
    } finally {
      clearTimeout(timer);
      // Stop the other requests and wait for them: nothing keeps running behind us. Pages that
      // arrived beyond what was handed on are read again by the next invocation.
      stopping = true;
      controller.abort();
      while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
    }
    const total = plan.latestTotal ?? 0;
    return { consistent: totalsSeen.size === 1 && distinct === total, total, totalsSeen: [...totalsSeen], distinct, repeats, repeatedPages };
  }
}

