/**
 * Adversarial traces through the whole pipeline (crafted with packet-builder, fed to FramePipeline or
 * written with PcapWriter and read by analyzeFile): token collisions (a real 32-bit collision,
 * fixtures/regressions/token-collision.json), MP_JOIN for unknown tokens, 4-tuple reuse, keys never
 * captured, DSN wrap at 2^64 and SSN wrap at 2^32, many connections under the tracker's state limit
 * (eviction counted and reported, retired flows bounded), and option floods (40 bytes of MPTCP options on
 * every segment). The model must not crash and must account for every TCP frame.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CaptureAnalysis, FramePipeline, analyzeFile } from '../../analyzer/analyze.js';
import { openCaptureBytes } from '../../analyzer/capture/open.js';
import type { Frame } from '../../analyzer/capture/types.js';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import { joinSynAckHmac, keyToken } from '../../analyzer/crypto/index.js';
import { ConnectionTracker, DEFAULT_MAX_FLOWS } from '../../analyzer/model/tracker.js';
import type { Connection } from '../../analyzer/model/types.js';
import type { MptcpOption } from '../../analyzer/wire/mptcp/types.js';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { checkAnalysis } from '../../fuzz/engine.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { concat, encodeMptcp, tcp4Frame } from '../helpers/packet-builder.js';

const { SYN, ACK, FIN, RST } = TcpFlag;
type Opt = Partial<MptcpOption> & { type: MptcpOption['type'] };
type Ep = [string, number];

interface Seg {
  from: 'c' | 's';
  flags: number;
  seq?: number;
  ack?: number;
  payload?: number;
  opts?: Opt[];
  raw?: Uint8Array;
}

/** Builds frames of crafted conversations (numbered in order). */
class Trace {
  readonly frames: Frame[] = [];
  add(client: Ep, server: Ep, segs: Seg[]): this {
    for (const s of segs) {
      const [src, dst] = s.from === 'c' ? [client, server] : [server, client];
      const options = s.raw ?? concat(...(s.opts ?? []).map((o) => encodeMptcp({ offset: 0, length: 0, ...o } as MptcpOption)));
      const n = this.frames.length + 1;
      const f = tcp4Frame(
        { srcPort: src[1], dstPort: dst[1], flags: s.flags, seq: s.seq ?? 1000, ack: s.ack ?? 0, options, payload: s.payload ?? 0 },
        { src: src[0], dst: dst[0] },
        { number: n },
      );
      f.tsSec += n;
      this.frames.push(f);
    }
    return this;
  }
  pipeline(maxFlows?: number): FramePipeline {
    const p = new FramePipeline('<adversarial>', 1000, maxFlows);
    for (const f of this.frames) p.onFrame(f);
    return p;
  }
  async analyze(maxFlows?: number, retireAfter?: number): Promise<CaptureAnalysis> {
    const bytes = PcapWriter.bytes(this.frames);
    const a = await analyzeFile('<adversarial>', { source: openCaptureBytes(bytes, '<adversarial>'), ...(maxFlows !== undefined ? { maxFlows } : {}), ...(retireAfter !== undefined ? { retireAfter } : {}) });
    expect(checkAnalysis(a)).toEqual([]);
    const pk = a.connections.reduce((n, c) => n + c.subflows.reduce((m, s) => m + s.packets, 0), 0) + a.tcpConnections.reduce((n, t) => n + t.packets, 0);
    expect(pk + a.stateLimit.packets, 'every TCP frame is in exactly one flow or counted as evicted').toBe(a.counts.tcp);
    return a;
  }
}

/**
 * 100 000 incarnations of the 4-tuple C–S through `tr`: a SYN (fresh ISN) and an RST each, both at time i (s).
 * The two decoded segments are taken once from real frames and re-fed (decoding 200 000 frames is not the point).
 * Returns the most flows the tracker held at once.
 */
