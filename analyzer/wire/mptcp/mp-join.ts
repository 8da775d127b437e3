/**
 * MP_JOIN (subtype 0x1): RFC 8684 §3.2 (identical in RFC 6824); spec §1.2.
 *
 * | len | segment     | form      | layout after b2 [0] B flag / b3 Address ID                       |
 * | 12  | SYN, no ACK | `syn`     | b4–7 receiver's token, b8–11 sender's random                      |
 * | 16  | SYN/ACK     | `syn-ack` | b4–11 sender's truncated HMAC (leftmost 64 bits), b12–15 random   |
 * | 24  | not SYN     | `ack`     | b2 [3:0], b3 reserved; b4–23 sender's HMAC (leftmost 160 bits)    |
 * Anything else — including a right length on the wrong kind of segment — is MALFORMED (OPT-001/OPT-002).
 * Big-endian throughout.
 */
import { copyBytes, u32, u64 } from '../bytes.js';
import { malformed } from './malformed.js';
import type { MalformedMptcpOption, MpJoinOption, MptcpDecodeContext } from './types.js';

/**
 * Decode an MP_JOIN option at `o` of length `len` (caller guarantees `o + len <= b.length`, `len >= 3`).
 */
export function decodeMpJoin(b: Uint8Array, o: number, len: number, ctx: MptcpDecodeContext): MpJoinOption | MalformedMptcpOption {
  const seg = ctx.syn ? (ctx.ack ? 'a SYN/ACK' : 'a SYN') : 'a non-SYN segment';
  switch (len) {
    case 12:
      if (!ctx.syn || ctx.ack) return malformed(b, o, len, 1, 'MP_JOIN length', `MP_JOIN length 12 (SYN form) seen on ${seg}`);
      return {
        type: 'MP_JOIN',
        offset: o,
        length: len,
        form: 'syn',
        backup: (b[o + 2]! & 0x01) !== 0,
        addressId: b[o + 3]!,
        receiversToken: u32(b, o + 4),
        sendersRandom: u32(b, o + 8),
        truncatedHmac: undefined,
        hmac: undefined,
      };
    case 16:
      if (!ctx.syn || !ctx.ack) return malformed(b, o, len, 1, 'MP_JOIN length', `MP_JOIN length 16 (SYN/ACK form) seen on ${seg}`);
      return {
        type: 'MP_JOIN',
        offset: o,
        length: len,
        form: 'syn-ack',
        backup: (b[o + 2]! & 0x01) !== 0,
        addressId: b[o + 3]!,
        receiversToken: undefined,
        sendersRandom: u32(b, o + 12),
        truncatedHmac: u64(b, o + 4),
        hmac: undefined,
      };
    case 24:
      if (ctx.syn) return malformed(b, o, len, 1, 'MP_JOIN length', `MP_JOIN length 24 (third-ACK form) seen on ${seg}`);
      return {
        type: 'MP_JOIN',
        offset: o,
        length: len,
        form: 'ack',
        backup: undefined,
        addressId: undefined,
        receiversToken: undefined,
        sendersRandom: undefined,
        truncatedHmac: undefined,
        hmac: copyBytes(b, o + 4, o + 24),
      };
    default:
      return malformed(b, o, len, 1, 'MP_JOIN length', `MP_JOIN length ${len} is not one of 12 (SYN), 16 (SYN/ACK), 24 (ACK)`);
  }
}
