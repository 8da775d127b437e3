/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) headers: where the transport header starts, which protocol it
 * is, and how long the packet is on the wire. Multi-byte fields are big-endian.
 *
 * - IPv4: IHL gives the header length (options skipped, not decoded); total length gives the packet
 *   length. Total length 0 is what Linux shows for a TSO/GSO super-segment captured on the sending
 *   host: the frame length is used instead and `ipLengthZero` is set (a capture artefact, not an
 *   error). Fragments (MF set or offset ≠ 0) are counted, not reassembled.
 * - IPv6: extension headers hop-by-hop (0), routing (43), destination options (60), AH (51) are
 *   skipped; a fragment header (44) with offset ≠ 0 or M set makes the packet a fragment; ESP (50)
 *   and No Next Header (59) end the chain. Payload length 0 (jumbogram / BIG TCP) uses the frame
 *   length, like IPv4 total length 0.
 * The header checksum is not verified (checksum offload makes it meaningless on sending hosts).
 */
import { u16 } from './bytes.js';
import type { FrameContext } from './frame-context.js';
import { report, reportShort } from './frame-context.js';

/** Out-parameter of the IP decoders (caller-owned, reused across frames). */
export interface IpInfo {
  version: 4 | 6;
  /** Offset of the IP header in the frame. */
  headerOffset: number;
  /** Offset of the transport header (after IPv4 options / IPv6 extension headers). */
  payloadOffset: number;
  /** Transport protocol number (6 = TCP), after the IPv6 extension-header chain. */
  protocol: number;
  /** Frame offset one past the IP packet's last byte on the wire (from the IP length field). */
  wireEnd: number;
  /** IPv4 total length / IPv6 payload length was 0: `wireEnd` comes from the frame length. */
  ipLengthZero: boolean;
  /** TTL / hop limit. */
  ttl: number;
  /** IPv4 Identification; -1 for IPv6. */
  ipId: number;
  /** Offsets of the source and destination addresses in the frame. */
  srcOffset: number;
  dstOffset: number;
}

/** A fresh {@link IpInfo} to reuse across calls. */
export function newIpInfo(): IpInfo {
  return { version: 4, headerOffset: 0, payloadOffset: 0, protocol: 0, wireEnd: 0, ipLengthZero: false, ttl: 0, ipId: -1, srcOffset: 0, dstOffset: 0 };
}

/**
 * - `ok`: header decoded, `out` filled (protocol may be anything);
 * - `fragment`: an IP fragment, `out.protocol` set, not decoded further;
 * - `error`: not decodable, an issue was reported.
 */
export type IpStatus = 'ok' | 'fragment' | 'error';

/**
 * Sets `out.wireEnd` from a length field; reports a lying length (longer than the frame on the wire)
 * as malformed and falls back to the frame length.
 */
function setWireEnd(fc: FrameContext, out: IpInfo, layer: 'ipv4' | 'ipv6', field: string, lengthValue: number, end: number, offset: number): void {
  if (lengthValue === 0) {
    out.ipLengthZero = true;
    out.wireEnd = fc.originalLength;
    return;
  }
  if (end > fc.originalLength) {
    report(fc, layer, 'malformed', field, `${field} ${lengthValue} runs past the end of the frame (${fc.originalLength - offset} bytes from the ${layer === 'ipv4' ? 'IPv4' : 'IPv6'} header on)`, offset + (layer === 'ipv4' ? 2 : 4), end - offset, fc.originalLength - offset);
    out.wireEnd = fc.originalLength;
    return;
  }
  out.wireEnd = end;
}

/**
 * Decode an IPv4 header at `offset` (RFC 791 §3.1). Reports issues through `fc`; never throws.
 * Errors: header shorter than 20 bytes or cut by the capture (`truncated`), version ≠ 4, IHL < 5,
 * total length < header length (`malformed`).
 */
