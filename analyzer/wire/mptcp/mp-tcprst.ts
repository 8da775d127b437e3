/**
 * MP_TCPRST (subtype 0x8, v1 only): RFC 8684 §3.6; spec §1.5–1.10.
 * Length 4: b2 [3] U, [2] V, [1] W, [0] T (transient); b3 reason code
 * (0 unspecified, 1 MPTCP-specific error, 2 lack of resources, 3 administratively prohibited,
 * 4 too much outstanding data, 5 unacceptable performance, 6 middlebox interference).
 */
import { malformed } from './malformed.js';
import type { MalformedMptcpOption, MpTcpRstOption } from './types.js';

/** MP_TCPRST reason codes, RFC 8684 §3.6 / IANA. */
export const TcpRstReason: Readonly<Record<number, string>> = {
  0: 'unspecified error',
  1: 'MPTCP-specific error',
  2: 'lack of resources',
  3: 'administratively prohibited',
  4: 'too much outstanding data',
  5: 'unacceptable performance',
  6: 'middlebox interference',
};

/** Decode an MP_TCPRST option at `o` of length `len` (caller guarantees `o + len <= b.length`, `len >= 3`). */
export function decodeMpTcpRst(b: Uint8Array, o: number, len: number): MpTcpRstOption | MalformedMptcpOption {
  if (len !== 4) return malformed(b, o, len, 8, 'MP_TCPRST length', `MP_TCPRST length ${len}, expected 4`);
  const flags = b[o + 2]! & 0x0f;
  return { type: 'MP_TCPRST', offset: o, length: len, flags, transient: (flags & 0x01) !== 0, reason: b[o + 3]! };
}
