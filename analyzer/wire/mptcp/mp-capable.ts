/**
 * MP_CAPABLE (subtype 0x0): RFC 8684 §3.1 (v1), RFC 6824 §3.1 (v0); spec §1.1.
 *
 * Layout (offsets from the kind byte, big-endian): b2 [3:0] version; b3 flags A..H = 0x80..0x01;
 * b4–11 first key; b12–19 second key; b20–21 Data-Level Length; b22–23 DSS checksum.
 *
 * Form dispatch on (length, SYN, ACK):
 * | len | segment        | form       | fields                                   |
 * | 4   | SYN, no ACK    | `syn`      | – (v1)                                   |
 * | 12  | SYN, no ACK    | `syn`      | sendersKey (v0 SYN; a v1 SYN with a key is decoded, MPC-001 flags it) |
 * | 12  | SYN/ACK        | `syn-ack`  | sendersKey (responder's key)             |
 * | 20  | not SYN        | `ack`      | sendersKey = Key-A, receiversKey = Key-B |
 * | 22  | not SYN, v≥1   | `ack-data` | + dataLevelLength                        |
 * | 24  | not SYN, v≥1   | `ack-data` | + dataLevelLength, checksum              |
 * Any other combination is MALFORMED (OPT-001/OPT-002). The 4-byte SYN is accepted with any version
 * (Linux tolerates a version above 1 there; a v0 4-byte SYN is left to the conformance rules, MPC-001).
 * Forms 12/20/22/24 are read with the v1 layout whatever the version number, except that v0 has no
 * 22/24 form. Whether a 22/24 form really carries payload is a conformance question (MPC-007), not a
 * decoding one, so `ctx.payloadLength` is not consulted. Reserved/crypto bits D–G are reported in
 * `flags`, not rejected (MPC-003, OPT-007).
 */
import { u16, u64 } from '../bytes.js';
import { malformed } from './malformed.js';
import type { MalformedMptcpOption, MpCapableOption, MptcpDecodeContext } from './types.js';

/** Flag bits of b3. */
export const MpCapableFlag = {
  /** A: checksum required. */
  A: 0x80,
  /** B: extensibility. */
  B: 0x40,
  /** C (v1): do not open subflows to this packet's source address+port. */
  C: 0x20,
  /** H: HMAC-SHA256 (v1) / HMAC-SHA1 (v0). */
  H: 0x01,
} as const;

/**
 * Decode an MP_CAPABLE option at `o` of length `len` (caller guarantees `o + len <= b.length`, `len >= 3`).
 * Returns MALFORMED for a length that does not fit the segment's SYN/ACK flags.
 */
export function decodeMpCapable(b: Uint8Array, o: number, len: number, ctx: MptcpDecodeContext): MpCapableOption | MalformedMptcpOption {
  if (len < 4) return malformed(b, o, len, 0, 'MP_CAPABLE length', `MP_CAPABLE length ${len} is shorter than 4 bytes (kind, length, subtype/version, flags)`);
  const version = b[o + 2]! & 0x0f;
  const flags = b[o + 3]!;
  let form: MpCapableOption['form'];
  const seg = ctx.syn ? (ctx.ack ? 'a SYN/ACK' : 'a SYN') : 'a non-SYN segment';
  switch (len) {
    case 4:
      if (!ctx.syn || ctx.ack) return malformed(b, o, len, 0, 'MP_CAPABLE length', `MP_CAPABLE length 4 (no key) is valid only on a SYN without ACK, seen on ${seg}`);
      form = 'syn';
      break;
    case 12:
      if (!ctx.syn) return malformed(b, o, len, 0, 'MP_CAPABLE length', `MP_CAPABLE length 12 (one key) is valid only on a SYN or SYN/ACK, seen on ${seg}`);
      form = ctx.ack ? 'syn-ack' : 'syn';
      break;
    case 20:
      if (ctx.syn) return malformed(b, o, len, 0, 'MP_CAPABLE length', `MP_CAPABLE length 20 (both keys) is valid only on a non-SYN segment, seen on ${seg}`);
      form = 'ack';
      break;
    case 22:
    case 24:
      if (ctx.syn) return malformed(b, o, len, 0, 'MP_CAPABLE length', `MP_CAPABLE length ${len} (keys + data-level length) is valid only on a non-SYN segment, seen on ${seg}`);
      if (version === 0) return malformed(b, o, len, 0, 'MP_CAPABLE length', `MP_CAPABLE v0 has no data-carrying form: length ${len}, expected 12 or 20`);
      form = 'ack-data';
      break;
    default:
      return malformed(b, o, len, 0, 'MP_CAPABLE length', `MP_CAPABLE length ${len} is not one of 4, 12, 20, 22, 24`);
  }
  return {
    type: 'MP_CAPABLE',
    offset: o,
    length: len,
    version,
    flags,
    checksumRequired: (flags & MpCapableFlag.A) !== 0,
    extensibility: (flags & MpCapableFlag.B) !== 0,
    noJoinToSourceAddress: version >= 1 && (flags & MpCapableFlag.C) !== 0,
    hmacAlgorithm: (flags & MpCapableFlag.H) !== 0,
    form,
    sendersKey: len >= 12 ? u64(b, o + 4) : undefined,
    receiversKey: len >= 20 ? u64(b, o + 12) : undefined,
    dataLevelLength: len >= 22 ? u16(b, o + 20) : undefined,
    checksum: len === 24 ? u16(b, o + 22) : undefined,
  };
}
