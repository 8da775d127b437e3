/**
 * MP_PRIO (subtype 0x5): RFC 8684 §3.3.8; spec §1.5–1.10.
 * b2 [3:1] reserved, [0] B (backup). Length 3 (v1), or 4 with b3 Address ID (v0 only; PRIO-001 flags
 * a 4-byte MP_PRIO on a v1 connection).
 */
import { malformed } from './malformed.js';
import type { MalformedMptcpOption, MpPrioOption } from './types.js';

/** Decode an MP_PRIO option at `o` of length `len` (caller guarantees `o + len <= b.length`, `len >= 3`). */
export function decodeMpPrio(b: Uint8Array, o: number, len: number): MpPrioOption | MalformedMptcpOption {
  if (len !== 3 && len !== 4) return malformed(b, o, len, 5, 'MP_PRIO length', `MP_PRIO length ${len}, expected 3 (or 4 with an address ID in v0)`);
  return { type: 'MP_PRIO', offset: o, length: len, backup: (b[o + 2]! & 0x01) !== 0, addressId: len === 4 ? b[o + 3]! : undefined };
}
