/**
 * decodePacket as a whole: PacketDecode kinds, issue locations (file, frame, offset inside the
 * frame), no references kept to the frame's bytes, and the never-throw defence.
 */
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../analyzer/capture/types.js';
import { LinkType } from '../../analyzer/capture/types.js';
import type { DecodeIssue } from '../../analyzer/issue.js';
import { formatIssue } from '../../analyzer/issue.js';
import { decodePacket } from '../../analyzer/wire/packet.js';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { fromHex, sll2, ipv4, tcp, makeFrame, tcp4Frame } from '../helpers/packet-builder.js';

describe('decodePacket', () => {
  it('a Linux MP_CAPABLE SYN over SLL2, as in the shared captures', () => {
    const opts = fromHex('020405b4 0402 080a 2fdc1d18 00000000 01 03030a 1e040101');
    const f = makeFrame(sll2(ipv4(tcp({ flags: TcpFlag.SYN, options: opts, srcPort: 58135, dstPort: 5201 }), { src: '10.0.2.1', dst: '10.0.3.1' }), 0x0800), LinkType.LINUX_SLL2, { number: 3 });
    const issues: DecodeIssue[] = [];
    const d = decodePacket(f, 'c.pcap', issues);
    expect(issues).toEqual([]);
    expect(d).toMatchObject({
      kind: 'tcp',
      segment: { frame: 3, tsSec: 1_700_000_000, tsNsec: 0, src: '10.0.2.1', dst: '10.0.3.1', srcPort: 58135, dstPort: 5201, flags: TcpFlag.SYN, options: { mss: 1460, mptcp: [{ type: 'MP_CAPABLE', version: 1, form: 'syn' }] } },
    });
  });

  it('issues carry file, frame number and an offset inside the frame; formatIssue prints them', () => {
    const issues: DecodeIssue[] = [];
    decodePacket(tcp4Frame({ options: fromHex('1e0320 00') }, {}, { number: 77 }), 'dir/f.pcap', issues);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'dir/f.pcap', frame: 77, offset: 54 });
    expect(formatIssue(issues[0]!)).toBe('dir/f.pcap: frame 77: offset 54: mptcp malformed: DSS length 3 is shorter than 4 bytes (kind, length, subtype, flags)');
  });

  it('the segment does not alias the frame buffer (reader buffers are reused)', () => {
    const f = tcp4Frame({ options: fromHex('1e181000cb7b87f5e5f0502f43b535fb70ef6607df2e6c7a'), flags: TcpFlag.ACK });
    const d = decodePacket(f, 'f', []);
    const before = JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
    f.data.fill(0);
    const after = JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
    expect(after).toBe(before);
  });

  it('no aliasing either when the reader hands out Buffers (Buffer#slice is a view, not a copy)', () => {
    const opts = fromHex('1e181000cb7b87f5e5f0502f43b535fb70ef6607df2e6c7a 1e05f0abcd 1e0320 000000');
    const f = tcp4Frame({ options: opts, flags: TcpFlag.ACK });
    const big = Buffer.alloc(f.data.length + 10);
    Buffer.from(f.data).copy(big, 5);
    const d = decodePacket({ ...f, data: big.subarray(5, 5 + f.data.length) }, 'f', []);
    if (d.kind !== 'tcp') throw new Error('tcp expected');
    big.fill(0);
    const [join, exp, bad] = d.segment.options.mptcp;
    expect(join?.type === 'MP_JOIN' && Buffer.from(join.hmac!).toString('hex')).toBe('cb7b87f5e5f0502f43b535fb70ef6607df2e6c7a');
    expect(exp?.type === 'MP_EXPERIMENTAL' && Buffer.from(exp.data).toString('hex')).toBe('f0abcd');
    expect(bad?.type === 'MALFORMED' && Buffer.from(bad.data).toString('hex')).toBe('20');
    for (const o of [join, exp, bad]) {
      const bytes = o?.type === 'MP_JOIN' ? o.hmac : o?.type === 'MP_EXPERIMENTAL' || o?.type === 'MALFORMED' ? o.data : undefined;
      expect(Buffer.isBuffer(bytes)).toBe(false);
    }
  });

  it('issues go to the array passed in each call', () => {
    const a: DecodeIssue[] = [];
    const b: DecodeIssue[] = [];
    decodePacket(tcp4Frame({ options: fromHex('1e0320 00') }), 'f', a);
    decodePacket(tcp4Frame({}), 'f', b);
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(0);
  });

  it('never throws: an exception inside decoding becomes one issue and kind error', () => {
    const f = tcp4Frame({});
    const evil = new Proxy(f, {
      get(target, p, r): unknown {
        if (p === 'linkType') throw new Error('boom');
        return Reflect.get(target, p, r) as unknown;
      },
    }) as Frame;
    const issues: DecodeIssue[] = [];
    expect(decodePacket(evil, 'f', issues)).toEqual({ kind: 'error' });
    expect(issues).toMatchObject([{ kind: 'malformed', field: 'decoder', message: 'internal decoder error: boom' }]);
    // And the next frame decodes normally.
    expect(decodePacket(tcp4Frame({}), 'f', []).kind).toBe('tcp');
  });

  it('originalLength below capturedLength (bogus record) is treated as not cut', () => {
    const f = tcp4Frame({ payload: 10 });
    const issues: DecodeIssue[] = [];
    const d = decodePacket({ ...f, originalLength: 5 }, 'f', issues);
    expect(issues).toEqual([]);
    expect(d.kind === 'tcp' && d.segment.payloadLength).toBe(10);
  });
});
