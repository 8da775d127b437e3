/**
 * Test-data maker, part 2 (run by make-data.sh, not by the test suite): writes the variants that
 * tshark/editcap cannot produce (big-endian pcap, odd pcapng blocks) with this package's writers.
 * make-data.sh then records tshark's view of each of them in a sidecar, so the writers are checked
 * against an independent reader too.
 *
 * Usage (after tsc): node make-variants.js <data dir>
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture } from '../../../analyzer/capture/open.js';
import { BlockType } from '../../../analyzer/capture/pcapng.js';
import type { Frame } from '../../../analyzer/capture/types.js';
import { PcapWriter, PcapngWriter, type WritableFrame } from '../../../analyzer/capture/writer.js';

async function load(path: string): Promise<WritableFrame[]> {
  const out: WritableFrame[] = [];
  await openCapture(path).run({
    frame(f: Frame) {
      out.push({ tsSec: f.tsSec, tsNsec: f.tsNsec, data: f.data.slice(), originalLength: f.originalLength });
    },
  });
  return out;
}

function u32s(le: boolean, ...v: number[]): Uint8Array {
  const b = new Uint8Array(v.length * 4);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setUint32(i * 4, x, le));
  return b;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? '.';
  const sll2 = await load(join(dir, 'basic200.pcap'));
  const sll2ns = await load(join(dir, 'basic200.ns.pcap'));

  // 1. Big-endian µs and ns pcap, same frames as basic200.pcap / basic200.ns.pcap.
  writeFileSync(join(dir, 'basic200.be.pcap'), PcapWriter.bytes(sll2, { bigEndian: true, linkType: 276, snaplen: 200 }));
  writeFileSync(join(dir, 'basic200.ns.be.pcap'), PcapWriter.bytes(sll2ns, { bigEndian: true, nanosecond: true, linkType: 276, snaplen: 200 }));

  // 2. blocks.pcapng: a big-endian section with every block kind, then a little-endian one.
  const eth = await load(join(dir, 'server20.pcapng'));
  const w = new PcapngWriter({
    bigEndian: true,
    comment: 'big-endian section',
    interfaces: [
      { linkType: 276, snaplen: 200, name: 'any', description: 'all client links', tsresol: 0x94 /* 2^-20 s */ },
      { linkType: 1, snaplen: 64, name: 's0', tsresol: 9 },
    ],
  });
  const le = false;
  for (let i = 0; i < 5; i++) w.write({ ...(sll2[i] as WritableFrame), interfaceId: 0 });
  // Ethernet frames cut to the 64-byte snaplen of interface 1, with sub-µs timestamps.
  for (let i = 0; i < 5; i++) {
    const f = eth[i] as WritableFrame;
    w.write({ tsSec: f.tsSec, tsNsec: f.tsNsec + 123 + i, data: f.data.subarray(0, 64), originalLength: f.data.length, interfaceId: 1, comment: i === 2 ? 'cut to snaplen 64' : undefined });
  }
  // EPB with two opt_comment options (editcap can write only one).
  {
    const f = sll2[5] as WritableFrame;
    const units = 1n << 20n;
    const t = BigInt(f.tsSec) * units + (BigInt(f.tsNsec) * units) / 1_000_000_000n;
    const pad = (4 - (f.data.length & 3)) & 3;
    const opts = w.options([
      [1, new TextEncoder().encode('first comment')],
      [1, new TextEncoder().encode('zweiter Kommentar: ü')],
    ]);
    w.writeBlock(BlockType.EPB, cat(u32s(le, 0, Number(t >> 32n), Number(t & 0xffffffffn), f.data.length, f.originalLength ?? f.data.length), f.data, new Uint8Array(pad), opts));
  }
  // Name resolution block (skipped by readers that do not resolve names).
  w.writeBlock(BlockType.NRB, cat(Uint8Array.of(0, 1, 0, 8), Uint8Array.of(10, 0, 3, 1), new TextEncoder().encode('srv\0'), u32s(le, 0)));
  // Simple packet blocks: interface 0 snaplen 200 → a 60-byte frame whole, a 1000-byte frame cut to 200.
  {
    const small = (sll2[6] as WritableFrame).data.subarray(0, 60);
    w.writeBlock(BlockType.SPB, cat(u32s(le, 60), small));
    const big = new Uint8Array(200);
    big.set((sll2[7] as WritableFrame).data.subarray(0, 200));
    w.writeBlock(BlockType.SPB, cat(u32s(le, 1000), big));
  }
  // Obsolete packet block on interface 1 (if id u16, drops u16), with a comment.
  {
    const f = eth[5] as WritableFrame;
    const t = BigInt(f.tsSec) * 1_000_000_000n + BigInt(f.tsNsec);
    const hdr = new Uint8Array(4);
    new DataView(hdr.buffer).setUint16(0, 1, le);
    const data = f.data.subarray(0, 64);
    w.writeBlock(BlockType.OPB, cat(hdr, u32s(le, Number(t >> 32n), Number(t & 0xffffffffn), data.length, f.data.length), data, w.options([[1, new TextEncoder().encode('obsolete packet block')]])));
  }
  // Interface statistics block and a custom block: skipped.
  w.writeBlock(BlockType.ISB, cat(u32s(le, 0, 0, 0)));
  w.writeBlock(BlockType.CUSTOM, cat(u32s(le, 32473), new TextEncoder().encode('mptcpscope custom')));
  for (let i = 8; i < 10; i++) w.write({ ...(sll2[i] as WritableFrame), interfaceId: 0 });
  // Second section, little-endian, one Ethernet interface with if_tsoffset (timestamps stored relative to it).
  w.startSection({ comment: 'little-endian section', interfaces: [{ linkType: 1, snaplen: 200, name: 'eth0', tsOffsetSec: 1795320000 }] });
  for (let i = 10; i < 15; i++) w.write({ ...(eth[i] as WritableFrame), interfaceId: 0 });
  w.close();
  writeFileSync(join(dir, 'blocks.pcapng'), w.toBuffer());
}

await main();
