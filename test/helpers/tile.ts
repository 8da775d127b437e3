/**
 * Long captures with many connections made of real ones: the shared-linux classic pcaps of one link type,
 * one after the other, 100 s apart (so each connection retires, and its tombstones end, before the next).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture } from '../../analyzer/capture/open.js';
import { PcapWriter, type WritableFrame } from '../../analyzer/capture/writer.js';
import { FIXTURES } from './fixtures.js';

/** Writes the tiled capture of link type `linkType` to `out`; returns how many captures it holds. */
export async function tileFixtures(out: string, linkType: number): Promise<{ files: number }> {
  const frames: WritableFrame[] = [];
  let snaplen = 0;
  let files = 0;
  const names = readdirSync(join(FIXTURES, 'shared-linux')).filter((n) => n.endsWith('.pcap')).sort();
  for (const name of names) {
    const got: WritableFrame[] = [];
    const s = await openCapture(join(FIXTURES, 'shared-linux', name)).run({
      frame: (f) => got.push({ tsSec: f.tsSec, tsNsec: f.tsNsec, data: f.data.slice(), originalLength: f.originalLength }),
    });
    if (Number(s.interfaces[0]?.linkType) !== linkType || got.length === 0) continue;
    snaplen = Math.max(snaplen, s.interfaces[0]?.snaplen ?? 0);
    const t0 = got[0]!.tsSec;
    for (const f of got) frames.push({ ...f, tsSec: 1_700_000_000 + files * 100 + (f.tsSec - t0) });
    files++;
  }
  const w = new PcapWriter({ path: out, linkType, snaplen });
  for (const f of frames) w.write(f);
  w.close();
  return { files };
}
