/**
 * Adapter from the sequence timelines (analyzer/timeline/observer.ts) to the live view's
 * {@link TimelineSource}: per-subflow smoothed RTT (RFC 6298 SRTT of the direction carrying more data) and
 * retransmissions (both directions), and per-connection data-level progress of the direction carrying more
 * data (highest DSN and Data ACK relative to the IDSN, RFC 8684 §3.3.1; inter-subflow reinjections).
 */
import type { FramePipeline } from '../../analyzer/analyze.js';
import type { ModelSnapshot } from '../../analyzer/model/tracker.js';
import { TimelineObserver } from '../../analyzer/timeline/observer.js';
import type { ConnectionTimeline, TimelineResult } from '../../analyzer/timeline/types.js';
import type { DataLevelProgress, SubflowTimeline, TimelineSource } from './state.js';

/**
 * Attach a TimelineObserver to `pipe` and expose it as a TimelineSource. Results are refreshed at most every
 * `everyMs` of wall time while the capture runs, and on every call once it has ended (`final`), so the last
 * picture has the same figures as `mptcpscope timeline` on the same frames.
 */
export function attachTimeline(pipe: FramePipeline, everyMs = 500): TimelineSource & { observer: TimelineObserver } {
  // 1 s bins: the result copies every bin, and the live view does not plot them.
  const obs = new TimelineObserver({ interval: 1 });
  pipe.observers.push(obs);
  let last = 0;
  let byConn = new Map<number, ConnectionTimeline>();
  return {
    observer: obs,
    refresh(snapshot: ModelSnapshot, final = false): void {
      const now = Date.now();
      if (!final && now - last < everyMs) return;
      last = now;
      const r: TimelineResult = obs.result(snapshot);
      byConn = new Map(r.connections.filter((c) => c.connection !== undefined).map((c) => [c.connection!, c]));
    },
    subflow(connection: number, subflow: number): SubflowTimeline | undefined {
      const sf = byConn.get(connection)?.subflows.find((s) => s.subflow === subflow);
      if (sf === undefined) return undefined;
      const [a, b] = sf.dirs;
      const main = a.dataPackets >= b.dataPackets ? a : b;
      const out: SubflowTimeline = { retransmissions: a.retransmissions + b.retransmissions };
      const srtt = main.rtt.srtt ?? main.rttTimestamps.srtt;
      if (srtt !== undefined) out.rttMs = srtt * 1000;
      return out;
    },
    dataLevel(connection: number): DataLevelProgress | undefined {
      const c = byConn.get(connection);
      if (c === undefined) return undefined;
      const d = c.data[0].uniqueBytes >= c.data[1].uniqueBytes ? c.data[0] : c.data[1];
      if (d.dsnBase === 'none') return undefined;
      const out: DataLevelProgress = { dsn: `+${d.highestDsn}`, reinjections: d.reinjections.count };
      if (d.dataAck !== undefined) out.dataAck = `+${d.dataAck}`;
      return out;
    },
  };
}
