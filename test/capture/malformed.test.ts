/**
 * Bad input never throws out of run(): a reject table per format. Each case says in one line what
 * it breaks; the expectation is the issue (layer, kind, field, offset, need/have, frame, capture),
 * which frames still arrive, and whether reading was cut short (`incomplete`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openCapture, openCaptureBytes } from '../../analyzer/capture/open.js';
import { BlockType, PCAPNG_MAX_BLOCK_LENGTH } from '../../analyzer/capture/pcapng.js';
import { PCAP_MAX_CAPLEN } from '../../analyzer/capture/pcap.js';
import { PcapngWriter, PcapWriter } from '../../analyzer/capture/writer.js';
import type { DecodeIssue } from '../../analyzer/issue.js';
import { bytes, collect, data, u32, type Collected } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'mptcpscope-capture-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;

/**
 * Runs the bytes through openCapture from a temp file, with both pcap readers (their results must
 * agree unless `lib` says otherwise) and from memory in 61-byte chunks.
 */
async function read(b: Uint8Array, lib: 'same' | 'differs' = 'same', mem: 'same' | 'prefix-of-more' = 'same'): Promise<Collected> {
  const path = join(tmp, `case-${++fileNo}`);
  writeFileSync(path, b);
  const fast = await collect(openCapture(path));
  if (lib === 'same') {
    const viaLib = await collect(openCapture(path, { reader: 'pcap-parser' }));
    expect(viaLib.summary).toEqual(fast.summary);
    expect(viaLib.frames).toEqual(fast.frames);
  }
  const inMem = await collect(openCaptureBytes(b, path, { chunkSize: 61 }));
  if (mem === 'same') {
    expect(inMem.summary).toEqual(fast.summary);
    expect(inMem.frames).toEqual(fast.frames);
  } else {
    expect(inMem.frames.slice(0, fast.frames.length)).toEqual(fast.frames);
  }
  return fast;
}

const pcap = readFileSync(data('basic200.pcap'));
const full = await collect(openCaptureBytes(pcap));
/** File offsets of the pcap records (independent walk over the bytes). */
const rec: number[] = [];
for (let o = 24; o < pcap.length; o += 16 + pcap.readUInt32LE(o + 8)) rec.push(o);

const ng = readFileSync(data('server20.pcapng'));
const ngFull = await collect(openCaptureBytes(ng));
/** pcapng blocks (independent walk, little-endian file). */
const blk: { type: number; off: number; len: number }[] = [];
for (let o = 0; o < ng.length; o += ng.readUInt32LE(o + 4)) blk.push({ type: ng.readUInt32LE(o), off: o, len: ng.readUInt32LE(o + 4) });
const epb = blk.filter((b) => b.type === BlockType.EPB);

function patched(src: Uint8Array, edits: [offset: number, u32: number, le?: boolean][]): Buffer {
  const b = Buffer.from(src);
  for (const [o, v, le] of edits) {
    if (le === false) b.writeUInt32BE(v >>> 0, o);
    else b.writeUInt32LE(v >>> 0, o);
  }
  return b;
}

function only(got: Collected): DecodeIssue {
  expect(got.summary.issues).toHaveLength(1);
  return got.summary.issues[0] as DecodeIssue;
}

describe('file level', () => {
  it('zero-length file → file/truncated, need 4 have 0, capture, no frames', async () => {
    const got = await read(new Uint8Array(0));
    expect(only(got)).toMatchObject({ layer: 'file', kind: 'truncated', field: 'magic', offset: 0, need: 4, have: 0, capture: true });
    expect(got.summary).toMatchObject({ frames: 0, incomplete: true, bytes: 0 });
  });

  it('3-byte file → too short to identify', async () => {
    expect(only(await read(Uint8Array.of(0xd4, 0xc3, 0xb2)))).toMatchObject({ layer: 'file', kind: 'truncated', need: 4, have: 3 });
  });

  it('garbage → file/unsupported naming the first 4 bytes in hex', async () => {
    const got = await read(new TextEncoder().encode('GARBAGE, not a capture at all'));
    const i = only(got);
    expect(i).toMatchObject({ layer: 'file', kind: 'unsupported', field: 'magic', offset: 0 });
    expect(i.message).toContain('47 41 52 42');
    expect(got.summary.incomplete).toBe(true);
  });

  it('every issue carries the file path', async () => {
    const got = await read(new Uint8Array(0));
    expect(got.summary.issues[0]?.file).toMatch(/case-\d+$/);
  });
});

