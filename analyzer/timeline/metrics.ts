/**
 * Multipath metrics from the timelines: aggregation gain, byte share per subflow over time, failover
 * episodes and per-path (address pair) RTT / retransmission / throughput figures.
 *
 * Definitions (seconds, bytes, bytes/s):
 * - Data-level goodput of a direction = distinct DSN bytes / (last data − first data) of that direction.
 * - A subflow's goodput = distinct DSN bytes it carried first / its own active period (its first to last
 *   data segment in that direction): what that path delivered while it was in use.
 * - Aggregation gain = data-level goodput / the best subflow's goodput (≈ number of equal paths;
 *   ≈ 1 + r2/r1 for unequal ones). Undefined when a direction carried < 64 KiB (too short to mean anything).
 */
import { LogHistogram } from './stats.js';
import type { ConnectionTimeline, FailoverEpisode, TimelineResult } from './types.js';

/** Minimum distinct bytes in a direction before goodput / gain are computed. */
export const MIN_BYTES_FOR_RATES = 65536;

export interface DirectionMetrics {
  /** 0 = data sent by the MPTCP client. */
  dataDir: 0 | 1;
  bytes: number;
  duration: number;
  goodput?: number;
  subflows: Array<{ tcpStream: number; subflow?: number; bytes: number; share: number; activeDuration: number; goodput?: number }>;
  bestSubflow?: number;
  aggregationGain?: number;
  /** Byte share per subflow per time bin: [binStart, {tcpStream: fraction}]. */
  shareOverTime: Array<{ t: number; shares: Record<string, number> }>;
  reinjections: { count: number; bytes: number; needed: number; spurious: number };
  outOfOrder: { segments: number; bytes: number; maxDistance: number };
}

export interface PathMetrics {
  /** Client-side (local for an outgoing connection) and server-side addresses. */
  local: string;
  remote: string;
  tcpStreams: number[];
  backup: boolean;
  rtt: { samples: number; min?: number; median?: number; p95?: number };
  /** Retransmitted payload bytes / payload bytes, both directions. */
  retransmissionRate: number;
  bytes: number;
  /** Payload bytes / active period (first to last data segment on the path), bytes/s. */
  throughput?: number;
}

export interface ConnectionMetrics {
  connection?: number;
  rootTcpStream: number;
  directions: DirectionMetrics[];
  failovers: FailoverEpisode[];
  paths: PathMetrics[];
}

/** Looks up the SEQ→ACK RTT histogram of a subflow direction (TimelineObserver.rttHistogram). */
export type RttLookup = (tcpStream: number, dir: 0 | 1) => LogHistogram | undefined;

/** Computes the metrics of every connection of a timeline result. */
export function computeMetrics(result: TimelineResult, rtt?: RttLookup): ConnectionMetrics[] {
  return result.connections.map((c) => connectionMetrics(c, rtt));
}

function connectionMetrics(c: ConnectionTimeline, rtt?: RttLookup): ConnectionMetrics {
  const m: ConnectionMetrics = {
    rootTcpStream: c.rootTcpStream,
    directions: [],
    failovers: c.failovers,
    paths: paths(c, rtt),
  };
  if (c.connection !== undefined) m.connection = c.connection;
  for (const d of c.data) {
    if (d.uniqueBytes === 0) continue;
    const duration = d.firstDataTime !== undefined && d.lastDataTime !== undefined ? d.lastDataTime - d.firstDataTime : 0;
    const rated = d.uniqueBytes >= MIN_BYTES_FOR_RATES && duration > 0;
    const subs: DirectionMetrics['subflows'] = [];
    for (const sf of c.subflows) {
      const bytes = d.bytesBySubflow[String(sf.tcpStream)] ?? 0;
      const sd = sf.dirs.find((x) => x.dataDir === d.dataDir);
      const active = sd?.firstDataTime !== undefined && sd.lastDataTime !== undefined ? sd.lastDataTime - sd.firstDataTime : 0;
      const e: DirectionMetrics['subflows'][number] = { tcpStream: sf.tcpStream, bytes, share: bytes / d.uniqueBytes, activeDuration: active };
      if (sf.subflow !== undefined) e.subflow = sf.subflow;
      if (rated && active > 0 && bytes > 0) e.goodput = bytes / active;
      subs.push(e);
    }
    const dm: DirectionMetrics = {
      dataDir: d.dataDir,
      bytes: d.uniqueBytes,
      duration,
      subflows: subs,
      shareOverTime: shareOverTime(d.shareBins),
      reinjections: d.reinjections,
      outOfOrder: d.outOfOrder,
    };
    if (rated) {
      dm.goodput = d.uniqueBytes / duration;
      let best: (typeof subs)[number] | undefined;
      for (const s of subs) if (s.goodput !== undefined && (best === undefined || s.goodput > best.goodput!)) best = s;
      if (best !== undefined) {
        dm.bestSubflow = best.tcpStream;
        dm.aggregationGain = dm.goodput / best.goodput!;
      }
    }
    m.directions.push(dm);
  }
  return m;
}

function shareOverTime(bins: Array<[number, number, number]>): DirectionMetrics['shareOverTime'] {
  const out: DirectionMetrics['shareOverTime'] = [];
  let cur: { t: number; shares: Record<string, number> } | undefined;
  let total = 0;
  const flush = (): void => {
    if (cur === undefined) return;
    for (const k of Object.keys(cur.shares)) cur.shares[k] = cur.shares[k]! / total;
    out.push(cur);
  };
  for (const [t, ts, v] of bins) {
    if (cur === undefined || cur.t !== t) {
      flush();
      cur = { t, shares: {} };
      total = 0;
    }
    cur.shares[String(ts)] = (cur.shares[String(ts)] ?? 0) + v;
    total += v;
  }
  flush();
  return out;
}

function paths(c: ConnectionTimeline, rtt?: RttLookup): PathMetrics[] {
  const by = new Map<string, { p: PathMetrics; h: LogHistogram; retx: number; first: number; last: number }>();
  for (const sf of c.subflows) {
    const key = `${sf.client}|${sf.server}`;
    let e = by.get(key);
    if (e === undefined) {
      e = {
        p: { local: sf.client, remote: sf.server, tcpStreams: [], backup: false, rtt: { samples: 0 }, retransmissionRate: 0, bytes: 0 },
        h: new LogHistogram(),
        retx: 0,
        first: Number.POSITIVE_INFINITY,
        last: Number.NEGATIVE_INFINITY,
      };
      by.set(key, e);
    }
    e.p.tcpStreams.push(sf.tcpStream);
    if (sf.backup) e.p.backup = true;
    for (const d of sf.dirs) {
      e.p.bytes += d.bytes;
      e.retx += d.retransmittedBytes;
      if (d.firstDataTime !== undefined && d.firstDataTime < e.first) e.first = d.firstDataTime;
      if (d.lastDataTime !== undefined && d.lastDataTime > e.last) e.last = d.lastDataTime;
      const h = rtt?.(sf.tcpStream, d.dir);
      if (h !== undefined) e.h.merge(h);
    }
  }
  return [...by.values()].map(({ p, h, retx, first, last }) => {
    p.retransmissionRate = p.bytes > 0 ? retx / p.bytes : 0;
    if (last > first && p.bytes >= MIN_BYTES_FOR_RATES) p.throughput = p.bytes / (last - first);
    p.rtt = { samples: h.count };
    if (h.count > 0) {
      p.rtt.min = h.min;
      p.rtt.median = h.quantile(0.5)!;
      p.rtt.p95 = h.quantile(0.95)!;
    }
    return p;
  });
}
