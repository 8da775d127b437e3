/**
 * Link layers: find where the network-layer header starts and which network protocol it is.
 *
 * Supported LINKTYPE_* values (https://www.tcpdump.org/linktypes.html):
 * - 1 Ethernet (IEEE 802.3), with any number of 802.1Q (0x8100), 802.1ad (0x88a8) and legacy QinQ
 *   (0x9100, 0x9200) tags;
 * - 113 Linux cooked capture v1 (SLL, 16-byte header, protocol at bytes 14–15);
 * - 276 Linux cooked capture v2 (SLL2, 20-byte header, protocol at bytes 0–1);
 * - 101, 12, 14 raw IP: the version nibble of the first byte says IPv4 or IPv6;
 * - 0 BSD null/loopback: 4-byte address family in the *capturing host's* byte order
 *   (2 = AF_INET; 24, 28, 30 = AF_INET6 on NetBSD/OpenBSD, FreeBSD, macOS); the byte order is
 *   detected from the value;
 * - 108 OpenBSD loopback: the same family, in network byte order;
 * - 228 bare IPv4, 229 bare IPv6.
 * All multi-byte fields are big-endian except the LINKTYPE_NULL family.
 */
import { LinkType } from '../capture/types.js';
import { u16 } from './bytes.js';

/** EtherType of IPv4 (IEEE 802 numbers). */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD1 = 0x9100;
const ETHERTYPE_QINQ_OLD2 = 0x9200;

/**
 * Result of {@link decodeLink}:
 * - `ipv4` / `ipv6`: the network header starts at `out.offset`;
 * - `non-ip`: a valid frame of another protocol (`out.etherType` when the link has one, else -1);
 * - `short`: the link header needs `out.need` bytes, `out.have` are present;
 * - `unsupported`: a link type this tool does not decode;
 * - `malformed`: raw-IP link with a version nibble that is neither 4 nor 6 (`out.have` = nibble).
 */
export type LinkStatus = 'ipv4' | 'ipv6' | 'non-ip' | 'short' | 'unsupported' | 'malformed';

/** Out-parameter of {@link decodeLink} (caller-owned, reused across frames). */
export interface LinkInfo {
  /** Offset of the network-layer header inside the frame. */
  offset: number;
  /** EtherType (or SLL protocol) of the payload; -1 when the link type has none. */
  etherType: number;
  need: number;
  have: number;
}

/** A fresh {@link LinkInfo} to reuse across calls. */
export function newLinkInfo(): LinkInfo {
  return { offset: 0, etherType: -1, need: 0, have: 0 };
}

function short(out: LinkInfo, need: number, have: number): LinkStatus {
  out.need = need;
  out.have = have;
  return 'short';
}

function byEtherType(out: LinkInfo, etherType: number, offset: number): LinkStatus {
  out.etherType = etherType;
  out.offset = offset;
  if (etherType === ETHERTYPE_IPV4) return 'ipv4';
  if (etherType === ETHERTYPE_IPV6) return 'ipv6';
  return 'non-ip';
}

function byVersionNibble(b: Uint8Array, out: LinkInfo, offset: number): LinkStatus {
  out.offset = offset;
  out.etherType = -1;
  if (b.length <= offset) return short(out, offset + 1, b.length);
  const v = b[offset]! >> 4;
  if (v === 4) return 'ipv4';
  if (v === 6) return 'ipv6';
  out.have = v;
  return 'malformed';
}

function byFamily(family: number, out: LinkInfo): LinkStatus {
  out.offset = 4;
  out.etherType = -1;
  if (family === 2) return 'ipv4';
  if (family === 24 || family === 28 || family === 30) return 'ipv6';
  return 'non-ip';
}

/**
 * Decode the link-layer header of one frame.
 * @param b the frame's captured bytes (link header at 0)
 * @param linkType LINKTYPE_* of the frame
 * @param out filled with offset / etherType / need / have; see {@link LinkStatus}
 * Never throws; does not allocate.
 */
export function decodeLink(b: Uint8Array, linkType: number, out: LinkInfo): LinkStatus {
  out.etherType = -1;
  out.need = 0;
  out.have = 0;
  switch (linkType) {
    case LinkType.ETHERNET: {
      if (b.length < 14) return short(out, 14, b.length);
      let off = 12;
      let et = u16(b, off);
      // 802.1Q / 802.1ad / legacy QinQ tags, any depth: TPID(2) TCI(2), then the next type.
      while (et === ETHERTYPE_VLAN || et === ETHERTYPE_QINQ || et === ETHERTYPE_QINQ_OLD1 || et === ETHERTYPE_QINQ_OLD2) {
        off += 4;
        if (b.length < off + 2) return short(out, off + 2, b.length);
        et = u16(b, off);
      }
      if (et <= 1500) {
        // 802.3 length field (LLC/SNAP follows): not IP for our purposes.
        out.etherType = -1;
        out.offset = off + 2;
        return 'non-ip';
      }
      return byEtherType(out, et, off + 2);
    }
    case LinkType.LINUX_SLL:
      if (b.length < 16) return short(out, 16, b.length);
      return byEtherType(out, u16(b, 14), 16);
    case LinkType.LINUX_SLL2:
      if (b.length < 20) return short(out, 20, b.length);
      return byEtherType(out, u16(b, 0), 20);
    case LinkType.RAW:
    case LinkType.RAW_12:
    case LinkType.RAW_14:
      return byVersionNibble(b, out, 0);
    case LinkType.IPV4:
      out.offset = 0;
      return 'ipv4';
    case LinkType.IPV6:
      out.offset = 0;
      return 'ipv6';
    case LinkType.NULL: {
      if (b.length < 4) return short(out, 4, b.length);
      // Host byte order of the capturing machine: families are small, so the order whose value
      // fits in 16 bits is the right one.
      const le = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
      const be = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
      return byFamily(le <= 0xffff ? le : be, out);
    }
    case LinkType.LOOP: {
      if (b.length < 4) return short(out, 4, b.length);
      return byFamily(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0, out);
    }
    default:
      return 'unsupported';
  }
}
