/**
 * Micro benchmark of the classic-pcap readers: frames/s and MB/s of
 *   - a bare DataView record walk (1 MiB reads, no Frame objects, no sink) — the ceiling,
 *   - the fast reader (`openCapture`, default),
 *   - the npm `pcap-parser` wrapper (`openCapture(path, { reader: 'pcap-parser' })`),
 * over the same generated file (µs little-endian pcap, N frames of S bytes, in os.tmpdir()), plus the
 * fast reader on the same frames as ns pcap, pcapng and gzip for reference. Best of R runs each.
 *
 * Build and run:  npx tsc -p tsconfig.build.json && node dist/bench/capture-readers.js [frames=2000000] [size=100] [runs=3]
 * Timings are printed, never asserted. The payload is synthetic (mostly zero bytes), so the gzip row
 * measures an unusually well-compressed file; the file is in the page cache after generation, so the
 * rows measure parsing, not disk.
 */
import { closeSync, createReadStream, createWriteStream, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { openCapture } from '../analyzer/capture/open.js';
import { PcapWriter, PcapngWriter } from '../analyzer/capture/writer.js';

const N = Number(process.argv[2] ?? 2_000_000);
const SIZE = Number(process.argv[3] ?? 100);
const RUNS = Number(process.argv[4] ?? 3);

/** Bare walk: record headers only, little-endian µs pcap, 1 MiB reads, leftover carried over. */
function bareWalk(path: string): { frames: number; bytes: number } {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let have = 0;
  let frames = 0;
  let bytes = 0;
  let first = true;
  try {
    for (;;) {
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) break;
      have += n;
      const dv = new DataView(buf.buffer, buf.byteOffset, have);
      let off = first ? 24 : 0;
      first = false;
      while (have - off >= 16) {
        const caplen = dv.getUint32(off + 8, true);
        if (have - off - 16 < caplen) break;
        frames++;
        bytes += caplen;
        off += 16 + caplen;
      }
      buf.copy(buf, 0, off, have);
      have -= off;
    }
  } finally {
    closeSync(fd);
  }
  return { frames, bytes };
}

async function viaSource(path: string, reader: 'fast' | 'pcap-parser'): Promise<{ frames: number; bytes: number }> {
  let frames = 0;
  let bytes = 0;
  await openCapture(path, { reader }).run({
    frame(f) {
      frames++;
      bytes += f.data.length;
    },
  });
  return { frames, bytes };
}

interface Row {
  name: string;
  file: string;
  ms: number;
  frames: number;
}

async function best(name: string, file: string, fn: () => Promise<{ frames: number }> | { frames: number }): Promise<Row> {
  let ms = Infinity;
  let frames = 0;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    frames = (await fn()).frames;
    ms = Math.min(ms, performance.now() - t);
  }
  if (frames !== N) throw new Error(`${name}: read ${frames} frames, expected ${N}`);
  return { name, file, ms, frames };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mptcpscope-bench-'));
  try {
    const us = join(dir, 'bench.pcap');
    const ns = join(dir, 'bench.ns.pcap');
    const ng = join(dir, 'bench.pcapng');
    const gz = join(dir, 'bench.pcap.gz');
    const t0 = performance.now();
    const w = new PcapWriter({ path: us });
    const wn = new PcapWriter({ path: ns, nanosecond: true });
    const wg = new PcapngWriter({ path: ng });
    const data = new Uint8Array(SIZE);
    for (let i = 0; i < N; i++) {
      data[0] = i & 0xff;
      const f = { tsSec: 1_700_000_000 + Math.floor(i / 100_000), tsNsec: (i % 100_000) * 10_000, data };
      w.write(f);
      wn.write(f);
      wg.write(f);
    }
    w.close();
    wn.close();
    wg.close();
    await pipeline(createReadStream(us), createGzip({ level: 1 }), createWriteStream(gz));
    console.log(`generated ${N} frames of ${SIZE} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${(statSync(us).size / 1e6).toFixed(0)} MB pcap (node ${process.version})`);

    const rows: Row[] = [];
    rows.push(await best('bare DataView walk (no Frame objects)', 'pcap µs', () => bareWalk(us)));
    rows.push(await best('fast reader (openCapture)', 'pcap µs', () => viaSource(us, 'fast')));
    rows.push(await best('pcap-parser (npm) wrapper', 'pcap µs', () => viaSource(us, 'pcap-parser')));
    rows.push(await best('fast reader', 'pcap ns', () => viaSource(ns, 'fast')));
    rows.push(await best('fast reader', 'pcapng µs', () => viaSource(ng, 'fast')));
    rows.push(await best('fast reader', 'pcap µs .gz', () => viaSource(gz, 'fast')));

    const size = (f: string): number => statSync(join(dir, { 'pcap µs': 'bench.pcap', 'pcap ns': 'bench.ns.pcap', 'pcapng µs': 'bench.pcapng', 'pcap µs .gz': 'bench.pcap' }[f] ?? f)).size;
    const head = ['reader', 'input', 'time ms', 'Mframes/s', 'MB/s (decompressed)', 'vs fast'];
    const fast = rows[1]!.ms;
    const table = rows.map((r) => [r.name, r.file, r.ms.toFixed(0), (r.frames / r.ms / 1000).toFixed(2), (size(r.file) / r.ms / 1000).toFixed(0), `${(fast / r.ms).toFixed(2)}×`]);
    const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
    console.log(line(head));
    console.log(widths.map((w2) => '-'.repeat(w2)).join('-|-'));
    for (const r of table) console.log(line(r));
    console.log(`best of ${RUNS} runs each; maxRSS of the process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