function reuseFlood(tr: ConnectionTracker, C: Ep, S: Ep): number {
  const t = new Trace();
  for (let i = 0; i < 3; i++) t.add(C, S, [{ from: 'c', flags: SYN, seq: 1 + i }, { from: 'c', flags: RST, seq: 2 + i }]);
  expect(t.pipeline().counts.tcp).toBe(6);
  const segs: Array<Parameters<ConnectionTracker['onSegment']>[0]> = [];
  const grab = new FramePipeline('<x>');
  grab.observers.push({ onSegment: (s) => segs.push({ ...s, options: { ...s.options, mptcp: [...s.options.mptcp] } }) });
  for (const f of t.frames.slice(0, 2)) grab.onFrame(f);
  const [syn, rst] = segs as [(typeof segs)[0], (typeof segs)[0]];
  let max = 0;
  for (let i = 0; i < 100_000; i++) {
    tr.onSegment({ ...syn, seq: i * 7 + 1, frame: 2 * i + 1 }, i);
    tr.onSegment({ ...rst, frame: 2 * i + 2 }, i);
    max = Math.max(max, tr.flowCount);
  }
  return max;
}

/** 20 long-lived MPTCP connections, then 3 000 plain connections that open and close, then traffic on the 20 (frames 1 s apart). */
function shortConnectionFlood(): Trace {
  const t = new Trace();
  for (let i = 0; i < 20; i++) t.add(['10.0.1.1', 30000 + i], ['10.0.3.1', 5201], mpcHandshake(BigInt(i + 1), BigInt(i + 1000)));
  for (let i = 0; i < 3000; i++) {
    t.add(['10.9.0.1', 1024 + i], ['10.0.3.1', 80], [
      { from: 'c', flags: SYN, seq: 1 },
      { from: 's', flags: SYN | ACK, seq: 1 },
      { from: 'c', flags: FIN | ACK, seq: 2 },
      { from: 's', flags: FIN | ACK, seq: 2 },
    ]);
  }
  for (let i = 0; i < 20; i++) t.add(['10.0.1.1', 30000 + i], ['10.0.3.1', 5201], [{ from: 'c', flags: ACK, seq: 111, payload: 5, opts: [{ type: 'DSS', flags: 0x01, dataAck: 1n, dataAck64: false, dsn64: false }] }]);
  return t;
}

/** A full v1 MP_CAPABLE handshake + one data segment each way. */
function mpcHandshake(clientKey: bigint, serverKey: bigint, version = 1): Seg[] {
  return [
    { from: 'c', flags: SYN, seq: 100, opts: [{ type: 'MP_CAPABLE', version, flags: 0x01, ...(version === 0 ? { sendersKey: clientKey } : {}) }] },
    { from: 's', flags: SYN | ACK, seq: 500, opts: [{ type: 'MP_CAPABLE', version, flags: 0x01, sendersKey: serverKey }] },
    { from: 'c', flags: ACK, seq: 101, opts: [{ type: 'MP_CAPABLE', version, flags: 0x01, sendersKey: clientKey, receiversKey: serverKey }] },
    { from: 'c', flags: ACK, seq: 101, payload: 10, opts: [{ type: 'DSS', flags: 0x05, dataAck: 1n, dataAck64: false, dataSequenceNumber: 1n, dsn64: false, subflowSequenceNumber: 1, dataLevelLength: 10 }] },
  ];
}

/** MP_JOIN SYN → SYN/ACK (HMAC with the receiver's and initiator's keys) → ACK. */
function join3(token: number, keyR: bigint, keyI: bigint, version: 0 | 1, addressId = 1): Seg[] {
  const randI = 0x11111111;
  const randR = 0x22222222;
  return [
    { from: 'c', flags: SYN, seq: 7000, opts: [{ type: 'MP_JOIN', form: 'syn', backup: false, addressId, receiversToken: token, sendersRandom: randI }] },
    { from: 's', flags: SYN | ACK, seq: 9000, opts: [{ type: 'MP_JOIN', form: 'syn-ack', backup: false, addressId: 0, truncatedHmac: joinSynAckHmac(keyR, keyI, randR, randI, version), sendersRandom: randR }] },
    { from: 'c', flags: ACK, seq: 7001, opts: [{ type: 'MP_JOIN', form: 'ack', hmac: new Uint8Array(20) }] },
  ];
}

