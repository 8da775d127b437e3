/**
 * Classic pcap: header and record fields checked against the raw bytes, the four byte-order /
 * resolution variants, gzip, and the pcap-parser wrapper against the fast reader.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createGunzip } from 'node:zlib';
import { detectMagic, openCapture, openCaptureBytes, openCaptureStream } from '../../analyzer/capture/open.js';
import { PcapParserSource } from '../../analyzer/capture/pcap-parser-source.js';
import { PCAP_FILE_HEADER_LENGTH, describeMagic } from '../../analyzer/capture/pcap.js';
import { LinkType } from '../../analyzer/capture/types.js';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import { collect, data, fingerprint, haveShared, shared } from './helpers.js';

describe('pcap header and records against the bytes', () => {
  const raw = readFileSync(data('basic200.pcap'));

  it('reads magic d4 c3 b2 a1 as little-endian µs, snaplen and link type from header bytes 16..24', async () => {
    expect(Array.from(raw.subarray(0, 4))).toEqual([0xd4, 0xc3, 0xb2, 0xa1]);
    const { summary } = await collect(openCapture(data('basic200.pcap')));
    expect(summary).toMatchObject({ format: 'pcap', byteOrder: 'little', gzip: false, sections: 1, frames: 200, bytes: raw.length, incomplete: false });
    expect(summary.interfaces).toEqual([
      { id: 0, linkType: raw.readUInt32LE(20), snaplen: raw.readUInt32LE(16), tsUnitsPerSecond: 1_000_000, tsOffsetSec: 0 },
    ]);
    expect(summary.interfaces[0]?.linkType).toBe(LinkType.LINUX_SLL2); // capinfos: "linux-sll2"
    expect(summary.interfaces[0]?.snaplen).toBe(200); // capinfos: "file hdr: 200 bytes"
  });

  it('decodes the first two records exactly as the record headers at offsets 24 and 40+caplen say', async () => {
    const { frames } = await collect(openCapture(data('basic200.pcap')));
    let off = PCAP_FILE_HEADER_LENGTH;
    for (const f of frames.slice(0, 2)) {
      const caplen = raw.readUInt32LE(off + 8);
      expect(f).toEqual({
        number: f.number,
        tsSec: raw.readUInt32LE(off),
        tsNsec: raw.readUInt32LE(off + 4) * 1000,
        capturedLength: caplen,
        originalLength: raw.readUInt32LE(off + 12),
        linkType: 276,
        interfaceId: 0,
        data: Uint8Array.from(raw.subarray(off + 16, off + 16 + caplen)),
        fileOffset: off,
      });
      off += 16 + caplen;
    }
    expect(frames.map((f) => f.number)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(frames[199]?.fileOffset).toBe(raw.length - 16 - (frames[199]?.capturedLength ?? 0));
  });
});

describe('µs/ns × little/big-endian variants of the same 200 frames', () => {
  const variants = [
    { file: 'basic200.pcap', magic: [0xd4, 0xc3, 0xb2, 0xa1], format: 'pcap', byteOrder: 'little', units: 1e6 },
    { file: 'basic200.be.pcap', magic: [0xa1, 0xb2, 0xc3, 0xd4], format: 'pcap', byteOrder: 'big', units: 1e6 },
    { file: 'basic200.ns.pcap', magic: [0x4d, 0x3c, 0xb2, 0xa1], format: 'pcap-ns', byteOrder: 'little', units: 1e9 },
    { file: 'basic200.ns.be.pcap', magic: [0xa1, 0xb2, 0x3c, 0x4d], format: 'pcap-ns', byteOrder: 'big', units: 1e9 },
  ] as const;

  it('have the magic bytes their names claim', () => {
    for (const v of variants) expect(Array.from(readFileSync(data(v.file)).subarray(0, 4)), v.file).toEqual(v.magic);
  });

  it('read back to identical frames (timestamps, lengths, bytes, offsets) with the right summary', async () => {
    const ref = await collect(openCapture(data('basic200.pcap')));
    for (const v of variants) {
      const got = await collect(openCapture(data(v.file)));
      expect(got.summary, v.file).toMatchObject({ format: v.format, byteOrder: v.byteOrder, frames: 200, issues: [], incomplete: false });
      expect(got.summary.interfaces[0]?.tsUnitsPerSecond).toBe(v.units);
      expect(got.frames, v.file).toEqual(ref.frames);
    }
  });

  it('gzip-compressed pcap reads to the same frames, summary.gzip set, bytes = decompressed size', async () => {
    const ref = await collect(openCapture(data('basic200.pcap')));
    const gz = await collect(openCapture(data('basic200.pcap.gz')));
    expect(gz.summary).toEqual({ ...ref.summary, gzip: true, file: data('basic200.pcap.gz') });
    expect(gz.frames).toEqual(ref.frames);
  });
});

describe('pcap-parser wrapper', () => {
  it.skipIf(!haveShared)('yields identical frames to the fast reader on 01-basic.client.pcap (all 11748; first 300 deep-equal)', async () => {
    const path = shared('linux/01-basic.client.pcap');
    const fast = await fingerprint(openCapture(path));
    const lib = await fingerprint(openCapture(path, { reader: 'pcap-parser' }));
    expect(fast.frames).toBe(11748); // capinfos: 11748 packets (manifest.json)
    expect(lib).toEqual(fast);
    const a: unknown[] = [];
    const b: unknown[] = [];
    const keep = (into: unknown[]) => ({ frame: (f: { number: number; data: Uint8Array }) => void (f.number <= 300 && into.push({ ...f, data: Uint8Array.from(f.data) })) });
    await openCapture(path).run(keep(a));
    await new PcapParserSource(path, () => createReadStream(path)).run(keep(b));
    expect(b).toEqual(a);
  });

  it('reads big-endian µs pcap too', async () => {
    const fast = await fingerprint(openCapture(data('basic200.be.pcap')));
    const lib = await fingerprint(new PcapParserSource(data('basic200.be.pcap'), () => createReadStream(data('basic200.be.pcap'))));
    expect(lib).toEqual(fast);
  });

  it('reads a gunzip stream (the reason it is kept: Readable input)', async () => {
    const ref = await fingerprint(openCapture(data('basic200.pcap')));
    const src = new PcapParserSource('gz', () => createReadStream(data('basic200.pcap.gz')).pipe(createGunzip()), { gzip: true });
    const got = await fingerprint(src);
    expect(got.digest).toBe(ref.digest);
    expect(got.summary).toMatchObject({ gzip: true, frames: 200, issues: [], incomplete: false });
  });

  it('reports ns pcap as unsupported (pcap-parser knows only a1b2c3d4) instead of throwing', async () => {
    const src = new PcapParserSource('ns', () => createReadStream(data('basic200.ns.pcap')));
    const got = await collect(src);
    expect(got.frames).toHaveLength(0);
    expect(got.summary.incomplete).toBe(true);
    expect(got.summary.issues).toMatchObject([{ layer: 'file', kind: 'unsupported', field: 'magic', offset: 0 }]);
    expect(got.summary.issues[0]?.message).toContain('4d 3c b2 a1');
  });

  it('openCapture(reader: pcap-parser) falls back to the fast reader for ns pcap and pcapng', async () => {
    for (const f of ['basic200.ns.pcap', 'basic200.pcapng']) {
      const fast = await fingerprint(openCapture(data(f)));
      expect(await fingerprint(openCapture(data(f), { reader: 'pcap-parser' }))).toEqual(fast);
    }
  });
});

describe('detection by magic, not by name', () => {
  it('classifies magics (table)', () => {
    const table: [number[], string][] = [
      [[0x1f, 0x8b], 'gzip'],
      [[0xd4, 0xc3, 0xb2, 0xa1], 'pcap'],
      [[0xa1, 0xb2, 0xc3, 0xd4], 'pcap'],
      [[0x4d, 0x3c, 0xb2, 0xa1], 'pcap-ns'],
      [[0xa1, 0xb2, 0x3c, 0x4d], 'pcap-ns'],
      [[0x0a, 0x0d, 0x0d, 0x0a], 'pcapng'],
      [[0x34, 0xcd, 0xb2, 0xa1], 'unknown'], // modified pcap
      [[0xd4, 0xc3], 'short'],
      [[], 'short'],
    ];
    for (const [b, m] of table) expect(detectMagic(Uint8Array.from(b)), b.join(',')).toBe(m);
  });

  it('names helpful hints for known non-capture magics', () => {
    expect(describeMagic(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd))).toContain('zstd');
    expect(describeMagic(Uint8Array.of(0x34, 0xcd, 0xb2, 0xa1))).toContain('modified (Kuznetzov) pcap');
  });

  it('reads a pcap whose name says .pcapng and a pcapng named .pcap (bytes decide)', async () => {
    const pcap = readFileSync(data('basic200.pcap'));
    expect((await collect(openCaptureBytes(pcap, 'x.pcapng'))).summary.format).toBe('pcap');
    const ng = readFileSync(data('basic200.pcapng'));
    expect((await collect(openCaptureBytes(ng, 'x.pcap'))).summary.format).toBe('pcapng');
  });
});

describe('pcap corner cases that are accepted', () => {
  const frames = [
    { tsSec: 1, tsNsec: 2000, data: Uint8Array.of(1, 2, 3) },
    { tsSec: 3, tsNsec: 4000, data: Uint8Array.of(4, 5), originalLength: 1500 },
  ];

  it('zero snaplen in the header: accepted, nothing noted', async () => {
    const got = await collect(openCaptureBytes(PcapWriter.bytes(frames, { snaplen: 0 })));
    expect(got.summary.issues).toEqual([]);
    expect(got.summary.interfaces[0]?.snaplen).toBe(0);
    expect(got.frames).toHaveLength(2);
  });

  it('unknown link type 0xBEEF: frames delivered with that link type, no issue (link decoding is not the reader’s job)', async () => {
    const got = await collect(openCaptureBytes(PcapWriter.bytes(frames, { linkType: 0xbeef })));
    expect(got.summary.issues).toEqual([]);
    expect(got.frames.map((f) => f.linkType)).toEqual([0xbeef, 0xbeef]);
  });

  it('FCS bits above the 16-bit link type are dropped (LinkType field 0x14000001 → 1)', async () => {
    const b = PcapWriter.bytes(frames);
    b.writeUInt32LE(0x14000001, 20);
    expect((await collect(openCaptureBytes(b))).frames[0]?.linkType).toBe(1);
  });

  it('snaplen-cut records keep originalLength > capturedLength without any issue', async () => {
    const got = await collect(openCaptureBytes(PcapWriter.bytes(frames)));
    expect(got.frames[1]).toMatchObject({ capturedLength: 2, originalLength: 1500 });
    expect(got.summary.issues).toEqual([]);
  });

  it('openCaptureStream reads any AsyncIterable of chunks (e.g. stdin)', async () => {
    const got = await collect(openCaptureStream(createReadStream(data('basic200.pcap.gz')), '-'));
    expect(got.summary).toMatchObject({ file: '-', gzip: true, frames: 200, issues: [] });
  });
});
