/**
 * TCP header and options (RFC 9293 §3.1; RFC 7323 WS/TS; RFC 2018 SACK; RFC 7413 TFO; RFC 8684 MPTCP)
 * → {@link TcpSegment}. Big-endian.
 *
 * Lengths: `payloadLength` comes from the IP length (the segment on the wire), `capturedPayloadLength`
 * from what the frame holds. Two different problems are kept apart (gopacket's SetTruncated vs
 * DecodeFailure):
 * - the capture cut the frame inside the header/options (snaplen): `truncated` with `capture: true`,
 *   `headerTruncated: true`; options up to the cut are decoded, the rest is simply unknown;
 * - the bytes are there but contradict themselves (an option length running past the data offset, a
 *   data offset below 5 or beyond the segment): `malformed`, option parsing stops, the segment is kept
 *   when its fixed header is usable.
 * MPTCP options (kind 30) go to the MPTCP decoder; other kinds are decoded or listed in `otherKinds`.
 */
import type { DecodeIssue } from '../issue.js';
import { formatIpv4, formatIpv6 } from './address.js';
import { u16, u32 } from './bytes.js';
import type { FrameContext } from './frame-context.js';
import { report, reportShort } from './frame-context.js';
import type { IpInfo } from './ip.js';
import { decodeMptcpRepr } from './mptcp/decode.js';
import type { MptcpDecodeContext } from './mptcp/types.js';
import type { TcpOptions, TcpSegment } from './types.js';
import { TcpFlag } from './types.js';

/** TCP option kinds decoded here. */
export const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WINDOW_SCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMPS: 8,
  MPTCP: 30,
  FAST_OPEN: 34,
} as const;

const OPTION_NAMES: Readonly<Record<number, string>> = { 2: 'MSS', 3: 'window scale', 4: 'SACK permitted', 5: 'SACK', 8: 'timestamps', 34: 'TCP Fast Open' };

/** Reused MPTCP decode context: the decoders read it and keep nothing. */
const mptcpCtx: MptcpDecodeContext = { syn: false, ack: false, version: undefined, payloadLength: 0 };

function badLength(fc: FrameContext, kind: number, len: number, expected: string, p: number): void {
  report(fc, 'tcp', 'malformed', `option ${kind} length`, `option kind ${kind} (${OPTION_NAMES[kind] ?? '?'}) length ${len}, expected ${expected}`, p);
}

/** Minimal frame facts the TCP decoder copies into the segment. */
export interface FrameStamp {
  number: number;
  tsSec: number;
  tsNsec: number;
}

/**
 * Decode the TCP header at `ip.payloadOffset` of the frame in `fc`.
 * @returns the segment, or `undefined` when not even the 20-byte fixed header is usable (an issue says why).
 * Never throws.
 */