const collisions = JSON.parse(readFileSync(join(FIXTURES, 'regressions', 'token-collision.json'), 'utf8')) as Record<'v0' | 'v1', { token: string; keyA: string; keyB: string }>;

describe('token collisions (two connections, one token)', () => {
  for (const v of [1, 0] as const) {
    const c = collisions[v === 1 ? 'v1' : 'v0'];
    const keyA = BigInt(`0x${c.keyA}`);
    const keyB = BigInt(`0x${c.keyB}`);
    it(`v${v}: the committed keys really collide (token ${c.token})`, () => {
      expect(keyToken(keyA, v)).toBe(Number.parseInt(c.token, 16));
      expect(keyToken(keyB, v)).toBe(Number.parseInt(c.token, 16));
      expect(keyA).not.toBe(keyB);
    });
    it(`v${v}: both connections are reported, the token names both, each join goes to the connection whose keys verify its SYN/ACK HMAC`, async () => {
      const token = Number.parseInt(c.token, 16);
      const cli1 = 0x0a0a0a0a0a0a0a0an;
      const cli2 = 0x0b0b0b0b0b0b0b0bn;
      const t = new Trace()
        .add(['10.0.1.1', 40000], ['10.0.3.1', 5201], mpcHandshake(cli1, keyA, v))
        .add(['10.0.2.1', 41000], ['10.0.4.1', 5201], mpcHandshake(cli2, keyB, v))
        // join to connection 2's server (key B), then one to connection 1's server (key A)
        .add(['10.0.2.2', 41001], ['10.0.4.1', 5201], join3(token, keyB, cli2, v))
        .add(['10.0.1.2', 40001], ['10.0.3.1', 5201], join3(token, keyA, cli1, v));
      const a = await t.analyze();
      expect(a.connections.length).toBe(2);
      const [c1, c2] = a.connections as [Connection, Connection];
      expect(c1.server.token).toBe(c.token);
      expect(c2.server.token).toBe(c.token);
      expect(c1.server.key).toBe(c.keyA);
      expect(c2.server.key).toBe(c.keyB);
      // RFC 8684 §3.2: the SYN/ACK HMAC is keyed with the receiver's and the initiator's keys, so it names the connection.
      expect(c2.subflows.map((s) => s.client.ip)).toEqual(['10.0.2.1', '10.0.2.2']);
      expect(c1.subflows.map((s) => s.client.ip)).toEqual(['10.0.1.1', '10.0.1.2']);
    });
  }
});

describe('MP_JOIN for unknown tokens', () => {
  it('a join whose token matches no captured key is its own connection: keys unknown, server token = the join token', async () => {
    const a = await new Trace()
      .add(['10.0.1.1', 40000], ['10.0.3.1', 5201], mpcHandshake(1n, 2n))
      .add(['10.0.1.2', 40001], ['10.0.3.1', 5201], join3(0xdeadbeef, 3n, 4n, 1))
      .add(['10.0.1.3', 40002], ['10.0.3.1', 5201], join3(0xdeadbeef, 3n, 4n, 1, 2))
      .analyze();
    expect(a.connections.length).toBe(2);
    const u = a.connections[1]!;
    expect(u.keysKnown).toBe(false);
    expect(u.server.token).toBe('deadbeef');
    expect(u.server.key).toBeNull();
    // both joins carrying the same unknown token are grouped into that one connection
    expect(u.subflows.map((s) => [s.kind, s.joinToken, s.addressId])).toEqual([
      ['mp_join', 'deadbeef', 1],
      ['mp_join', 'deadbeef', 2],
    ]);
  });

  it('an MP_JOIN ACK alone (no SYN captured) is an unknown-kind MPTCP connection, not lost', async () => {
    const a = await new Trace().add(['10.0.1.2', 40001], ['10.0.3.1', 5201], [join3(1, 2n, 3n, 1)[2]!]).analyze();
    expect(a.connections.length).toBe(1);
    expect(a.connections[0]!.subflows[0]!.packets).toBe(1);
  });
});

