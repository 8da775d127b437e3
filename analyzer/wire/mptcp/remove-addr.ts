/**
 * REMOVE_ADDR (subtype 0x4): RFC 8684 §3.4.2; spec §1.5–1.10.
 * b2 [3:0] reserved; b3… one Address ID per byte; length 3 + n, n ≥ 1.
 * (Linux drops lists of more than 8 IDs; that is a conformance observation, not a decode error.)
 */
import { malformed } from './malformed.js';
import type { MalformedMptcpOption, RemoveAddrOption } from './types.js';

/** Decode a REMOVE_ADDR option at `o` of length `len` (caller guarantees `o + len <= b.length`, `len >= 3`). */
export function decodeRemoveAddr(b: Uint8Array, o: number, len: number): RemoveAddrOption | MalformedMptcpOption {
  if (len < 4) return malformed(b, o, len, 4, 'REMOVE_ADDR length', `REMOVE_ADDR length ${len} carries no address ID (minimum 4)`);
  const addressIds: number[] = new Array<number>(len - 3);
  for (let i = 3; i < len; i++) addressIds[i - 3] = b[o + i]!;
  return { type: 'REMOVE_ADDR', offset: o, length: len, addressIds };
}
