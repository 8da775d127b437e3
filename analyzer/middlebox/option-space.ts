/**
 * Raw TCP option-space helpers for middlebox detection.
 *
 * A device that removes an option in place (Linux `TCPOPTSTRIP`, many firewalls) overwrites its bytes
 * with NOPs (kind 1) and keeps the TCP data offset, so the stripped option leaves a run of NOPs as long
 * as the option was. Linux itself never emits more than two NOPs in a row (alignment before timestamps,
 * SACK and window scale), so a run of {@link STRIP_NOP_RUN} or more is evidence of stripping.
 */
import type { Frame } from '../capture/types.js';
import type { TcpSegment } from '../wire/types.js';
import { bufferView } from '../wire/bytes.js';

/** Shortest NOP/EOL run taken as a stripped option: the shortest MPTCP option (MP_CAPABLE SYN, v1) is 4 bytes. */
export const STRIP_NOP_RUN = 4;

/**
 * Longest run of NOP (kind 1) bytes in the segment's TCP options, counting an End-of-Option-List (kind 0)
 * and the padding after it as part of a run (RFC 9293 §3.2). Returns 0 when the options were not captured
 * whole (snaplen) or the frame is not available.
 *
 * Byte layout: options are `frame.data[payloadOffset - headerLength + 20, payloadOffset)`.
 */
export function longestNopRun(seg: TcpSegment, frame: Frame | undefined): number {
  if (frame === undefined || seg.headerTruncated) return 0;
  const end = seg.payloadOffset;
  const start = end - seg.headerLength + 20;
  const data = frame.data;
  if (start < 0 || end > data.length || start >= end) return 0;
  let best = 0;
  let run = 0;
  let i = start;
  while (i < end) {
    const kind = data[i]!;
    if (kind === 0) {
      // EOL: everything after it is padding
      run += end - i;
      if (run > best) best = run;
      return best;
    }
    if (kind === 1) {
      run++;
      if (run > best) best = run;
      i++;
      continue;
    }
    run = 0;
    if (i + 1 >= end) break;
    const len = data[i + 1]!;
    if (len < 2) break; // malformed: leave it to the decoder
    i += len;
  }
  return best;
}

/**
 * 32-bit hash of `data[offset, offset + length)`, mixed with the length. Four FNV-1a chains
 * (`h = (h ^ x) · 0x01000193 mod 2^32`), started at `0x811c9dc5 ^ length ^ k` for lane k = 0…3, take the
 * big-endian 32-bit words of each 16-byte block in turn (word 4i + k goes to lane k); the lanes are then
 * folded into lane 0 with the same step (h = step(step(step(h0 ^ h1) ^ h2) ^ h3)), and the words and bytes after
 * the last whole block go through that same step one by one (words first, then the last 0–3 bytes).
 * Each step is a bijection of its chain, so two payloads that differ in one word (one to four bytes within
 * one aligned word) always hash differently; other differences collide with probability about 2^-32.
 * Four independent chains instead of one: the multiply's latency, not the bytes, bounded the single chain
 * (warm: 2.4 → 3.8 GB/s).
 * Used to compare a reinjected Data Sequence Number range with its first transmission without keeping
 * bytes. Caller guarantees `offset + length <= data.length`.
 */
export function payloadHash(data: Uint8Array, offset: number, length: number): number {
  const dv = bufferView(data);
  const p0 = data.byteOffset + offset;
  const end = p0 + length;
  const i0 = 0x811c9dc5 ^ length;
  let a = i0;
  let b = i0 ^ 1;
  let c = i0 ^ 2;
  let d = i0 ^ 3;
  let p = p0;
  for (const end16 = end - 15; p < end16; p += 16) {
    a = Math.imul(a ^ dv.getInt32(p), 0x01000193);
    b = Math.imul(b ^ dv.getInt32(p + 4), 0x01000193);
    c = Math.imul(c ^ dv.getInt32(p + 8), 0x01000193);
    d = Math.imul(d ^ dv.getInt32(p + 12), 0x01000193);
  }
  let h = Math.imul(Math.imul(Math.imul(a ^ b, 0x01000193) ^ c, 0x01000193) ^ d, 0x01000193);
  for (const end4 = end - 3; p < end4; p += 4) h = Math.imul(h ^ dv.getInt32(p), 0x01000193);
  for (; p < end; p++) h = Math.imul(h ^ dv.getUint8(p), 0x01000193);
  return h >>> 0;
}

/** What {@link segmentPayloadDigest} returns: both digests of one segment's whole payload. */
export interface PayloadDigest {
  /** {@link payloadHash} of the payload (MBX-004). */
  readonly hash: number;
  /** RFC 1071 ones'-complement sum of the payload, folded to 16 bits, not complemented; an odd last byte padded with zero (DSS-006). */
  readonly sum: number;
}

const digest = { hash: 0, sum: 0 };
let digestSeg: TcpSegment | undefined;

/**
 * The two digests two rules take of the same payload, in one pass over its bytes: {@link payloadHash}
 * (MBX-004, reinjected bytes vs the first transmission) and the folded ones'-complement sum
 * (`new OnesComplementSum().add(…).folded()`, DSS-006, reinjected sums on two subflows). Both read every
 * payload byte of every data segment, so live's per-byte cost was two passes.
 *
 * Covers `data[seg.payloadOffset, seg.payloadOffset + seg.payloadLength)`: the caller guarantees the
 * payload was captured whole. Cached for the last segment object asked about (the rules ask one after
 * the other about the segment being processed); the returned object is overwritten by the next call.
 */
export function segmentPayloadDigest(seg: TcpSegment, data: Uint8Array): PayloadDigest {
  if (seg === digestSeg) return digest;
  const len = seg.payloadLength;
  const dv = bufferView(data);
  let p = data.byteOffset + seg.payloadOffset;
  const end = p + len;
  const i0 = 0x811c9dc5 ^ len;
  let a = i0;
  let b = i0 ^ 1;
  let c = i0 ^ 2;
  let d = i0 ^ 3;
  // At most 16 384 words of a 64 KiB segment: the sum stays below 2^46, exact in a double without folding.
  let s = 0;
  for (const end16 = end - 15; p < end16; p += 16) {
    const w = dv.getInt32(p);
    const x = dv.getInt32(p + 4);
    const y = dv.getInt32(p + 8);
    const z = dv.getInt32(p + 12);
    a = Math.imul(a ^ w, 0x01000193);
    b = Math.imul(b ^ x, 0x01000193);
    c = Math.imul(c ^ y, 0x01000193);
    d = Math.imul(d ^ z, 0x01000193);
    s += (w >>> 0) + (x >>> 0) + (y >>> 0) + (z >>> 0);
  }
  let h = Math.imul(Math.imul(Math.imul(a ^ b, 0x01000193) ^ c, 0x01000193) ^ d, 0x01000193);
  for (const end4 = end - 3; p < end4; p += 4) {
    const w = dv.getInt32(p);
    h = Math.imul(h ^ w, 0x01000193);
    s += w >>> 0;
  }
  for (let q = p; q < end; q++) h = Math.imul(h ^ dv.getUint8(q), 0x01000193);
  for (; p + 1 < end; p += 2) s += dv.getUint16(p);
  if (p < end) s += dv.getUint8(p) << 8;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  digest.hash = h >>> 0;
  digest.sum = s;
  digestSeg = seg;
  return digest;
}
