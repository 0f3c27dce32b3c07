// bench/ holds the load driver behind `zkts bench` and the zkts-vs-Apache comparison. It may import jute/ and
// protocol/ (to speak the client protocol itself) and node built-ins; nothing imports bench/ except cli/.
//
// histogram.ts: a log-linear latency histogram in integer microseconds with bounded memory (HdrHistogram's
// layout, simplified): values below 128 us get a bucket each, every power of two above that is split into 64
// buckets, so the relative error is under 1.6% and 1,664 counters cover 0 us .. 2^31 us (~36 min). Histograms
// from several sessions and worker processes merge by adding counters; they travel between processes as a
// sparse [index, count] list.

const LINEAR = 128; // values 0..127 us: one bucket each
const SUB_BITS = 6; // 64 buckets per power of two above that
const SUB = 1 << SUB_BITS;
const MAX_EXP = 30; // the top power of two tracked: [2^30, 2^31) us
const BUCKETS = LINEAR + (MAX_EXP - 6) * SUB; // exponents 7..30
const MAX_VALUE = 2 ** 31 - 1;

/** The bucket index of a value in microseconds. */
export function bucketOf(us: number): number {
  let v = us < 0 ? 0 : us > MAX_VALUE ? MAX_VALUE : Math.floor(us);
  if (v < LINEAR) return v;
  v = v | 0;
  const exp = 31 - Math.clz32(v); // floor(log2 v), 7..30
  const shift = exp - SUB_BITS;
  return LINEAR + (exp - 7) * SUB + ((v >>> shift) - SUB);
}

/** The range [lo, hi) of values in microseconds that land in bucket `i`. */
export function bucketRange(i: number): [number, number] {
  if (i < LINEAR) return [i, i + 1];
  const k = i - LINEAR;
  const exp = 7 + Math.floor(k / SUB);
  const shift = exp - SUB_BITS;
  const lo = ((k % SUB) + SUB) * 2 ** shift;
  return [lo, lo + 2 ** shift];
}

export type SparseHistogram = {
  /** [bucket index, count] pairs with count > 0. */
  buckets: Array<[number, number]>;
  count: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
};

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sumUs = 0;
  minUs = Infinity;
  maxUs = 0;

  /** Records one value in microseconds. */
  record(us: number): void {
    this.counts[bucketOf(us)]++;
    this.count++;
    this.sumUs += us;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumUs = 0;
    this.minUs = Infinity;
    this.maxUs = 0;
  }

  merge(other: Histogram | SparseHistogram): void {
    if (other instanceof Histogram) {
      for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    } else {
      for (const [i, c] of other.buckets) {
        if (Number.isInteger(i) && i >= 0 && i < BUCKETS) this.counts[i] += c;
      }
    }
    this.count += other.count;
    this.sumUs += other.sumUs;
    if (other.count > 0) {
      this.minUs = Math.min(this.minUs, other.minUs);
      this.maxUs = Math.max(this.maxUs, other.maxUs);
    }
  }

  toSparse(): SparseHistogram {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] > 0) buckets.push([i, this.counts[i]]);
    return { buckets, count: this.count, sumUs: this.sumUs, minUs: this.count > 0 ? this.minUs : 0, maxUs: this.maxUs };
  }

  static fromSparse(s: SparseHistogram): Histogram {
    const h = new Histogram();
    h.merge(s);
    return h;
  }

  /**
   * The value at quantile q (0..1) in microseconds: the midpoint of the bucket holding the ceil(q*count)-th
   * smallest value, clamped to [min, max] so that it never reports more than was seen. 0 when empty.
   * Monotonic in q, so p50 <= p99 <= p99.9 always holds.
   */
  quantileUs(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        const [lo, hi] = bucketRange(i);
        const mid = i < LINEAR ? lo : (lo + hi) / 2;
        return Math.min(this.maxUs, Math.max(this.minUs, mid));
      }
    }
    return this.maxUs;
  }

  meanUs(): number {
    return this.count === 0 ? 0 : this.sumUs / this.count;
  }
}
