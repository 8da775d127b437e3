/**
 * MP_FAIL (subtype 0x6): RFC 8684 §3.7; spec §1.5–1.10.
 * Length 12: b2 [3:0] and b3 reserved; b4–11 Data Sequence Number (64 bits, big-endian) of the
 * mapping whose checksum failed.
 */
import { u64 } from '../bytes.js';
import { malformed } from './malformed.js';
import type { MalformedMptcpOption, MpFailOption } from './types.js';

/** Decode an MP_FAIL option at `o` of length `len` (caller guarantees `o + len <= b.length`, `len >= 3`). */
export function decodeMpFail(b: Uint8Array, o: number, len: number): MpFailOption | MalformedMptcpOption {
  if (len !== 12) return malformed(b, o, len, 6, 'MP_FAIL length', `MP_FAIL length ${len}, expected 12`);
  return { type: 'MP_FAIL', offset: o, length: len, dataSequenceNumber: u64(b, o + 4) };
}
