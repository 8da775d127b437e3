/**
 * Link layers: offset of the network header and protocol, for every supported LINKTYPE, and the
 * same frames through decodePacket down to TCP.
 */
import { describe, expect, it } from 'vitest';
import { LinkType } from '../../analyzer/capture/types.js';
import type { DecodeIssue } from '../../analyzer/issue.js';
import { decodeLink, newLinkInfo } from '../../analyzer/wire/link.js';
import { decodePacket } from '../../analyzer/wire/packet.js';
import { concat, ethernet, ipv4, ipv6, makeFrame, nullLink, sll, sll2, tcp } from '../helpers/packet-builder.js';

const seg = tcp({ srcPort: 1234, dstPort: 80 });
const v4 = ipv4(seg);
const v6 = ipv6(seg);

interface Row {
  name: string;
  linkType: number;
  bytes: Uint8Array;
  status: string;
  offset?: number;
  etherType?: number;
}

const ROWS: Row[] = [
  { name: 'Ethernet IPv4', linkType: LinkType.ETHERNET, bytes: ethernet(v4, 0x0800), status: 'ipv4', offset: 14, etherType: 0x0800 },
  { name: 'Ethernet IPv6', linkType: LinkType.ETHERNET, bytes: ethernet(v6, 0x86dd), status: 'ipv6', offset: 14, etherType: 0x86dd },
  { name: '802.1Q', linkType: LinkType.ETHERNET, bytes: ethernet(v4, 0x0800, [[0x8100, 10]]), status: 'ipv4', offset: 18 },
  { name: '802.1ad QinQ', linkType: LinkType.ETHERNET, bytes: ethernet(v6, 0x86dd, [[0x88a8, 100], [0x8100, 10]]), status: 'ipv6', offset: 22 },
  { name: 'three tags incl. legacy 0x9100', linkType: LinkType.ETHERNET, bytes: ethernet(v4, 0x0800, [[0x9100, 1], [0x88a8, 2], [0x8100, 3]]), status: 'ipv4', offset: 26 },
  { name: 'ARP', linkType: LinkType.ETHERNET, bytes: ethernet(new Uint8Array(28), 0x0806), status: 'non-ip', etherType: 0x0806 },
  { name: '802.3 length field (LLC)', linkType: LinkType.ETHERNET, bytes: ethernet(new Uint8Array(46), 46), status: 'non-ip', etherType: -1 },
  { name: 'VLAN-tagged ARP', linkType: LinkType.ETHERNET, bytes: ethernet(new Uint8Array(28), 0x0806, [[0x8100, 5]]), status: 'non-ip', etherType: 0x0806 },
  { name: 'Ethernet too short', linkType: LinkType.ETHERNET, bytes: new Uint8Array(10), status: 'short' },
  { name: 'VLAN tag cut', linkType: LinkType.ETHERNET, bytes: ethernet([], 0x8100).subarray(0, 15), status: 'short' },
  { name: 'Linux SLL IPv4', linkType: LinkType.LINUX_SLL, bytes: sll(v4, 0x0800), status: 'ipv4', offset: 16 },
  { name: 'Linux SLL IPv6', linkType: LinkType.LINUX_SLL, bytes: sll(v6, 0x86dd), status: 'ipv6', offset: 16 },
  { name: 'Linux SLL2 IPv4', linkType: LinkType.LINUX_SLL2, bytes: sll2(v4, 0x0800), status: 'ipv4', offset: 20 },
  { name: 'Linux SLL2 IPv6', linkType: LinkType.LINUX_SLL2, bytes: sll2(v6, 0x86dd), status: 'ipv6', offset: 20 },
  { name: 'Linux SLL2 ARP', linkType: LinkType.LINUX_SLL2, bytes: sll2(new Uint8Array(28), 0x0806), status: 'non-ip', etherType: 0x0806 },
  { name: 'raw 101 IPv4', linkType: LinkType.RAW, bytes: v4, status: 'ipv4', offset: 0 },
  { name: 'raw 101 IPv6', linkType: LinkType.RAW, bytes: v6, status: 'ipv6', offset: 0 },
  { name: 'raw 12 IPv4', linkType: LinkType.RAW_12, bytes: v4, status: 'ipv4', offset: 0 },
  { name: 'raw 14 IPv6', linkType: LinkType.RAW_14, bytes: v6, status: 'ipv6', offset: 0 },
  { name: 'raw with version 5', linkType: LinkType.RAW, bytes: concat([0x55], v4.subarray(1)), status: 'malformed' },
  { name: 'raw empty', linkType: LinkType.RAW, bytes: new Uint8Array(0), status: 'short' },
  { name: 'null LE AF_INET', linkType: LinkType.NULL, bytes: nullLink(v4, 2, 'le'), status: 'ipv4', offset: 4 },
  { name: 'null BE AF_INET', linkType: LinkType.NULL, bytes: nullLink(v4, 2, 'be'), status: 'ipv4', offset: 4 },
  { name: 'null LE AF_INET6 (24, NetBSD/OpenBSD)', linkType: LinkType.NULL, bytes: nullLink(v6, 24, 'le'), status: 'ipv6', offset: 4 },
  { name: 'null LE AF_INET6 (28, FreeBSD)', linkType: LinkType.NULL, bytes: nullLink(v6, 28, 'le'), status: 'ipv6', offset: 4 },
  { name: 'null BE AF_INET6 (30, macOS)', linkType: LinkType.NULL, bytes: nullLink(v6, 30, 'be'), status: 'ipv6', offset: 4 },
  { name: 'null other family', linkType: LinkType.NULL, bytes: nullLink(new Uint8Array(20), 7, 'le'), status: 'non-ip' },
  { name: 'loop 108 AF_INET (network order)', linkType: LinkType.LOOP, bytes: nullLink(v4, 2, 'be'), status: 'ipv4', offset: 4 },
  { name: 'loop 108 AF_INET6', linkType: LinkType.LOOP, bytes: nullLink(v6, 24, 'be'), status: 'ipv6', offset: 4 },
  { name: 'LINKTYPE_IPV4 228', linkType: LinkType.IPV4, bytes: v4, status: 'ipv4', offset: 0 },
  { name: 'LINKTYPE_IPV6 229', linkType: LinkType.IPV6, bytes: v6, status: 'ipv6', offset: 0 },
  { name: 'unknown link type 147', linkType: 147, bytes: v4, status: 'unsupported' },
];

