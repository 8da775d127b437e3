/**
 * Timelines on the real Linux captures, checked against facts recorded outside mptcpscope:
 * tshark 4.0 sidecars (bytes per tcp.stream, `mptcp.reinjection_of` with analyze_mappings and
 * intersubflows_retransmission on), the applications' byte counts and the shaping / events in
 * manifest.json and scenario.json (kernel MIB counters, tbf rates, link down/up times).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../../analyzer/analyze.js';
import { type ConnectionMetrics, computeMetrics } from '../../analyzer/timeline/metrics.js';
import { TimelineObserver } from '../../analyzer/timeline/observer.js';
import type { TimelineResult } from '../../analyzer/timeline/types.js';
import { FIXTURES, knownDifferences, readSidecar } from '../helpers/fixtures.js';

interface Run {
  r: TimelineResult;
  m: ConnectionMetrics[];
  peak: number;
  frames: number;
}

const cache = new Map<string, Promise<Run>>();
function timeline(rel: string): Promise<Run> {
  let p = cache.get(rel);
  if (p === undefined) {
    p = (async () => {
      const obs = new TimelineObserver();
      const a = await analyzeFile(join(FIXTURES, rel), { observers: [obs] });
      const r = obs.result({ connections: a.connections, tcpConnections: a.tcpConnections });
      return { r, m: computeMetrics(r, (t, d) => obs.rttHistogram(t, d)), peak: obs.peakLiveState, frames: a.frames };
    })();
    cache.set(rel, p);
  }
  return p;
}

interface Scenario {
  traffic: { direction: string; bytes: number };
  shaping: string[];
  events: Array<{ t_abs: number; event: string }>;
  mib: { client: { diff: Record<string, number> } };
}
const scenario = (name: string): Scenario => JSON.parse(readFileSync(join(FIXTURES, 'kernel', name, 'scenario.json'), 'utf8')) as Scenario;

const REINJECTION_CAPTURES = [
  'shared-linux/15b-csum-corrupt-2sf.client.pcap',
  'shared-linux/15b-csum-corrupt-2sf.server.pcap',
  'kernel/k07-loss/k07-loss.client.pcap',
  'kernel/k07-loss/k07-loss.server.pcap',
  'kernel/k08-path-failure/k08-path-failure.client.pcap',
  'kernel/k08-path-failure/k08-path-failure.server.pcap',
  'kernel/k12-nat-path2/k12-nat-path2.client.pcap',
  'kernel/k12-nat-path2/k12-nat-path2.server.pcap',
];

const BYTE_CAPTURES = [
  'shared-linux/01-basic.client.pcap',
  'shared-linux/01-basic.server.pcapng',
  'kernel/k09-unequal-rates/k09-unequal-rates.client.pcap',
  ...REINJECTION_CAPTURES,
];

beforeAll(() => {
  for (const c of BYTE_CAPTURES) void timeline(c);
});

describe('bytes', () => {
  it.each(BYTE_CAPTURES)('%s: payload bytes per subflow equal tshark tcp.len sums per tcp.stream', async (rel) => {
    const { r } = await timeline(rel);
    const side = readSidecar(`${rel}`);
    const tshark = new Map(side.tcpStreams.map((s) => [s.tcpStream, s.payloadBytes]));
    const subflows = r.connections.flatMap((c) => c.subflows);
    expect(subflows.length).toBeGreaterThan(0);
    for (const s of subflows) expect(s.dirs[0].bytes + s.dirs[1].bytes, `tcp.stream ${s.tcpStream}`).toBe(tshark.get(s.tcpStream));
  });

  it('01-basic: distinct data-level bytes client→server equal the 10,000,000 bytes the application sent (manifest)', async () => {
    const manifest = JSON.parse(readFileSync(join(FIXTURES, 'shared-linux', 'manifest.json'), 'utf8')) as {
      scenarios: Array<{ name: string; kernel_view: { client_app: Array<{ bytes_tx?: number }> } }>;
    };
    const sent = manifest.scenarios.find((s) => s.name === '01-basic')!.kernel_view.client_app.find((e) => e.bytes_tx !== undefined)!.bytes_tx!;
    expect(sent).toBe(10_000_000);
    for (const rel of ['shared-linux/01-basic.client.pcap', 'shared-linux/01-basic.server.pcapng']) {
      const { r } = await timeline(rel);
      const d = r.connections[0]!.data[0];
      expect(d.uniqueBytes).toBe(sent);
      // DATA_FIN takes the DSN after the data (relative DSN first byte = 1) and the Data ACK covers it.
      expect(d.dataFin?.dsn).toBe(sent + 1);
      expect(d.dataAck).toBe(sent + 2);
      expect(d.dataFinAck).toBeDefined();
      expect(d.holes.open).toBe(0);
      expect(r.connections[0]!.subflows.every((s) => s.unmappedBytes === 0 && s.mappingConflicts === 0)).toBe(true);
    }
  });

  it.each(['k07-loss', 'k08-path-failure', 'k09-unequal-rates', 'k12-nat-path2'])(
    '%s: data-level bytes = application bytes + the 24-byte request header; 8-byte count back (mptcp_xfer.py wire format)',
    async (name) => {
      const sc = scenario(name);
      expect(sc.traffic.direction).toBe('upload');
      for (const v of ['client', 'server']) {
        const { r } = await timeline(`kernel/${name}/${name}.${v}.pcap`);
        const c = r.connections[0]!;
        expect(c.data[0].uniqueBytes).toBe(sc.traffic.bytes + 24);
        expect(c.data[1].uniqueBytes).toBe(8);
        expect(c.data[0].holes.open).toBe(0);
      }
    },
  );
});

describe('reinjections', () => {
  it.each(['shared-linux/15b-csum-corrupt-2sf.client.pcap', 'shared-linux/15b-csum-corrupt-2sf.server.pcap'])(
    '%s: frames and originals equal tshark mptcp.reinjection_of; all needed (the original subflow was reset after MP_FAIL)',
    async (rel) => {
      const { r } = await timeline(rel);
      const side = readSidecar(rel) as unknown as { reinjections: Array<{ frame: number; reinjectionOf: number[] }>; tcpStreams: Array<{ tcpStream: number; rstPackets: number }> };
      const ours = r.connections.flatMap((c) => c.reinjections).map((x) => ({ frame: x.frame, reinjectionOf: [...x.originalFrames].sort((a, b) => a - b) }));
      const theirs = side.reinjections.map((x) => ({ frame: x.frame, reinjectionOf: [...x.reinjectionOf].sort((a, b) => a - b) }));
      expect(ours).toEqual(theirs);
      expect(theirs).toHaveLength(12);
      const resetStreams = side.tcpStreams.filter((s) => s.rstPackets > 0).map((s) => s.tcpStream);
      for (const x of r.connections[0]!.reinjections) {
        expect(x.verdict).toBe('needed');
        expect(resetStreams).toEqual(x.originalTcpStreams);
      }
    },
  );

  it.each(REINJECTION_CAPTURES.slice(2))('%s: every tshark reinjection is found, with at least tshark\'s original frames', async (rel) => {
    const { r } = await timeline(rel);
    const side = readSidecar(rel) as unknown as { reinjections: Array<{ frame: number; reinjectionOf: number[] }> };
    const ours = new Map(r.connections.flatMap((c) => c.reinjections).filter((x) => x.originalFrames.length > 0).map((x) => [x.frame, x.originalFrames]));
    expect(side.reinjections.length).toBeGreaterThan(0);
    for (const t of side.reinjections) {
      const o = ours.get(t.frame);
      expect(o, `frame ${t.frame}`).toBeDefined();
      for (const f of t.reinjectionOf) expect(o).toContain(f);
    }
    // Extra copies we report are explained in known-differences.json (and an entry there must still differ).
    const known = knownDifferences().some((k) => k.capture === rel && k.check === 'reinjections');
    expect(ours.size > side.reinjections.length, `extra reinjections vs known difference for ${rel}`).toBe(known);
  });

  it('01-basic (no loss, no failure): no reinjection, as tshark', async () => {
    const { r } = await timeline('shared-linux/01-basic.client.pcap');
    expect(r.connections[0]!.reinjections).toEqual([]);
    expect(readSidecar('shared-linux/01-basic.client.pcap').reinjections ?? []).toEqual([]);
  });
});

describe('failover (k08-path-failure: path 2 link down mid-transfer, then up)', () => {
  it.each(['client', 'server'])('%s capture: path-2 data is reinjected on path 1 about one RTO after its last delivery', async (v) => {
    const sc = scenario('k08-path-failure');
    const down = sc.events.find((e) => e.event.includes('down'))!.t_abs;
    const up = sc.events.find((e) => e.event.includes(' up'))!.t_abs;
    // The kernel did retransmit at the MPTCP level (MIB MPTcpExtMPTCPRetrans) and marked a subflow stale.
    expect(sc.mib.client.diff.MPTcpExtMPTCPRetrans).toBeGreaterThanOrEqual(1);
    const { r, m } = await timeline(`kernel/k08-path-failure/k08-path-failure.${v}.pcap`);
    const c = r.connections[0]!;
    const path2 = c.subflows.find((s) => s.client === '10.0.2.1')!;
    const eps = m[0]!.failovers.filter((f) => f.tcpStream === path2.tcpStream);
    expect(eps).toHaveLength(1);
    const ep = eps[0]!;
    // Its data was last delivered right before the link went down (the down command's time, ±50 ms).
    expect(Math.abs(ep.lastDelivered - down)).toBeLessThan(0.05);
    // RTO from the capture's own RTT samples on that subflow (RFC 6298, Linux floor 200 ms): SRTT is well
    // below 1 ms on these veths, so RTO = 200 ms. Linux reinjects when the MPTCP retransmit timer (armed
    // with the subflow RTO, at or after the last delivery) fires: not before ~1 RTO, and within 3 RTOs
    // (one exponential backoff plus jiffies slack).
    expect(ep.srtt).toBeLessThan(0.01);
    expect(ep.rto).toBeCloseTo(0.2, 3);
    expect(ep.timeToReinjection).toBeGreaterThanOrEqual(0.9 * ep.rto!);
    expect(ep.timeToReinjection).toBeLessThanOrEqual(3 * ep.rto!);
    // Goodput recovered on path 1 before path 2 came back (the scenario's expectation: data continues on subflow 1).
    expect(ep.recovered).toBeDefined();
    expect(ep.recovered!).toBeGreaterThan(ep.firstReinjection!);
    expect(ep.recovered!).toBeLessThan(up);
    // The copies that carried it are needed ones, on the other subflow, inferred from the unseen original
    // (the client could not put them on the down link: they never reached the capture).
    const needed = c.reinjections.filter((x) => x.verdict === 'needed' && x.originalTcpStreams.includes(path2.tcpStream));
    expect(needed.length).toBeGreaterThan(0);
    expect(needed.every((x) => x.tcpStream !== path2.tcpStream)).toBe(true);
    // A dead link, not an RST / REMOVE_ADDR / MP_PRIO; path 1 carried new data within one RTO; path 2 carried
    // new data again after the link came back up.
    expect(ep.cause).toBe('stopped');
    expect(ep.reinjected).toBe(true);
    expect(ep.timeToTakeover).toBeLessThan(ep.rto!);
    expect(ep.resumed).toBeGreaterThan(up);
    expect(ep.resumed! - up).toBeLessThan(1);
  });
});

describe('failover without reinjection (the stopped subflow\'s data was all acknowledged)', () => {
  it.each([
    ['k04-remove-addr', 'client', 'remove-addr'],
    ['k04-remove-addr', 'server', 'remove-addr'],
    ['k05-backup-prio', 'client', 'backup'],
    ['k05-backup-prio', 'server', 'backup'],
  ])('%s %s capture: path 2 stops at the scenario\'s event (%s), path 1 carries on at once', async (name, v, cause) => {
    const sc = scenario(name);
    // The last event stops path 2: endpoint del id 2 (REMOVE_ADDR) / endpoint change id 2 backup (MP_PRIO).
    const ev = sc.events[sc.events.length - 1]!;
    expect(ev.event).toMatch(cause === 'remove-addr' ? /endpoint del id 2/ : /endpoint change id 2 backup/);
    const { r, m } = await timeline(`kernel/${name}/${name}.${v}.pcap`);
    const c = r.connections[0]!;
    const path2 = c.subflows.find((s) => s.client === '10.0.2.1')!;
    const eps = m[0]!.failovers.filter((f) => f.tcpStream === path2.tcpStream);
    expect(eps).toHaveLength(1);
    const ep = eps[0]!;
    expect(ep.cause).toBe(cause);
    expect(ep.reinjected).toBe(false);
    expect(ep.firstReinjection).toBeUndefined();
    expect(ep.reinjectedBytes).toBe(0);
    // Its last delivery is at the command (within 0.1 s: the transfer is paced, so path 2 may idle briefly before).
    expect(Math.abs(ep.lastDelivered - ev.t_abs)).toBeLessThan(0.1);
    // Path 1 already carried data: new data on it within one RTO; the Data ACK caught up within one RTO too.
    expect(ep.timeToTakeover).toBeGreaterThanOrEqual(0);
    expect(ep.timeToTakeover).toBeLessThan(ep.rto!);
    expect(ep.timeToRecovery).toBeLessThan(ep.rto!);
    // Path 2 carried nothing new afterwards (the scenario: data continues on subflow 1).
    expect(ep.resumed).toBeUndefined();
    expect(path2.dirs[0].lastDataTime!).toBeLessThan(ev.t_abs + 0.1);
    // Path 1 never stopped.
    expect(m[0]!.failovers.filter((f) => f.tcpStream !== path2.tcpStream)).toEqual([]);
  });

  it('01-basic and 09-loss (both paths up throughout): no failover episode', async () => {
    for (const rel of ['shared-linux/01-basic.client.pcap', 'shared-linux/01-basic.server.pcapng', 'shared-linux/09-loss.client.pcap']) {
      const { m } = await timeline(rel);
      expect(m[0]!.failovers, rel).toEqual([]);
    }
  });

  it('k07 (2 % random loss on path 2, both paths up): reinjections, but no failover episode', async () => {
    for (const rel of ['kernel/k07-loss/k07-loss.client.pcap', 'kernel/k07-loss/k07-loss.server.pcap']) {
      const { m } = await timeline(rel);
      // the kernel counted MPTCP-level retransmissions (scenario.json MIB MPTcpExtMPTCPRetrans); the copies are
      // reinjections, yet no subflow went silent: a copy is no failover unless its subflow stopped for an RTO
      expect(m[0]!.directions.find((d) => d.dataDir === 0)!.reinjections.count, rel).toBeGreaterThan(0);
      expect(m[0]!.failovers, rel).toEqual([]);
    }
  });
});

describe('aggregation gain', () => {
  const mbit = (bytesPerSec: number): number => (bytesPerSec * 8) / 1e6;

  it.each(['shared-linux/01-basic.client.pcap', 'shared-linux/01-basic.server.pcapng'])('%s: two equal 40 Mbit/s paths give a gain near 2', async (rel) => {
    const { m } = await timeline(rel);
    const d = m[0]!.directions.find((x) => x.dataDir === 0)!;
    // manifest: each client link shaped to 40 Mbit/s (TBF); both subflows carry ~half the bytes.
    for (const s of d.subflows) {
      expect(s.share).toBeGreaterThan(0.4);
      expect(mbit(s.goodput!)).toBeLessThanOrEqual(40 * 1.05);
    }
    expect(d.aggregationGain).toBeGreaterThan(1.8);
    expect(d.aggregationGain).toBeLessThanOrEqual(2.05);
  });

  it('k09-unequal-rates: 100 + 10 Mbit/s tbf paths give a gain near 1.1', async () => {
    const sc = scenario('k09-unequal-rates');
    expect(sc.shaping.join(' ')).toMatch(/c0 egress: tbf rate 100mbit.*c1 egress: tbf rate 10mbit/);
    expect(sc.traffic.bytes).toBe(16_000_000);
    for (const v of ['client', 'server']) {
      const { m, r } = await timeline(`kernel/k09-unequal-rates/k09-unequal-rates.${v}.pcap`);
      const d = m[0]!.directions.find((x) => x.dataDir === 0)!;
      const sf = (ip: string) => d.subflows.find((s) => r.connections[0]!.subflows.find((x) => x.tcpStream === s.tcpStream)!.client === ip)!;
      const fast = sf('10.0.1.1');
      const slow = sf('10.0.2.1');
      // The slow path runs at its 10 Mbit/s TBF rate; the fast one at 80 Mbit/s in this capture (below its
      // 100 Mbit/s TBF: the Python sender with offloads off on a shared 2-core machine), so the gain is
      // 1 + 10/r1: between the configured 1.1 (r1 = 100) and 1.15 (r1 = 67).
      expect(mbit(slow.goodput!)).toBeGreaterThan(8);
      expect(mbit(slow.goodput!)).toBeLessThanOrEqual(10 * 1.05);
      expect(mbit(fast.goodput!)).toBeGreaterThan(70);
      expect(mbit(fast.goodput!)).toBeLessThanOrEqual(100 * 1.05);
      expect(fast.share).toBeGreaterThan(0.85);
      expect(d.bestSubflow).toBe(fast.tcpStream);
      expect(d.aggregationGain).toBeGreaterThan(1.05);
      expect(d.aggregationGain).toBeLessThan(1.15);
    }
  });
});

describe('per-path metrics and memory', () => {
  it('k09: one path per address pair, RTT percentiles ordered, retransmissions as the kernel counted (none)', async () => {
    const { m } = await timeline('kernel/k09-unequal-rates/k09-unequal-rates.client.pcap');
    const paths = m[0]!.paths;
    expect(paths.map((p) => `${p.local}-${p.remote}`).sort()).toEqual(['10.0.1.1-10.0.3.1', '10.0.2.1-10.0.3.1']);
    for (const p of paths) {
      expect(p.rtt.samples).toBeGreaterThan(100);
      expect(p.rtt.min!).toBeLessThanOrEqual(p.rtt.median!);
      expect(p.rtt.median!).toBeLessThanOrEqual(p.rtt.p95!);
      expect(p.backup).toBe(false);
    }
    // kernel MIB: no TcpRetransSegs in this run (the 5 ms TBF queue on path 2 never overflowed); the capture
    // shows none either.
    expect(scenario('k09-unequal-rates').mib.client.diff.TcpRetransSegs ?? 0).toBe(0);
    for (const p of paths) expect(p.retransmissionRate).toBe(0);
  });

  it('k05-backup-prio: the backup path carries data only between the nobackup and backup MP_PRIO commands', async () => {
    const sc = scenario('k05-backup-prio');
    const on = sc.events.find((e) => e.event.includes('nobackup'))!.t_abs;
    const off = sc.events.find((e) => e.event.endsWith(' backup'))!.t_abs;
    const { r, m } = await timeline('kernel/k05-backup-prio/k05-backup-prio.client.pcap');
    const path2 = m[0]!.paths.find((p) => p.local === '10.0.2.1')!;
    expect(path2.backup).toBe(true);
    expect(m[0]!.paths.find((p) => p.local === '10.0.1.1')!.backup).toBe(false);
    const sd = r.connections[0]!.subflows.find((s) => s.client === '10.0.2.1')!.dirs[0];
    expect(sd.bytes).toBe(readSidecar('kernel/k05-backup-prio/k05-backup-prio.client.pcap').tcpStreams.find((s) => s.src === '10.0.2.1')!.payloadBytes);
    expect(sd.firstDataTime!).toBeGreaterThan(on);
    expect(sd.lastDataTime!).toBeLessThan(off + 0.05);
    // Byte share over time: the backup subflow's share is 0 in every bin outside that window.
    const ts = String(r.connections[0]!.subflows.find((s) => s.client === '10.0.2.1')!.tcpStream);
    const dm = m[0]!.directions.find((d) => d.dataDir === 0)!;
    for (const b of dm.shareOverTime) if (b.t + r.interval < on || b.t > off + 0.05) expect(b.shares[ts] ?? 0).toBe(0);
    expect(dm.shareOverTime.some((b) => (b.shares[ts] ?? 0) > 0)).toBe(true);
  });

  it('live state stays far below the packet count (01-basic: 11,748 frames)', async () => {
    const { peak, frames } = await timeline('shared-linux/01-basic.client.pcap');
    expect(frames).toBe(readSidecar('shared-linux/01-basic.client.pcap').frames);
    expect(peak).toBeLessThan(frames / 10);
  });
});
