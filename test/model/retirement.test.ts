/**
 * Retiring finished connections (TrackerOptions.retireAfter): a connection whose subflows all closed and
 * that ended at the data level is summarised once and its flows' state dropped while reading. Everything
 * reported for it — model, timeline, metrics, findings, passes, not-evaluable notes — must be what keeping
 * it to the end of the capture gives; late segments of its 4-tuples are counted in its model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCapture } from '../../bench/synth.js';
import { FramePipeline } from '../../analyzer/analyze.js';
import type { FinalModel } from '../../analyzer/model/tracker.js';
import type { MptcpOption } from '../../analyzer/wire/mptcp/types.js';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { CheckSession } from '../../conformance/engine.js';
import { type FullResult, analyzeFull } from '../../conformance/full.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { tileFixtures } from '../helpers/tile.js';
import { concat, encodeMptcp, tcp4Frame } from '../helpers/packet-builder.js';

let dir: string;
/** Tiled captures: Linux cooked v2 (the client-side and most captures) and Ethernet (server-side ones). */
const tiled: { path: string; linkType: number; files: number }[] = [
  { path: '', linkType: 276, files: 0 },
  { path: '', linkType: 1, files: 0 },
];
let many: string;

/** The result without the retirement counters (the only part that may differ). */
function comparable(r: FullResult): unknown {
  const { retirement: _r, ...analysis } = r.check.analysis;
  return { ...r, check: { ...r.check, analysis } };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'retire-'));
  for (const t of tiled) {
    t.path = join(dir, `tiled-${t.linkType}.pcap`);
    t.files = (await tileFixtures(t.path, t.linkType)).files;
  }
  many = join(dir, 'many.pcap');
  await writeSyntheticCapture({ path: many, shape: 'many', frames: 0, connections: 400, template: join(FIXTURES, 'shared-linux', '01-basic.client.pcap') });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('retired connections are reported as if kept to the end', () => {
  it.each(tiled.map((t) => [t.linkType, t] as const))('the shared-linux captures of link type %i one after the other (fallbacks, stripped options, checksums, ADD_ADDR, loss): everything on, same result', async (_lt, t) => {
    const kept = await analyzeFull(t.path, { retireAfter: Number.POSITIVE_INFINITY });
    const retired = await analyzeFull(t.path);
    expect(kept.check.analysis.retirement).toMatchObject({ afterSeconds: null, connections: 0, flows: 0 });
    expect(t.files).toBeGreaterThanOrEqual(4);
    // Every capture but the last ends more than 10 s before the next one starts.
    expect(retired.check.analysis.retirement.connections).toBeGreaterThanOrEqual(t.files - 1);
    expect(retired.check.findings.length).toBeGreaterThanOrEqual(t.files);
    expect(comparable(retired)).toEqual(comparable(kept));
  });

  it('400 short synthetic connections retired 1 s after their close: same result, nearly all retired', async () => {
    const kept = await analyzeFull(many, { retireAfter: Number.POSITIVE_INFINITY });
    const retired = await analyzeFull(many, { retireAfter: 1 });
    expect(kept.check.analysis.connections).toHaveLength(400);
    expect(retired.check.analysis.retirement.connections).toBeGreaterThan(350);
    expect(retired.check.analysis.retirement.flows).toBe(2 * retired.check.analysis.retirement.connections);
    expect(retired.check.passes.reduce((n, p) => n + p.count, 0)).toBeGreaterThan(400);
    expect(comparable(retired)).toEqual(comparable(kept));
  });
});

const { SYN, ACK, FIN } = TcpFlag;
type Opt = Partial<MptcpOption> & { type: MptcpOption['type'] };
const C: [string, number] = ['10.0.1.1', 40000];
const S: [string, number] = ['10.0.3.1', 5201];
const KEY_A = 0x0102030405060708n;
const KEY_B = 0x1112131415161718n;

/** Feeds segments at given times (s) through a FramePipeline. */
class Timed {
  readonly pipe: FramePipeline;
  constructor(maxFlows?: number, retireAfter?: number, onFinal?: (m: FinalModel) => void) {
    this.pipe = new FramePipeline('<crafted>', 1000, maxFlows, retireAfter, onFinal);
  }
  private n = 0;
  add(t: number, from: 'c' | 's', flags: number, opts: Opt[] = [], client = C, server = S): this {
    const [src, dst] = from === 'c' ? [client, server] : [server, client];
    const options = concat(...opts.map((o) => encodeMptcp({ offset: 0, length: 0, ...o } as MptcpOption)));
    const f = tcp4Frame({ srcPort: src[1], dstPort: dst[1], flags, seq: from === 'c' ? 101 : 901, options }, { src: src[0], dst: dst[0] }, { number: ++this.n });
    f.tsSec = 1000 + Math.floor(t);
    f.tsNsec = Math.round((t % 1) * 1e9);
    this.pipe.onFrame(f);
    return this;
  }
}

