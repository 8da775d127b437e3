/**
 * Retransmissions, RTT samples and SACK-based loss location on real captures, reconciled with facts
 * outside mptcpscope: the tcpdump text sidecars (sequence numbers parsed independently by
 * test/helpers/tcpdump-seq.ts) and the kernel's own counters (manifest.json kernel_view, scenario.json mib).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../analyzer/analyze.js';
import { TimelineObserver } from '../../analyzer/timeline/observer.js';
import type { SubflowTimeline, TimelineResult } from '../../analyzer/timeline/types.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { median, tcpdumpSeq } from '../helpers/tcpdump-seq.js';

async function timeline(rel: string): Promise<TimelineResult> {
  const obs = new TimelineObserver();
  const a = await analyzeFile(join(FIXTURES, rel), { observers: [obs] });
  return obs.result({ connections: a.connections, tcpConnections: a.tcpConnections });
}
const key = (s: SubflowTimeline): string => `${s.client}.${s.clientPort} > ${s.server}.${s.serverPort}`;

describe('09-loss (shared-linux; client capture; router drops 2 % of path-2 client→server packets)', () => {
  const rel = 'shared-linux/09-loss.client.pcap';

  it('retransmissions = tcpdump = the kernel TcpRetransSegs (43); all lost after the capture point per SACK', async () => {
    const manifest = JSON.parse(readFileSync(join(FIXTURES, 'shared-linux', 'manifest.json'), 'utf8')) as {
      scenarios: Array<{ name: string; kernel_view: { client_mib: Record<string, number> } }>;
    };
    const mib = manifest.scenarios.find((s) => s.name === '09-loss')!.kernel_view.client_mib;
    const td = tcpdumpSeq(join(FIXTURES, `${rel}.tcpdump.txt.gz`));
    const r = await timeline(rel);
    const subflows = r.connections[0]!.subflows;
    let ours = 0;
    for (const s of subflows) {
      const d = s.dirs[0];
      const t = td.get(key(s))!;
      expect(d.dataPackets, key(s)).toBe(t.dataSegments);
      expect(d.retransmissions, key(s)).toBe(t.retransmissions);
      expect(d.sackSegments, key(s)).toBe(t.sackSegments);
      expect(d.retransmissionsLostAfterCapture, key(s)).toBe(t.retransmissionsSackedBeyond);
      expect(d.holes.retransmitted, key(s)).toBe(t.holeFills);
      ours += d.retransmissions + s.dirs[1].retransmissions;
    }
    // The capture point is the sender (client netns, -i any, after its qdisc) and the drops are on the router,
    // after it: every original and every retransmission is visible, so the capture's count is the kernel's.
    expect(ours).toBe(mib.TcpRetransSegs);
    expect(ours).toBe(43);
    const path2 = subflows.find((s) => s.client === '10.0.2.1')!.dirs[0];
    expect(path2.retransmissionsLostAfterCapture).toBe(43);
    expect(path2.holes.retransmitted).toBe(0);
    expect(path2.dsacks).toBe(0);
  });

  it('RTT samples: same count as tcpdump, median within one histogram bin (2.3 %); tens of µs, not 0', async () => {
    const td = tcpdumpSeq(join(FIXTURES, `${rel}.tcpdump.txt.gz`));
    const r = await timeline(rel);
    for (const s of r.connections[0]!.subflows) {
      const rtt = s.dirs[0].rtt;
      const t = td.get(key(s))!;
      expect(rtt.samples).toBe(t.rttSamples.length);
      const m = median(t.rttSamples);
      expect(Math.abs(rtt.median! - m) / m).toBeLessThan(0.03);
      // Veth pairs with no delay: the ACK comes back in 10–100 µs (the capture is after the TBF queue), so the
      // live view's "0.0ms" (one decimal of ms) is rounding, not a missing sample.
      expect(rtt.min!).toBeGreaterThan(0);
      expect(rtt.median!).toBeLessThan(0.001);
    }
  });
});

describe('sender-side captures behind the sender\'s own TBF qdisc (k07, k08): originals dropped by the qdisc are holes', () => {
  it.each(['kernel/k07-loss/k07-loss.client.pcap', 'kernel/k08-path-failure/k08-path-failure.client.pcap'])(
    '%s: retransmissions = tcpdump; every one either fills a hole the receiver\'s SACK skipped or was SACKed beyond',
    async (rel) => {
      const td = tcpdumpSeq(join(FIXTURES, `${rel}.tcpdump.txt.gz`));
      const r = await timeline(rel);
      for (const s of r.connections[0]!.subflows) {
        const d = s.dirs[0];
        const t = td.get(key(s))!;
        expect(d.retransmissions, key(s)).toBe(t.retransmissions);
        expect(d.retransmissionsLostAfterCapture, key(s)).toBe(t.retransmissionsSackedBeyond);
        expect(d.holes.retransmitted, key(s)).toBe(t.holeFills);
        // Holes at the sender's capture point: the qdisc (TBF, before the capture tap) dropped the original.
        // The receiver's SACK blocks went past each of them: lost before the capture point, not missed by it.
        expect(d.holes.lostBeforeCapture).toBe(d.holes.retransmitted);
        expect(d.holes.captureMissed).toBe(0);
        expect(d.holes.open).toBe(0);
        // At most a few retransmissions (RTO / tail loss probes, MIB TcpExtTCPTimeouts, TCPLossProbes) lack SACK evidence.
        expect(d.retransmissions - d.holes.lostBeforeCapture - d.retransmissionsLostAfterCapture).toBeLessThanOrEqual(3);
      }
    },
  );
});