describe('4-tuple reuse', () => {
  const C: Ep = ['10.0.1.1', 40000];
  const S: Ep = ['10.0.3.1', 5201];
  const close: Seg[] = [
    { from: 'c', flags: FIN | ACK, seq: 111 },
    { from: 's', flags: FIN | ACK, seq: 501 },
  ];
  it('a new SYN with another ISN after FIN both ways starts a new connection (new tcpStream)', async () => {
    const again = mpcHandshake(5n, 6n).map((s, i) => (i === 0 ? { ...s, seq: 90000 } : s));
    const a = await new Trace().add(C, S, [...mpcHandshake(1n, 2n), ...close]).add(C, S, again).analyze();
    expect(a.connections.map((c) => [c.client.key, c.subflows[0]!.tcpStream, c.subflows[0]!.packets])).toEqual([
      ['0000000000000001', 0, 6],
      ['0000000000000005', 1, 4],
    ]);
    expect(a.connections[0]!.subflows[0]!.ended.how).toBe('FIN');
  });
  it('after RST too; a SYN with the same ISN (retransmission) does not', async () => {
    const a = await new Trace()
      .add(C, S, [...mpcHandshake(1n, 2n), { from: 's', flags: RST, seq: 501 }])
      .add(C, S, [{ from: 'c', flags: SYN, seq: 100, opts: [{ type: 'MP_CAPABLE', version: 1, flags: 1 }] }])
      .add(C, S, [{ from: 'c', flags: SYN, seq: 4242, opts: [{ type: 'MP_CAPABLE', version: 1, flags: 1 }] }])
      .analyze();
    expect(a.connections.map((c) => c.subflows[0]!.packets)).toEqual([6, 1]);
    expect(a.connections[0]!.ended.how).toBe('RST');
  });
  it('a SYN with another ISN on an open 4-tuple stays in the same flow (not closed: no reuse)', async () => {
    const a = await new Trace()
      .add(C, S, mpcHandshake(1n, 2n))
      .add(C, S, [{ from: 'c', flags: SYN, seq: 4242, opts: [{ type: 'MP_CAPABLE', version: 1, flags: 1 }] }])
      .analyze();
    expect(a.connections.length).toBe(1);
    expect(a.connections[0]!.subflows[0]!.packets).toBe(5);
  });
  it('100 000 reuses of one 4-tuple with maxFlows 64 and no retirement: flows held stay ≤ 64, the rest are evicted and counted', () => {
    const tr = new ConnectionTracker({ maxFlows: 64, retireAfter: Number.POSITIVE_INFINITY });
    const max = reuseFlood(tr, C, S);
    expect(max).toBeLessThanOrEqual(64);
    expect(tr.evictions.flows + tr.flowCount).toBe(100_000);
    expect(tr.evictions.closedFlows).toBe(tr.evictions.flows);
    expect(tr.snapshot().tcpConnections.length).toBe(tr.flowCount);
  });
  it('100 000 reuses of one 4-tuple, retired 10 s after each RST: 11 flows held, none evicted, every one in the model', () => {
    const tr = new ConnectionTracker({ maxFlows: 64 });
    const max = reuseFlood(tr, C, S);
    // Both segments of flow i at time i: it is retired by the first segment later than i + 10, so the flows of
    // the last 10 s (11 of them) are held.
    expect(max).toBe(11);
    expect(tr.evictions.flows).toBe(0);
    expect(tr.retirement).toMatchObject({ afterSeconds: 10, tcpConnections: 100_000 - tr.flowCount, connections: 0, lateSegments: 0 });
    const model = tr.snapshot().tcpConnections;
    expect(model.length).toBe(100_000);
    expect(model.every((t, n) => t.tcpStream === n && t.packets === 2 && t.ended.how === 'RST')).toBe(true);
  });
});

