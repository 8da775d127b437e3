/**
 * Helpers for conformance tests: run `checkFile` on fixtures, and make altered copies of real captures
 * (one byte flipped, payload cut by a snaplen) with PcapWriter.
 */
import { join } from 'node:path';
import { openCapture } from '../../analyzer/capture/open.js';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import { decodePacket } from '../../analyzer/wire/packet.js';
import type { TcpSegment } from '../../analyzer/wire/types.js';
import { type CheckResult, checkFile } from '../../conformance/engine.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

export const fx = (rel: string): string => join(FIXTURES, rel);

const cache = new Map<string, Promise<CheckResult>>();
/** checkFile on a fixture (relative to fixtures/), memoised across tests of one file. */
export function checkFixture(rel: string): Promise<CheckResult> {
  let p = cache.get(rel);
  if (p === undefined) cache.set(rel, (p = checkFile(fx(rel))));
  return p;
}

export const tmp = (): string => tempDir('mptcpscope-conf-');

/**
 * Copy a capture to `dst` (classic pcap), letting `edit` change a frame: return new bytes, or undefined
 * to keep it. `cut` limits every record's captured length (snaplen), keeping the original length.
 */
export async function rewriteCapture(src: string, dst: string, edit: (data: Uint8Array, seg: TcpSegment | undefined, frame: number) => Uint8Array | undefined, cut?: number): Promise<void> {
  let w: PcapWriter | undefined;
  await openCapture(src).run({
    frame(f) {
      w ??= new PcapWriter({ path: dst, linkType: Number(f.linkType), snaplen: cut ?? 262144 });
      const d = decodePacket(f, src, []);
      const seg = d.kind === 'tcp' ? d.segment : undefined;
      let data = edit(f.data, seg, f.number) ?? f.data;
      if (cut !== undefined && data.length > cut) data = data.slice(0, cut);
      w.write({ tsSec: f.tsSec, tsNsec: f.tsNsec, data, originalLength: f.originalLength });
    },
    issue() {},
  });
  w?.close();
}

/** `data` with the byte at `offset` XOR 0x01 (a copy). */
export function flipByte(data: Uint8Array, offset: number): Uint8Array {
  const c = data.slice();
  c[offset] = c[offset]! ^ 0x01;
  return c;
}
