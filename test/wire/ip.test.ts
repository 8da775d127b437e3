/**
 * IPv4 / IPv6 layer through decodePacket: header and option lengths, total length 0 (TSO),
 * fragments, extension-header chains, lying lengths, snaplen cuts, Ethernet padding.
 */
import { describe, expect, it } from 'vitest';
import { LinkType } from '../../analyzer/capture/types.js';
import { concat, ethernet, ipv4, ipv6, makeFrame, tcp, tcp4Frame, tcp6Frame } from '../helpers/packet-builder.js';
import { run, segOf } from '../helpers/decode.js';


describe('IPv4', () => {
  it('plain header: addresses, TTL, ID, lengths', () => {
    const { d, issues } = run(tcp4Frame({ payload: 100 }, { src: '192.0.2.1', dst: '198.51.100.7', ttl: 33, id: 0xbeef }));
    expect(issues).toEqual([]);
    const s = segOf(d);
    expect(s).toMatchObject({ ipVersion: 4, src: '192.0.2.1', dst: '198.51.100.7', ttl: 33, ipId: 0xbeef, payloadLength: 100, capturedPayloadLength: 100, payloadOffset: 54, ipLengthZero: false });
  });

  it('IHL > 5: options skipped', () => {
    const s = segOf(run(tcp4Frame({ payload: 10 }, { options: [0x94, 0x04, 0, 0, 1, 1, 1, 0] })).d);
    expect(s.payloadOffset).toBe(14 + 28 + 20);
    expect(s.payloadLength).toBe(10);
  });

  it('total length 0 (TSO super-segment on the sender): frame length used, ipLengthZero set, no issue', () => {
    const { d, issues } = run(tcp4Frame({ payload: 3000 }, { totalLength: 0 }));
    expect(issues).toEqual([]);
    expect(segOf(d)).toMatchObject({ ipLengthZero: true, payloadLength: 3000, capturedPayloadLength: 3000 });
  });

  it('total length 0 with a snaplen cut: the wire length (originalLength) still gives the payload', () => {
    const { d, issues } = run(tcp4Frame({ payload: 3000 }, { totalLength: 0 }, { snaplen: 200 }));
    expect(issues).toEqual([]);
    expect(segOf(d)).toMatchObject({ ipLengthZero: true, payloadLength: 3000, capturedPayloadLength: 200 - 54 });
  });

  it('Ethernet padding after the IP packet is not payload', () => {
    const data = concat(ethernet(ipv4(tcp({})), 0x0800), new Uint8Array(6));
    const { d, issues } = run(makeFrame(data, LinkType.ETHERNET));
    expect(issues).toEqual([]);
    expect(segOf(d)).toMatchObject({ payloadLength: 0, capturedPayloadLength: 0 });
  });

  it('total length larger than the frame (not a snaplen cut): malformed, frame length used', () => {
    const { d, issues } = run(tcp4Frame({ payload: 10 }, { totalLength: 1500 }));
    expect(issues).toMatchObject([{ layer: 'ipv4', kind: 'malformed', field: 'total length', offset: 16, need: 1500, have: 50 }]);
    expect(segOf(d)).toMatchObject({ payloadLength: 10, capturedPayloadLength: 10 });
  });

  it('total length smaller than the header: malformed, error', () => {
    const { d, issues } = run(tcp4Frame({}, { totalLength: 12 }));
    expect(d).toEqual({ kind: 'error' });
    expect(issues).toMatchObject([{ layer: 'ipv4', kind: 'malformed', field: 'total length' }]);
  });

  it('IHL < 5: malformed, error', () => {
    const { d, issues } = run(tcp4Frame({}, { ihl: 4 }));
    expect(d).toEqual({ kind: 'error' });
    expect(issues).toMatchObject([{ layer: 'ipv4', kind: 'malformed', field: 'IHL', offset: 14 }]);
  });

  it('EtherType IPv4 but version 6: malformed', () => {
    const { issues } = run(tcp4Frame({}, { version: 6 }));
    expect(issues).toMatchObject([{ layer: 'ipv4', kind: 'malformed', field: 'version' }]);
  });

  it('header cut by the capture: truncated, capture: true', () => {
    const { d, issues } = run(tcp4Frame({}, {}, { snaplen: 30 }));
    expect(d).toEqual({ kind: 'error' });
    expect(issues).toEqual([{ layer: 'ipv4', kind: 'truncated', field: 'header', message: 'IPv4 header cut by the capture: needs 20 bytes, 16 captured', file: 'x.pcap', frame: 1, offset: 14, need: 20, have: 16, capture: true }]);
  });

  it('fragments: MF set, or offset ≠ 0 → ip-other fragment, one unsupported issue for TCP', () => {
    for (const frag of [0x2000, 0x0001, 0x20b9]) {
      const { d, issues } = run(tcp4Frame({}, { fragment: frag }));
      expect(d).toEqual({ kind: 'ip-other', protocol: 6, fragment: true });
      expect(issues).toMatchObject([{ layer: 'ipv4', kind: 'unsupported', field: 'fragment', offset: 14 }]);
    }
    // DF alone is not a fragment.
    expect(run(tcp4Frame({}, { fragment: 0x4000 })).d.kind).toBe('tcp');
  });

  it('UDP fragment: counted, no issue; plain UDP → ip-other', () => {
    const udpFrag = run(makeFrame(ethernet(ipv4(new Uint8Array(8), { protocol: 17, fragment: 0x2000 }), 0x0800), LinkType.ETHERNET));
    expect(udpFrag.d).toEqual({ kind: 'ip-other', protocol: 17, fragment: true });
    expect(udpFrag.issues).toEqual([]);
    expect(run(makeFrame(ethernet(ipv4(new Uint8Array(8), { protocol: 17 }), 0x0800), LinkType.ETHERNET)).d).toEqual({ kind: 'ip-other', protocol: 17, fragment: false });
  });
});

