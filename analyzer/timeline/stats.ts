/**
 * Small bounded-memory statistics used by the timelines: an RTT histogram with logarithmic bins
 * (quantiles without keeping samples) and the RFC 6298 smoothed RTT / RTO estimator.
 */

/** Bins per factor of 10 (≈ 2.3 % relative resolution). */
const BINS_PER_DECADE = 100;
/** Lowest representable RTT: 1 µs. Values below fall in bin 0. */
const LOG_MIN = -6;
/** Highest: 1000 s. */
const LOG_MAX = 3;
const NBINS = (LOG_MAX - LOG_MIN) * BINS_PER_DECADE + 1;

/**
 * Histogram of durations in seconds with logarithmic bins (1 µs … 1000 s, ≈2.3 % per bin).
 * Bins are sparse (only occupied ones are held, at most 901), so an empty or narrow histogram costs
 * little; quantiles are returned as the geometric centre of their bin, min and max are exact.
 */
export class LogHistogram {
  /** Occupied bins, created on the first sample (many subflow directions never get one). */
  private bins: Map<number, number> | undefined;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;
  sum = 0;

  add(seconds: number): void {
    if (!(seconds >= 0) || !Number.isFinite(seconds)) return;
    this.count++;
    this.sum += seconds;
    if (seconds < this.min) this.min = seconds;
    if (seconds > this.max) this.max = seconds;
    const b = binOf(seconds);
    this.bins ??= new Map();
    this.bins.set(b, (this.bins.get(b) ?? 0) + 1);
  }

  /** Adds every sample of `o` to this histogram. */
  merge(o: LogHistogram): void {
    if (o.bins === undefined) return;
    this.bins ??= new Map();
    for (const [b, n] of o.bins) this.bins.set(b, (this.bins.get(b) ?? 0) + n);
    this.count += o.count;
    this.sum += o.sum;
    if (o.min < this.min) this.min = o.min;
    if (o.max > this.max) this.max = o.max;
  }

  /** Compact form for storage: [count, min, max, sum, bin, n, bin, n, …] (see {@link LogHistogram.unpack}). */
  pack(): number[] {
    if (this.count === 0 || this.bins === undefined) return [];
    const out = [this.count, this.min, this.max, this.sum];
    for (const [b, n] of this.bins) out.push(b, n);
    return out;
  }

  /** Rebuilds a histogram from {@link pack}'s output. */
  static unpack(a: readonly number[]): LogHistogram {
    const h = new LogHistogram();
    if (a.length < 4) return h;
    h.count = a[0]!;
    h.min = a[1]!;
    h.max = a[2]!;
    h.sum = a[3]!;
    h.bins = new Map();
    for (let i = 4; i + 1 < a.length; i += 2) h.bins.set(a[i]!, a[i + 1]!);
    return h;
  }

  /** The q-quantile (0 ≤ q ≤ 1) in seconds, or undefined when empty. Exact for q = 0 and q = 1. */
  quantile(q: number): number | undefined {
    if (this.count === 0 || this.bins === undefined) return undefined;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = Math.ceil(q * this.count);
    let acc = 0;
    for (const i of [...this.bins.keys()].sort((a, b) => a - b)) {
      acc += this.bins.get(i) ?? 0;
      if (acc >= rank) return Math.min(this.max, Math.max(this.min, 10 ** (LOG_MIN + (i + 0.5) / BINS_PER_DECADE)));
    }
    return this.max;
  }
}

function binOf(s: number): number {
  if (s <= 10 ** LOG_MIN) return 0;
  const b = Math.floor((Math.log10(s) - LOG_MIN) * BINS_PER_DECADE);
  return b < 0 ? 0 : b >= NBINS ? NBINS - 1 : b;
}

/**
 * RFC 6298 §2 estimator: SRTT, RTTVAR and RTO from RTT samples (α = 1/8, β = 1/4, K = 4).
 * `minRto` defaults to 0.2 s, the Linux TCP_RTO_MIN (RFC 6298 says 1 s; Linux, which produced the
 * fixtures, uses 200 ms), and RTO is capped at 120 s (Linux TCP_RTO_MAX). Units: seconds.
 */
export class RtoEstimator {
  srtt: number | undefined;
  rttvar = 0;
  constructor(
    private readonly minRto = 0.2,
    private readonly maxRto = 120,
  ) {}

