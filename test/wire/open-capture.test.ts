/**
 * Integration with analyzer/capture: frames delivered by openCapture decode exactly like the frames
 * of the independent test-only pcap walker (test/helpers/pcap-walker.ts) used by the other wire
 * tests, and a pcapng capture (01-basic.server, Ethernet) decodes with no problems beyond snaplen.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCapture } from '../../analyzer/capture/open.js';
import type { Frame } from '../../analyzer/capture/types.js';
import type { DecodeIssue } from '../../analyzer/issue.js';
import { decodePacket } from '../../analyzer/wire/packet.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { readClassicPcap } from '../helpers/pcap-walker.js';

const SHARED = join(REPO_ROOT, '..', 'shared', 'captures');

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));
}

/** Decode every frame inside the sink callback (frame bytes are only valid there). */
async function decodeAll(path: string): Promise<{ decodes: string[]; issues: DecodeIssue[]; frames: Frame[] }> {
  const decodes: string[] = [];
  const issues: DecodeIssue[] = [];
  const frames: Frame[] = [];
  await openCapture(path).run({
    frame: (f) => {
      decodes.push(stable(decodePacket(f, 'f', issues)));
      frames.push({ ...f, data: f.data.slice() });
    },
  });
  return { decodes, issues, frames };
}

describe('decodePacket over openCapture', () => {
  const dir = join(SHARED, 'public', 'tcpdump');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.pcap'))) {
    it(`${name}: same decodes as the test walker`, async () => {
      const got = await decodeAll(join(dir, name));
      const walker = readClassicPcap(join(dir, name)).frames;
      expect(got.frames.length).toBe(walker.length);
      const issues: DecodeIssue[] = [];
      expect(got.decodes).toEqual(walker.map((f) => stable(decodePacket(f, 'f', issues))));
      expect(stable(got.issues)).toBe(stable(issues));
    });
  }

  it('01-basic.server.pcapng (Ethernet, snaplen 200): all TCP, MPTCP options present, only capture truncation', async () => {
    const got = await decodeAll(join(SHARED, 'linux', '01-basic.server.pcapng'));
    const kinds = new Map<string, number>();
    let mptcp = 0;
    for (const d of got.decodes) {
      const p = JSON.parse(d) as { kind: string; segment?: { options: { mptcp: unknown[] } } };
      kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
      mptcp += p.segment?.options.mptcp.length ?? 0;
    }
    expect(kinds.get('tcp')).toBeGreaterThan(10000);
    expect(kinds.get('error')).toBeUndefined();
    expect(mptcp).toBeGreaterThan(10000);
    for (const i of got.issues) expect(i.kind === 'truncated' && i.capture === true).toBe(true);
  });
});
