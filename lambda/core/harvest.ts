/**
 * Reads every eSIM of the inventory exactly once: yields, page by page in offset order, the
 * records not handed on before.
 *
 * One pass fetches every page (page-plan.ts decides which, the client fetches them
 * concurrently). The pass is consistent when the API reported one `total` throughout and we
 * saw exactly that many distinct ICCIDs. If the inventory moved while we read it, we read it
 * again (up to `maxPasses`), handing on only ICCIDs not seen before, until a pass is
 * consistent. Whatever could not be reconciled is reported as a warning.
 */
import { setMaxListeners } from 'node:events';
import type { BetatelClient, PageRange } from './betatel-client';
import { IccidSet } from './iccid-set';
import { PagePlan } from './page-plan';
import type { ApiRecord, Page } from './records';

/** Records fetched ahead of the writer at most (parsed, about 1 KB each on the JS heap). */
const MAX_LOOKAHEAD = 10_000;
/** ICCIDs the set makes room for up front at most (about 150 MB); beyond, it grows as it fills. */
const MAX_RESERVE = 10_000_000;

export interface HarvestOptions {
  readonly pageSize: number;
  readonly concurrency: number;
  readonly maxPasses: number;
  readonly signal: AbortSignal;
  readonly onProgress?: (progress: HarvestProgress) => void;
}

export interface HarvestProgress {
  readonly pass: number;
  /** Distinct eSIMs handed on so far. */
  readonly records: number;
  /** The API's latest total. */
  readonly total: number | undefined;
}

export interface HarvestSummary {
  readonly records: number;
  readonly apiTotal: number;
  readonly passes: number;
  readonly warnings: readonly string[];
}

interface PassResult {
  readonly consistent: boolean;
  readonly total: number;
  readonly totalsSeen: readonly number[];
  readonly distinct: number;
  readonly repeats: number;
}

export class Harvest {
  private readonly seen = new IccidSet();
  private records = 0;
  private summaryValue: HarvestSummary | undefined;

  constructor(
    private readonly client: BetatelClient,
    private readonly options: HarvestOptions,
  ) {}

  /** Available once iteration has finished. */
  get summary(): HarvestSummary {
    if (!this.summaryValue) throw new Error('the harvest has not finished');
    return this.summaryValue;
  }

  async *batches(): AsyncGenerator<readonly ApiRecord[]> {
    const warnings: string[] = [];
    let pass = 1;
    let result = yield* this.pass(pass);
    while (!result.consistent && pass < this.options.maxPasses) result = yield* this.pass(++pass);
    if (result.repeats > 0 && pass === 1) {
      warnings.push(`the API listed ${result.repeats} eSIM(s) more than once while paging; each was written once.`);
    }
    if (!result.consistent && result.totalsSeen.length > 1) {
      warnings.push(
        `the inventory kept changing during the export: after ${pass} passes the API reported totals ` +
          `${result.totalsSeen.join(', ')} in the last pass, which listed ${result.distinct} distinct eSIMs; ` +
          'eSIMs added or moved during the run may be missing. Run again when the inventory is quieter.',
      );
    } else if (!result.consistent) {
      // The total held still, yet paging did not list that many distinct eSIMs: the API's paging
      // skips or repeats items (an unstable sort, or an offset it ignores).
      warnings.push(
        `the API reported a total of ${result.total} but its pages listed ${result.distinct} distinct eSIMs, ` +
          `in each of ${pass} passes; the snapshot holds the ${this.records} it could read.`,
      );
    }
    const gone = this.records - result.distinct;
    if (pass > 1 && gone > 0) {
      warnings.push(
        `${gone} eSIM(s) in this snapshot were no longer listed by the API at the end of the run ` +
          '(removed or moved out of scope while it ran).',
      );
    }
    this.summaryValue = { records: this.records, apiTotal: result.total, passes: pass, warnings };
  }

  private async *pass(pass: number): AsyncGenerator<readonly ApiRecord[], PassResult> {
    const { pageSize, concurrency } = this.options;
    // Look ahead by two rounds of requests (enough to keep every slot busy), and never by more
    // than MAX_LOOKAHEAD records, so memory stays bounded whatever --page-size and --concurrency say.
    const plan = new PagePlan(pageSize, Math.max(pageSize, Math.min(pageSize * concurrency * 2, MAX_LOOKAHEAD)));
    const controller = new AbortController();
    const signal = AbortSignal.any([this.options.signal, controller.signal]);
    // Every request and pacer wait listens on this signal: many listeners is expected, not a leak.
    setMaxListeners(0, signal);
    let failure: { error: unknown } | undefined;
    let inFlight = 0;
    let wake: (() => void) | undefined;
    const pageByOffset = new Map<number, Page>();
    let distinct = 0;
    let repeats = 0;

    // Answers go into the plan the moment they arrive, and the freed slot is refilled at once,
    // whether or not the writer is keeping up: the window alone bounds how far ahead we read.
    const fill = (): void => {
      if (failure) return;
      for (let range = plan.next(); range; range = plan.next()) start(range);
    };
    const start = (range: PageRange): void => {
      inFlight++;
      this.client
        .fetchPage(range, signal)
        .then(
          (page) => {
            pageByOffset.set(range.offset, page);
            // Sized once from the API's total, within reason: a total of 10^12 must not allocate a table.
            if (plan.latestTotal === undefined) this.seen.reserve(Math.min(page.total, MAX_RESERVE));
            plan.arrive(range, page.records.length, page.total);
            fill();
          },
          (error: unknown) => {
            failure ??= { error };
          },
        )
        .finally(() => {
          inFlight--;
          wake?.();
        });
    };

    try {
      fill();
      for (;;) {
        if (failure) throw failure.error;
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
          for (const record of page.records) {
            const sighting = this.seen.mark(record.iccid, pass);
            if (sighting === 'repeat-in-pass') repeats++;
            else distinct++;
            if (sighting === 'new') fresh.push(record);
          }
          if (fresh.length > 0) {
            this.records += fresh.length;
            yield fresh;
          }
          this.options.onProgress?.({ pass, records: this.records, total: plan.latestTotal });
        }
      }
    } finally {
      // On failure, stop the other requests and wait for them: nothing keeps running behind us.
      controller.abort();
      while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
    }
    const total = plan.latestTotal ?? 0;
    return {
      consistent: plan.totalsSeen.size === 1 && distinct === total,
      total,
      totalsSeen: [...plan.totalsSeen],
      distinct,
      repeats,
    };
  }
}
