/**
 * MP_FASTCLOSE (subtype 0x7): RFC 8684 §3.5; spec §1.5–1.10.
 * Length 12: 12 bits reserved; b4–11 Option Receiver's Key (the key of the host the option is sent
 * to; 64 bits, big-endian).
 */
import { u64 } from '../bytes.js';
import { malformed } from './malformed.js';
import type { MalformedMptcpOption, MpFastcloseOption } from './types.js';

/** Decode an MP_FASTCLOSE option at `o` of length `len` (caller guarantees `o + len <= b.length`, `len >= 3`). */
export function decodeMpFastclose(b: Uint8Array, o: number, len: number): MpFastcloseOption | MalformedMptcpOption {
  if (len !== 12) return malformed(b, o, len, 7, 'MP_FASTCLOSE length', `MP_FASTCLOSE length ${len}, expected 12`);
  return { type: 'MP_FASTCLOSE', offset: o, length: len, receiversKey: u64(b, o + 4) };
}
