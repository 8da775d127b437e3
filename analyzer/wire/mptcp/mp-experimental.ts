/**
 * MP_EXPERIMENTAL (subtype 0xF, private use) and unassigned subtypes 0x9–0xE: RFC 8684 §7; spec
 * §1.5–1.10, OPT-006. Kept raw: `data` is a copy of the bytes after kind and length (subtype byte
 * included). Any length ≥ 3 is accepted.
 */
import { copyBytes } from '../bytes.js';
import type { UnknownMptcpOption } from './types.js';

/** Decode an experimental/unassigned option at `o` of length `len` (caller guarantees `o + len <= b.length`, `len >= 3`). */
export function decodeMpExperimental(b: Uint8Array, o: number, len: number): UnknownMptcpOption {
  const subtype = b[o + 2]! >> 4;
  return { type: subtype === 0xf ? 'MP_EXPERIMENTAL' : 'UNKNOWN', offset: o, length: len, subtype, data: copyBytes(b, o + 2, o + len) };
}