/** An MPTCP v1 connection from handshake to DATA_FIN both ways and FIN both ways, at t0 … t0 + 6 s. */
function closedConnection(x: Timed, t0: number, client = C, step = 1): void {
  x.add(t0, 'c', SYN, [{ type: 'MP_CAPABLE', version: 1, flags: 0x01 }], client)
    .add(t0 + step, 's', SYN | ACK, [{ type: 'MP_CAPABLE', version: 1, flags: 0x01, sendersKey: KEY_B }], client)
    .add(t0 + 2 * step, 'c', ACK, [{ type: 'MP_CAPABLE', version: 1, flags: 0x01, sendersKey: KEY_A, receiversKey: KEY_B }], client)
    .add(t0 + 3 * step, 'c', ACK, [{ type: 'DSS', flags: 0x15, dataAck: 1n, dataAck64: false, dataSequenceNumber: 1n, dsn64: false, subflowSequenceNumber: 0, dataLevelLength: 1 }], client)
    .add(t0 + 4 * step, 's', ACK, [{ type: 'DSS', flags: 0x15, dataAck: 2n, dataAck64: false, dataSequenceNumber: 1n, dsn64: false, subflowSequenceNumber: 0, dataLevelLength: 1 }], client)
    .add(t0 + 5 * step, 'c', FIN | ACK, [], client)
    .add(t0 + 6 * step, 's', FIN | ACK, [], client);
}

describe('rules across connections', () => {
  it('MPC-011 key reuse: the later connection retires first; still reported on it, naming the earlier one', () => {
    const run = (retireAfter: number) => {
      const x = new Timed(undefined, retireAfter);
      const check = new CheckSession();
      x.pipe.observers.push(check);
      // Connection 0 (port 40000) spans 0 … 120 s; connection 1 (port 40001, same keys) is over by 7 s.
      closedConnection(x, 0, C, 20);
      closedConnection(x, 1, ['10.0.1.1', 40001]);
      x.add(200, 'c', SYN, [], ['10.0.2.1', 41000]);
      const r = check.finish('<crafted>', x.pipe.analysis({ file: '<crafted>', format: 'pcap', gzip: false, byteOrder: 'little', linkTypes: [1], snaplen: 0, sections: 1, bytes: 0, incomplete: false }));
      return { retired: x.pipe.tracker.retirement.connections, reuse: r.findings.filter((f) => f.id === 'MPC-011').map((f) => [f.connection, f.message]) };
    };
    const kept = run(Number.POSITIVE_INFINITY);
    const retired = run(10);
    expect(retired.retired).toBe(2);
    // Both keys are reused: one finding (aggregated by key 'reuse'), on connection 1, naming connection 0.
    expect(kept.reuse).toEqual([[1, `key 0x${KEY_A.toString(16).padStart(16, '0')} also used by connection 0`]]);
    expect(retired.reuse).toEqual(kept.reuse);
  });
});

describe('streaming retired models (TrackerOptions.onFinal)', () => {
  it('a model is handed over once its tombstones end, with its late FIN counted, and is not kept for the snapshot', () => {
    const handed: FinalModel[] = [];
    const x = new Timed(undefined, undefined, (m) => handed.push(m));
    closedConnection(x, 0);
    x.add(20, 'c', SYN, [], ['10.0.2.1', 41000]);
    // Retired at 20 s, but its tombstone (60 s) still takes late segments: not final yet.
    expect([x.pipe.tracker.retirement.connections, handed.length]).toEqual([1, 0]);
    x.add(36, 's', FIN | ACK);
    expect(handed).toHaveLength(0);
    // The first segment after the tombstone's end (20 + 60 s) hands it over, late FIN included; the plain
    // conversation opened at 20 s has not closed, so it stays live.
    x.add(81, 'c', ACK, [], ['10.0.2.1', 41000]);
    expect(handed).toHaveLength(1);
    const c = handed[0]!.connection!;
    expect(c.id).toBe(-1);
    expect(c.subflows[0]).toMatchObject({ packets: 8, packetsServerToClient: 4, packetsClientToServer: 4, lastFrame: 9 });
    expect([c.end, c.lastFrame, c.ended.how]).toEqual([1036, 9, 'DATA_FIN']);
    const snap = x.pipe.tracker.snapshot();
    expect(snap.connections).toHaveLength(0);
    expect(snap.tcpConnections.map((t) => t.tcpStream)).toEqual([1]);
  });

  it('flushFinal hands over the models still in their tombstones (end of capture), each once', () => {
    const handed: FinalModel[] = [];
    const x = new Timed(undefined, undefined, (m) => handed.push(m));
    closedConnection(x, 0);
    closedConnection(x, 1, ['10.0.1.1', 40001]);
    x.add(20, 'c', SYN, [], ['10.0.2.1', 41000]);
    expect([x.pipe.tracker.retirement.connections, handed.length]).toEqual([2, 0]);
    x.pipe.tracker.flushFinal();
    x.pipe.tracker.flushFinal();
    expect(handed.map((m) => m.connection?.subflows[0]?.client.port)).toEqual([40000, 40001]);
    // Without onFinal the same connections stay in the snapshot (and flushFinal does nothing).
    const kept = new Timed();
    closedConnection(kept, 0);
    closedConnection(kept, 1, ['10.0.1.1', 40001]);
    kept.add(20, 'c', SYN, [], ['10.0.2.1', 41000]);
    kept.pipe.tracker.flushFinal();
    const snap = kept.pipe.tracker.snapshot().connections;
    expect(snap.map(({ id: _id, ...c }) => c)).toEqual(handed.map((m) => m.connection!).map(({ id: _id, ...c }) => c));
  });
});

