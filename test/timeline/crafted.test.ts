/**
 * Timelines on crafted captures (written with PcapWriter, read back through analyzeFile): 32→64-bit
 * widening of 4-byte DSNs and Data ACKs across 2^32 (RFC 8684 §3.3.1: the 4-byte forms carry the low
 * 32 bits), with and without known keys; DATA_FIN taking one DSN (RFC 8684 §3.3.3) and its ack;
 * MP_CAPABLE with data as an implicit mapping (RFC 8684 §3.1); a reinjection built on purpose; and the
 * memory bound (live state independent of the number of packets).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../analyzer/analyze.js';
import type { WritableFrame } from '../../analyzer/capture/writer.js';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import { keyIdsn } from '../../analyzer/crypto/keys.js';
import { TimelineObserver } from '../../analyzer/timeline/observer.js';
import type { TimelineResult } from '../../analyzer/timeline/types.js';
import type { DssOption, MpCapableOption } from '../../analyzer/wire/mptcp/types.js';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { encodeMptcp, tcp4Frame } from '../helpers/packet-builder.js';
import { tempDir } from '../helpers/tmp.js';

const C = '10.9.0.1';
const S = '10.9.0.2';
const CP = 40000;
const SP = 5201;
const tmp = tempDir('mptcpscope-timeline-');
let fileNo = 0;

interface Seg {
  from: 'c' | 's';
  seq: number;
  ack: number;
  flags?: number;
  payload?: number;
  opts?: Uint8Array[];
  time: number;
}

/** DSS option bytes: flags from the fields present (A 0x01, a 0x02, M 0x04, m 0x08, F 0x10). */
function dss(o: { ack?: bigint; ack64?: boolean; dsn?: bigint; dsn64?: boolean; ssn?: number; dll?: number; fin?: boolean }): Uint8Array {
  let flags = 0;
  if (o.ack !== undefined) flags |= 0x01 | (o.ack64 ? 0x02 : 0);
  if (o.dsn !== undefined) flags |= 0x04 | (o.dsn64 ? 0x08 : 0);
  if (o.fin) flags |= 0x10;
  const opt: DssOption = {
    type: 'DSS',
    offset: 0,
    length: 0,
    flags,
    dataFin: o.fin === true,
    dataAck64: o.ack64 === true,
    dsn64: o.dsn64 === true,
  };
  if (o.ack !== undefined) opt.dataAck = o.ack64 ? o.ack : BigInt.asUintN(32, o.ack);
  if (o.dsn !== undefined) {
    opt.dataSequenceNumber = o.dsn64 ? o.dsn : BigInt.asUintN(32, o.dsn);
    opt.subflowSequenceNumber = o.ssn ?? 0;
    opt.dataLevelLength = o.dll ?? 0;
  }
  return encodeMptcp(opt);
}

function mpc(o: Partial<MpCapableOption>): Uint8Array {
  return encodeMptcp({ type: 'MP_CAPABLE', offset: 0, length: 0, version: 1, flags: 0x01, checksumRequired: false, extensibility: false, noJoinToSourceAddress: false, hmacAlgorithm: true, form: 'syn', ...o });
}

function concatOpts(list: Uint8Array[] | undefined): number[] {
  const out: number[] = [];
  for (const o of list ?? []) out.push(...o);
  return out;
}

async function run(segs: Seg[], opts: ConstructorParameters<typeof TimelineObserver>[0] = {}): Promise<{ r: TimelineResult; obs: TimelineObserver }> {
  const frames: WritableFrame[] = segs.map((s, i) => {
    const f = tcp4Frame(
      {
        srcPort: s.from === 'c' ? CP : SP,
        dstPort: s.from === 'c' ? SP : CP,
        seq: s.seq >>> 0,
        ack: s.ack >>> 0,
        flags: s.flags ?? TcpFlag.ACK,
        options: concatOpts(s.opts),
        payload: s.payload ?? 0,
      },
      { src: s.from === 'c' ? C : S, dst: s.from === 'c' ? S : C },
      { number: i + 1 },
    );
    return { data: f.data, tsSec: Math.floor(s.time), tsNsec: Math.round((s.time % 1) * 1e9) };
  });
  const path = join(tmp, `t${fileNo++}.pcap`);
  writeFileSync(path, PcapWriter.bytes(frames));
  const obs = new TimelineObserver(opts);
  const a = await analyzeFile(path, { observers: [obs] });
  return { r: obs.result({ connections: a.connections, tcpConnections: a.tcpConnections }), obs };
}

/** A client key whose v1 IDSN has its low 32 bits within `room` bytes of 2^32 (found by search). */
function keyNearWrap(room: number): { key: bigint; idsn: bigint } {
  for (let k = 1n; ; k++) {
    const idsn = keyIdsn(k, 1);
    if (Number(idsn & 0xffffffffn) > 0xffffffff - room) return { key: k, idsn };
  }
}

