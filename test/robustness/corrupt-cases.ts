/**
 * The corrupt-file classes of issue 8, built from a real capture (fixtures/public-tcpdump/mptcp-v0.pcap,
 * tcpdump's RFC 6824 test trace: 264 frames, one MPTCP connection over two subflows). Shared by
 * corrupt-files.test.ts (CLI, table-driven).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openCaptureBytes } from '../../analyzer/capture/open.js';
import type { Frame } from '../../analyzer/capture/types.js';
import { PcapngWriter } from '../../analyzer/capture/writer.js';
import { FIXTURES } from '../helpers/fixtures.js';

const fixture = (rel: string): string => join(FIXTURES, rel);

export const SOURCE = 'public-tcpdump/mptcp-v0.pcap';

export interface CorruptCase {
  name: string;
  /** Path to pass on the command line (created by {@link buildCases}). */
  path: string;
  /** Expected exit code (0 analysed, 2 unreadable). */
  exit: 0 | 2;
  /** Regex the stderr/first error must match (file and offset included). */
  message: RegExp;
  /** Frames the analysis must still contain (null: not analysed at all). */
  frames: number | null;
  /** Byte offset the error must name, when the case pins one. */
  offset?: number;
}

/** Record offsets of a classic pcap (little-endian µs file). */
export function pcapRecords(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  let o = 24;
  while (o + 16 <= b.length) {
    out.push(o);
    o += 16 + dv.getUint32(o + 8, true);
  }
  return out;
}

export async function sourceFrames(): Promise<Frame[]> {
  const bytes = readFileSync(fixture(SOURCE));
  const frames: Frame[] = [];
  await openCaptureBytes(bytes).run({ frame: (f) => frames.push({ ...f, data: new Uint8Array(f.data) }) });
  return frames;
}

export async function buildCases(dir: string): Promise<CorruptCase[]> {
  mkdirSync(dir, { recursive: true });
  const src = Uint8Array.from(readFileSync(fixture(SOURCE)));
  const recs = pcapRecords(src);
  const frames = await sourceFrames();
  const w = (name: string, b: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  };
  const le = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const cases: CorruptCase[] = [];

  // bad magic
  const bad = src.slice();
  bad.set([0xde, 0xad, 0xbe, 0xef], 0);
  cases.push({ name: 'bad magic', path: w('bad-magic.pcap', bad), exit: 2, message: /offset 0: file unsupported: .*deadbeef/i, frames: null, offset: 0 });

  // lying record length: record 100's caplen says 60 000 bytes (runs past the end of the file)
  const lying = src.slice();
  const r100 = recs[99]!;
  le(lying).setUint32(r100 + 8, 60_000, true);
  le(lying).setUint32(r100 + 12, 60_000, true);
  cases.push({ name: 'lying record length (pcap caplen 60000 in frame 100)', path: w('lying-caplen.pcap', lying), exit: 0, message: new RegExp(`offset ${r100}: pcap truncated`), frames: 99, offset: r100 });

  // cut-off last record
  const cut = src.slice(0, recs[200]! + 16 + 10);
  cases.push({ name: 'cut-off last record (10 bytes into frame 201 data)', path: w('cut-last.pcap', cut), exit: 0, message: new RegExp(`frame 201: offset ${recs[200]!}: pcap truncated: .*10 of \\d+ bytes`), frames: 200, offset: recs[200]! });

  // zero snaplen (0 = not set: legal, analysed without a problem)
  const zs = src.slice();
  le(zs).setUint32(16, 0, true);
  cases.push({ name: 'zero snaplen', path: w('zero-snaplen.pcap', zs), exit: 0, message: /^$/, frames: 264 });

  // huge caplen in frame 150
  const huge = src.slice();
  const r150 = recs[149]!;
  le(huge).setUint32(r150 + 8, 0x7fff_ffff, true);
  cases.push({ name: 'huge caplen (0x7fffffff in frame 150)', path: w('huge-caplen.pcap', huge), exit: 0, message: new RegExp(`offset ${r150}: pcap malformed: .*2147483647`), frames: 149, offset: r150 });

  // unknown link type
  const ul = src.slice();
  le(ul).setUint32(20, 147, true);
  cases.push({ name: 'unknown link type (147, USER0)', path: w('unknown-linktype.pcap', ul), exit: 0, message: /frame 1: offset 0: link unsupported: .*147/, frames: 264 });

  // wrong byte-order section: pcapng with two sections of 132 frames each, the second SHB's byte-order magic broken
  const ng = new PcapngWriter({ interfaces: [{ linkType: Number(frames[0]!.linkType) }] });
  frames.slice(0, 132).forEach((f) => ng.write(f));
  const shb2 = ng.size;
  ng.startSection({ interfaces: [{ linkType: Number(frames[0]!.linkType) }] });
  frames.slice(132).forEach((f) => ng.write(f));
  ng.close();
  const bo = Uint8Array.from(ng.toBuffer());
  bo.set([0x4d, 0x3c, 0x2b, 0x1b], shb2 + 8);
  cases.push({ name: 'wrong byte-order magic in the second pcapng section', path: w('bad-byte-order.pcapng', bo), exit: 0, message: new RegExp(`offset ${shb2 + 8}: pcapng malformed`), frames: 132, offset: shb2 + 8 });

  // wrong byte-order in the only section: nothing readable
  const bo1 = Uint8Array.from(bo);
  bo1.set([0x4d, 0x3c, 0x2b, 0x1b], 8);
  cases.push({ name: 'wrong byte-order magic in the first pcapng section', path: w('bad-byte-order-first.pcapng', bo1), exit: 2, message: /offset 8: pcapng malformed/, frames: null, offset: 8 });

  // gzip stream cut off in the middle
  const gz = gzipSync(src);
  cases.push({ name: 'gzip stream cut off (half of the compressed bytes)', path: w('cut.pcap.gz', gz.subarray(0, Math.floor(gz.length / 2))), exit: 0, message: /gzip truncated/, frames: -1 });

  cases.push({ name: 'zero-length file', path: w('empty.pcap', new Uint8Array(0)), exit: 2, message: /offset 0: file truncated/, frames: null, offset: 0 });
  mkdirSync(join(dir, 'a-directory.pcap'), { recursive: true });
  cases.push({ name: 'directory', path: join(dir, 'a-directory.pcap'), exit: 2, message: /EISDIR/, frames: null });
  cases.push({ name: 'missing file', path: join(dir, 'no-such-file.pcap'), exit: 2, message: /ENOENT/, frames: null });
  return cases;
}
