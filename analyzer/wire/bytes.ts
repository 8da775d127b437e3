/**
 * Big-endian field readers over a frame's bytes (network byte order, RFC 1700 "Data Notations").
 *
 * Callers validate lengths once, then read without checks (smoltcp's "check once" discipline):
 * these helpers do no bounds checking of their own. 16/32-bit reads are plain byte arithmetic (no
 * allocation); 64-bit reads return a `bigint` through one `DataView` per underlying `ArrayBuffer`,
 * cached here so the hot path creates one view per reader chunk.
 */

let cachedBytes: Uint8Array | undefined;
let cachedView: DataView = new DataView(new ArrayBuffer(8));

/** The `DataView` over `bytes` (same window), created once per distinct `Uint8Array` and cached. */
export function viewOf(bytes: Uint8Array): DataView {
  if (bytes !== cachedBytes) {
    cachedView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    cachedBytes = bytes;
  }
  return cachedView;
}

/** Unsigned 16-bit big-endian value at `o`. Caller guarantees `o + 2 <= bytes.length`. */
export function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Unsigned 32-bit big-endian value at `o` (0 .. 2^32−1). Caller guarantees `o + 4 <= bytes.length`. */
export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

let cachedBuffer: ArrayBufferLike | undefined;
let cachedBufferView: DataView = cachedView;

/**
 * A `DataView` over the whole `ArrayBuffer` behind `b` (index it with `b.byteOffset + o`), created once
 * per distinct buffer and cached. Frames are subarrays of the reader's reused work buffer, so this is one
 * view per buffer, not per frame (a view per frame cost 15 % of decoding). Used by the word loops that
 * read every payload byte (u64, payloadHash, OnesComplementSum).
 */
export function bufferView(b: Uint8Array): DataView {
  const buf = b.buffer;
  if (buf !== cachedBuffer) {
    cachedBufferView = new DataView(buf);
    cachedBuffer = buf;
  }
  return cachedBufferView;
}

/** Unsigned 64-bit big-endian value at `o`, through {@link bufferView}. Caller guarantees `o + 8 <= bytes.length`. */
export function u64(b: Uint8Array, o: number): bigint {
  return bufferView(b).getBigUint64(b.byteOffset + o, false);
}

/**
 * A plain `Uint8Array` copy of `b[start, end)` (clamped). Never aliases `b`: frame bytes are only
 * valid during the sink callback, and `Buffer#slice` (readers deliver Buffers) returns a view, not a
 * copy, so Reprs must not use `.slice` on frame bytes.
 */
export function copyBytes(b: Uint8Array, start: number, end: number): Uint8Array {
  const s = Math.min(Math.max(0, Math.trunc(start) || 0), b.length);
  const e = Math.min(Math.max(s, Math.trunc(end) || 0), b.length);
  const out = new Uint8Array(e - s);
  out.set(b.subarray(s, e));
  return out;
}

/** Lowercase hex of `bytes[start, end)`, no separators (for messages and tests, not the hot path). */
export function hex(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}