describe('decodeLink', () => {
  for (const r of ROWS) {
    it(r.name, () => {
      const out = newLinkInfo();
      expect(decodeLink(r.bytes, r.linkType, out)).toBe(r.status);
      if (r.offset !== undefined) expect(out.offset).toBe(r.offset);
      if (r.etherType !== undefined) expect(out.etherType).toBe(r.etherType);
    });
  }
});

describe('decodePacket over every link type', () => {
  for (const r of ROWS.filter((x) => x.status === 'ipv4' || x.status === 'ipv6')) {
    it(`${r.name} → TCP 1234 → 80`, () => {
      const issues: DecodeIssue[] = [];
      const d = decodePacket(makeFrame(r.bytes, r.linkType), 'f', issues);
      expect(issues).toEqual([]);
      expect(d.kind).toBe('tcp');
      if (d.kind !== 'tcp') return;
      expect([d.segment.srcPort, d.segment.dstPort]).toEqual([1234, 80]);
      expect(d.segment.ipVersion).toBe(r.status === 'ipv4' ? 4 : 6);
      expect(d.segment.payloadOffset).toBe(r.offset! + (r.status === 'ipv4' ? 20 : 40) + 20);
    });
  }

  it('unknown link type → error and exactly one unsupported issue', () => {
    const issues: DecodeIssue[] = [];
    expect(decodePacket(makeFrame(v4, 147, { number: 9 }), 'cap.pcap', issues)).toEqual({ kind: 'error' });
    expect(issues).toEqual([{ layer: 'link', kind: 'unsupported', field: 'link type', message: 'link type 147 is not supported', file: 'cap.pcap', frame: 9, offset: 0 }]);
  });

  it('ARP → non-ip with its EtherType, no issue', () => {
    const issues: DecodeIssue[] = [];
    expect(decodePacket(makeFrame(ethernet(new Uint8Array(28), 0x0806), LinkType.ETHERNET), 'f', issues)).toEqual({ kind: 'non-ip', etherType: 0x0806 });
    expect(issues).toEqual([]);
  });

  it('BSD null with a non-IP family → non-ip without EtherType', () => {
    expect(decodePacket(makeFrame(nullLink(new Uint8Array(20), 7, 'le'), LinkType.NULL), 'f', [])).toEqual({ kind: 'non-ip' });
  });

  it('short Ethernet: truncated by the capture vs a short frame', () => {
    const cut: DecodeIssue[] = [];
    decodePacket(makeFrame(ethernet(v4, 0x0800), LinkType.ETHERNET, { snaplen: 10 }), 'f', cut);
    expect(cut).toMatchObject([{ layer: 'link', kind: 'truncated', capture: true, need: 14, have: 10, offset: 0 }]);
    const short: DecodeIssue[] = [];
    decodePacket(makeFrame(new Uint8Array(10), LinkType.ETHERNET), 'f', short);
    expect(short).toMatchObject([{ layer: 'link', kind: 'truncated', need: 14, have: 10 }]);
    expect(short[0]!.capture).toBeUndefined();
  });

  it('raw IP with version nibble 5 → link malformed', () => {
    const issues: DecodeIssue[] = [];
    expect(decodePacket(makeFrame(concat([0x55], v4.subarray(1)), LinkType.RAW), 'f', issues).kind).toBe('error');
    expect(issues).toMatchObject([{ layer: 'link', kind: 'malformed', field: 'IP version' }]);
  });
});