describe('classic pcap', () => {
  it('file header cut at 10 bytes → pcap/truncated file header, need 24 have 10', async () => {
    const got = await read(pcap.subarray(0, 10));
    expect(only(got)).toMatchObject({ layer: 'pcap', kind: 'truncated', field: 'file header', offset: 0, need: 24, have: 10, capture: true });
  });

  it('header only (24 bytes) → valid empty capture, no issue', async () => {
    const got = await read(pcap.subarray(0, 24));
    expect(got.summary).toMatchObject({ frames: 0, issues: [], incomplete: false, bytes: 24 });
  });

  it('cut 5 bytes into the record header of frame 3 → frames 1-2 delivered, need 16 have 5', async () => {
    const at = rec[2] as number;
    const got = await read(pcap.subarray(0, at + 5));
    expect(got.frames).toEqual(full.frames.slice(0, 2));
    expect(only(got)).toMatchObject({ layer: 'pcap', kind: 'truncated', field: 'record header', frame: 3, offset: at, need: 16, have: 5, capture: true });
    expect(got.summary).toMatchObject({ incomplete: true, bytes: at });
  });

  it('cut 10 bytes into the packet data of frame 3 → frames 1-2 delivered, need caplen have 10', async () => {
    const at = rec[2] as number;
    const got = await read(pcap.subarray(0, at + 16 + 10));
    expect(got.frames).toEqual(full.frames.slice(0, 2));
    expect(only(got)).toMatchObject({ layer: 'pcap', kind: 'truncated', field: 'packet data', frame: 3, offset: at, need: pcap.readUInt32LE(at + 8), have: 10, capture: true });
    expect(got.summary.incomplete).toBe(true);
  });

  it(`huge caplen (> ${PCAP_MAX_CAPLEN}) in frame 3 → malformed, reading stops (no resync in pcap), frames 1-2 kept`, async () => {
    const at = rec[2] as number;
    const got = await read(patched(pcap, [[at + 8, PCAP_MAX_CAPLEN + 1]]));
    expect(got.frames).toEqual(full.frames.slice(0, 2));
    expect(only(got)).toMatchObject({ layer: 'pcap', kind: 'malformed', field: 'caplen', frame: 3, offset: at, need: PCAP_MAX_CAPLEN + 1 });
    expect(got.summary.incomplete).toBe(true);
  });

  it('caplen > origlen in frame 2 → malformed but delivered, all 200 frames', async () => {
    const at = rec[1] as number;
    const caplen = pcap.readUInt32LE(at + 8);
    const got = await read(patched(pcap, [[at + 12, caplen - 1]]));
    expect(got.frames).toHaveLength(200);
    expect(got.frames[1]).toMatchObject({ capturedLength: caplen, originalLength: caplen - 1 });
    expect(only(got)).toMatchObject({ layer: 'pcap', kind: 'malformed', field: 'caplen', frame: 2, offset: at, need: caplen, have: caplen - 1 });
    expect(got.summary.incomplete).toBe(false);
  });

  it('ts_usec 1 500 000 → malformed, carried into seconds, delivered', async () => {
    const at = rec[0] as number;
    const got = await read(patched(pcap, [[at + 4, 1_500_000]]));
    expect(got.frames[0]).toMatchObject({ tsSec: pcap.readUInt32LE(at) + 1, tsNsec: 500_000_000 });
    expect(only(got)).toMatchObject({ layer: 'pcap', kind: 'malformed', field: 'ts_usec', frame: 1 });
  });

  it('version 3.0 → unsupported, records still read (pcap-parser refuses the file: unsupported, no frames)', async () => {
    const b = Buffer.from(pcap);
    b.writeUInt16LE(3, 4);
    b.writeUInt16LE(0, 6);
    const got = await read(b, 'differs');
    expect(got.frames).toHaveLength(200);
    expect(only(got)).toMatchObject({ layer: 'pcap', kind: 'unsupported', field: 'version', offset: 4 });
    const path = join(tmp, 'v3.pcap');
    writeFileSync(path, b);
    const viaLib = await collect(openCapture(path, { reader: 'pcap-parser' }));
    expect(viaLib.frames).toHaveLength(0);
    expect(only(viaLib)).toMatchObject({ layer: 'file', kind: 'unsupported' });
    expect(only(viaLib).message).toContain('unsupported version 3.0');
  });
});

