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
 * 32-bit hash of `data[offset, offset + length)`, mixed with the length: FNV-1a's step
 * (`h = (h ^ x) · 0x01000193 mod 2^32`) over big-endian 32-bit words, then the last 0–3 bytes one by one.
 * Each step is a bijection of `h`, so two payloads that differ in one word (one to four adjacent bytes)
 * always hash differently; other differences collide with probability about 2^-32.
 * Used to compare a reinjected Data Sequence Number range with its first transmission without keeping
 * bytes. Word steps: 4× fewer than bytewise FNV-1a (payload hashing was a large part of live CPU).
 * Caller guarantees `offset + length <= data.length`.
 */
export function payloadHash(data: Uint8Array, offset: number, length: number): number {
  const dv = bufferView(data);
  let h = 0x811c9dc5 ^ length;
  let p = data.byteOffset + offset;
  const end = p + length;
  for (const end4 = end - 3; p < end4; p += 4) h = Math.imul(h ^ dv.getInt32(p), 0x01000193);
  for (; p < end; p++) h = Math.imul(h ^ dv.getUint8(p), 0x01000193);
  return h >>> 0;
}
