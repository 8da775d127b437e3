/**
 * ADD_ADDR (subtype 0x3): RFC 8684 §3.4.1 (v1), RFC 6824 §3.4.1 (v0); spec §1.4.
 *
 * v1: b2 [3:1] reserved, [0] E (echo); b3 Address ID; address (4 or 16 bytes); optional port (2);
 * truncated HMAC (rightmost 64 bits, 8 bytes) only when E = 0. Family from the length:
 *   E = 0: 16 v4, 18 v4+port, 28 v6, 30 v6+port;  E = 1: 8, 10, 20, 22.
 * v0: b2 [3:0] IPVer (4 or 6); b3 Address ID; address; optional port. Lengths 8/10 (v4), 20/22 (v6).
 *
 * v0 and v1-echo lengths collide. Which version: `ctx.version` when given; otherwise the low nibble of
 * b2 — 4 or 6 with a v0 length (8, 10, 20, 22) means v0 (a v1 sender leaves b2 [3:1] zero, so its
 * nibble is 0 or 1); anything else is decoded as v1 (non-zero reserved bits are a conformance matter,
 * OPT-007). Big-endian.
 */
import { formatIpv4, formatIpv6 } from '../address.js';
import { u16, u64 } from '../bytes.js';
import { malformed } from './malformed.js';
import type { AddAddrOption, MalformedMptcpOption, MptcpDecodeContext } from './types.js';

function isV0Length(len: number): boolean {
  return len === 8 || len === 10 || len === 20 || len === 22;
}

/**
 * Decode an ADD_ADDR option at `o` of length `len` (caller guarantees `o + len <= b.length`, `len >= 3`).
 * MALFORMED: a length that fits neither family for the E flag (v1) or IPVer (v0), or a v0 IPVer other than 4/6.
 */
export function decodeAddAddr(b: Uint8Array, o: number, len: number, ctx: MptcpDecodeContext): AddAddrOption | MalformedMptcpOption {
  if (len < 4) return malformed(b, o, len, 3, 'ADD_ADDR length', `ADD_ADDR length ${len} is shorter than 4 bytes`);
  const nib = b[o + 2]! & 0x0f;
  const v0 = ctx.version !== undefined ? ctx.version === 0 : (nib === 4 || nib === 6) && isV0Length(len);
  const addressId = b[o + 3]!;
  if (v0) {
    if (nib !== 4 && nib !== 6) return malformed(b, o, len, 3, 'ADD_ADDR IPVer', `ADD_ADDR v0 IPVer ${nib} is neither 4 nor 6`);
    const v6 = nib === 6;
    const base = v6 ? 20 : 8;
    if (len !== base && len !== base + 2) {
      return malformed(b, o, len, 3, 'ADD_ADDR length', `ADD_ADDR v0 IPVer ${nib} length ${len}, expected ${base} or ${base + 2}`);
    }
    return {
      type: 'ADD_ADDR',
      offset: o,
      length: len,
      version: 0,
      echo: false,
      ipVersion: v6 ? 6 : 4,
      addressId,
      address: v6 ? formatIpv6(b, o + 4) : formatIpv4(b, o + 4),
      port: len === base + 2 ? u16(b, o + base) : undefined,
      truncatedHmac: undefined,
    };
  }
  const echo = (nib & 0x01) !== 0;
  const hmacLen = echo ? 0 : 8;
  const rest = len - 4 - hmacLen; // address (+ port)
  let v6: boolean;
  let port: number | undefined;
  if (rest === 4 || rest === 6) v6 = false;
  else if (rest === 16 || rest === 18) v6 = true;
  else {
    return malformed(
      b,
      o,
      len,
      3,
      'ADD_ADDR length',
      `ADD_ADDR v1 length ${len} with E=${echo ? 1 : 0}, expected ${echo ? '8, 10, 20 or 22' : '16, 18, 28 or 30'}`,
    );
  }
  const alen = v6 ? 16 : 4;
  if (rest === alen + 2) port = u16(b, o + 4 + alen);
  return {
    type: 'ADD_ADDR',
    offset: o,
    length: len,
    version: 1,
    echo,
    ipVersion: v6 ? 6 : 4,
    addressId,
    address: v6 ? formatIpv6(b, o + 4) : formatIpv4(b, o + 4),
    port,
    truncatedHmac: echo ? undefined : u64(b, o + len - 8),
  };
}
