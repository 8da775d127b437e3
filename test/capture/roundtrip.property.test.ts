/**
 * Property tests (fast-check): writer → reader round-trips exactly in the four classic pcap variants
 * and in pcapng (several sections, byte orders, interfaces, resolutions, offsets, comments), with
 * random read-chunk sizes; and cutting a file at any byte offset never throws, delivers a prefix of
 * the frames, and reports a truncation exactly when the cut is not on a record/block boundary.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openCaptureBytes } from '../../analyzer/capture/open.js';
import { tsResolutionUnits } from '../../analyzer/capture/pcapng.js';
import type { Frame } from '../../analyzer/capture/types.js';
import { PcapWriter, PcapngWriter, type PcapngInterfaceOptions, type WritableFrame } from '../../analyzer/capture/writer.js';
import { collect } from './helpers.js';

const frameArb = (nano: boolean) =>
  fc
    .record({
      tsSec: fc.integer({ min: 0, max: 0xffffffff }),
      frac: nano ? fc.integer({ min: 0, max: 999_999_999 }) : fc.integer({ min: 0, max: 999_999 }).map((u) => u * 1000),
      data: fc.uint8Array({ maxLength: 300 }),
      extra: fc.oneof(fc.constant(0), fc.nat(70_000)),
    })
    .map((r): WritableFrame => ({ tsSec: r.tsSec, tsNsec: r.frac, data: r.data, originalLength: r.data.length + r.extra }));

const variants = [
  { nanosecond: false, bigEndian: false },
  { nanosecond: false, bigEndian: true },
  { nanosecond: true, bigEndian: false },
  { nanosecond: true, bigEndian: true },
] as const;

/** What the reader must give back for frames written by PcapWriter. */
function expectedPcap(frames: WritableFrame[], linkType: number): Frame[] {
  let off = 24;
  return frames.map((f, i) => {
    const fr: Frame = {
      number: i + 1,
      tsSec: f.tsSec,
      tsNsec: f.tsNsec,
      capturedLength: f.data.length,
      originalLength: f.originalLength ?? f.data.length,
      linkType,
      interfaceId: 0,
      data: Uint8Array.from(f.data),
      fileOffset: off,
    };
    off += 16 + f.data.length;
    return fr;
  });
}

const chunkArb = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 5000 }), fc.constant(1 << 20));

describe('PcapWriter → openCapture round trip', () => {
  for (const v of variants) {
    it(`${v.nanosecond ? 'ns' : 'µs'} ${v.bigEndian ? 'big' : 'little'}-endian: identical frames for any frame list and chunk size`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(frameArb(v.nanosecond), { maxLength: 30 }), fc.integer({ min: 0, max: 0xffff }), chunkArb, async (frames, linkType, chunkSize) => {
          const bytes = PcapWriter.bytes(frames, { ...v, linkType });
          const got = await collect(openCaptureBytes(bytes, 'p', { chunkSize }));
          expect(got.summary.issues).toEqual([]);
          expect(got.summary).toMatchObject({ format: v.nanosecond ? 'pcap-ns' : 'pcap', byteOrder: v.bigEndian ? 'big' : 'little', frames: frames.length, bytes: bytes.length, incomplete: false });
          expect(got.frames).toEqual(expectedPcap(frames, linkType));
        }),
        { numRuns: 150 },
      );
    });
  }
});

/** if_tsresol values whose 64-bit timestamps cannot overflow for the seconds used below. */
const tsresolArb = fc.constantFrom(undefined, 0, 3, 6, 9, 0x80 | 10, 0x80 | 20, 0x80 | 30);

const ifaceArb = fc.record({
  linkType: fc.integer({ min: 0, max: 0xffff }),
  snaplen: fc.nat(),
  tsresol: tsresolArb,
  tsOffsetSec: fc.option(fc.integer({ min: -1_000_000, max: 1_000_000 }), { nil: undefined }),
  name: fc.option(fc.string({ unit: 'grapheme-ascii', maxLength: 12 }), { nil: undefined }),
});

const sectionArb = fc
  .record({
    bigEndian: fc.boolean(),
    interfaces: fc.array(ifaceArb, { minLength: 1, maxLength: 3 }),
    frames: fc.array(
      fc.record({
        iface: fc.nat(),
        tsSec: fc.integer({ min: 2_000_000, max: 0xffffffff }),
        tsNsec: fc.integer({ min: 0, max: 999_999_999 }),
        data: fc.uint8Array({ maxLength: 200 }),
        extra: fc.nat(3000),
        comment: fc.option(fc.string({ unit: 'grapheme', maxLength: 20 }), { nil: undefined }),
      }),
      { maxLength: 12 },
    ),
  })
  .map((s) => ({
    ...s,
    interfaces: s.interfaces.map((i) => clean(i)),
    frames: s.frames.map((f) => ({
      tsSec: f.tsSec,
      tsNsec: f.tsNsec,
      data: f.data,
      originalLength: f.data.length + f.extra,
      interfaceId: f.iface % s.interfaces.length,
      comment: f.comment === undefined ? undefined : f.comment.replace(/\0/g, ''),
    })),
  }));

type Section = { bigEndian: boolean; interfaces: PcapngInterfaceOptions[]; frames: (WritableFrame & { interfaceId: number })[] };

