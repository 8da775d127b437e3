/**
 * Decoded link / IP / TCP headers of one frame, as plain values (the "Repr" level).
 */
import type { MptcpOption } from './mptcp/types.js';

/** TCP flag bits (low byte of the flags field, plus NS = 0x100). RFC 9293 §3.1. */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
  NS: 0x100,
} as const;

/** TCP options other than MPTCP, decoded (RFC 9293, RFC 7323, RFC 2018). */
export interface TcpOptions {
  /** Maximum Segment Size (kind 2), bytes. */
  mss?: number;
  /** Window scale shift (kind 3). */
  windowScale?: number;
  /** SACK permitted (kind 4). */
  sackPermitted?: boolean;
  /** SACK blocks (kind 5): [left, right) edges, absolute 32-bit sequence numbers. */
  sack?: Array<[number, number]>;
  /** Timestamps (kind 8): TSval, TSecr. */
  tsVal?: number;
  tsEcr?: number;
  /** TCP Fast Open cookie present (kind 34). */
  fastOpen?: boolean;
  /** MPTCP options (kind 30), in the order they appear. Empty array when none. */
  mptcp: MptcpOption[];
  /** Other option kinds seen (not decoded): kind numbers. */
  otherKinds?: number[];
}

/**
 * One TCP segment.
 *
 * Lengths are in bytes. Sequence and ACK numbers are unsigned 32-bit `number`s.
 * `payloadLength` is what the IP header says (the segment on the wire); `capturedPayloadLength`
 * is how much of it is in the capture (less when cut by snaplen).
 */
export interface TcpSegment {
  frame: number;
  tsSec: number;
  tsNsec: number;
  ipVersion: 4 | 6;
  /** Textual addresses (dotted quad / RFC 5952). */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** IPv4 Identification, IPv6 undefined. */
  ipId?: number;
  /** TTL / hop limit. */
  ttl: number;
  seq: number;
  ack: number;
  /** Flag bits, see {@link TcpFlag}. */
  flags: number;
  /** Raw 16-bit window field (unscaled). */
  window: number;
  /** TCP header length in bytes (data offset × 4). */
  headerLength: number;
  /** TCP payload bytes on the wire (from IP length; from frame length when IP total length is 0, TSO). */
  payloadLength: number;
  /** TCP payload bytes present in the capture. */
  capturedPayloadLength: number;
  /** Offset of the payload inside the frame's captured bytes. */
  payloadOffset: number;
  /** True when the TCP header or options were cut by the capture (snaplen); options may be incomplete. */
  headerTruncated: boolean;
  /** True when IPv4 total length was 0 (TSO super-segment as captured on the sending host). */
  ipLengthZero?: boolean;
  options: TcpOptions;
}

/** What decodePacket made of a frame. */
export type PacketDecode =
  | { kind: 'tcp'; segment: TcpSegment }
  /** IP but not TCP (UDP, ICMP, …), or an IP fragment (counted, not decoded). */
  | { kind: 'ip-other'; protocol: number; fragment: boolean }
  /** Not IP at all (ARP, LLDP, …). */
  | { kind: 'non-ip'; etherType?: number }
  /** Could not decode; an issue says why. */
  | { kind: 'error' };