describe('keys that never appear (capture starts mid-connection)', () => {
  it('DSS-only traffic both ways: one MPTCP connection, version/keys unknown, every packet counted', async () => {
    const segs: Seg[] = [];
    for (let i = 0; i < 50; i++) {
      segs.push({ from: i % 2 === 0 ? 'c' : 's', flags: ACK, seq: 1000 + i, payload: 100, opts: [{ type: 'DSS', flags: 0x05, dataAck: BigInt(i), dataAck64: false, dataSequenceNumber: BigInt(i * 100), dsn64: false, subflowSequenceNumber: i * 100, dataLevelLength: 100 }] });
    }
    const a = await new Trace().add(['10.0.1.1', 40000], ['10.0.3.1', 5201], segs).analyze();
    expect(a.connections.length).toBe(1);
    const c = a.connections[0]!;
    expect([c.version, c.handshake, c.keysKnown, c.client.key, c.server.key]).toEqual([null, 'not-captured', false, null, null]);
    expect(c.subflows[0]!.bytes).toBe(5000);
    expect(c.subflows[0]!.roleGuessed).toBe(true);
  });
});

describe('sequence-space wrap', () => {
  it('DSN wrapping at 2^64 (8-byte DSN and Data ACK) and SSN / TCP seq wrapping at 2^32: no crash, exact counts', async () => {
    const top = (1n << 64n) - 150n;
    const segs: Seg[] = [...mpcHandshake(1n, 2n)];
    for (let i = 0; i < 6; i++) {
      const dsn = BigInt.asUintN(64, top + BigInt(i) * 100n);
      segs.push({
        from: 'c',
        flags: ACK,
        seq: (0xffffff00 + i * 100) >>> 0,
        payload: 100,
        opts: [{ type: 'DSS', flags: 0x0f, dataAck: BigInt.asUintN(64, top + 7n), dataAck64: true, dataSequenceNumber: dsn, dsn64: true, subflowSequenceNumber: (0xffffff80 + i * 100) >>> 0, dataLevelLength: 100 }],
      });
      segs.push({ from: 's', flags: ACK, seq: 501, opts: [{ type: 'DSS', flags: 0x03, dataAck: BigInt.asUintN(64, dsn + 100n), dataAck64: true, dsn64: false }] });
    }
    // a 4-byte DSN at 0xffffffff with a length that crosses 2^32
    segs.push({ from: 'c', flags: ACK, seq: 0xfffffff0, payload: 40, opts: [{ type: 'DSS', flags: 0x05, dataAck: 0xffffffffn, dataAck64: false, dataSequenceNumber: 0xffffffe0n, dsn64: false, subflowSequenceNumber: 0xfffffff0, dataLevelLength: 40 }] });
    const a = await new Trace().add(['10.0.1.1', 40000], ['10.0.3.1', 5201], segs).analyze();
    const sf = a.connections[0]!.subflows[0]!;
    expect(sf.packets).toBe(4 + 12 + 1);
    expect(sf.bytesClientToServer).toBe(10 + 600 + 40);
    expect(sf.optionCounts.DSS).toBe(1 + 12 + 1);
    expect(a.connections[0]!.fallback).toBeNull();
  });
});

