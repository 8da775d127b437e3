/**
 * FIFO of fixed-width numeric records held in one Float64Array (`width` numbers per record).
 *
 * Why: the timeline keeps per-segment records for about one RTT (SEQ→ACK and TSval→TSecr matching). As
 * objects they outlive a young-generation collection, are promoted and die in the old generation; in the
 * everything-on profile they were a third of the promoted bytes, which drove V8's old-generation growth
 * (peak RSS growing with capture length although live state did not). Numbers in a reused typed array
 * allocate nothing per record.
 *
 * Index `i` counts from the oldest record (0 … length−1). Capacity grows by doubling; storage is compacted
 * (not grown) when the consumed head is at least half of it.
 */
export class NumQueue {
  private buf: Float64Array;
  private head = 0;
  private tail = 0;

  /** @param width numbers per record (≥ 1) */
  constructor(readonly width: number, initialRecords = 16) {
    this.buf = new Float64Array(width * Math.max(1, initialRecords));
  }

  /** Records held. */
  get length(): number {
    return (this.tail - this.head) / this.width;
  }

  /** Append a record of up to three numbers (the record's width decides how many are stored). */
  push(a: number, b = 0, c = 0): void {
    const w = this.width;
    if (this.tail + w > this.buf.length) this.makeRoom();
    const t = this.tail;
    const buf = this.buf;
    buf[t] = a;
    if (w > 1) buf[t + 1] = b;
    if (w > 2) buf[t + 2] = c;
    this.tail = t + w;
  }

  /** Field `field` (0-based, < width) of record `i` (0 = oldest); NaN when `i` is out of range. */
  get(i: number, field: number): number {
    const p = this.head + i * this.width;
    return p < this.tail && i >= 0 ? this.buf[p + field]! : Number.NaN;
  }

  /** Overwrite field `field` of record `i` (0 = oldest); ignored when out of range. */
  set(i: number, field: number, v: number): void {
    const p = this.head + i * this.width;
    if (p < this.tail && i >= 0) this.buf[p + field] = v;
  }

  /** Drop the oldest record (no-op when empty). */
  shift(): void {
    if (this.head < this.tail) this.head += this.width;
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  /** Drop every record and release storage beyond the initial size. */
  clear(): void {
    this.head = this.tail = 0;
    if (this.buf.length > this.width * 16) this.buf = new Float64Array(this.width * 16);
  }

  private makeRoom(): void {
    const used = this.tail - this.head;
    if (this.head * 2 >= this.buf.length) {
      this.buf.copyWithin(0, this.head, this.tail);
    } else {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf.subarray(this.head, this.tail));
      this.buf = next;
    }
    this.head = 0;
    this.tail = used;
  }
}

/**
 * Table from numeric keys to fixed-width numeric records (`width` numbers each), holding at most `limit`
 * entries; inserting a new key beyond that evicts the oldest inserted one (FIFO). The first-transmission
 * tables of MBX-004 (DSN → payload hash) and DSS-006 (relative DSN → payload sum) are these.
 *
 * Storage is typed arrays only, outside V8's object heap: a record lives in row `r` of `keys`/`vals` for its
 * whole life, rows are used in insertion order as a ring (so the oldest row is the one evicted), and an
 * open-addressing hash index (linear probing, backward-shift deletion, load ≤ ½) maps a key to its row.
 * Why: as a `Map` of `{…}` objects the two tables were ≈ 130 bytes per entry of V8 heap (heap-number keys,
 * record objects, the Map's hash table) and they fill over the first millions of frames of a long
 * connection, so the old generation (and, by V8's sizing at a multiple of the live size, peak RSS) kept
 * growing after the rest of the live state was flat (issue 7 memory flatness). Here: 8 × (1 + width) bytes
 * per row plus 8 bytes of index per row, allocated as entries arrive (doubling) up to `limit` rows.
 *
 * Keys are integers in ±2^53 (DSNs as numbers); NaN is not a valid key.
 */
