/**
 * Streaming: memory held by the reader does not grow with the file (peak buffered bytes stay at
 * about one read chunk plus one record, for a ~40 MB file, plain, gzip and pcapng), frames arrive in
 * order with views that are valid during the callback, and a stop mid-file closes the input.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCapture, type FeedStats } from '../../analyzer/capture/open.js';
import { PCAP_MAX_CAPLEN } from '../../analyzer/capture/pcap.js';
import { PcapWriter, PcapngWriter } from '../../analyzer/capture/writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'mptcpscope-stream-'));
const FRAMES = 250_000;
const SIZE = 150;
const MIB = 1 << 20;
let pcapPath = '';
let ngPath = '';
let gzPath = '';
let usPath = '';
let usGzPath = '';

beforeAll(() => {
  pcapPath = join(tmp, 'big.pcap');
  ngPath = join(tmp, 'big.pcapng');
  const w = new PcapWriter({ path: pcapPath, nanosecond: true });
  const n = new PcapngWriter({ path: ngPath, interfaces: [{ tsresol: 9 }] });
  const data = new Uint8Array(SIZE);
  for (let i = 0; i < FRAMES; i++) {
    data[0] = i & 0xff;
    data[1] = (i >>> 8) & 0xff;
    data[2] = (i >>> 16) & 0xff;
    const f = { tsSec: 1_700_000_000 + Math.floor(i / 1000), tsNsec: (i % 1000) * 1_000_000 + 7, data };
    w.write(f);
    n.write(f);
  }
  w.close();
  n.close();
  gzPath = join(tmp, 'big.pcap.gz');
  writeFileSync(gzPath, gzipSync(readFileSync(pcapPath), { level: 1 }));
  // µs pcap (what pcap-parser reads), ~8 MB of random payload so that even the gzip copy is far
  // larger than one read chunk (a file read to its end would be closed by fs anyway).
  usPath = join(tmp, 'us.pcap');
  usGzPath = join(tmp, 'us.pcap.gz');
  const u = PcapWriter.bytes(Array.from({ length: 50_000 }, (_, i) => ({ tsSec: i, tsNsec: 0, data: randomBytes(SIZE) })));
  writeFileSync(usPath, u);
  writeFileSync(usGzPath, gzipSync(u, { level: 1 }));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(path: string): Promise<{ stats: FeedStats; frames: number; ordered: boolean }> {
  const stats: FeedStats = { peakBufferedBytes: 0, chunks: 0 };
  let frames = 0;
  let ordered = true;
  const s = await openCapture(path, { stats }).run({
    frame(f) {
      frames++;
      const id = (f.data[0] ?? 0) | ((f.data[1] ?? 0) << 8) | ((f.data[2] ?? 0) << 16);
      if (id !== (f.number - 1) % (1 << 24) || f.data.length !== SIZE) ordered = false;
    },
  });
  expect(s.issues).toEqual([]);
  return { stats, frames, ordered };
}

describe('bounded memory on a ~40 MB capture', () => {
  it('pcap: peak buffered ≤ 1 MiB chunk + 1 record, whatever the file size', async () => {
    expect(statSync(pcapPath).size).toBeGreaterThan(40e6);
    const r = await run(pcapPath);
    expect(r.frames).toBe(FRAMES);
    expect(r.ordered).toBe(true);
    expect(r.stats.chunks).toBeGreaterThan(35);
    expect(r.stats.peakBufferedBytes).toBeLessThanOrEqual(MIB + 16 + SIZE);
  });

  it('pcapng: same bound', async () => {
    const r = await run(ngPath);
    expect(r.frames).toBe(FRAMES);
    expect(r.ordered).toBe(true);
    expect(r.stats.peakBufferedBytes).toBeLessThanOrEqual(MIB + 64 + SIZE);
  });

  it('gzip: decompressed in ≤ 64 KiB pieces, same bound', async () => {
    const r = await run(gzPath);
    expect(r.frames).toBe(FRAMES);
    expect(r.ordered).toBe(true);
    expect(r.stats.peakBufferedBytes).toBeLessThanOrEqual(64 * 1024 + 16 + SIZE);
  });

  it('stopping early (sink throws at frame 10) rejects quickly without reading the rest', async () => {
    const stats: FeedStats = { peakBufferedBytes: 0, chunks: 0 };
    const stop = new Error('enough');
    await expect(
      openCapture(pcapPath, { stats }).run({
        frame(f) {
          if (f.number === 10) throw stop;
        },
      }),
    ).rejects.toBe(stop);
    expect(stats.chunks).toBe(1);
  });

  it.skipIf(!existsSync('/proc/self/fd'))('stopping early closes the file (plain and gzip, both readers): no fd left open', async () => {
    const fds = (): number => readdirSync('/proc/self/fd').length;
    await new Promise((r) => setTimeout(r, 50)); // let earlier tests' closes land
    const before = fds();
    for (const path of [pcapPath, gzPath, usPath, usGzPath]) {
      for (const reader of ['fast', 'pcap-parser'] as const) {
        await expect(
          openCapture(path, { reader }).run({
            frame(f) {
              if (f.number === 5) throw new Error('stop');
            },
          }),
        ).rejects.toThrow('stop');
      }
    }
    await new Promise((r) => setTimeout(r, 50)); // fs close callbacks
    expect(fds()).toBeLessThanOrEqual(before);
  });
});

describe('records longer than the read buffer', () => {
  it('a 1 MiB record between small ones, read in 64 KiB chunks (plain, pcapng, gzip): every byte as written', async () => {
    const frames = [randomBytes(60), randomBytes(PCAP_MAX_CAPLEN), randomBytes(70), randomBytes(300_000), randomBytes(80)];
    const dir = mkdtempSync(join(tmpdir(), 'mptcpscope-long-'));
    try {
      const p = join(dir, 'long.pcap');
      writeFileSync(p, PcapWriter.bytes(frames.map((data, i) => ({ tsSec: i, tsNsec: 0, data }))));
      const g = join(dir, 'long.pcap.gz');
      writeFileSync(g, gzipSync(readFileSync(p)));
      const ng = join(dir, 'long.pcapng');
      const w = new PcapngWriter({ path: ng });
      frames.forEach((data, i) => w.write({ tsSec: i, tsNsec: 0, data }));
      w.close();
      for (const path of [p, g, ng]) {
        for (const chunkSize of [64 * 1024, 1 << 20]) {
          const seen: string[] = [];
          const stats: FeedStats = { peakBufferedBytes: 0, chunks: 0 };
          const s = await openCapture(path, { chunkSize, stats }).run({ frame: (f) => void seen.push(Buffer.from(f.data).toString('base64')) });
          expect(s.issues, `${path} ${chunkSize}`).toEqual([]);
          expect(seen, `${path} ${chunkSize}`).toEqual(frames.map((f) => f.toString('base64')));
          // One record (≤ 1 MiB) plus at most one chunk beyond it.
          expect(stats.peakBufferedBytes).toBeLessThanOrEqual(PCAP_MAX_CAPLEN + chunkSize + 64);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