describe('state limit (many connections)', () => {
  it('has a documented default', () => {
    expect(new ConnectionTracker().maxFlows).toBe(DEFAULT_MAX_FLOWS);
    expect(DEFAULT_MAX_FLOWS).toBeGreaterThanOrEqual(100_000);
  });

  it('without retirement, open flows survive a flood of short closed connections: closed ones are evicted first, counted, and reported', async () => {
    const t = shortConnectionFlood();
    const a = await t.analyze(256, Number.POSITIVE_INFINITY);
    expect(a.connections.length).toBe(20);
    expect(a.connections.every((c) => c.handshake === 'complete' && c.subflows[0]!.packets === 5)).toBe(true);
    const e = a.stateLimit;
    expect(e.maxFlows).toBe(256);
    expect(e.flows + a.tcpConnections.length + a.connections.length).toBe(3020);
    expect(e.flows).toBeGreaterThanOrEqual(3020 - 256);
    expect(e.mptcpFlows).toBe(0);
    expect(e.closedFlows).toBe(e.flows);
    expect(e.packets).toBe(4 * e.flows);
    const notice = a.errors.find((i) => i.layer === 'model');
    expect(notice?.kind).toBe('limit');
    expect(notice?.message).toMatch(new RegExp(`state limit of 256 flows reached: ${e.flows} flow\\(s\\) evicted`));
    expect(notice?.frame).toBe(e.firstFrame);
  });

  it('with retirement (default), a flood of short closed connections is retired, not evicted: all of it stays in the model', async () => {
    const t = shortConnectionFlood();
    const a = await t.analyze(256);
    expect(a.stateLimit.flows).toBe(0);
    expect(a.connections.length).toBe(20);
    expect(a.connections.every((c) => c.handshake === 'complete' && c.subflows[0]!.packets === 5)).toBe(true);
    expect(a.tcpConnections.length).toBe(3000);
    expect(a.tcpConnections.every((c, n) => c.tcpStream === 20 + n && c.packets === 4 && c.ended.how === 'FIN')).toBe(true);
    // Frames are 1 s apart: all but the flows closed in the last 10 s (+ the 20 open ones' 20 frames) were retired.
    expect(a.retirement.tcpConnections).toBeGreaterThanOrEqual(3000 - 3);
    expect(a.retirement.connections).toBe(0);
    expect(a.errors.some((i) => i.layer === 'model')).toBe(false);
  });

  it('200 000 connections through the tracker with maxFlows 5 000: held flows never exceed the limit, all accounted for', () => {
    const tr = new ConnectionTracker({ maxFlows: 5000 });
    const grab = new FramePipeline('<x>');
    const segs: Array<Parameters<ConnectionTracker['onSegment']>[0]> = [];
    grab.observers.push({ onSegment: (s) => segs.push({ ...s }) });
    grab.onFrame(tcp4Frame({ srcPort: 1, dstPort: 5201, flags: SYN, options: encodeMptcp({ type: 'MP_CAPABLE', version: 1, flags: 1, offset: 0, length: 0 } as MptcpOption) }, { src: '10.0.0.1', dst: '10.0.3.1' }));
    const syn = segs[0]!;
    let max = 0;
    for (let i = 0; i < 200_000; i++) {
      tr.onSegment({ ...syn, src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, srcPort: 1024 + (i % 60000), frame: i + 1 }, i);
      if ((i & 1023) === 0) max = Math.max(max, tr.flowCount);
    }
    expect(max).toBeLessThanOrEqual(5000);
    expect(tr.flowCount).toBeLessThanOrEqual(5000);
    expect(tr.evictions.flows + tr.flowCount).toBe(200_000);
    expect(tr.evictions.mptcpFlows).toBe(tr.evictions.flows);
    const snap = tr.snapshot();
    expect(snap.connections.length).toBe(tr.flowCount);
    // the survivors are the newest flows (idle ones are evicted oldest first)
    expect(Math.min(...snap.connections.map((c) => c.firstFrame))).toBeGreaterThan(200_000 - 5000 - 5000 / 16 - 1);
  });

  it('a join whose initial subflow was evicted becomes an unknown-token connection, still reported', async () => {
    const t = new Trace().add(['10.0.1.1', 40000], ['10.0.3.1', 5201], mpcHandshake(1n, 2n));
    for (let i = 0; i < 10; i++) t.add(['10.9.0.1', 1024 + i], ['10.0.3.1', 80], [{ from: 'c', flags: SYN, seq: 1 }]);
    t.add(['10.0.1.2', 40001], ['10.0.3.1', 5201], join3(keyToken(2n, 1), 2n, 1n, 1));
    const a = await t.analyze(4);
    expect(a.stateLimit.flows).toBeGreaterThan(0);
    const j = a.connections.find((c) => c.subflows.some((s) => s.kind === 'mp_join'));
    expect(j?.server.token).toBe(keyToken(2n, 1).toString(16).padStart(8, '0'));
  });
});