  add(r: number): void {
    if (!(r >= 0)) return;
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
  }

  /** Current RTO (seconds), or undefined before the first sample. */
  get rto(): number | undefined {
    if (this.srtt === undefined) return undefined;
    return Math.min(this.maxRto, Math.max(this.minRto, this.srtt + Math.max(0.001, 4 * this.rttvar)));
  }
}

/** Rows from which a {@link BinColumns} series moves from plain arrays to Float64Arrays. */
export const BIN_COLUMNS_TYPED_FROM = 64;

/**
 * A time series of `width` numbers per time bin (bin index → row), in two flat number arrays (unboxed doubles):
 * ≈ 8 × (width + 1) bytes per bin instead of a Map entry plus an array (≈ 100–500 bytes), since a long capture
 * has a bin every 0.1 s for every subflow direction for its whole duration (the timeline state that grew with
 * capture length: 5 MB of live heap per 10 M frames). A short series (a short connection holds one or two bins)
 * is in plain arrays, because a typed array costs ≈ 200 bytes before its first element; from
 * {@link BIN_COLUMNS_TYPED_FROM} rows on it moves to Float64Arrays grown by doubling, outside V8's object
 * heap, so a long capture's series do not grow the old generation (whose size V8 sets at a multiple of the
 * live heap: issue 7 memory flatness). Bins come in time order: appending and updating the last bin are O(1);
 * a bin before the last one (capture timestamps going back) is found by binary search and inserted (O(n), rare).
 */
export class BinColumns {
  private keys: number[] | Float64Array = [];
  private vals: number[] | Float64Array = [];
  private n = 0;

  constructor(readonly width: number) {}

  /** Bins held. */
  get length(): number {
    return this.n;
  }

  /**
   * Row-major values: row r holds `values[r * width … r * width + width - 1]` (r < length; typed storage may
   * hold spare rows beyond). The array is replaced when a row is added: read it again after {@link row}.
   */
  get values(): number[] | Float64Array {
    return this.vals;
  }

  /** Row of bin `b`, created (all values 0) when absent. */
  row(b: number): number {
    const keys = this.keys;
    const n = this.n;
    if (n > 0) {
      const last = keys[n - 1]!;
      if (last === b) return n - 1;
      if (last > b) {
        let lo = 0;
        let hi = n - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (keys[mid]! < b) lo = mid + 1;
          else hi = mid;
        }
        if (keys[lo] === b) return lo;
        this.insertRow(lo, b);
        return lo;
      }
    }
    this.insertRow(n, b);
    return n;
  }

  private insertRow(r: number, b: number): void {
    const n = this.n;
    const w = this.width;
    let keys = this.keys;
    let vals = this.vals;
    if (Array.isArray(keys) && Array.isArray(vals)) {
      if (n < BIN_COLUMNS_TYPED_FROM) {
        if (r === n) {
          keys.push(b);
          for (let k = 0; k < w; k++) vals.push(0);
        } else {
          keys.splice(r, 0, b);
          vals.splice(r * w, 0, ...new Array<number>(w).fill(0));
        }
        this.n = n + 1;
        return;
      }
      this.keys = keys = Float64Array.from(keys);
      this.vals = vals = Float64Array.from(vals);
    }
    if (n === keys.length) {
      const k2 = new Float64Array(n * 2);
      k2.set(keys);
      const v2 = new Float64Array(n * 2 * w);
      v2.set(vals);
      this.keys = keys = k2;
      this.vals = vals = v2;
    }
    const tk = keys as Float64Array;
    const tv = vals as Float64Array;
    if (r < n) {
      tk.copyWithin(r + 1, r, n);
      tv.copyWithin((r + 1) * w, r * w, n * w);
    }
    tk[r] = b;
    tv.fill(0, r * w, r * w + w);
    this.n = n + 1;
  }

  /** Adds `v` to column `col` of bin `b`. */
  add(b: number, col: number, v: number): void {
    const r = this.row(b);
    this.vals[r * this.width + col]! += v;
  }

  /** Bin index of row `r` (rows are in increasing bin order). */
  binAt(r: number): number {
    return this.keys[r]!;
  }

  /** Value of column `col` in row `r`. */
  at(r: number, col: number): number {
    return this.vals[r * this.width + col]!;
  }
}
