/**
 * One captured frame → {@link PacketDecode}: link layer → IPv4/IPv6 → TCP (+ MPTCP options).
 *
 * Pure with respect to its inputs; problems become {@link DecodeIssue}s pushed to `issues`, each with
 * the file, the frame number and the byte offset inside the frame. Never throws, whatever the bytes.
 */
import type { Frame } from '../capture/types.js';
import type { DecodeIssue } from '../issue.js';
import type { FrameContext } from './frame-context.js';
import { report, reportShort } from './frame-context.js';
import type { IpStatus } from './ip.js';
import { decodeIpv4, decodeIpv6, newIpInfo } from './ip.js';
import { decodeLink, newLinkInfo } from './link.js';
import { decodeTcp } from './tcp.js';
import type { PacketDecode } from './types.js';

const EMPTY = new Uint8Array(0);
const fc: FrameContext = { bytes: EMPTY, originalLength: 0, cut: false, frame: 0, file: '', issues: [] };
const link = newLinkInfo();
const ip = newIpInfo();
const ERROR: PacketDecode = Object.freeze({ kind: 'error' });

/**
 * Decode one frame.
 * @param frame the frame (its `data` is only read during the call; nothing keeps a reference)
 * @param file capture file name, copied into issues
 * @param issues receives the frame's problems (snaplen cuts as `truncated` + `capture: true`,
 *   contradictions as `malformed`, unknown link types and TCP fragments as `unsupported`)
 * @returns `tcp` with the segment, `ip-other` (incl. fragments), `non-ip`, or `error` (an issue says why)
 */
export function decodePacket(frame: Frame, file: string, issues: DecodeIssue[]): PacketDecode {
  const data = frame.data;
  fc.bytes = data;
  fc.originalLength = frame.originalLength >= data.length ? frame.originalLength : data.length;
  fc.cut = data.length < frame.originalLength;
  fc.frame = frame.number;
  fc.file = file;
  fc.issues = issues;
  try {
    return decode(frame);
  } catch (e) {
    // Defence in depth: a decoder bug must not stop the analysis of the rest of the file.
    report(fc, 'link', 'malformed', 'decoder', `internal decoder error: ${e instanceof Error ? e.message : String(e)}`, 0);
    return ERROR;
  } finally {
    fc.bytes = EMPTY;
    fc.issues = [];
  }
}

function decode(frame: Frame): PacketDecode {
  const linkType = Number(frame.linkType);
  let status: IpStatus;
  switch (decodeLink(fc.bytes, linkType, link)) {
    case 'ipv4':
      status = decodeIpv4(fc, link.offset, ip);
      break;
    case 'ipv6':
      status = decodeIpv6(fc, link.offset, ip);
      break;
    case 'non-ip':
      return link.etherType >= 0 ? { kind: 'non-ip', etherType: link.etherType } : { kind: 'non-ip' };
    case 'short':
      reportShort(fc, 'link', 'header', `link-layer header (link type ${linkType})`, 0, link.need, link.have);
      return ERROR;
    case 'malformed':
      report(fc, 'link', 'malformed', 'IP version', `raw IP packet has version nibble ${link.have}, expected 4 or 6`, link.offset);
      return ERROR;
    case 'unsupported':
      report(fc, 'link', 'unsupported', 'link type', `link type ${linkType} is not supported`, 0);
      return ERROR;
  }
  if (status === 'error') return ERROR;
  if (status === 'fragment') {
    if (ip.protocol === 6) {
      report(fc, ip.version === 4 ? 'ipv4' : 'ipv6', 'unsupported', 'fragment', `IPv${ip.version} fragment of a TCP segment: not reassembled`, ip.headerOffset);
    }
    return { kind: 'ip-other', protocol: ip.protocol, fragment: true };
  }
  if (ip.protocol !== 6) return { kind: 'ip-other', protocol: ip.protocol, fragment: false };
  const segment = decodeTcp(fc, ip, frame);
  return segment === undefined ? ERROR : { kind: 'tcp', segment };
}
