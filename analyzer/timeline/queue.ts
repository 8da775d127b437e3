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
 * Map from numbers to values holding at most `limit` entries; inserting a new key beyond that evicts the
 * oldest inserted one (FIFO; updating an existing key keeps its place). Insertion order is kept in a ring
 * of keys, because evicting through `map.keys().next()` scans over V8's deleted-entry holes: 20× slower
 * in a steady stream of inserts (5 µs against 0.25 µs per insert at 8192 entries), and it ran for every
 * data segment once a connection had sent 8192 of them (MBX-004, DSS-006 tables).
 */
export class BoundedNumberMap<V> {
  private readonly map = new Map<number, V>();
  /** Keys in insertion order from `head` (a ring; grows by doubling up to `limit`, so small tables stay small). */
  private ring: Float64Array;
  private head = 0;

  /** @param limit most entries kept (≥ 1) */
  constructor(readonly limit: number) {
    this.ring = new Float64Array(Math.max(1, Math.min(8, limit)));
  }

  get size(): number {
    return this.map.size;
  }

  /** Key slots allocated: grows with the entries held, up to `limit` (one table per connection direction: a full-size ring each cost 64 KiB per connection). */
  get capacity(): number {
    return this.ring.length;
  }

  get(key: number): V | undefined {
    return this.map.get(key);
  }

  /** Insert or update; a new key beyond `limit` entries evicts the oldest. */
  set(key: number, value: V): void {
    const m = this.map;
    if (!m.has(key)) {
      const n = m.size;
      if (n >= this.limit) {
        // Full (the ring has exactly `limit` slots): the oldest key's slot takes the new key.
        m.delete(this.ring[this.head]!);
        this.ring[this.head] = key;
        this.head = (this.head + 1) % this.ring.length;
      } else {
        if (n === this.ring.length) this.grow();
        this.ring[(this.head + n) % this.ring.length] = key;
      }
    }
    m.set(key, value);
  }

  /** Only while not full, when `head` is still 0 (it moves only once `limit` keys are held). */
  private grow(): void {
    const next = new Float64Array(Math.min(this.limit, this.ring.length * 2));
    next.set(this.ring);
    this.ring = next;
  }
}
