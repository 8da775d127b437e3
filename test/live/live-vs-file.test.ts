/**
 * The live view's figures equal the file commands' on the same capture: per-subflow retransmissions and
 * SRTT, and data-level progress, against `timeline` (analyzeFull's timeline result); the streamed findings
 * feed (CheckSession via cli/ui/findings-source.ts, end-of-capture pass included) against `check`.
 * The frames go through FramePipeline + LiveState as `live -r` feeds them, with a sample half-way (a
 * throttled timeline refresh there once left the last picture with stale counts).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FramePipeline } from '../../analyzer/analyze.js';
import { ReplayCaptureSource } from '../../analyzer/capture/live.js';
import { feedLines, rttText } from '../../cli/ui/App.js';
import { attachFindings } from '../../cli/ui/findings-source.js';
import { LiveState, type LiveEvent, type LiveView } from '../../cli/ui/state.js';
import { attachTimeline } from '../../cli/ui/timeline-source.js';
import { analyzeFull } from '../../conformance/full.js';
import type { Finding } from '../../conformance/finding.js';
import { FIXTURES } from '../helpers/fixtures.js';

async function liveReplay(path: string): Promise<{ view: LiveView; events: LiveEvent[]; midFindings: number }> {
  const pipe = new FramePipeline(path);
  const findings = attachFindings(pipe, path);
  const state = new LiveState(pipe, { source: path, timeline: attachTimeline(pipe), findings });
  const events: LiveEvent[] = [];
  let total = 0;
  const src = new ReplayCaptureSource(path, { speed: Number.POSITIVE_INFINITY });
  // Count frames first so the mid-way sample lands half-way.
  await new ReplayCaptureSource(path, { speed: Number.POSITIVE_INFINITY }).run({ frame: () => total++ });
  let midFindings = 0;
  await src.run({
    frame: (f) => {
      state.onFrame(f);
      if (f.number === Math.floor(total / 2)) {
        events.push(...state.sample().events);
        midFindings = findings.findings().length;
      }
    },
  });
  state.ended = true;
  findings.finish();
  const last = state.sample();
  events.push(...last.events);
  return { view: last.view, events, midFindings };
}

const key = (f: Finding): string => `${f.id}|${f.connection ?? '-'}|${f.subflow ?? '-'}|${f.frames[0] ?? '-'}|${f.severity}|${f.message}`;

describe.each([
  'shared-linux/09-loss.client.pcap',
  'shared-linux/01-basic.client.pcap',
  'shared-linux/03-remove-addr.client.pcap',
  'shared-linux/07a-mbox-strip-synack.client.pcap',
  'shared-linux/15b-csum-corrupt-2sf.client.pcap',
  'public-tcpdump/mptcp-dss-oobr.pcap',
])('live view of %s = timeline and check', (rel) => {
  const path = join(FIXTURES, rel);
  it('per-subflow retransmissions and SRTT, data-level DSN / Data ACK / reinjections, and the findings', async () => {
    const [{ view, events }, full] = await Promise.all([liveReplay(path), analyzeFull(path)]);
    expect(view.connections.length).toBe(full.check.analysis.connections.length);
    for (const c of view.connections) {
      const tl = full.timeline.connections.find((t) => t.connection === c.id);
      for (const s of c.subflows) {
        const sf = tl?.subflows.find((x) => x.subflow === s.id);
        if (sf === undefined) {
          expect(s.retransmissions).toBeUndefined();
          continue;
        }
        const [a, b] = sf.dirs;
        expect(s.retransmissions).toBe(a.retransmissions + b.retransmissions);
        const main = a.dataPackets >= b.dataPackets ? a : b;
        const srtt = main.rtt.srtt ?? main.rttTimestamps.srtt;
        if (srtt === undefined) expect(s.rttMs).toBeUndefined();
        else expect(s.rttMs).toBe(srtt * 1000);
      }
      if (tl !== undefined) {
        const d = tl.data[0].uniqueBytes >= tl.data[1].uniqueBytes ? tl.data[0] : tl.data[1];
        if (d.dsnBase !== 'none') {
          expect(c.dataLevel?.dsn).toBe(`+${d.highestDsn}`);
          expect(c.dataLevel?.reinjections).toBe(d.reinjections.count);
          if (d.dataAck !== undefined) expect(c.dataLevel?.dataAck).toBe(`+${d.dataAck}`);
        }
      }
    }
    // Findings: the same set as `check`, each once in the NDJSON events, counted per connection.
    expect(view.findings.map(key).sort()).toEqual(full.check.findings.map(key).sort());
    const streamed = events.filter((e) => e.type === 'finding');
    expect(streamed.length).toBe(full.check.findings.length);
    for (const c of view.connections) expect(c.findings).toBe(full.check.findings.filter((f) => f.connection === c.id).length);
    expect(feedLines(view, 1000).filter((l) => l.severity !== 'problem' && l.severity !== 'capture').length).toBe(view.findings.length);
  });
});

describe('09-loss in the live view (the previous session saw 21 retransmissions and RTT 0.0 ms)', () => {
  it('shows the 43 retransmissions the kernel counted (TcpRetransSegs) and the sub-millisecond SRTT in µs', async () => {
    const { view } = await liveReplay(join(FIXTURES, 'shared-linux/09-loss.client.pcap'));
    const sfs = view.connections[0]!.subflows;
    expect(sfs.reduce((n, s) => n + (s.retransmissions ?? 0), 0)).toBe(43);
    for (const s of sfs) {
      expect(s.rttMs).toBeGreaterThan(0);
      expect(s.rttMs).toBeLessThan(1); // no netem delay on this path: tens of µs on veth
      expect(rttText(s.rttMs!)).toMatch(/^[1-9]\d*µs$/);
    }
  });
});

describe('streaming findings', () => {
  it('appear during the capture, before its end (15b: MP_FAIL after the corrupted checksum, in the first half)', async () => {
    const path = join(FIXTURES, 'shared-linux/15b-csum-corrupt-2sf.client.pcap');
    const { view, midFindings, events } = await liveReplay(path);
    expect(midFindings).toBeGreaterThan(0);
    const firstHalf = view.findings.slice(0, midFindings);
    const full = await analyzeFull(path);
    const half = Math.floor(full.check.analysis.frames / 2);
    for (const f of firstHalf) expect(f.frames[0]).toBeLessThanOrEqual(half);
    expect(firstHalf.map((f) => f.id)).toContain('FAIL-001');
    // The NDJSON stream has them with their connection resolved.
    for (const e of events.filter((x) => x.type === 'finding')) expect(e).toHaveProperty('connection', 0);
  });

  it('malformed options show as findings and decode problems in the feed (dss-oobr)', async () => {
    const { view, events } = await liveReplay(join(FIXTURES, 'public-tcpdump/mptcp-dss-oobr.pcap'));
    const full = await analyzeFull(join(FIXTURES, 'public-tcpdump/mptcp-dss-oobr.pcap'));
    expect(view.status.problems).toBe(full.check.analysis.errorCount);
    expect(events.filter((e) => e.type === 'problem').length).toBe(full.check.analysis.errors.length);
  });
});
