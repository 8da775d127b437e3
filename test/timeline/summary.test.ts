/**
 * Finished connections are summarised (TimelineObserver `lingerSeconds`): the live state of a connection
 * whose subflows all closed is dropped and its result kept in compact form. The summary must give the
 * same result as the live form, and late segments (after the summary) must still be counted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCapture } from '../../bench/synth.js';
import { analyzeFile } from '../../analyzer/analyze.js';
import { computeMetrics } from '../../analyzer/timeline/metrics.js';
import { TimelineObserver } from '../../analyzer/timeline/observer.js';
import type { TimelineOptions } from '../../analyzer/timeline/types.js';
import type { WritableFrame } from '../../analyzer/capture/writer.js';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import type { DssOption } from '../../analyzer/wire/mptcp/types.js';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { encodeMptcp, tcp4Frame } from '../helpers/packet-builder.js';

async function run(path: string, opts: TimelineOptions) {
  const obs = new TimelineObserver(opts);
  // Never summarised: the tracker must not retire the connections either (retiring summarises them).
  const never = opts.lingerSeconds === Number.POSITIVE_INFINITY;
  const a = await analyzeFile(path, { observers: [obs], ...(never ? { retireAfter: Number.POSITIVE_INFINITY } : {}) });
  const r = obs.result({ connections: a.connections, tcpConnections: a.tcpConnections });
  return { obs, a, r, m: computeMetrics(r, (t, d) => obs.rttHistogram(t, d)) };
}

let dir: string;
let many: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tl-summary-'));
  many = join(dir, 'many.pcap');
  // 600 short 2-subflow connections tiled from 01-basic's tail (20 µs apart: more than 256 close within
  // the linger time, so the oldest are summarised early).
  await writeSyntheticCapture({ path: many, shape: 'many', frames: 0, connections: 600, template: join(FIXTURES, 'shared-linux', '01-basic.client.pcap') });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('summaries of finished connections', () => {
  it('600 short connections: the summarised result and metrics equal the never-summarised ones', async () => {
    const live = await run(many, { lingerSeconds: Number.POSITIVE_INFINITY });
    const summ = await run(many, {});
    expect(live.r.connections).toHaveLength(600);
    expect(summ.r.connections).toEqual(live.r.connections);
    expect(summ.m).toEqual(live.m);
    // Labels come from the snapshot after summarising too.
    expect(summ.r.connections.every((c, i) => c.connection === i && c.subflows.every((s) => s.subflow !== undefined))).toBe(true);
    expect(summ.obs.liveState).toBe(0);
    expect(live.obs.summarisedConnections).toBe(0);
    expect(summ.obs.summarisedConnections).toBeGreaterThanOrEqual(600 - 256);
  });

  it('600 short connections summarised right after their close (lingerSeconds 0): same result as never summarised', async () => {
    const live = await run(many, { lingerSeconds: Number.POSITIVE_INFINITY });
    const summ = await run(many, { lingerSeconds: 0 });
    expect(summ.obs.summarisedConnections).toBeGreaterThanOrEqual(599);
    expect(summ.r.connections).toEqual(live.r.connections);
  });

  it('segments after the summary (a late retransmission and ACKs) are still counted: packets, bytes, retransmissions', async () => {
    // Mid-connection capture (DSS only): 5 data segments and their ACKs, FIN both ways, the last ACK; then,
    // 3 s later a segment of another connection (it triggers the summary), then a retransmitted data segment
    // and an ACK of the first one (late).
    const C = '10.9.0.1';
    const S = '10.9.0.2';
    const frames: WritableFrame[] = [];
    let t = 1_700_000_000;
    const seg = (from: 'c' | 's', seq: number, ack: number, flags: number, payload: number, opts: number[], dt: number, port = 40000): void => {
      t += dt;
      const f = tcp4Frame(
        { srcPort: from === 'c' ? port : 5201, dstPort: from === 'c' ? 5201 : port, seq, ack, flags, options: opts, payload },
        { src: from === 'c' ? C : S, dst: from === 'c' ? S : C },
        { number: frames.length + 1 },
      );
      frames.push({ data: f.data, tsSec: Math.floor(t), tsNsec: Math.round((t % 1) * 1e9) });
    };
    const dss = (o: Partial<DssOption>): number[] => [
      ...encodeMptcp({ type: 'DSS', offset: 0, length: 0, flags: (o.dataAck !== undefined ? 0x01 : 0) | (o.dataSequenceNumber !== undefined ? 0x04 : 0), dataFin: false, dataAck64: false, dsn64: false, ...o }),
    ];
    for (let i = 0; i < 5; i++) {
      seg('c', 1000 + i * 100, 5000, TcpFlag.ACK, 100, dss({ dataSequenceNumber: 7000n + BigInt(i * 100), subflowSequenceNumber: 1 + i * 100, dataLevelLength: 100 }), 0.001);
      seg('s', 5000, 1100 + i * 100, TcpFlag.ACK, 0, dss({ dataAck: 7100n + BigInt(i * 100) }), 0.001);
    }
    seg('c', 1500, 5000, TcpFlag.ACK | TcpFlag.FIN, 0, dss({ dataAck: 1n }), 0.001);
    seg('s', 5000, 1501, TcpFlag.ACK | TcpFlag.FIN, 0, dss({ dataAck: 7500n }), 0.001);
    seg('c', 1501, 5001, TcpFlag.ACK, 0, dss({ dataAck: 1n }), 0.001);
    seg('c', 1, 1, TcpFlag.ACK, 10, dss({ dataSequenceNumber: 1n, subflowSequenceNumber: 1, dataLevelLength: 10 }), 3, 40001);
    seg('c', 1400, 5001, TcpFlag.ACK, 100, dss({ dataSequenceNumber: 7400n, subflowSequenceNumber: 401, dataLevelLength: 100 }), 0.001);
    seg('s', 5001, 1501, TcpFlag.ACK, 0, dss({ dataAck: 7500n }), 0.001);
    const path = join(dir, 'late.pcap');
    writeFileSync(path, PcapWriter.bytes(frames));
    const live = await run(path, { lingerSeconds: Number.POSITIVE_INFINITY });
    const summ = await run(path, { lingerSeconds: 1 });
    expect(summ.obs.summarisedConnections).toBe(1);
    expect(summ.r.connections).toHaveLength(2);
    const a = live.r.connections[0]!.subflows[0]!.dirs;
    const b = summ.r.connections[0]!.subflows[0]!.dirs;
    expect(a[0].packets + a[1].packets).toBe(frames.length - 1);
    for (const d of [0, 1] as const) {
      expect(b[d].packets).toBe(a[d].packets);
      expect(b[d].bytes).toBe(a[d].bytes);
      expect(b[d].retransmissions).toBe(a[d].retransmissions);
    }
    expect(a[0].retransmissions).toBe(1);
    expect(a[0].bytes).toBe(600);
  });
});
