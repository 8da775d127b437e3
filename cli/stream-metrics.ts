/**
 * Timeline metrics of connections written as JSON lines while the capture is read (`analyze --ndjson --timeline`,
 * `check --ndjson --timeline`): a connection handed over final (AnalyzeOptions.onFinal, id −1) gets the metrics of
 * its timeline summary, which is then released (TimelineObserver.finished / forget); the connections still held
 * at the end get theirs from the end result, by Connection.id, once {@link StreamedMetrics.end} was called.
 */
import type { CaptureAnalysis } from '../analyzer/analyze.js';
import type { Connection } from '../analyzer/model/types.js';
import { type ConnectionMetrics, computeMetrics } from '../analyzer/timeline/metrics.js';
import type { TimelineObserver } from '../analyzer/timeline/observer.js';

/** A connection's metrics without the `connection` index (a streamed line's connection has no id). */
export type LineMetrics = Omit<ConnectionMetrics, 'connection'>;

export class StreamedMetrics {
  private live: Map<number, ConnectionMetrics> | undefined;

  constructor(private readonly obs: TimelineObserver) {}

  /** Metrics of `c`: final (id −1, its summary released after) or held at the end (after {@link end}). */
  of(c: Connection): LineMetrics {
    let m: ConnectionMetrics | undefined;
    if (c.id >= 0) m = this.live?.get(c.id);
    else {
      const r = this.obs.finished(c);
      if (r !== undefined) m = computeMetrics(r, (t, d) => this.obs.rttHistogram(t, d))[0];
      this.obs.forget(c);
    }
    const { connection: _c, ...rest } = m ?? emptyMetrics(c);
    return rest;
  }

  /** The end of the capture: metrics of the connections still held, from the timeline's end result. */
  end(a: Pick<CaptureAnalysis, 'connections' | 'tcpConnections'>): void {
    this.live = metricsByConnection(this.obs, a);
  }
}

/** Timeline metrics of every MPTCP connection of `a`, by Connection.id (analyzer/timeline/metrics.ts). */
export function metricsByConnection(obs: TimelineObserver, a: Pick<CaptureAnalysis, 'connections' | 'tcpConnections'>): Map<number, ConnectionMetrics> {
  const r = obs.result({ connections: a.connections, tcpConnections: a.tcpConnections });
  const out = new Map<number, ConnectionMetrics>();
  for (const m of computeMetrics(r, (t, d) => obs.rttHistogram(t, d))) if (m.connection !== undefined) out.set(m.connection, m);
  return out;
}

/** Metrics of a connection the timelines did not track (no MPTCP option after the SYN: nothing measured). */
export function emptyMetrics(c: Connection): ConnectionMetrics {
  return { connection: c.id, rootTcpStream: c.subflows[0]?.tcpStream ?? -1, directions: [], failovers: [], paths: [] };
}