export class BoundedNumberTable {
  private keys: Float64Array;
  private vals: Float64Array;
  /** Hash index: row + 1 per slot, 0 = empty; length a power of two ≥ 2 × rows allocated. */
  private index: Int32Array;
  private shift: number;
  /** Row of the oldest entry (ring start; moves only once `limit` rows are held). */
  private head = 0;
  private count = 0;

  /**
   * @param limit most entries kept (≥ 1)
   * @param width numbers per record (≥ 1)
   */
  constructor(
    readonly limit: number,
    readonly width: number,
  ) {
    const rows = Math.max(1, Math.min(8, limit));
    this.keys = new Float64Array(rows);
    this.vals = new Float64Array(rows * width);
    this.index = new Int32Array(16);
    this.shift = 28;
  }

  /** Entries held (≤ limit). */
  get size(): number {
    return this.count;
  }

  /** Rows allocated: grows with the entries held, up to `limit` (one table per connection direction). */
  get capacity(): number {
    return this.keys.length;
  }

  private slotOf(key: number): number {
    const lo = key >>> 0;
    const hi = Math.floor(key / 4294967296) | 0;
    return Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> this.shift;
  }

  /** Row holding `key`, or −1 when absent. */
  find(key: number): number {
    const idx = this.index;
    const mask = idx.length - 1;
    const keys = this.keys;
    for (let s = this.slotOf(key); ; s = (s + 1) & mask) {
      const r = idx[s]!;
      if (r === 0) return -1;
      if (keys[r - 1] === key) return r - 1;
    }
  }

  /** Field `col` (< width) of row `row` (from {@link find} or {@link insert}). */
  value(row: number, col: number): number {
    return this.vals[row * this.width + col]!;
  }

  /** Sets field `col` of row `row`. */
  setValue(row: number, col: number, v: number): void {
    this.vals[row * this.width + col] = v;
  }

  /**
   * Inserts `key`, which must be absent (check with {@link find}), and returns its row with every field 0;
   * when `limit` entries are held the oldest is evicted and its row reused. Rows of other keys stay valid.
   */
  insert(key: number): number {
    let row: number;
    if (this.count >= this.limit) {
      row = this.head;
      this.remove(this.keys[row]!);
      this.head = (row + 1) % this.limit;
    } else {
      if (this.count === this.keys.length) this.grow();
      row = this.count;
    }
    this.count++;
    this.keys[row] = key;
    this.vals.fill(0, row * this.width, row * this.width + this.width);
    const idx = this.index;
    const mask = idx.length - 1;
    let s = this.slotOf(key);
    while (idx[s] !== 0) s = (s + 1) & mask;
    idx[s] = row + 1;
    return row;
  }

  /** Removes `key`'s index slot (linear probing, backward-shift deletion); its row is reused by the caller. */
  private remove(key: number): void {
    const idx = this.index;
    const mask = idx.length - 1;
    const keys = this.keys;
    let s = this.slotOf(key);
    while (idx[s] !== 0 && keys[idx[s]! - 1] !== key) s = (s + 1) & mask;
    if (idx[s] === 0) return;
    this.count--;
    let hole = s;
    for (let j = (s + 1) & mask; idx[j] !== 0; j = (j + 1) & mask) {
      const home = this.slotOf(keys[idx[j]! - 1]!);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        idx[hole] = idx[j]!;
        hole = j;
      }
    }
    idx[hole] = 0;
  }

  /** Only while not full, when `head` is still 0 (rows are 0 … count−1 in insertion order). */
  private grow(): void {
    const rows = Math.min(this.limit, this.keys.length * 2);
    const keys = new Float64Array(rows);
    keys.set(this.keys);
    const vals = new Float64Array(rows * this.width);
    vals.set(this.vals);
    this.keys = keys;
    this.vals = vals;
    let slots = this.index.length;
    while (slots < rows * 2) slots *= 2;
    if (slots !== this.index.length) {
      this.index = new Int32Array(slots);
      this.shift = 32 - Math.log2(slots);
      const mask = slots - 1;
      for (let r = 0; r < this.count; r++) {
        let s = this.slotOf(keys[r]!);
        while (this.index[s] !== 0) s = (s + 1) & mask;
        this.index[s] = r + 1;
      }
    }
  }
}