describe('late segments of a retired connection', () => {
  it('a FIN retransmitted 30 s after the close is counted in its subflow; 2 minutes later a segment starts a new flow', () => {
    const x = new Timed();
    closedConnection(x, 0);
    // Another connection keeps the capture going past the linger (retirement runs as segments arrive).
    x.add(20, 'c', SYN, [], ['10.0.2.1', 41000]);
    expect(x.pipe.tracker.retirement).toMatchObject({ connections: 1, flows: 1, lateSegments: 0 });
    x.add(36, 's', FIN | ACK);
    expect(x.pipe.tracker.retirement.lateSegments).toBe(1);
    let snap = x.pipe.tracker.snapshot();
    expect(snap.connections).toHaveLength(1);
    const c = snap.connections[0]!;
    expect(c.ended.how).toBe('DATA_FIN');
    expect(c.subflows[0]).toMatchObject({ packets: 8, packetsServerToClient: 4, packetsClientToServer: 4, lastFrame: 9 });
    expect(c.lastFrame).toBe(9);
    expect(c.end).toBe(1036);
    // The tombstone lasts 60 s (Linux TIME_WAIT): later, the 4-tuple is a new conversation.
    x.add(200, 's', ACK);
    snap = x.pipe.tracker.snapshot();
    expect(snap.connections).toHaveLength(1);
    expect(snap.tcpConnections.map((t) => [t.tcpStream, t.packets, t.roleGuessed ?? false])).toEqual([
      [1, 1, false],
      [2, 1, true],
    ]);
  });

  it('an MP_JOIN for the token of a retired connection: a connection of unknown keys (as for a token not in the capture)', () => {
    const x = new Timed();
    closedConnection(x, 0);
    const token = x.pipe.tracker.snapshot().connections[0]!.server.token!;
    x.add(30, 'c', SYN, [{ type: 'MP_JOIN', form: 'syn', backup: false, addressId: 1, receiversToken: Number.parseInt(token, 16), sendersRandom: 7 }], ['10.0.2.1', 41000]);
    expect(x.pipe.tracker.retirement.connections).toBe(1);
    const snap = x.pipe.tracker.snapshot();
    expect(snap.connections.map((c) => [c.id, c.keysKnown, c.server.token, c.subflows.map((s) => s.kind)])).toEqual([
      [0, true, token, ['mp_capable']],
      [1, false, token, ['mp_join']],
    ]);
  });

  it('finished connections evicted by the state limit before their time: counted once, as evicted, never retired as well', () => {
    const x = new Timed(4, 100);
    for (let i = 0; i < 50; i++) {
      const c: [string, number] = ['10.9.0.1', 2000 + i];
      x.add(4 * i, 'c', SYN, [], c).add(4 * i + 1, 's', SYN | ACK, [], c).add(4 * i + 2, 'c', FIN | ACK, [], c).add(4 * i + 3, 's', FIN | ACK, [], c);
    }
    x.add(400, 'c', SYN, [], ['10.9.0.2', 1]);
    const t = x.pipe.tracker;
    const snap = t.snapshot();
    expect(t.evictions.flows).toBeGreaterThan(0);
    expect(t.retirement.tcpConnections).toBeGreaterThan(0);
    expect(t.evictions.flows + snap.tcpConnections.length).toBe(51);
    expect(t.evictions.packets + snap.tcpConnections.reduce((n, c) => n + c.packets, 0)).toBe(201);
    expect(new Set(snap.tcpConnections.map((c) => c.tcpStream)).size).toBe(snap.tcpConnections.length);
  });

  it('not finished at the data level (subflow FINs without DATA_FIN): kept to the end', () => {
    const x = new Timed();
    x.add(0, 'c', SYN, [{ type: 'MP_CAPABLE', version: 1, flags: 0x01 }])
      .add(1, 's', SYN | ACK, [{ type: 'MP_CAPABLE', version: 1, flags: 0x01, sendersKey: KEY_B }])
      .add(2, 'c', ACK, [{ type: 'MP_CAPABLE', version: 1, flags: 0x01, sendersKey: KEY_A, receiversKey: KEY_B }])
      .add(3, 'c', FIN | ACK, [{ type: 'DSS', flags: 0x01, dataAck: 1n, dataAck64: false, dsn64: false }])
      .add(4, 's', FIN | ACK, [{ type: 'DSS', flags: 0x01, dataAck: 1n, dataAck64: false, dsn64: false }])
      .add(100, 'c', SYN, [], ['10.0.2.1', 41000]);
    expect(x.pipe.tracker.retirement.connections).toBe(0);
    expect(x.pipe.tracker.flowCount).toBe(2);
  });
});