describe('option floods', () => {
  it('40 bytes of MPTCP options on each of 20 000 segments: no crash, options counted, per-flow records bounded', async () => {
    const C: Ep = ['10.0.1.1', 40000];
    const S: Ep = ['10.0.3.1', 5201];
    const t = new Trace().add(C, S, mpcHandshake(1n, 2n));
    // 40 bytes each: REMOVE_ADDR with 37 IDs; 13 × MP_PRIO (3 bytes) + NOP; 2 × ADD_ADDR with port and HMAC (18) + 4 NOPs.
    const removeAddr = encodeMptcp({ type: 'REMOVE_ADDR', addressIds: Array.from({ length: 37 }, (_, i) => i), offset: 0, length: 0 } as MptcpOption);
    const prio13 = concat(...Array.from({ length: 13 }, () => encodeMptcp({ type: 'MP_PRIO', backup: true, offset: 0, length: 0 } as MptcpOption)), [1]);
    const addAddr = concat(
      encodeMptcp({ type: 'ADD_ADDR', version: 1, ipVersion: 4, echo: false, addressId: 9, address: '10.0.9.9', port: 80, truncatedHmac: 5n, offset: 0, length: 0 } as MptcpOption),
      encodeMptcp({ type: 'ADD_ADDR', version: 1, ipVersion: 4, echo: false, addressId: 10, address: '10.0.9.10', port: 81, truncatedHmac: 6n, offset: 0, length: 0 } as MptcpOption),
      [1, 1, 1, 1],
    );
    expect([removeAddr.length, prio13.length, addAddr.length]).toEqual([40, 40, 40]);
    const kinds = [removeAddr, prio13, addAddr];
    const segs: Seg[] = [];
    for (let i = 0; i < 20_000; i++) segs.push({ from: i % 2 === 0 ? 'c' : 's', flags: ACK, seq: 200 + i, raw: kinds[i % 3]! });
    t.add(C, S, segs);
    const p = t.pipeline();
    const snap = p.tracker.snapshot();
    const sf = snap.connections[0]!.subflows[0]!;
    const n = [0, 1, 2].map((k) => Math.floor((20_000 - k + 2) / 3));
    expect(sf.optionCounts.REMOVE_ADDR).toBe(n[0]);
    expect(sf.optionCounts.MP_PRIO).toBe(13 * n[1]!);
    expect(sf.optionCounts.ADD_ADDR).toBe(2 * n[2]!);
    expect(p.counts.tcp).toBe(20_004);
    // Memory grows with live state, not with packets: the per-flow event lists are capped and the rest counted.
    const c = snap.connections[0]!;
    expect(c.addAddr.length + c.removeAddr.length + c.prio.length).toBeLessThanOrEqual(3 * 1024);
    expect(sf.eventsDropped).toBe(2 * n[2]! + n[0]! + 13 * n[1]! - (c.addAddr.length + c.removeAddr.length + c.prio.length));
  });
});
