/**
 * The set of ICCIDs already exported, with the pass each was last seen in.
 *
 * A JavaScript Set of a million 20-character strings costs ~80 MB; the export must stay flat.
 * An ICCID is 19 or 20 digits, so it is stored exactly as two numbers: its last 15 digits (a
 * double holds them exactly) and its length with its leading digits. That is 13 bytes a slot in
 * an open-addressing table (~26 MB at a million, allocated outside the JS heap). Anything that
 * is not all digits, or longer, goes to an ordinary Map: correct for any string, just larger.
 */

/** What `mark` found: first time ever, first time this pass, or again within this pass. */
export type Sighting = 'new' | 'seen-in-earlier-pass' | 'repeat-in-pass';

const MAX_LOAD = 0.7;
const LOW_DIGITS = 15;
const DIGITS_ONLY = /^\d{1,20}$/;

export class IccidSet {
  private highs: Int32Array; // 0 = empty slot; else length * 100000 + leading digits + 1
  private lows: Float64Array;
  private passes: Uint8Array;
  private mask: number;
  private used = 0;
  private readonly others = new Map<string, number>();

  constructor(initialCapacity = 1024) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity / MAX_LOAD)));
    this.highs = new Int32Array(capacity);
    this.lows = new Float64Array(capacity);
    this.passes = new Uint8Array(capacity);
    this.mask = capacity - 1;
  }

  /** How many distinct ICCIDs have been marked. */
  get size(): number {
    return this.used + this.others.size;
  }

  /** Records that `iccid` was seen in `pass` (1-255) and says what was known before. */
  mark(iccid: string, pass: number): Sighting {
    if (!DIGITS_ONLY.test(iccid)) return this.markOther(iccid, pass);
    const split = iccid.length - LOW_DIGITS;
    const low = split > 0 ? Number(iccid.slice(split)) : Number(iccid);
    const high = iccid.length * 100_000 + (split > 0 ? Number(iccid.slice(0, split)) : 0) + 1;
    let slot = this.hash(high, low) & this.mask;
    for (;;) {
      const h = this.highs[slot];
      if (h === 0) break;
      if (h === high && this.lows[slot] === low) {
        const before = this.passes[slot];
        this.passes[slot] = pass;
        return before === pass ? 'repeat-in-pass' : 'seen-in-earlier-pass';
      }
      slot = (slot + 1) & this.mask;
    }
    this.highs[slot] = high;
    this.lows[slot] = low;
    this.passes[slot] = pass;
    if (++this.used > this.highs.length * MAX_LOAD) this.grow();
    return 'new';
  }

  private markOther(iccid: string, pass: number): Sighting {
    const before = this.others.get(iccid);
    this.others.set(iccid, pass);
    if (before === undefined) return 'new';
    return before === pass ? 'repeat-in-pass' : 'seen-in-earlier-pass';
  }

  private hash(high: number, low: number): number {
    // Mix both 32-bit halves of `low` with `high` (murmur3 finalizer constants).
    let h = Math.imul(high ^ (low >>> 0), 0x85ebca6b) ^ Math.floor(low / 0x1_0000_0000);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  private grow(): void {
    const { highs, lows, passes } = this;
    const capacity = highs.length * 2;
    this.highs = new Int32Array(capacity);
    this.lows = new Float64Array(capacity);
    this.passes = new Uint8Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < highs.length; i++) {
      const high = highs[i]!;
      if (high === 0) continue;
      const low = lows[i]!;
      let slot = this.hash(high, low) & this.mask;
      while (this.highs[slot] !== 0) slot = (slot + 1) & this.mask;
      this.highs[slot] = high;
      this.lows[slot] = low;
      this.passes[slot] = passes[i]!;
    }
  }
}