export function decodeIpv4(fc: FrameContext, offset: number, out: IpInfo): IpStatus {
  const b = fc.bytes;
  const have = b.length - offset;
  out.version = 4;
  out.headerOffset = offset;
  out.ipLengthZero = false;
  if (have < 20) {
    reportShort(fc, 'ipv4', 'header', 'IPv4 header', offset, 20, Math.max(0, have));
    return 'error';
  }
  const vihl = b[offset]!;
  if (vihl >> 4 !== 4) {
    report(fc, 'ipv4', 'malformed', 'version', `IPv4 header has version ${vihl >> 4}`, offset);
    return 'error';
  }
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) {
    report(fc, 'ipv4', 'malformed', 'IHL', `IHL ${ihl / 4} (${ihl} bytes) is less than the 20-byte minimum`, offset);
    return 'error';
  }
  const total = u16(b, offset + 2);
  if (total !== 0 && total < ihl) {
    report(fc, 'ipv4', 'malformed', 'total length', `total length ${total} is less than the header length ${ihl}`, offset + 2, ihl, total);
    return 'error';
  }
  setWireEnd(fc, out, 'ipv4', 'total length', total, offset + total, offset);
  if (have < ihl) {
    reportShort(fc, 'ipv4', 'options', 'IPv4 header with options', offset, ihl, have);
    return 'error';
  }
  out.ttl = b[offset + 8]!;
  out.ipId = u16(b, offset + 4);
  out.protocol = b[offset + 9]!;
  out.srcOffset = offset + 12;
  out.dstOffset = offset + 16;
  out.payloadOffset = offset + ihl;
  if (out.wireEnd < out.payloadOffset) out.wireEnd = out.payloadOffset; // total 0 on a too-short frame
  const frag = u16(b, offset + 6);
  // MF (0x2000) or a non-zero fragment offset (0x1fff): a fragment.
  if ((frag & 0x3fff) !== 0) return 'fragment';
  return 'ok';
}

/**
 * Decode an IPv6 header and its extension-header chain at `offset` (RFC 8200 §3, §4).
 * Reports issues through `fc`; never throws.
 */
export function decodeIpv6(fc: FrameContext, offset: number, out: IpInfo): IpStatus {
  const b = fc.bytes;
  const have = b.length - offset;
  out.version = 6;
  out.headerOffset = offset;
  out.ipLengthZero = false;
  out.ipId = -1;
  if (have < 40) {
    reportShort(fc, 'ipv6', 'header', 'IPv6 header', offset, 40, Math.max(0, have));
    return 'error';
  }
  const v = b[offset]! >> 4;
  if (v !== 6) {
    report(fc, 'ipv6', 'malformed', 'version', `IPv6 header has version ${v}`, offset);
    return 'error';
  }
  const plen = u16(b, offset + 4);
  setWireEnd(fc, out, 'ipv6', 'payload length', plen, offset + 40 + plen, offset);
  out.ttl = b[offset + 7]!;
  out.srcOffset = offset + 8;
  out.dstOffset = offset + 24;
  let next = b[offset + 6]!;
  let p = offset + 40;
  for (;;) {
    if (next === 0 || next === 43 || next === 60 || next === 51) {
      if (b.length < p + 2) {
        reportShort(fc, 'ipv6', 'extension header', `IPv6 extension header ${next}`, p, 2, Math.max(0, b.length - p));
        return 'error';
      }
      const len = next === 51 ? (b[p + 1]! + 2) * 4 : (b[p + 1]! + 1) * 8;
      if (p + len > out.wireEnd) {
        report(fc, 'ipv6', 'malformed', 'extension header', `IPv6 extension header ${next} length ${len} exceeds remaining ${out.wireEnd - p} bytes`, p, len, out.wireEnd - p);
        return 'error';
      }
      if (b.length < p + len) {
        reportShort(fc, 'ipv6', 'extension header', `IPv6 extension header ${next}`, p, len, b.length - p);
        return 'error';
      }
      next = b[p]!;
      p += len;
      continue;
    }
    if (next === 44) {
      if (p + 8 > out.wireEnd) {
        report(fc, 'ipv6', 'malformed', 'fragment header', `IPv6 fragment header needs 8 bytes, ${out.wireEnd - p} remain`, p, 8, out.wireEnd - p);
        return 'error';
      }
      if (b.length < p + 8) {
        reportShort(fc, 'ipv6', 'fragment header', 'IPv6 fragment header', p, 8, b.length - p);
        return 'error';
      }
      const fo = u16(b, p + 2);
      const nh = b[p]!;
      p += 8;
      if ((fo & 0xfff9) !== 0) {
        // Offset ≠ 0 (bits 15..3) or M (bit 0): a real fragment. (An atomic fragment decodes on.)
        out.protocol = nh;
        out.payloadOffset = p;
        return 'fragment';
      }
      next = nh;
      continue;
    }
    break;
  }
  out.protocol = next;
  out.payloadOffset = p;
  if (out.wireEnd < p) out.wireEnd = p;
  return 'ok';
}
