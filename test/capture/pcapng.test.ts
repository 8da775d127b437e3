/**
 * pcapng: sections and byte orders, IDB options, EPB/SPB/OPB, skipped blocks, comments, and the
 * timestamp arithmetic (if_tsresol in both forms, if_tsoffset) checked against bigint.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openCapture, openCaptureBytes } from '../../analyzer/capture/open.js';
import { BlockType, TsConverter, tsResolutionUnits } from '../../analyzer/capture/pcapng.js';
import { PcapngWriter } from '../../analyzer/capture/writer.js';
import { collect, data, epochText } from './helpers.js';

describe('blocks.pcapng (big-endian section with every block kind, then a little-endian one)', () => {
  it('reports both sections, their byte order and every interface with its options', async () => {
    const { summary } = await collect(openCapture(data('blocks.pcapng')));
    expect(summary).toMatchObject({ format: 'pcapng', byteOrder: 'big', sections: 2, frames: 21, incomplete: false });
    expect(summary.interfaces).toEqual([
      { id: 0, section: 0, linkType: 276, snaplen: 200, name: 'any', description: 'all client links', tsUnitsPerSecond: 2 ** 20, tsOffsetSec: 0 },
      { id: 1, section: 0, linkType: 1, snaplen: 64, name: 's0', tsUnitsPerSecond: 1e9, tsOffsetSec: 0 },
      { id: 0, section: 1, linkType: 1, snaplen: 200, name: 'eth0', tsUnitsPerSecond: 1e6, tsOffsetSec: 1795320000 },
    ]);
  });

  it('reads the block types at the offsets the bytes give (walked here independently)', async () => {
    const raw = readFileSync(data('blocks.pcapng'));
    // Independent walk: type/length big-endian in section 0, little-endian after the second SHB.
    const blocks: { type: number; off: number }[] = [];
    let le = false;
    for (let off = 0; off < raw.length; ) {
      if (raw.readUInt32BE(off) === BlockType.SHB) le = raw.readUInt32LE(off + 8) === 0x1a2b3c4d;
      const type = le ? raw.readUInt32LE(off) : raw.readUInt32BE(off);
      const len = le ? raw.readUInt32LE(off + 4) : raw.readUInt32BE(off + 4);
      blocks.push({ type, off });
      off += len;
    }
    const { frames } = await collect(openCapture(data('blocks.pcapng')));
    const packetBlocks = blocks.filter((b) => b.type === BlockType.EPB || b.type === BlockType.SPB || b.type === BlockType.OPB);
    expect(frames.map((f) => f.fileOffset)).toEqual(packetBlocks.map((b) => b.off));
    expect(blocks.map((b) => b.type)).toEqual([
      BlockType.SHB, BlockType.IDB, BlockType.IDB,
      ...Array<number>(11).fill(BlockType.EPB),
      BlockType.NRB, BlockType.SPB, BlockType.SPB, BlockType.OPB, BlockType.ISB, BlockType.CUSTOM, BlockType.EPB, BlockType.EPB,
      BlockType.SHB, BlockType.IDB, ...Array<number>(5).fill(BlockType.EPB),
    ]);
  });

  it('SPB: captured length = min(original length, interface 0 snaplen 200), no timestamp', async () => {
    const { frames } = await collect(openCapture(data('blocks.pcapng')));
    const spb = frames.filter((f) => f.tsSec === 0);
    expect(spb.map((f) => [f.number, f.capturedLength, f.originalLength, f.interfaceId, f.linkType])).toEqual([
      [12, 60, 60, 0, 276],
      [13, 200, 1000, 0, 276],
    ]);
  });

  it('OPB: 16-bit interface id, timestamp and comment', async () => {
    const { frames } = await collect(openCapture(data('blocks.pcapng')));
    expect(frames.find((f) => f.number === 14)).toMatchObject({ interfaceId: 1, linkType: 1, capturedLength: 64, originalLength: 200, comment: 'obsolete packet block', tsSec: 1795320241, tsNsec: 419956000 });
  });

  it('two opt_comment options are joined with a newline; frames carry their section', async () => {
    const { frames } = await collect(openCapture(data('blocks.pcapng')));
    expect(frames.find((f) => f.number === 11)?.comment).toBe('first comment\nzweiter Kommentar: ü');
    expect(frames.filter((f) => f.section === 1).map((f) => f.number)).toEqual([18, 19, 20, 21, 22]);
    expect(frames.every((f) => f.section === (f.number >= 18 ? 1 : 0))).toBe(true);
  });

  it('2^-20 s resolution: 1795320241.418675422 as tshark prints it (floor to ns)', async () => {
    const { frames } = await collect(openCapture(data('blocks.pcapng')));
    expect(epochText(frames[0]!)).toBe('1795320241.418675422');
  });
});

describe('two-sections.pcapng (cat of two editcap files)', () => {
  it('resets interfaces at the second SHB: interface 0 twice, with different link types and resolutions', async () => {
    const { summary, frames } = await collect(openCapture(data('two-sections.pcapng')));
    expect(summary.sections).toBe(2);
    expect(summary.interfaces.map((i) => [i.section, i.id, i.linkType, i.tsUnitsPerSecond])).toEqual([
      [0, 0, 1, 1e6],
      [1, 0, 276, 1e9],
    ]);
    expect(frames.filter((f) => f.linkType === 276).every((f) => f.section === 1 && f.interfaceId === 0)).toBe(true);
    expect(frames.filter((f) => f.linkType === 1)).toHaveLength(20);
  });

  it('gzip-compressed copy gives the same frames', async () => {
    const a = await collect(openCapture(data('two-sections.pcapng')));
    const b = await collect(openCapture(data('two-sections.pcapng.gz')));
    expect(b.frames).toEqual(a.frames);
    expect(b.summary.gzip).toBe(true);
  });
});

describe('if_tsresol = 9 (editcap from ns pcap) against the ns pcap it came from', () => {
  it('gives identical timestamps, lengths and bytes', async () => {
    const ng = await collect(openCapture(data('basic200.ns.pcapng')));
    const ns = await collect(openCapture(data('basic200.ns.pcap')));
    const strip = (fs: typeof ng.frames) => fs.map(({ fileOffset: _o, section: _s, ...rest }) => rest);
    expect(strip(ng.frames)).toEqual(strip(ns.frames));
    expect(ng.summary.interfaces[0]?.tsUnitsPerSecond).toBe(1e9);
  });
});

describe('timestamp arithmetic', () => {
  it('tsResolutionUnits: bit 7 clear = 10^v, set = 2^v', () => {
    expect(tsResolutionUnits(6)).toBe(1_000_000n);
    expect(tsResolutionUnits(9)).toBe(1_000_000_000n);
    expect(tsResolutionUnits(0x94)).toBe(1n << 20n);
    expect(tsResolutionUnits(0x80 | 40)).toBe(1n << 40n);
    expect(tsResolutionUnits(0)).toBe(1n);
  });

  it('TsConverter equals bigint division for any 64-bit timestamp, resolution and offset', () => {
    const resol = fc.oneof(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0x80, max: 0x80 + 64 }));
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), resol, fc.integer({ min: -1e9, max: 1e9 }), (t, r, offset) => {
        const units = tsResolutionUnits(r);
        const c = new TsConverter(units, offset);
        c.convert(Number(t >> 32n), Number(t & 0xffffffffn));
        const sec = t / units;
        const nsec = ((t % units) * 1_000_000_000n) / units;
        if (sec < 1n << 53n) expect(c.sec).toBe(Number(sec) + offset);
        expect(c.nsec).toBe(Number(nsec));
        expect(c.nsec).toBeGreaterThanOrEqual(0);
        expect(c.nsec).toBeLessThan(1e9);
      }),
      { numRuns: 3000 },
    );
  });

  it('realistic ns timestamps (hi ≥ 2^21, long-division path) convert exactly', () => {
    const c = new TsConverter(1_000_000_000n, 0);
    const t = 1_795_320_241_418_675_422n;
    c.convert(Number(t >> 32n), Number(t & 0xffffffffn));
    expect([c.sec, c.nsec]).toEqual([1795320241, 418675422]);
  });

  it('if_tsoffset (signed seconds) is added to every timestamp', async () => {
    const w = new PcapngWriter({ interfaces: [{ tsOffsetSec: -100 }, { tsOffsetSec: 1_700_000_000, tsresol: 9 }] });
    w.write({ tsSec: 50, tsNsec: 5000, data: Uint8Array.of(1) });
    w.write({ tsSec: 1_700_000_123, tsNsec: 456, data: Uint8Array.of(2), interfaceId: 1 });
    const { frames, summary } = await collect(openCaptureBytes(w.toBuffer()));
    expect(summary.interfaces.map((i) => i.tsOffsetSec)).toEqual([-100, 1_700_000_000]);
    expect(frames.map((f) => [f.tsSec, f.tsNsec])).toEqual([
      [50, 5000],
      [1_700_000_123, 456],
    ]);
  });
});

describe('blocks that are skipped by their length', () => {
  it('unknown types, NRB, ISB, DSB are skipped silently; custom and journal blocks use up a frame number once-reported', async () => {
    const w = new PcapngWriter();
    const pkt = (i: number) => w.write({ tsSec: i, tsNsec: 0, data: Uint8Array.of(i) });
    pkt(1);
    w.writeBlock(0x1234, new Uint8Array(8));
    w.writeBlock(BlockType.DSB, Uint8Array.of(0x4b, 0x53, 0x4c, 0x54, 0, 0, 0, 0));
    w.writeBlock(BlockType.ISB, new Uint8Array(12));
    pkt(2);
    w.writeBlock(BlockType.CUSTOM_NOCOPY, Uint8Array.of(0, 0, 0x7e, 0xd9, 9, 9));
    pkt(3);
    w.writeBlock(BlockType.SYSTEMD_JOURNAL, new TextEncoder().encode('__REALTIME_TIMESTAMP=1\nMESSAGE=x\n\n'));
    pkt(4);
    const { frames, summary } = await collect(openCaptureBytes(w.toBuffer()));
    expect(frames.map((f) => [f.number, f.tsSec])).toEqual([
      [1, 1],
      [2, 2],
      [4, 3],
      [6, 4],
    ]);
    expect(summary.frames).toBe(4);
    expect(summary.issues).toMatchObject([{ layer: 'pcapng', kind: 'unsupported', field: 'block type', frame: 3 }]);
  });
});
