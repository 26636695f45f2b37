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
import type { BetatelClient } from '../api/betatel-client';
import type { Page } from '../api/page';
import type { ApiRecord } from '../record';
import { DOCUMENTED_PAGE_SIZE } from '../endpoint';
import type { PageSize } from '../settings';
import { IccidSet } from './iccid-set';
import { choosePageSize } from './page-size';
import { type HarvestSummary, type PassResult, summarize } from './reconcile';
import { RequestWindow } from './request-window';

export type { HarvestSummary };

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
    const { pass, offset: startOffset } = this.state;
    const window = new RequestWindow(this.client, {
      pageSize,
      // Two rounds of requests ahead (enough to keep every slot busy), never more than
      // MAX_LOOKAHEAD records, so memory stays bounded whatever --page-size and --concurrency say.
      lookahead: Math.max(pageSize, Math.min(pageSize * concurrency * 2, MAX_LOOKAHEAD)),
      start: startOffset,
      signal: this.options.signal,
      large: this.options.pageSize === 'auto' && pageSize > DOCUMENTED_PAGE_SIZE,
      // Sized once from the API's total, within reason: a total of 10^12 must not allocate a table.
      onFirstTotal: (total) => this.seen.reserve(Math.min(total, MAX_RESERVE)),
      onShrink: (reason) => {
        this.state = { ...this.state, pageSize: DOCUMENTED_PAGE_SIZE };
        this.options.onPageSize?.(DOCUMENTED_PAGE_SIZE, reason);
      },
    });
    // Stop at `stopAt`, but never before this invocation has handed on a page: each one makes progress.
    const due = (): boolean => stopAt !== undefined && Date.now() >= stopAt && window.handedOn > startOffset;
    const timer = stopAt === undefined ? undefined : setTimeout(() => window.poke(), Math.max(0, stopAt - Date.now()));
    const totalsSeen = (): number[] => [...new Set([...this.state.totalsSeen, ...window.totalsSeen])];
    let { distinct, repeats, records } = this.state;
    let repeatedPages = this.state.repeatedPages ?? 0;

    try {
      // The page `auto` probed with is this pass's first: 100 pages cost 100 requests, not 101.
      window.open(this.first);
      this.first = undefined;
      for (let pages = await window.ready(due); pages !== 'done'; pages = await window.ready(due)) {
        if (pages === 'due') return undefined; // where we are is saved
        for (const page of pages) {
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
          this.state = { ...this.state, offset: window.handedOn, totalsSeen: totalsSeen(), total: window.latestTotal, distinct, repeats, repeatedPages, records };
          if (fresh.length > 0) yield fresh;
          this.options.onProgress?.({ pass, records, total: window.latestTotal });
        }
      }
    } finally {
      clearTimeout(timer);
      // Pages that arrived beyond what was handed on are read again by the next invocation.
      await window.close();
    }
    const total = window.latestTotal ?? 0;
    const seen = totalsSeen();
    return { consistent: seen.length === 1 && distinct === total, total, totalsSeen: seen, distinct, repeats, repeatedPages };
  }
}