function clean(i: PcapngInterfaceOptions): PcapngInterfaceOptions {
  const out: PcapngInterfaceOptions = {};
  for (const [k, v] of Object.entries(i)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function writePcapng(sections: Section[]): Buffer {
  const [first, ...rest] = sections as [Section, ...Section[]];
  const w = new PcapngWriter({ bigEndian: first.bigEndian, interfaces: first.interfaces });
  for (const f of first.frames) w.write(f);
  for (const s of rest) {
    w.startSection({ bigEndian: s.bigEndian, interfaces: s.interfaces });
    for (const f of s.frames) w.write(f);
  }
  w.close();
  return w.toBuffer();
}

/** Expected read-back of a pcapng timestamp: written as ⌊ns·units/10^9⌋ units, read back floored to ns. */
function expectTs(tsSec: number, tsNsec: number, i: PcapngInterfaceOptions): [number, number] {
  const units = tsResolutionUnits(i.tsresol ?? 6);
  const off = i.tsOffsetSec ?? 0;
  const t = BigInt(tsSec - off) * units + (BigInt(tsNsec) * units) / 1_000_000_000n;
  return [Number(t / units) + off, Number(((t % units) * 1_000_000_000n) / units)];
}

describe('PcapngWriter → openCapture round trip', () => {
  it('identical frames for any sections, byte orders, interfaces, resolutions, offsets, comments, chunk sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(sectionArb, { minLength: 1, maxLength: 3 }), chunkArb, async (sections, chunkSize) => {
        const bytes = writePcapng(sections);
        const got = await collect(openCaptureBytes(bytes, 'ng', { chunkSize }));
        expect(got.summary.issues).toEqual([]);
        expect(got.summary).toMatchObject({ format: 'pcapng', sections: sections.length, byteOrder: sections[0]!.bigEndian ? 'big' : 'little', bytes: bytes.length, incomplete: false });
        expect(got.summary.interfaces.map((i) => [i.section, i.id, i.linkType, i.snaplen, i.name])).toEqual(
          sections.flatMap((s, si) => s.interfaces.map((i, id) => [si, id, i.linkType, i.snaplen, i.name])),
        );
        const want = sections.flatMap((s, si) =>
          s.frames.map((f) => {
            const [tsSec, tsNsec] = expectTs(f.tsSec, f.tsNsec, s.interfaces[f.interfaceId]!);
            return {
              tsSec,
              tsNsec,
              capturedLength: f.data.length,
              originalLength: f.originalLength,
              linkType: s.interfaces[f.interfaceId]!.linkType,
              interfaceId: f.interfaceId,
              section: si,
              data: Uint8Array.from(f.data),
              ...(f.comment === undefined ? {} : { comment: f.comment }),
            };
          }),
        );
        expect(got.frames.map(({ number: _n, fileOffset: _o, ...rest }) => rest)).toEqual(want);
        expect(got.frames.map((f) => f.number)).toEqual(want.map((_, i) => i + 1));
      }),
      { numRuns: 200 },
    );
  });
});

/** Record/block end offsets of a well-formed file, walked independently of the reader. */
function boundaries(bytes: Uint8Array, pcapng: boolean, le: boolean): Set<number> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Set<number>();
  if (!pcapng) {
    let o = 24;
    out.add(o);
    while (o < bytes.length) {
      o += 16 + dv.getUint32(o + 8, le);
      out.add(o);
    }
    return out;
  }
  let o = 0;
  let l = le;
  while (o < bytes.length) {
    if (dv.getUint32(o, true) === 0x0a0d0d0a) l = dv.getUint32(o + 8, true) === 0x1a2b3c4d;
    o += dv.getUint32(o + 4, l);
    out.add(o);
  }
  return out;
}

describe('cutting a file at any byte offset', () => {
  const fileArb = fc.oneof(
    fc.record({ kind: fc.constantFrom(...variants), frames: fc.array(frameArb(true), { maxLength: 8 }) }).map((r) => ({
      pcapng: false,
      le: !r.kind.bigEndian,
      bytes: PcapWriter.bytes(r.frames.map((f) => ({ ...f, tsNsec: r.kind.nanosecond ? f.tsNsec : f.tsNsec - (f.tsNsec % 1000) })), r.kind),
    })),
    fc.array(sectionArb, { minLength: 1, maxLength: 2 }).map((s) => ({ pcapng: true, le: !s[0]!.bigEndian, bytes: writePcapng(s) })),
  );

  it('never throws, delivers a prefix of the frames, and reports truncation iff the cut is inside a record/block', async () => {
    await fc.assert(
      fc.asyncProperty(fileArb, fc.double({ min: 0, max: 1, noNaN: true }), chunkArb, async (file, where, chunkSize) => {
        const cut = Math.floor(where * file.bytes.length);
        const full = await collect(openCaptureBytes(file.bytes, 'full'));
        const got = await collect(openCaptureBytes(file.bytes.subarray(0, cut), 'cut', { chunkSize }));
        expect(got.frames).toEqual(full.frames.slice(0, got.frames.length));
        const onBoundary = cut > 0 && boundaries(file.bytes, file.pcapng, file.le).has(cut);
        if (onBoundary) {
          expect(got.summary.issues).toEqual([]);
          expect(got.summary.incomplete).toBe(false);
          expect(got.summary.bytes).toBe(cut);
          expect(got.frames).toEqual(full.frames.filter((f) => f.fileOffset < cut));
        } else {
          expect(got.summary.issues.length).toBeGreaterThanOrEqual(1);
          expect(got.summary.issues.every((i) => i.kind === 'truncated' && i.capture === true)).toBe(true);
          expect(got.summary.incomplete).toBe(true);
          expect(got.summary.bytes).toBeLessThan(Math.max(cut, 1));
        }
      }),
      { numRuns: 600 },
    );
  });
});
