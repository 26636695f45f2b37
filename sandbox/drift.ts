/**
 * The sandbox's drift: an inventory that changes while it is being read, the way a real one
 * does (eSIMs provisioned in front of the list, others removed), deterministically.
 */
import type { View } from './inventory';

export interface DriftOptions {
  /** A change happens after every this many list requests. */
  readonly everyRequests: number;
  /** eSIMs added at the front of the list per change (shifting every offset). */
  readonly add: number;
  /** eSIMs removed per change. */
  readonly remove: number;
  /** Changes in all; after that the inventory holds still. */
  readonly steps: number;
}

export /** The list as it stands after the drift so far: added items in front, some items removed. */
class DriftingList {
  private added = 0;
  private readonly removed: number[] = []; // positions in the base view, ascending
  private requests = 0;
  private steps = 0;

  constructor(
    private readonly view: View,
    private readonly drift: DriftOptions | undefined,
    private readonly random: () => number,
  ) {}

  get size(): number {
    return this.view.size + this.added - this.removed.length;
  }

  /** The inventory index at position `p` of the current list. */
  indexAt(position: number): number {
    const { stride, start, size } = this.view;
    // Added items extend the same progression past the base inventory, newest first.
    if (position < this.added) return stride * (size + this.added - 1 - position) + start;
    let k = position - this.added;
    for (const gone of this.removed) {
      if (gone <= k) k++;
      else break;
    }
    return stride * k + start;
  }

  /** Counts a list request, and changes the list when the drift says so. */
  tick(): void {
    if (!this.drift || this.steps >= this.drift.steps) return;
    if (++this.requests % this.drift.everyRequests !== 0) return;
    this.steps++;
    this.added += this.drift.add;
    for (let i = 0; i < this.drift.remove && this.removed.length < this.view.size; i++) {
      let position: number;
      do position = Math.floor(this.random() * this.view.size);
      while (this.removed.includes(position));
      this.removed.push(position);
    }
    this.removed.sort((a, b) => a - b);
  }
}
