/**
 * Test-only classic-pcap reader (µs/ns magic, both byte orders): whole file → Frame[].
 * Used instead of analyzer/capture (owned by another module) so these wire tests depend only on
 * the decoder under test. Small files only (reads everything into memory).
 */
import { readFileSync } from 'node:fs';
import type { Frame } from '../../analyzer/capture/types.js';

export interface PcapFile {
  linkType: number;
  snaplen: number;
  frames: Frame[];
}

export function readClassicPcap(path: string): PcapFile {
  const buf = readFileSync(path);
  const magicLe = buf.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nano = magicLe === 0xa1b23c4d;
  } else {
    const magicBe = buf.readUInt32BE(0);
    if (magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) throw new Error(`${path}: not a classic pcap`);
    le = false;
    nano = magicBe === 0xa1b23c4d;
  }
  const r32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const snaplen = r32(16);
  const linkType = r32(20) & 0x0fffffff;
  const frames: Frame[] = [];
  let o = 24;
  let n = 0;
  while (o + 16 <= buf.length) {
    const tsSec = r32(o);
    const frac = r32(o + 4);
    const caplen = r32(o + 8);
    const len = r32(o + 12);
    if (o + 16 + caplen > buf.length) break;
    frames.push({
      number: ++n,
      tsSec,
      tsNsec: nano ? frac : frac * 1000,
      capturedLength: caplen,
      originalLength: len,
      linkType,
      interfaceId: 0,
      data: new Uint8Array(buf.buffer, buf.byteOffset + o + 16, caplen),
      fileOffset: o,
    });
    o += 16 + caplen;
  }
  return { linkType, snaplen, frames };
}