export function decodeTcp(fc: FrameContext, ip: IpInfo, frame: FrameStamp): TcpSegment | undefined {
  const b = fc.bytes;
  const t = ip.payloadOffset;
  const wireEnd = ip.wireEnd;
  const segWire = wireEnd - t;
  const capEnd = Math.min(b.length, wireEnd);
  if (segWire < 20) {
    report(fc, 'tcp', 'malformed', 'header', `IP payload of ${Math.max(0, segWire)} bytes is shorter than the 20-byte TCP header`, t, 20, Math.max(0, segWire));
    return undefined;
  }
  if (capEnd - t < 20) {
    reportShort(fc, 'tcp', 'header', 'TCP header', t, 20, Math.max(0, capEnd - t));
    return undefined;
  }
  const doff = b[t + 12]! >> 4;
  const hl = doff * 4;
  if (hl < 20) {
    report(fc, 'tcp', 'malformed', 'data offset', `data offset ${doff} (${hl} bytes) is less than the 20-byte minimum`, t + 12, 20, hl);
    return undefined;
  }
  let headerEnd = t + hl;
  if (hl > segWire) {
    report(fc, 'tcp', 'malformed', 'data offset', `data offset ${doff} (${hl} bytes) exceeds the ${segWire}-byte segment`, t + 12, hl, segWire);
    headerEnd = wireEnd;
  }
  const optEnd = Math.min(headerEnd, capEnd);
  const headerTruncated = optEnd < headerEnd;
  if (headerTruncated) {
    // capEnd < headerEnd <= wireEnd <= originalLength: only a snaplen cut can do this.
    report(fc, 'tcp', 'truncated', 'options', `TCP header cut by the capture: ${hl} bytes, ${capEnd - t} captured`, t, hl, capEnd - t, true);
  }
  const flags = ((b[t + 12]! & 0x01) << 8) | b[t + 13]!;
  const payloadOffset = t + hl;
  const payloadLength = Math.max(0, wireEnd - payloadOffset);
  const capturedPayloadLength = Math.max(0, capEnd - payloadOffset);

  const options: TcpOptions = {
    mss: undefined,
    windowScale: undefined,
    sackPermitted: undefined,
    sack: undefined,
    tsVal: undefined,
    tsEcr: undefined,
    fastOpen: undefined,
    mptcp: [],
    otherKinds: undefined,
  };
  let p = t + 20;
  while (p < optEnd) {
    const kind = b[p]!;
    if (kind === TcpOptionKind.EOL) break;
    if (kind === TcpOptionKind.NOP) {
      p++;
      continue;
    }
    if (p + 1 >= optEnd) {
      if (!headerTruncated) report(fc, 'tcp', 'malformed', `option ${kind} length`, `option kind ${kind} has no length byte (1 byte left)`, p, 2, 1);
      break;
    }
    const len = b[p + 1]!;
    if (len < 2) {
      report(fc, 'tcp', 'malformed', `option ${kind} length`, `option kind ${kind} length ${len} is less than 2`, p, 2, len);
      break;
    }
    if (p + len > headerEnd) {
      report(fc, 'tcp', 'malformed', `option ${kind} length`, `option kind ${kind} length ${len} exceeds remaining ${headerEnd - p} bytes`, p, len, headerEnd - p);
      break;
    }
    if (p + len > optEnd) break; // cut by the capture: reported once above
    switch (kind) {
      case TcpOptionKind.MSS:
        if (len === 4) options.mss = u16(b, p + 2);
        else badLength(fc, kind, len, '4', p);
        break;
      case TcpOptionKind.WINDOW_SCALE:
        if (len === 3) options.windowScale = b[p + 2]!;
        else badLength(fc, kind, len, '3', p);
        break;
      case TcpOptionKind.SACK_PERMITTED:
        if (len === 2) options.sackPermitted = true;
        else badLength(fc, kind, len, '2', p);
        break;
      case TcpOptionKind.SACK:
        if (len >= 10 && (len - 2) % 8 === 0) {
          const blocks: Array<[number, number]> = [];
          for (let q = p + 2; q < p + len; q += 8) blocks.push([u32(b, q), u32(b, q + 4)]);
          options.sack = blocks;
        } else badLength(fc, kind, len, '2 + 8n (n >= 1)', p);
        break;
      case TcpOptionKind.TIMESTAMPS:
        if (len === 10) {
          options.tsVal = u32(b, p + 2);
          options.tsEcr = u32(b, p + 6);
        } else badLength(fc, kind, len, '10', p);
        break;
      case TcpOptionKind.FAST_OPEN:
        options.fastOpen = true;
        break;
      case TcpOptionKind.MPTCP: {
        mptcpCtx.syn = (flags & TcpFlag.SYN) !== 0;
        mptcpCtx.ack = (flags & TcpFlag.ACK) !== 0;
        mptcpCtx.payloadLength = payloadLength;
        const opt = decodeMptcpRepr(b, p, len, mptcpCtx);
        options.mptcp.push(opt);
        if (opt.type === 'MALFORMED') {
          const i: DecodeIssue = { layer: 'mptcp', kind: 'malformed', field: opt.field ?? 'option', message: opt.reason, file: fc.file, frame: fc.frame, offset: opt.offset };
          fc.issues.push(i);
        }
        break;
      }
      default:
        (options.otherKinds ??= []).push(kind);
    }
    p += len;
  }

  const v4 = ip.version === 4;
  return {
    frame: frame.number,
    tsSec: frame.tsSec,
    tsNsec: frame.tsNsec,
    ipVersion: ip.version,
    src: v4 ? formatIpv4(b, ip.srcOffset) : formatIpv6(b, ip.srcOffset),
    dst: v4 ? formatIpv4(b, ip.dstOffset) : formatIpv6(b, ip.dstOffset),
    srcPort: u16(b, t),
    dstPort: u16(b, t + 2),
    ipId: v4 ? ip.ipId : undefined,
    ttl: ip.ttl,
    seq: u32(b, t + 4),
    ack: u32(b, t + 8),
    flags,
    window: u16(b, t + 14),
    headerLength: hl,
    payloadLength,
    capturedPayloadLength,
    payloadOffset,
    headerTruncated,
    ipLengthZero: ip.ipLengthZero,
    options,
  };
}