describe('pcapng', () => {
  const e3 = epb[2]!;

  it('block total length not a multiple of 4 (EPB 3) → malformed, resync at EPB 4, only that frame lost', async () => {
    const got = await read(patched(ng, [[e3.off + 4, e3.len + 1]]));
    expect(got.summary.issues).toMatchObject([
      { layer: 'pcapng', kind: 'malformed', field: 'block total length', offset: e3.off, need: e3.len + 1 },
      { layer: 'pcapng', kind: 'malformed', field: 'resync', offset: epb[3]!.off },
    ]);
    expect(got.summary.issues[1]?.message).toContain(`after skipping ${epb[3]!.off - e3.off} bytes`);
    expect(got.frames.map((f) => f.fileOffset)).toEqual(ngFull.frames.filter((_, i) => i !== 2).map((f) => f.fileOffset));
    expect(got.summary.incomplete).toBe(false);
  });

  it('block total length 8 (< 12) → malformed, resync', async () => {
    const got = await read(patched(ng, [[e3.off + 4, 8]]));
    expect(got.summary.issues.map((i) => i.field)).toEqual(['block total length', 'resync']);
    expect(got.frames).toHaveLength(19);
  });

  it(`block total length above ${PCAPNG_MAX_BLOCK_LENGTH} → malformed, resync`, async () => {
    const got = await read(patched(ng, [[e3.off + 4, PCAPNG_MAX_BLOCK_LENGTH + 4]]));
    expect(got.summary.issues.map((i) => i.field)).toEqual(['block total length', 'resync']);
    expect(got.frames).toHaveLength(19);
  });

  it('trailing length copy differs (EPB 3) → malformed with both numbers, resync at EPB 4', async () => {
    const got = await read(patched(ng, [[e3.off + e3.len - 4, 999]]));
    const i = got.summary.issues[0]!;
    expect(i).toMatchObject({ layer: 'pcapng', kind: 'malformed', field: 'block total length', offset: e3.off, need: e3.len, have: 999 });
    expect(i.message).toContain(`${e3.len} differs from its trailing copy 999`);
    expect(got.frames).toHaveLength(19);
  });

  it('8 garbage bytes between EPB 3 and 4 → resync after exactly 8 bytes, no frame lost', async () => {
    const at = epb[3]!.off;
    const b = Buffer.concat([ng.subarray(0, at), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), ng.subarray(at)]);
    const got = await read(b);
    expect(got.summary.issues.map((i) => [i.field, i.offset])).toEqual([
      ['block total length', at],
      ['resync', at + 8],
    ]);
    expect(got.frames).toHaveLength(20);
  });

  it('total length runs past EOF (file cut inside EPB 5) → truncated, capture, frames 1-4 kept', async () => {
    const e5 = epb[4]!;
    const got = await read(ng.subarray(0, e5.off + 30));
    expect(got.frames).toEqual(ngFull.frames.slice(0, 4));
    expect(only(got)).toMatchObject({ layer: 'pcapng', kind: 'truncated', field: 'block', offset: e5.off, need: e5.len, have: 30, capture: true });
    expect(got.summary.incomplete).toBe(true);
  });

  it('lying total length 1 000 000 in EPB 3 running past EOF → treated as a cut: frames 1-2 kept, stop', async () => {
    const got = await read(patched(ng, [[e3.off + 4, 1_000_000]]));
    expect(got.frames).toEqual(ngFull.frames.slice(0, 2));
    expect(only(got)).toMatchObject({ kind: 'truncated', field: 'block', offset: e3.off, need: 1_000_000, have: ng.length - e3.off });
  });

  it('cut 5 bytes into a block header → truncated block header, need 12 have 5', async () => {
    const e5 = epb[4]!;
    const got = await read(ng.subarray(0, e5.off + 5));
    expect(only(got)).toMatchObject({ layer: 'pcapng', kind: 'truncated', field: 'block header', offset: e5.off, need: 12, have: 5, capture: true });
    expect(got.frames).toHaveLength(4);
  });

  it('EPB 2 references undefined interface 5 → malformed, block skipped, the rest read', async () => {
    const e2 = epb[1]!;
    const got = await read(patched(ng, [[e2.off + 8, 5]]));
    expect(only(got)).toMatchObject({ layer: 'pcapng', kind: 'malformed', field: 'interface id', offset: e2.off + 8 });
    expect(only(got).message).toContain('interface 5');
    expect(got.frames).toHaveLength(19);
    expect(got.frames[1]?.fileOffset).toBe(epb[2]!.off);
    expect(got.summary.incomplete).toBe(false);
  });

  it('EPB captured length larger than the block → malformed, block skipped', async () => {
    const got = await read(patched(ng, [[e3.off + 20, e3.len]]));
    expect(only(got)).toMatchObject({ layer: 'pcapng', kind: 'malformed', field: 'captured length', need: e3.len, have: e3.len - 32 });
    expect(got.frames).toHaveLength(19);
  });

  it('EPB caplen > origlen → malformed, delivered', async () => {
    const caplen = ng.readUInt32LE(e3.off + 20);
    const got = await read(patched(ng, [[e3.off + 24, caplen - 1]]));
    expect(only(got)).toMatchObject({ layer: 'pcapng', kind: 'malformed', field: 'caplen', frame: 3, need: caplen, have: caplen - 1 });
    expect(got.frames).toHaveLength(20);
  });

  it('wrong byte-order magic in the second SHB → malformed, stop after section 1 (its 20 frames kept)', async () => {
    const two = readFileSync(data('two-sections.pcapng'));
    const shb2 = ng.length; // two-sections.pcapng = server20.pcapng + another file
    expect(two.readUInt32LE(shb2)).toBe(BlockType.SHB);
    const got = await read(patched(two, [[shb2 + 8, 0xdeadbeef, false]]));
    expect(only(got)).toMatchObject({ layer: 'pcapng', kind: 'malformed', field: 'byte-order magic', offset: shb2 + 8 });
    expect(only(got).message).toContain('0xdeadbeef');
    expect(got.frames).toEqual(ngFull.frames);
    expect(got.summary).toMatchObject({ sections: 1, incomplete: true });
  });

  it('option running past the EPB options area → malformed option, frame still delivered', async () => {
    const w = new PcapngWriter();
    w.write({ tsSec: 1, tsNsec: 0, data: Uint8Array.of(1, 2, 3, 4), comment: 'ok' });
    const b = w.toBuffer();
    const e = b.length - 4 - 4 - 4 - 4; // back over trailer, opt_endofopt, "ok" padded to 4 → option header
    expect(b.readUInt16LE(e)).toBe(1); // opt_comment code
    b.writeUInt16LE(200, e + 2); // its length: 200 bytes, far past the block
    const got = await read(b);
    expect(only(got)).toMatchObject({ layer: 'pcapng', kind: 'malformed', field: 'option 1', frame: 1, need: 200 });
    expect(got.frames).toHaveLength(1);
    expect(got.frames[0]?.comment).toBeUndefined();
  });

  it('SPB in a section without interfaces → malformed, skipped', async () => {
    const w = new PcapngWriter({ interfaces: [] });
    w.writeBlock(BlockType.SPB, bytes(u32(4), [1, 2, 3, 4]));
    const got = await read(w.toBuffer());
    expect(only(got)).toMatchObject({ layer: 'pcapng', kind: 'malformed', field: 'interface id' });
    expect(got.frames).toHaveLength(0);
  });

  it('SHB version 2.0 → unsupported, read anyway', async () => {
    const got = await read(patched(ng, [[12, 2]]));
    expect(only(got)).toMatchObject({ layer: 'pcapng', kind: 'unsupported', field: 'version', offset: 12 });
    expect(got.frames).toHaveLength(20);
  });

  it('pcapng magic but byte-order magic broken in the first SHB → malformed, no frames', async () => {
    const got = await read(patched(ng, [[8, 0x11223344]]));
    expect(only(got)).toMatchObject({ field: 'byte-order magic', offset: 8 });
    expect(got.summary).toMatchObject({ frames: 0, incomplete: true });
  });
});

