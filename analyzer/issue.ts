/**
 * Decode problems as values with a location (never thrown out of the decoders).
 *
 * Modelled on gopacket's `DecodeFailure` and Zeek's "weird": a bad byte range produces one
 * {@link DecodeIssue}, the rest of the frame (or file) is still used where possible.
 */

/** Which layer found the problem. */
export type IssueLayer =
  | 'file'
  | 'gzip'
  | 'pcap'
  | 'pcapng'
  | 'link'
  | 'ipv4'
  | 'ipv6'
  | 'tcp'
  | 'mptcp'
  /** The connection model (e.g. its state limit evicted flows). */
  | 'model';

/**
 * - `truncated`: fewer bytes than the structure needs. When {@link DecodeIssue.capture} is true the
 *   bytes were cut by the capture (snaplen, cut-off file): a capture fact, never a protocol violation.
 * - `malformed`: the bytes are all there but contradict the format (lying length, bad value).
 * - `unsupported`: a valid structure this tool does not decode (unknown link type, IP fragment).
 * - `limit`: a configured resource limit was reached (tracker state limit); data was dropped, and counted.
 */
export type IssueKind = 'truncated' | 'malformed' | 'unsupported' | 'limit';

export interface DecodeIssue {
  layer: IssueLayer;
  kind: IssueKind;
  /** Field or structure name, e.g. `caplen`, `block length`, `option 30 length`. */
  field?: string;
  /** One line, with the numbers: `"DSS length 9 runs past the TCP header (6 bytes left)"`. */
  message: string;
  /** Capture file path (or interface name for live capture). */
  file?: string;
  /** 1-based frame number as Wireshark shows it; absent for file-level problems. */
  frame?: number;
  /**
   * Byte offset. For file-level issues: offset in the (decompressed) file. For frame-level issues:
   * offset inside the frame's captured bytes (link header = 0).
   */
  offset: number;
  /** Bytes needed / bytes available, where that is what went wrong. */
  need?: number;
  have?: number;
  /** True when the cause is the capture itself (snaplen cut, file cut off), not the traffic. */
  capture?: boolean;
}

/** `file:frame N:offset O: message` — the one-line form used by the CLI. */
export function formatIssue(i: DecodeIssue): string {
  const parts: string[] = [];
  if (i.file !== undefined) parts.push(i.file);
  if (i.frame !== undefined) parts.push(`frame ${i.frame}`);
  parts.push(`offset ${i.offset}`);
  return `${parts.join(': ')}: ${i.layer} ${i.kind}: ${i.message}`;
}
