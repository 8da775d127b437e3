/**
 * Capture-level types shared by every capture source (pcap, pcap-ns, pcapng, live).
 */
import type { DecodeIssue } from '../issue.js';

/**
 * Link-layer header types (tcpdump.org LINKTYPE_* values, as stored in pcap/pcapng headers).
 * https://www.tcpdump.org/linktypes.html
 */
export const LinkType = {
  NULL: 0, // BSD loopback, 4-byte family in host byte order
  ETHERNET: 1,
  RAW_12: 12, // raw IP on some BSDs (DLT_RAW value 12)
  RAW_14: 14, // raw IP on OpenBSD (DLT_RAW value 14)
  RAW: 101,
  LOOP: 108, // OpenBSD loopback, 4-byte family in network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;
export type LinkTypeValue = (typeof LinkType)[keyof typeof LinkType] | number;

/**
 * One captured frame.
 *
 * `data` is a view into the reader's buffer and is valid only until the sink callback returns:
 * a consumer that keeps bytes must copy them (`Uint8Array.prototype.slice`).
 */
export interface Frame {
  /** 1-based frame number across the whole file, as Wireshark shows it. */
  number: number;
  /** Timestamp, whole seconds since the Unix epoch (UTC). */
  tsSec: number;
  /** Timestamp, nanoseconds within the second (0..999 999 999), whatever the file's resolution. */
  tsNsec: number;
  /** Bytes present in the capture (`caplen` / pcapng Captured Packet Length). */
  capturedLength: number;
  /** Bytes on the wire (`len` / pcapng Original Packet Length). Larger than capturedLength when cut by snaplen. */
  originalLength: number;
  /** LINKTYPE_* of this frame (per interface in pcapng). */
  linkType: LinkTypeValue;
  /** pcapng interface ID (0 for classic pcap and live capture). */
  interfaceId: number;
  /** Captured bytes, starting at the link-layer header; length === capturedLength. */
  data: Uint8Array;
  /** Byte offset of the frame's record (record header) in the decompressed file; -1 for live capture. */
  fileOffset: number;
  /** pcapng opt_comment(s), if the block had any (several comments joined with "\n"). */
  comment?: string;
  /**
   * 0-based pcapng section (SHB) index the frame belongs to; `interfaceId` is local to that section
   * (as in the file and in tshark's `frame.interface_id`). Absent for classic pcap and live capture.
   */
  section?: number;
}

/** Timestamp of a frame in seconds (float, µs-precise for current epochs). */
export function frameTimeSeconds(f: Pick<Frame, 'tsSec' | 'tsNsec'>): number {
  return f.tsSec + f.tsNsec / 1e9;
}

/** Timestamp of a frame in ns since the epoch, exact. */
export function frameTimeNs(f: Pick<Frame, 'tsSec' | 'tsNsec'>): bigint {
  return BigInt(f.tsSec) * 1_000_000_000n + BigInt(f.tsNsec);
}

/** A pcapng interface description block (one per interface; classic pcap has exactly one). */
export interface CaptureInterface {
  id: number;
  linkType: LinkTypeValue;
  /** 0 when not set. */
  snaplen: number;
  name?: string;
  description?: string;
  /** Timestamp units per second (10^6 unless if_tsresol says otherwise). */
  tsUnitsPerSecond: number;
  /** if_tsoffset, seconds added to every timestamp. */
  tsOffsetSec: number;
  /** 0-based pcapng section this interface belongs to (its `id` is local to the section). Absent for classic pcap. */
  section?: number;
}

/** What a source learned about the file as a whole. Complete once {@link CaptureSource.run} resolves. */
export interface CaptureSummary {
  file: string;
  format: 'pcap' | 'pcap-ns' | 'pcapng' | 'live';
  /** True when the bytes were gzip-compressed (detected by magic 1f 8b). */
  gzip: boolean;
  /** 'little' | 'big' for pcap; the first section's for pcapng. */
  byteOrder: 'little' | 'big';
  interfaces: CaptureInterface[];
  /** Frames delivered to the sink. */
  frames: number;
  /** Bytes of the (decompressed) file consumed. */
  bytes: number;
  /** pcapng sections seen (1 for pcap). */
  sections: number;
  /** File-level problems (bad magic, lying lengths, cut-off last record). Frames already delivered stay valid. */
  issues: DecodeIssue[];
  /** True when reading stopped before the end of the file because of an unrecoverable problem. */
  incomplete: boolean;
}

/** Receives frames in file order. Must not throw; if it does, the source stops and rejects. */
export interface FrameSink {
  frame(frame: Frame): void;
  /** A file-level problem; reading goes on when it can. The same issue is also in the summary. */
  issue?(issue: DecodeIssue): void;
  /**
   * Backpressure: asked by the file reader after each chunk's frames (≈ 1 MiB); when it returns a promise,
   * reading waits for it (e.g. until a streaming output has drained). The pcap-parser reader does not ask.
   */
  drain?(): Promise<void> | undefined;
}

/**
 * A source of frames: a capture file (any supported format, optionally gzip-compressed) or a live interface.
 * `run` never rejects because of file content: bad content ends up in `summary.issues`.
 * It rejects only for I/O errors that make the file unreadable at all (ENOENT, EACCES), with the OS error.
 */
export interface CaptureSource {
  readonly name: string;
  run(sink: FrameSink): Promise<CaptureSummary>;
}