describe('gzip', () => {
  const gz = readFileSync(data('basic200.pcap.gz'));

  it('cut in the middle → what decompressed is delivered (a prefix), gzip/truncated issue with capture', async () => {
    const got = await read(gz.subarray(0, Math.floor(gz.length / 2)));
    expect(got.frames.length).toBe(85); // everything up to the cut: the next record is only partly decompressed
    expect(got.frames.length).toBeLessThan(200);
    expect(got.frames).toEqual(full.frames.slice(0, got.frames.length));
    expect(got.summary.issues).toMatchObject([
      { layer: 'gzip', kind: 'truncated', field: 'deflate stream', capture: true, offset: 13116 },
      { layer: 'pcap', kind: 'truncated', field: 'packet data', frame: 86, offset: rec[85], need: 200, have: 13116 - (rec[85] as number) - 16 },
    ]);
    expect(got.summary.issues[0]?.message).toBe(`gzip stream cut off after ${Math.floor(gz.length / 2)} compressed bytes (13116 bytes decompressed)`);
    expect(got.summary.incomplete).toBe(true);
  });

  it('corrupted deflate data → gzip/malformed, no throw (bytes before the CRC check are delivered: gzip verifies only at the member end)', async () => {
    const b = Buffer.from(gz);
    b.fill(0xff, 1000, 1010);
    // Node's zlib drops the output of the write that fails: fed in 61-byte pieces more is delivered.
    const got = await read(b, 'same', 'prefix-of-more');
    expect(got.summary.issues[0]).toMatchObject({ layer: 'gzip', kind: 'malformed', field: 'deflate stream' });
    expect(got.summary.issues[0]?.message).toContain('Z_DATA_ERROR');
    expect(got.summary.incomplete).toBe(true);
    const small = await collect(openCaptureBytes(b, 'small', { chunkSize: 61 }));
    expect(small.summary.issues[0]).toMatchObject({ layer: 'gzip', kind: 'malformed' });
    expect(small.frames.length).toBeGreaterThan(5);
    expect(small.frames.slice(0, 5)).toEqual(full.frames.slice(0, 5)); // before the damaged deflate block
  });

  it('gzip header only (1f 8b) → gzip truncated, then an empty file', async () => {
    const got = await read(Uint8Array.of(0x1f, 0x8b));
    expect(got.summary.issues.map((i) => [i.layer, i.kind])).toEqual([
      ['gzip', 'truncated'],
      ['file', 'truncated'],
    ]);
  });

  it('valid gzip of an empty file → empty file after decompression', async () => {
    const got = await read(gzipSync(new Uint8Array(0)));
    expect(only(got)).toMatchObject({ layer: 'file', kind: 'truncated', have: 0 });
    expect(only(got).message).toContain('after gzip decompression');
    expect(got.summary.gzip).toBe(true);
  });

  it('gzip inside gzip → file/unsupported', async () => {
    const got = await read(gzipSync(gz));
    expect(only(got)).toMatchObject({ layer: 'file', kind: 'unsupported' });
  });

  it('two concatenated gzip members of one file → read as one stream', async () => {
    const half = rec[100] as number;
    const got = await read(Buffer.concat([gzipSync(pcap.subarray(0, half)), gzipSync(pcap.subarray(half))]));
    expect(got.summary.issues).toEqual([]);
    expect(got.frames).toEqual(full.frames);
  });
});

describe('I/O errors reject; sink errors reject', () => {
  it('ENOENT rejects with the OS error (both readers)', async () => {
    await expect(openCapture(join(tmp, 'nope.pcap')).run({ frame() {} })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(openCapture(join(tmp, 'nope.pcap'), { reader: 'pcap-parser' }).run({ frame() {} })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a directory rejects with EISDIR', async () => {
    await expect(openCapture(tmp).run({ frame() {} })).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('a throwing sink makes run reject with that error, after the frames before it', async () => {
    const path = join(tmp, 'sink.pcap');
    writeFileSync(path, PcapWriter.bytes([1, 2, 3].map((i) => ({ tsSec: i, tsNsec: 0, data: Uint8Array.of(i) }))));
    for (const reader of ['fast', 'pcap-parser'] as const) {
      const seen: number[] = [];
      const boom = new Error('sink failed');
      await expect(
        openCapture(path, { reader }).run({
          frame(f) {
            seen.push(f.number);
            if (f.number === 2) throw boom;
          },
        }),
      ).rejects.toBe(boom);
      expect(seen, reader).toEqual([1, 2]);
    }
  });
});
