/**
 * Per-frame decoding state shared by the link, IP and TCP decoders, and the one place that turns a
 * problem into a {@link DecodeIssue} with file, frame number and offset.
 *
 * `decodePacket` fills one module-level instance per call (decoding is synchronous and not
 * re-entrant), so the hot path allocates no context objects.
 */
import type { DecodeIssue, IssueKind, IssueLayer } from '../issue.js';

export interface FrameContext {
  /** The frame's captured bytes, from the link-layer header on. */
  bytes: Uint8Array;
  /** Bytes on the wire (frame.originalLength); ≥ bytes.length. */
  originalLength: number;
  /** True when the capture cut the frame (captured < original length, i.e. snaplen). */
  cut: boolean;
  /** 1-based frame number. */
  frame: number;
  /** Capture file path (or interface) for issues. */
  file: string;
  /** Where issues go. */
  issues: DecodeIssue[];
}

/**
 * Push one frame-level issue.
 * @param offset byte offset inside the frame's captured bytes (link header = 0).
 */
export function report(
  fc: FrameContext,
  layer: IssueLayer,
  kind: IssueKind,
  field: string,
  message: string,
  offset: number,
  need?: number,
  have?: number,
  capture?: boolean,
): void {
  const i: DecodeIssue = { layer, kind, field, message, file: fc.file, frame: fc.frame, offset };
  if (need !== undefined) i.need = need;
  if (have !== undefined) i.have = have;
  if (capture === true) i.capture = true;
  fc.issues.push(i);
}

/**
 * Report that a structure at `offset` needs `need` bytes but only `have` are in the frame: a capture
 * fact (`capture: true`) when the frame was cut by snaplen, otherwise the packet itself is short.
 */
export function reportShort(
  fc: FrameContext,
  layer: IssueLayer,
  field: string,
  what: string,
  offset: number,
  need: number,
  have: number,
): void {
  if (fc.cut) {
    report(fc, layer, 'truncated', field, `${what} cut by the capture: needs ${need} bytes, ${have} captured`, offset, need, have, true);
  } else {
    report(fc, layer, 'truncated', field, `${what} needs ${need} bytes, the frame has ${have}`, offset, need, have);
  }
}
