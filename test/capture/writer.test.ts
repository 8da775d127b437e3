/**
 * The writers byte by byte (headers, padding, options), file vs memory output, and misuse errors.
 * Their output is also checked by tshark through the sidecars of basic200.be.pcap,
 * basic200.ns.be.pcap and blocks.pcapng (see reference.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapWriter, PcapngWriter } from '../../analyzer/capture/writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'mptcpscope-writer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('PcapWriter', () => {
  it('writes the 24-byte header: magic, 2.4, thiszone 0, sigfigs 0, snaplen, link type (table)', () => {
    const table: [Parameters<typeof PcapWriter.bytes>[1], string][] = [
      [{}, 'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000'],
      [{ bigEndian: true }, 'a1b2c3d4' + '0002' + '0004' + '00000000' + '00000000' + '00040000' + '00000001'],
      [{ nanosecond: true, snaplen: 200, linkType: 276 }, '4d3cb2a1' + '0200' + '0400' + '00000000' + '00000000' + 'c8000000' + '14010000'],
      [{ nanosecond: true, bigEndian: true, snaplen: 0, linkType: 101 }, 'a1b23c4d' + '0002' + '0004' + '00000000' + '00000000' + '00000000' + '00000065'],
    ];
    for (const [opts, want] of table) expect(hex(PcapWriter.bytes([], opts)), JSON.stringify(opts)).toBe(want);
  });

  it('writes record headers: ts_sec, µs (floored) or ns, caplen, origlen (default = caplen)', () => {
    const f = { tsSec: 0x01020304, tsNsec: 123_456_789, data: Uint8Array.of(0xaa, 0xbb) };
    expect(hex(PcapWriter.bytes([f]).subarray(24))).toBe('04030201' + '40e20100' + '02000000' + '02000000' + 'aabb'); // 123456 µs
    expect(hex(PcapWriter.bytes([{ ...f, originalLength: 1500 }], { nanosecond: true, bigEndian: true }).subarray(24))).toBe(
      '01020304' + '075bcd15' + '00000002' + '000005dc' + 'aabb',
    );
  });

  it('file output equals memory output, across the 1 MiB staging buffer and for a 2 MiB record', () => {
    const frames = Array.from({ length: 3000 }, (_, i) => ({ tsSec: i, tsNsec: i * 1000, data: new Uint8Array(700).fill(i & 0xff) }));
    frames.push({ tsSec: 1, tsNsec: 0, data: new Uint8Array(2 << 20).fill(7) });
    const path = join(tmp, 'w.pcap');
    const w = new PcapWriter({ path });
    for (const f of frames) w.write(f);
    expect(w.size).toBe(24 + frames.reduce((a, f) => a + 16 + f.data.length, 0));
    w.close();
    w.close(); // idempotent
    expect(readFileSync(path).equals(PcapWriter.bytes(frames))).toBe(true);
  });

  it('throws on write after close and on toBuffer of a file writer', () => {
    const w = new PcapWriter();
    w.close();
    expect(() => w.write({ tsSec: 0, tsNsec: 0, data: new Uint8Array(1) })).toThrow(/after close/);
    const fw = new PcapWriter({ path: join(tmp, 'x.pcap') });
    expect(() => fw.toBuffer()).toThrow(/not to memory/);
    fw.close();
  });
});

describe('PcapngWriter', () => {
  it('SHB: byte-order magic, version 1.0, section length -1, shb_userappl, both length copies', () => {
    const b = new PcapngWriter({ interfaces: [] }).toBuffer();
    // 0a0d0d0a, len 48, BOM, 1.0, -1 (8 bytes), option 4 len 10 "mptcpscope" + 2 pad, endofopt, len 48
    expect(hex(b)).toBe(
      '0a0d0d0a' + '30000000' + '4d3c2b1a' + '0100' + '0000' + 'ffffffffffffffff' + '0400' + '0a00' + hex(new TextEncoder().encode('mptcpscope')) + '0000' + '00000000' + '30000000',
    );
  });

  it('big-endian section: BOM 1a2b3c4d in big-endian order', () => {
    const b = new PcapngWriter({ bigEndian: true, interfaces: [] }).toBuffer();
    expect(hex(b.subarray(0, 12))).toBe('0a0d0d0a' + '00000030' + '1a2b3c4d');
  });

  it('IDB: link type, snaplen, if_tsresol and if_tsoffset options', () => {
    const w = new PcapngWriter({ interfaces: [] });
    const shb = w.size;
    w.addInterface({ linkType: 276, snaplen: 200, tsresol: 9, tsOffsetSec: -2 });
    const idb = w.toBuffer().subarray(shb);
    expect(hex(idb)).toBe(
      '01000000' + '2c000000' + '1401' + '0000' + 'c8000000' + '0900' + '0100' + '09000000' + '0e00' + '0800' + 'feffffffffffffff' + '00000000' + '2c000000',
    );
  });

  it('EPB: interface id, 64-bit timestamp in interface units (hi, lo), lengths, data padded to 4, comment option', () => {
    const w = new PcapngWriter({ interfaces: [{}, { tsresol: 9 }] });
    const start = w.size;
    w.write({ tsSec: 1_795_320_241, tsNsec: 418_675_422, data: Uint8Array.of(1, 2, 3, 4, 5), originalLength: 60, interfaceId: 1, comment: 'hi' });
    const epb = w.toBuffer().subarray(start);
    const t = 1_795_320_241_418_675_422n;
    const dv = new DataView(epb.buffer, epb.byteOffset, epb.byteLength);
    expect(dv.getUint32(0, true)).toBe(6);
    expect(dv.getUint32(4, true)).toBe(epb.length);
    expect(dv.getUint32(epb.length - 4, true)).toBe(epb.length);
    expect(dv.getUint32(8, true)).toBe(1);
    expect((BigInt(dv.getUint32(12, true)) << 32n) | BigInt(dv.getUint32(16, true))).toBe(t);
    expect([dv.getUint32(20, true), dv.getUint32(24, true)]).toEqual([5, 60]);
    expect(hex(epb.subarray(28, 36))).toBe('0102030405000000');
    expect(hex(epb.subarray(36, epb.length - 4))).toBe('0100' + '0200' + '68690000' + '00000000');
    expect(epb.length % 4).toBe(0);
  });

  it('throws for an undefined interface', () => {
    expect(() => new PcapngWriter().write({ tsSec: 0, tsNsec: 0, data: new Uint8Array(0), interfaceId: 1 })).toThrow(/interface 1/);
  });

  it('file output equals memory output', () => {
    const path = join(tmp, 'w.pcapng');
    const frames = Array.from({ length: 5000 }, (_, i) => ({ tsSec: 1e9 + i, tsNsec: i, data: new Uint8Array(i % 301).fill(i & 0xff) }));
    const w = new PcapngWriter({ path, interfaces: [{ tsresol: 9 }] });
    for (const f of frames) w.write(f);
    w.close();
    expect(readFileSync(path).equals(PcapngWriter.bytes(frames, { interfaces: [{ tsresol: 9 }] }))).toBe(true);
  });
});