describe('IPv6', () => {
  it('plain header: RFC 5952 addresses, hop limit, no IP ID', () => {
    const { d, issues } = run(tcp6Frame({ payload: 5 }, { src: '2001:db8:0:0:1::1', dst: 'fe80::2', hopLimit: 9 }));
    expect(issues).toEqual([]);
    expect(segOf(d)).toMatchObject({ ipVersion: 6, src: '2001:db8::1:0:0:1', dst: 'fe80::2', ttl: 9, ipId: undefined, payloadLength: 5, payloadOffset: 74 });
  });

  it('extension headers hop-by-hop, routing, destination options, AH are skipped', () => {
    const ext = [
      { type: 0, body: [0, 1, 4, 0, 0, 0, 0] }, // HBH, 8 bytes (PadN)
      { type: 43, body: [1, 0, 0, 0, 0, 0, 0, ...new Array<number>(8).fill(0)] }, // routing, 16 bytes
      { type: 60, body: [0, 1, 4, 0, 0, 0, 0] }, // destination options, 8 bytes
      { type: 51, body: [4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, ...new Array<number>(12).fill(0)] }, // AH, (4+2)*4 = 24 bytes
    ];
    const { d, issues } = run(tcp6Frame({ payload: 7 }, { ext }));
    expect(issues).toEqual([]);
    expect(segOf(d)).toMatchObject({ payloadOffset: 14 + 40 + 8 + 16 + 8 + 24 + 20, payloadLength: 7 });
  });

  it('fragment header: offset ≠ 0 or M → fragment; atomic fragment decodes on', () => {
    const frag = (fo: number): Array<{ type: number; body: number[] }> => [{ type: 44, body: [0, fo >> 8, fo & 0xff, 0, 0, 0, 1] }];
    for (const fo of [0x0001, 0x0008, 0x0119]) {
      const { d, issues } = run(tcp6Frame({}, { ext: frag(fo) }));
      expect(d).toEqual({ kind: 'ip-other', protocol: 6, fragment: true });
      expect(issues).toMatchObject([{ layer: 'ipv6', kind: 'unsupported', field: 'fragment' }]);
    }
    const atomic = run(tcp6Frame({ payload: 3 }, { ext: frag(0) }));
    expect(atomic.issues).toEqual([]);
    expect(segOf(atomic.d).payloadLength).toBe(3);
  });

  it('ESP and No Next Header end the chain → ip-other', () => {
    expect(run(makeFrame(ethernet(ipv6(new Uint8Array(16), { nextHeader: 50 }), 0x86dd), LinkType.ETHERNET)).d).toEqual({ kind: 'ip-other', protocol: 50, fragment: false });
    expect(run(makeFrame(ethernet(ipv6(new Uint8Array(0), { ext: [{ type: 0, body: [0, 1, 4, 0, 0, 0, 0] }], nextHeader: 59 }), 0x86dd), LinkType.ETHERNET)).d).toEqual({ kind: 'ip-other', protocol: 59, fragment: false });
  });

  it('payload length 0 (jumbogram / BIG TCP): frame length used', () => {
    const { d, issues } = run(tcp6Frame({ payload: 70000 % 65536 }, { payloadLength: 0 }));
    expect(issues).toEqual([]);
    expect(segOf(d)).toMatchObject({ ipLengthZero: true, payloadLength: 70000 % 65536 });
  });

  it('extension header cut by the capture: truncated, capture: true', () => {
    const { d, issues } = run(tcp6Frame({}, { ext: [{ type: 0, body: [0, 1, 4, 0, 0, 0, 0] }] }, { snaplen: 14 + 40 + 4 }));
    expect(d).toEqual({ kind: 'error' });
    expect(issues).toMatchObject([{ layer: 'ipv6', kind: 'truncated', capture: true, offset: 54, need: 8, have: 4 }]);
  });

  it('extension header longer than the payload length: malformed', () => {
    const { d, issues } = run(makeFrame(ethernet(ipv6(new Uint8Array(30), { nextHeader: 6, ext: [{ type: 60, body: [5, 0, 0, 0, 0, 0] }] }), 0x86dd), LinkType.ETHERNET));
    expect(d).toEqual({ kind: 'error' });
    expect(issues).toMatchObject([{ layer: 'ipv6', kind: 'malformed', field: 'extension header', offset: 54 }]);
  });
});
