/**
 * TCP option kind 30 (MPTCP) → {@link MptcpOption} Repr, dispatching on (subtype, version, length,
 * SYN/ACK flags) as in spec §1 (RFC 8684 §3, RFC 6824 §3). One file per subtype next to this one.
 *
 * Pure and allocation-free beyond the returned Repr. Never throws: bytes that do not fit the
 * subtype's format give a `MALFORMED` Repr plus a DecodeIssue (layer `mptcp`, kind `malformed`,
 * offset = the option's offset).
 */
import type { DecodeIssue } from '../../issue.js';
import { decodeAddAddr } from './add-addr.js';
import { decodeDss } from './dss.js';
import { malformed, malformedIssue } from './malformed.js';
import { decodeMpCapable } from './mp-capable.js';
import { decodeMpExperimental } from './mp-experimental.js';
import { decodeMpFail } from './mp-fail.js';
import { decodeMpFastclose } from './mp-fastclose.js';
import { decodeMpJoin } from './mp-join.js';
import { decodeMpPrio } from './mp-prio.js';
import { decodeMpTcpRst } from './mp-tcprst.js';
import { decodeRemoveAddr } from './remove-addr.js';
import type { MptcpDecodeContext, MptcpOption } from './types.js';

/**
 * Decode one MPTCP option and return only the Repr (MALFORMED carries `field` and `reason`; turn it
 * into an issue with {@link malformedIssue}). The hot-path entry used by the TCP decoder.
 *
 * @param bytes buffer holding the option (the frame's bytes, so offsets are frame offsets)
 * @param offset offset of the option's kind byte (30) in `bytes`
 * @param length the option's length byte: the whole option, kind and length bytes included
 * @param ctx TCP flags of the carrying segment, negotiated version if known, payload length
 */
export function decodeMptcpRepr(bytes: Uint8Array, offset: number, length: number, ctx: MptcpDecodeContext): MptcpOption {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
    const subtype = Number.isInteger(offset) && offset >= 0 && offset + 2 < bytes.length ? bytes[offset + 2]! >> 4 : -1;
    return malformed(bytes, offset, length, subtype, 'option length', `MPTCP option length ${length} at offset ${offset} exceeds the ${Math.max(0, bytes.length - offset)} bytes available`);
  }
  if (length < 3) {
    return malformed(bytes, offset, length, -1, 'option length', `MPTCP option length ${length} leaves no room for the subtype byte (minimum 3)`);
  }
  switch (bytes[offset + 2]! >> 4) {
    case 0x2:
      return decodeDss(bytes, offset, length);
    case 0x0:
      return decodeMpCapable(bytes, offset, length, ctx);
    case 0x1:
      return decodeMpJoin(bytes, offset, length, ctx);
    case 0x3:
      return decodeAddAddr(bytes, offset, length, ctx);
    case 0x4:
      return decodeRemoveAddr(bytes, offset, length);
    case 0x5:
      return decodeMpPrio(bytes, offset, length);
    case 0x6:
      return decodeMpFail(bytes, offset, length);
    case 0x7:
      return decodeMpFastclose(bytes, offset, length);
    case 0x8:
      return decodeMpTcpRst(bytes, offset, length);
    default:
      return decodeMpExperimental(bytes, offset, length);
  }
}

/**
 * Decode one MPTCP option (the contract entry point, docs/CONTRACTS.md).
 * Same arguments as {@link decodeMptcpRepr}. Returns the Repr and, when it is `MALFORMED`, the
 * DecodeIssue saying why (without file and frame; the caller adds them). Never throws.
 */
export function decodeMptcpOption(
  bytes: Uint8Array,
  offset: number,
  length: number,
  ctx: MptcpDecodeContext,
): { option: MptcpOption; issue?: Omit<DecodeIssue, 'file' | 'frame'> } {
  const option = decodeMptcpRepr(bytes, offset, length, ctx);
  return option.type === 'MALFORMED' ? { option, issue: malformedIssue(option) } : { option };
}

export { malformedIssue } from './malformed.js';
