/**
 * Which pages to ask for, and in what order to hand their records on, during one pass over
 * the inventory. Pure: no I/O, no timers, so every paging rule is testable on its own.
 *
 * - The first page tells the total; the rest are planned from it and fetched concurrently,
 *   never more than `window` items ahead of what has been handed on (memory stays flat).
 * - A short page (fewer items than asked while more remain) leaves a gap that is asked for
 *   again from where it stopped: we advance by what was received.
 * - Pages are handed on in offset order whatever order they arrive in, so the same inventory
 *   always gives the same bytes.
 * - If `total` moves, planning follows it; an empty page before the end marks the end.
 */
import type { PageRange } from '../api/betatel-client';

export class PagePlan {
  private total: number | undefined;
  private nextOffset = 0;
  private end = Number.POSITIVE_INFINITY;
  private readonly gaps: PageRange[] = [];
  private readonly inFlight = new Set<number>();
  private readonly arrived = new Map<number, { range: PageRange; advance: number }>();
  private handedOnTo = 0;
  /** Every `total` the API reported during the pass. */
  public readonly totalsSeen = new Set<number>();

  constructor(
    private pageSize: number,
    private readonly window: number,
    /** Where the pass starts: 0, or where an earlier invocation stopped. */
    start = 0,
  ) {
    this.nextOffset = start;
    this.handedOnTo = start;
  }

  /** Every item before this offset has been handed on. */
  get handedOn(): number {
    return this.handedOnTo;
  }

  /** The latest total the API reported, or undefined before the first answer. */
  get latestTotal(): number | undefined {
    return this.total;
  }

  /** The next range to fetch now, or undefined if none should start yet. */
  next(): PageRange | undefined {
    const gap = this.gaps.shift();
    if (gap) return this.start(gap);
    if (this.total === undefined) {
      // Only the first page until the API has told us how many there are.
      return this.nextOffset === this.handedOnTo && this.inFlight.size === 0 ? this.start(this.claim()) : undefined;
    }
    if (this.nextOffset >= Math.min(this.total, this.end)) return undefined;
    if (this.nextOffset >= this.handedOnTo + this.window) return undefined;
    return this.start(this.claim());
  }

  /** Records an answer for `range`: how many items came back, and the total it reported. */
  arrive(range: PageRange, received: number, total: number): void {
    this.inFlight.delete(range.offset);
    this.total = total;
    this.totalsSeen.add(total);
    let advance = range.count;
    if (received === 0) {
      // Nothing here: the inventory ends at or before this offset.
      this.end = Math.min(this.end, range.offset);
    } else if (received < range.count && range.offset + received < total) {
      // A short page: ask for the rest of the range from where it stopped.
      advance = received;
      this.gaps.push({ offset: range.offset + received, count: range.count - received });
      this.gaps.sort((a, b) => a.offset - b.offset);
    }
    this.arrived.set(range.offset, { range, advance });
  }

  /** Asks for a failed range again in pages of `size`, and for every later page at that size. */
  shrink(range: PageRange, size: number): void {
    this.inFlight.delete(range.offset);
    this.pageSize = size;
    for (let offset = range.offset; offset < range.offset + range.count; offset += size) {
      this.gaps.push({ offset, count: Math.min(size, range.offset + range.count - offset) });
    }
    this.gaps.sort((a, b) => a.offset - b.offset);
  }

  /** The ranges whose pages can be handed on now, in offset order. */
  *ready(): Generator<PageRange> {
    for (let page = this.arrived.get(this.handedOnTo); page; page = this.arrived.get(this.handedOnTo)) {
      this.arrived.delete(this.handedOnTo);
      this.handedOnTo += page.advance;
      yield page.range;
    }
  }

  /** True when every page of the pass has arrived and been handed on. */
  get done(): boolean {
    return (
      this.total !== undefined &&
      this.inFlight.size === 0 &&
      this.gaps.length === 0 &&
      this.arrived.size === 0 &&
      this.nextOffset >= Math.min(this.total, this.end)
    );
  }

  private claim(): PageRange {
    const range = { offset: this.nextOffset, count: this.pageSize };
    this.nextOffset += this.pageSize;
    return range;
  }

  private start(range: PageRange): PageRange {
    this.inFlight.add(range.offset);
    return range;
  }
}
