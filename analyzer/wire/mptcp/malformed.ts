/**
 * The MALFORMED Repr shared by all subtype decoders, and the DecodeIssue that goes with it.
 * Spec: ../../../../shared/spec/mptcp-rules.md §2.1 (OPT-001…OPT-005).
 */
import type { DecodeIssue } from '../../issue.js';
import { copyBytes } from '../bytes.js';
import type { MalformedMptcpOption } from './types.js';

/** RFC 8684 §7 names of the subtypes, for messages. */
export const SUBTYPE_NAMES: readonly string[] = [
  'MP_CAPABLE',
  'MP_JOIN',
  'DSS',
  'ADD_ADDR',
  'REMOVE_ADDR',
  'MP_PRIO',
  'MP_FAIL',
  'MP_FASTCLOSE',
  'MP_TCPRST',
  'subtype 9',
  'subtype 10',
  'subtype 11',
  'subtype 12',
  'subtype 13',
  'subtype 14',
  'MP_EXPERIMENTAL',
];

/**
 * Build a MALFORMED option. `data` is a copy of the option bytes after kind and length (clamped to
 * what `b` holds). `field` and `reason` become the DecodeIssue's field and message.
 */
export function malformed(b: Uint8Array, offset: number, length: number, subtype: number, field: string, reason: string): MalformedMptcpOption {
  const start = Number.isFinite(offset) ? offset + 2 : 0;
  const end = Number.isFinite(offset) && Number.isFinite(length) ? offset + length : start;
  return { type: 'MALFORMED', offset, length, subtype, reason, field, data: copyBytes(b, start, end) };
}

/** The DecodeIssue (without file and frame) for a MALFORMED option: layer mptcp, kind malformed, offset = option offset. */
export function malformedIssue(o: MalformedMptcpOption): Omit<DecodeIssue, 'file' | 'frame'> {
  return { layer: 'mptcp', kind: 'malformed', field: o.field ?? 'option', message: o.reason, offset: o.offset };
}