describe('DSN widening across 2^32', () => {
  it('keys unknown (capture starts mid-connection): 4-byte DSNs and Data ACKs continue past the wrap, relative to the first seen', async () => {
    const first = 0xfffff000n; // 4096 bytes below 2^32
    const n = 20;
    const len = 1000;
    const segs: Seg[] = [];
    let t = 1_700_000_000;
    for (let i = 0; i < n; i++) {
      const dsn = first + BigInt(i * len);
      segs.push({ from: 'c', seq: 5000 + i * len, ack: 9000, payload: len, opts: [dss({ dsn, ssn: 1 + i * len, dll: len })], time: (t += 0.001) });
      segs.push({ from: 's', seq: 9000, ack: 5000 + (i + 1) * len, opts: [dss({ ack: dsn + BigInt(len) })], time: (t += 0.001) });
    }
    const { r } = await run(segs);
    expect(r.connections).toHaveLength(1);
    const d = r.connections[0]!.data[0];
    expect(d.dsnBase).toBe('first-seen');
    expect(d.dsnBaseValue).toBe(String(first - 1n));
    expect(d.uniqueBytes).toBe(n * len);
    expect(d.highestDsn).toBe(n * len + 1);
    expect(d.dataAck).toBe(n * len + 1);
    expect(d.holes).toEqual({ filled: 0, captureMissed: 0, open: 0 });
    expect(d.outOfOrder.segments).toBe(0);
    expect(d.reinjections.count).toBe(0);
    // The subflow ISN was inferred from the first mapping (seq 5000 ↔ SSN 1).
    expect(r.connections[0]!.subflows[0]!.dirs[0].isnSource).toBe('mapping');
    expect(r.connections[0]!.subflows[0]!.dirs[0].highestSeq).toBe(n * len + 1);
    // Every ACK came 1 ms after its segment: one SEQ→ACK sample each, 1 ms (capture timestamps are µs).
    const rtt = r.connections[0]!.subflows[0]!.dirs[0].rtt;
    expect(rtt.samples).toBe(n);
    expect(rtt.min).toBeCloseTo(0.001, 5);
    expect(rtt.max).toBeCloseTo(0.001, 5);
    expect(rtt.srtt).toBeCloseTo(0.001, 5);
  });

  it('keys known: DSNs relative to the IDSN (first byte = IDSN+1) across the wrap; DATA_FIN takes one DSN and is acknowledged', async () => {
    const { key, idsn } = keyNearWrap(1 << 20);
    const serverKey = 0x0123456789abcdefn;
    const len = 60000;
    const n = Math.ceil((2 ** 32 - Number(idsn & 0xffffffffn)) / len) + 5; // past the wrap
    const ci = 1000;
    const si = 7000;
    let t = 1_700_000_000;
    const segs: Seg[] = [
      { from: 'c', seq: ci, ack: 0, flags: TcpFlag.SYN, opts: [mpc({ form: 'syn' })], time: (t += 0.001) },
      { from: 's', seq: si, ack: ci + 1, flags: TcpFlag.SYN | TcpFlag.ACK, opts: [mpc({ form: 'syn-ack', sendersKey: serverKey })], time: (t += 0.001) },
      { from: 'c', seq: ci + 1, ack: si + 1, opts: [mpc({ form: 'ack', sendersKey: key, receiversKey: serverKey })], time: (t += 0.001) },
    ];
    for (let i = 0; i < n; i++) {
      const dsn = idsn + 1n + BigInt(i * len);
      const last = i === n - 1;
      segs.push({
        from: 'c',
        seq: ci + 1 + i * len,
        ack: si + 1,
        payload: len,
        opts: [dss({ dsn, ssn: 1 + i * len, dll: last ? len + 1 : len, fin: last })],
        time: (t += 0.001),
      });
      segs.push({ from: 's', seq: si + 1, ack: ci + 1 + (i + 1) * len, opts: [dss({ ack: dsn + BigInt(last ? len + 1 : len) })], time: (t += 0.001) });
    }
    const { r } = await run(segs);
    const c = r.connections[0]!;
    expect(c.keysKnown).toBe(true);
    const d = c.data[0];
    expect(d.dsnBase).toBe('idsn');
    expect(d.dsnBaseValue).toBe(idsn.toString());
    expect(d.uniqueBytes).toBe(n * len);
    expect(d.highestDsn).toBe(n * len + 1);
    expect(d.dataFin?.dsn).toBe(n * len + 1);
    expect(d.dataFin?.frame).toBe(3 + 2 * n - 1);
    expect(d.dataAck).toBe(n * len + 2);
    expect(d.dataFinAck?.frame).toBe(3 + 2 * n);
    expect(d.holes.open).toBe(0);
    expect(d.outOfOrder.segments).toBe(0);
    expect(c.subflows[0]!.dirs[0].isnSource).toBe('syn');
    expect(c.subflows[0]!.mappingConflicts).toBe(0);
  });
});

