/**
 * The set of ICCIDs already exported, with the pass each was last seen in.
 *
 * Why not a `Map<string, number>` (ICCID → pass)? At 10,000,000 eSIMs it holds 1,432 MB of JS
 * heap (a `Set<string>`, without the pass, 1,304 MB): more than a 1024 MB Lambda has (with the
 * heap capped at 512 MB, filling the Map runs out of memory). This table: 143 MB, outside the
 * heap, and it is what an invocation saves for the next one (`npm run bench`, BENCHMARKS.md).
 * An ICCID is 19 or 20 digits, so it is stored exactly as two numbers: its last 15 digits (a
 * double holds them exactly) and, in one 32-bit integer, its length and leading digits with
 * the pass beside them. That is 12 bytes a slot in an open-addressing table (linear probing)
 * sized from the API's total before the run fills it (`reserve`): about 15 MB at a million,
 * outside the JS heap. Anything that is not all digits, or longer, goes to an ordinary Map:
 * correct for any string, just larger.
 */

/** What `mark` found: first time ever, first time this pass, or again within this pass. */
export type Sighting = 'new' | 'seen-in-earlier-pass' | 'repeat-in-pass';

const MAX_LOAD = 0.8;
const GROWTH = 1.5;
const LOW_DIGITS = 15;
const DIGITS_ONLY = /^\d{1,20}$/;
/** The key's high part (length and leading digits, + 1 so that 0 means empty) fits in 22 bits. */
const HIGH_BITS = 22;
const HIGH_MASK = (1 << HIGH_BITS) - 1;
const TWO_TO_32 = 4_294_967_296;

export class IccidSet {
  private metas: Int32Array; // 0 = empty; else high | pass << HIGH_BITS
  private lows: Float64Array;
  private used = 0;
  private readonly others = new Map<string, number>();

  constructor(initialCapacity = 1024) {
    const capacity = Math.ceil(Math.max(16, initialCapacity) / MAX_LOAD);
    this.metas = new Int32Array(capacity);
    this.lows = new Float64Array(capacity);
  }

  /** How many distinct ICCIDs have been marked. */
  get size(): number {
    return this.used + this.others.size;
  }

  /**
   * Makes room for `count` ICCIDs in one step. Called with the API's total as soon as it is
   * known, so the table is sized once and never grows (holding two copies) mid-run.
   */
  reserve(count: number): void {
    const capacity = Math.ceil(count / MAX_LOAD);
    if (capacity > this.metas.length) this.resize(capacity);
  }

  /** Records that `iccid` was seen in `pass` (1-255) and says what was known before. */
  mark(iccid: string, pass: number): Sighting {
    if (!DIGITS_ONLY.test(iccid)) return this.markOther(iccid, pass);
    const split = iccid.length - LOW_DIGITS;
    const low = split > 0 ? Number(iccid.slice(split)) : Number(iccid);
    const high = iccid.length * 100_000 + (split > 0 ? Number(iccid.slice(0, split)) : 0) + 1;
    const capacity = this.metas.length;
    let slot = this.slotOf(high, low, capacity);
    for (;;) {
      const meta = this.metas[slot]!;
      if (meta === 0) break;
      if ((meta & HIGH_MASK) === high && this.lows[slot] === low) {
        this.metas[slot] = high | (pass << HIGH_BITS);
        return meta >>> HIGH_BITS === pass ? 'repeat-in-pass' : 'seen-in-earlier-pass';
      }
      slot = slot + 1 === capacity ? 0 : slot + 1;
    }
    this.metas[slot] = high | (pass << HIGH_BITS);
    this.lows[slot] = low;
    if (++this.used > capacity * MAX_LOAD) this.resize(Math.ceil(capacity * GROWTH));
    return 'new';
  }

  /**
   * The whole set as bytes, so an export that spans several invocations keeps it in S3 between
   * them: the table as is (12 bytes a slot), then the other ICCIDs as JSON.
   */
  toBuffer(): Buffer {
    const others = Buffer.from(JSON.stringify([...this.others]));
    const header = Buffer.alloc(12);
    header.writeUInt32LE(this.metas.length, 0);
    header.writeUInt32LE(this.used, 4);
    header.writeUInt32LE(others.length, 8);
    return Buffer.concat([header, Buffer.from(this.metas.buffer, this.metas.byteOffset, this.metas.byteLength), Buffer.from(this.lows.buffer, this.lows.byteOffset, this.lows.byteLength), others]);
  }

  static fromBuffer(bytes: Buffer): IccidSet {
    const capacity = bytes.readUInt32LE(0);
    const set = new IccidSet(0);
    const metasEnd = 12 + capacity * 4;
    const lowsEnd = metasEnd + capacity * 8;
    if (bytes.length !== lowsEnd + bytes.readUInt32LE(8)) throw new Error('the saved ICCID set is damaged (wrong length)');
    // Copied out: the buffer may not be aligned for typed-array views.
    set.metas = new Int32Array(new Uint8Array(bytes.subarray(12, metasEnd)).buffer);
    set.lows = new Float64Array(new Uint8Array(bytes.subarray(metasEnd, lowsEnd)).buffer);
    set.used = bytes.readUInt32LE(4);
    for (const [iccid, pass] of JSON.parse(bytes.subarray(lowsEnd).toString('utf8')) as [string, number][]) set.others.set(iccid, pass);
    return set;
  }

  private markOther(iccid: string, pass: number): Sighting {
    const before = this.others.get(iccid);
    this.others.set(iccid, pass);
    if (before === undefined) return 'new';
    return before === pass ? 'repeat-in-pass' : 'seen-in-earlier-pass';
  }

  /** A slot in [0, capacity) from both halves of the key (murmur3 finalizer, then fast range). */
  private slotOf(high: number, low: number, capacity: number): number {
    let h = Math.imul(high ^ (low >>> 0), 0x85ebca6b) ^ Math.floor(low / TWO_TO_32);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h = (h ^ (h >>> 16)) >>> 0;
    return Math.min(capacity - 1, Math.floor((h * capacity) / TWO_TO_32));
  }

  private resize(capacity: number): void {
    const { metas, lows } = this;
    this.metas = new Int32Array(capacity);
    this.lows = new Float64Array(capacity);
    for (let i = 0; i < metas.length; i++) {
      const meta = metas[i]!;
      if (meta === 0) continue;
      const low = lows[i]!;
      let slot = this.slotOf(meta & HIGH_MASK, low, capacity);
      while (this.metas[slot] !== 0) slot = slot + 1 === capacity ? 0 : slot + 1;
      this.metas[slot] = meta;
      this.lows[slot] = low;
    }
  }
}