describe('mappings', () => {
  it('MP_CAPABLE with data maps SSN 1 to IDSN+1: the next 8-byte DSN mapping (IDSN+501) follows without a gap', async () => {
    const clientKey = 0x1111222233334444n;
    const serverKey = 0x5555666677778888n;
    const idsn = keyIdsn(clientKey, 1);
    let t = 1_700_000_000;
    const ci = 100;
    const si = 200;
    const segs: Seg[] = [
      { from: 'c', seq: ci, ack: 0, flags: TcpFlag.SYN, opts: [mpc({ form: 'syn' })], time: (t += 0.001) },
      { from: 's', seq: si, ack: ci + 1, flags: TcpFlag.SYN | TcpFlag.ACK, opts: [mpc({ form: 'syn-ack', sendersKey: serverKey })], time: (t += 0.001) },
      // Frame 3: MP_CAPABLE ACK with 500 bytes of data (RFC 8684 §3.1, Data-Level Length 500).
      { from: 'c', seq: ci + 1, ack: si + 1, payload: 500, opts: [mpc({ form: 'ack-data', sendersKey: clientKey, receiversKey: serverKey, dataLevelLength: 500 })], time: (t += 0.001) },
      // Frame 4: next 500 bytes with an explicit 8-byte DSN.
      { from: 'c', seq: ci + 501, ack: si + 1, payload: 500, opts: [dss({ dsn: idsn + 501n, dsn64: true, ssn: 501, dll: 500 })], time: (t += 0.001) },
    ];
    const { r } = await run(segs);
    const d = r.connections[0]!.data[0];
    expect(d.uniqueBytes).toBe(1000);
    expect(d.highestDsn).toBe(1001);
    expect(d.holes.open).toBe(0);
    expect(r.connections[0]!.subflows[0]!.mappings).toBe(2);
    expect(r.connections[0]!.subflows[0]!.unmappedBytes).toBe(0);
  });
});

describe('infinite mapping and retransmissions', () => {
  it('Data-Level Length 0 maps every later byte of the subflow; a resent segment is a retransmission, its gap filled', async () => {
    let t = 1_700_000_000;
    const len = 1000;
    const segs: Seg[] = [
      // Infinite mapping (RFC 8684 §3.3.1: Data-Level Length 0) at SSN 1 → DSN 5000.
      { from: 'c', seq: 101, ack: 900, payload: len, opts: [dss({ dsn: 5000n, dsn64: true, ssn: 1, dll: 0 })], time: (t += 0.001) },
      // No DSS on the rest (as after a fallback to an infinite mapping); frame 3 skips 1000 bytes (a gap).
      { from: 'c', seq: 101 + len, ack: 900, payload: len, time: (t += 0.001) },
      { from: 'c', seq: 101 + 3 * len, ack: 900, payload: len, time: (t += 0.001) },
      // The gap, sent late (a retransmission of data the capture did not see the first time).
      { from: 'c', seq: 101 + 2 * len, ack: 900, payload: len, time: (t += 0.001) },
    ];
    const { r } = await run(segs);
    const sf = r.connections[0]!.subflows[0]!;
    expect(sf.infiniteMapping?.frame).toBe(1);
    expect(sf.unmappedBytes).toBe(0);
    const d = r.connections[0]!.data[0];
    expect(d.uniqueBytes).toBe(4 * len);
    expect(d.highestDsn).toBe(5000 - 4999 + 4 * len); // relative to the first DSN seen − 1
    expect(d.outOfOrder).toEqual({ segments: 1, bytes: len, maxDistance: 2 * len });
    expect(d.holes).toEqual({ filled: 1, captureMissed: 0, open: 0 });
    const sd = sf.dirs[0];
    expect(sd.retransmissions).toBe(1);
    expect(sd.retransmissionsOriginalUnseen).toBe(1);
    expect(sd.holes.retransmitted).toBe(1);
    expect(sd.newBytes).toBe(4 * len);
  });
});

describe('memory', () => {
  async function live(n: number): Promise<{ peak: number; end: number }> {
    const segs: Seg[] = [];
    let t = 1_700_000_000;
    const len = 100;
    for (let i = 0; i < n; i++) {
      segs.push({ from: 'c', seq: 5000 + i * len, ack: 9000, payload: len, opts: [dss({ dsn: 1_000_000n + BigInt(i * len), dsn64: true, ssn: 1 + i * len, dll: len })], time: (t += 0.0001) });
      if (i % 2 === 1) segs.push({ from: 's', seq: 9000, ack: 5000 + (i + 1) * len, opts: [dss({ ack: 1_000_000n + BigInt((i + 1) * len), ack64: true })], time: (t += 0.0001) });
    }
    const { obs, r } = await run(segs);
    expect(r.connections[0]!.data[0].uniqueBytes).toBe(n * len);
    return { peak: obs.peakLiveState, end: obs.liveState };
  }

  it('live state (mappings, send records, holes) depends on the window, not the packet count', async () => {
    const small = await live(1000);
    const big = await live(20000);
    expect(big.peak).toBe(small.peak);
    expect(big.peak).toBeLessThan(10);
    expect(big.end).toBeLessThan(10);
  });
});
