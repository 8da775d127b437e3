/**
 * Data-level sequence rules (conformance/rules/sequence.ts) on crafted captures: a minimal valid v1
 * connection (as crafted-rules.test.ts, with window scale 0 on both SYNs) gives none of them; each variant
 * breaks one rule. Real captures: 08a (DSS stripped on non-SYN segments) is a fallback, not DSS-003;
 * 15b (one payload byte flipped by the router) triggers DSS-006 at the server; the clean captures are in
 * clean.test.ts. MBX-* findings are left out (tested in test/middlebox/).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import { joinAckHmac, joinSynAckHmac, keyIdsn, keyToken } from '../../analyzer/crypto/index.js';
import type { MptcpOption } from '../../analyzer/wire/mptcp/types.js';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { checkFile } from '../../conformance/engine.js';
import { SEQUENCE_RULES } from '../../conformance/rules/sequence.js';
import { concat, encodeMptcp, tcp4Frame } from '../helpers/packet-builder.js';
import { checkFixture, tmp } from './helpers.js';

const KA = 0x0102030405060708n;
const KB = 0x1112131415161718n;
const IA = keyIdsn(KA, 1);
const IB = keyIdsn(KB, 1);
const { SYN, ACK } = TcpFlag;
const WS0 = [1, 3, 3, 0];

interface Pkt {
  from: 'c' | 's';
  seq: number;
  ack: number;
  flags: number;
  opts: Array<Partial<MptcpOption> & { type: MptcpOption['type'] }>;
  payload?: number | number[];
  raw?: number[];
  port?: number;
  window?: number;
  /** Seconds after the first packet (default: index × 0.01). */
  t?: number;
}

const mpc = (o: Partial<Extract<MptcpOption, { type: 'MP_CAPABLE' }>>) => ({ type: 'MP_CAPABLE' as const, version: 1, flags: 0x01, ...o });
const dss = (o: Partial<Extract<MptcpOption, { type: 'DSS' }>>) => ({ type: 'DSS' as const, flags: 0, dataAck64: true, dsn64: true, dataFin: false, ...o });
/** Client data mapping (flags A+a M+m): relative DSN `d`, SSN `ssn`, DLL `dll`. */
const cmap = (d: number, ssn: number, dll: number, fin = false) => dss({ flags: fin ? 0x1f : 0x0f, dataFin: fin, dataAck: IB + 1n, dataSequenceNumber: IA + BigInt(d), subflowSequenceNumber: ssn, dataLevelLength: dll });
/** Server pure ACK with Data ACK relative `d` of the client's data. */
const sack = (d: number) => dss({ flags: 0x03, dataAck: IA + BigInt(d) });

function base(): Pkt[] {
  return [
    { from: 'c', seq: 1000, ack: 0, flags: SYN, opts: [mpc({})], raw: WS0 },
    { from: 's', seq: 5000, ack: 1001, flags: SYN | ACK, opts: [mpc({ sendersKey: KB })], raw: WS0 },
    { from: 'c', seq: 1001, ack: 5001, flags: ACK, opts: [mpc({ sendersKey: KA, receiversKey: KB })] },
    { from: 'c', seq: 1001, ack: 5001, flags: ACK, opts: [mpc({ sendersKey: KA, receiversKey: KB, dataLevelLength: 10 })], payload: 10 },
    { from: 's', seq: 5001, ack: 1011, flags: ACK, opts: [sack(11)], window: 60000 },
  ];
}

const RI = 0x01020304;
const RR = 0x05060708;
/** A valid MP_JOIN (client address ID 2) on port 40001, up to the responder's fourth ACK. */
const joinHs = (): Pkt[] => [
  { from: 'c', port: 40001, seq: 7000, ack: 0, flags: SYN, opts: [{ type: 'MP_JOIN', form: 'syn', addressId: 2, receiversToken: keyToken(KB, 1), sendersRandom: RI }], raw: WS0 },
  { from: 's', port: 40001, seq: 9000, ack: 7001, flags: SYN | ACK, opts: [{ type: 'MP_JOIN', form: 'syn-ack', addressId: 0, truncatedHmac: joinSynAckHmac(KB, KA, RR, RI, 1), sendersRandom: RR }], raw: WS0 },
  { from: 'c', port: 40001, seq: 7001, ack: 9001, flags: ACK, opts: [{ type: 'MP_JOIN', form: 'ack', hmac: joinAckHmac(KA, KB, RI, RR, 1) }] },
  { from: 's', port: 40001, seq: 9001, ack: 7001, flags: ACK, opts: [sack(11)], window: 60000 },
];

async function run(pkts: Pkt[]) {
  const file = join(tmp(), 'seq.pcap');
  const w = new PcapWriter({ path: file });
  pkts.forEach((p, i) => {
    const opts = concat(...p.opts.map((o) => encodeMptcp(o as MptcpOption)), p.raw ?? []);
    const c = p.from === 'c';
    const f = tcp4Frame(
      { srcPort: c ? (p.port ?? 40000) : 5201, dstPort: c ? 5201 : (p.port ?? 40000), seq: p.seq, ack: p.ack, flags: p.flags, options: opts, payload: p.payload ?? 0, window: p.window ?? 60000 },
      c ? { src: '10.0.0.1', dst: '10.0.0.2' } : { src: '10.0.0.2', dst: '10.0.0.1' },
      { number: i + 1 },
    );
    const t = p.t ?? i * 0.01;
    w.write({ tsSec: 1_700_000_000 + Math.floor(t), tsNsec: Math.round((t % 1) * 1e9), data: f.data });
  });
  w.close();
  const r = await checkFile(file);
  const fs = r.findings.filter((f) => !f.id.startsWith('MBX-'));
  const at = (sev: string) => fs.filter((f) => f.severity === sev).map((f) => `${f.id}@${f.frames[0]}`);
  return { errors: at('error'), warnings: at('warning'), infos: at('info'), r };
}

describe('sequence rules on crafted captures', () => {
  it('the valid baseline (and a valid join) gives none of them', async () => {
    const r = await run([...base(), ...joinHs()]);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.r.findings.filter((f) => (SEQUENCE_RULES as readonly string[]).includes(f.id))).toEqual([]);
    expect(r.r.notEvaluable.filter((n) => (SEQUENCE_RULES as readonly string[]).includes(n.id))).toEqual([]);
  });

  it('DSS-003: payload after the first mapping without any mapping', async () => {
    const p = base();
    p.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [], payload: 5 });
    expect((await run(p)).errors).toContain('DSS-003@6');
  });

  it('DSS-004: a retransmission maps the same subflow bytes to another DSN', async () => {
    const p = base();
    p.push({ from: 'c', seq: 1001, ack: 5001, flags: ACK, opts: [cmap(100, 1, 10)], payload: 10 });
    expect((await run(p)).errors).toEqual(['DSS-004@6']);
  });

  it('DSS-005: a segment outside its mapping; SSN 0 with DLL > 1', async () => {
    const p = base();
    p.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [cmap(11, 50, 5)], payload: 5 });
    expect((await run(p)).errors).toContain('DSS-005@6');
    const q = base();
    q.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [cmap(11, 0, 5)], payload: 5 });
    expect((await run(q)).errors).toContain('DSS-005@6');
  });

  it('DSS-006: the same DSN range reinjected on the join subflow with other bytes; identical bytes pass', async () => {
    const mk = (copy: number[]) => {
      const p = [...base(), ...joinHs()];
      p.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [cmap(11, 11, 5)], payload: [1, 2, 3, 4, 5] });
      p.push({ from: 'c', port: 40001, seq: 7001, ack: 9001, flags: ACK, opts: [cmap(11, 1, 5)], payload: copy });
      return run(p);
    };
    const bad = await mk([1, 2, 9, 4, 5]);
    expect(bad.errors).toEqual(['DSS-006@11']);
    const good = await mk([1, 2, 3, 4, 5]);
    expect(good.errors).toEqual([]);
    expect(good.r.passes.find((x) => x.id === 'DSS-006')?.count).toBe(1);
  });

  it('DSS-008: two DATA_FIN DSNs, and data mapped beyond the DATA_FIN', async () => {
    const p = base();
    p.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [cmap(11, 0, 1, true)] });
    p.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [cmap(15, 0, 1, true)] });
    expect((await run(p)).errors).toContain('DSS-008@7');
    const q = base();
    q.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [cmap(11, 0, 1, true)] });
    q.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [cmap(11, 11, 5)], payload: 5 });
    expect((await run(q)).errors).toContain('DSS-008@7');
  });

  it('DSS-009 (warning): a Data ACK past the DATA_FIN DSN + 1', async () => {
    const p = base();
    p.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [cmap(11, 0, 1, true)] });
    p.push({ from: 's', seq: 5001, ack: 1011, flags: ACK, opts: [sack(14)] });
    const r = await run(p);
    expect(r.warnings).toEqual(['DSS-009@7']);
    expect(r.errors).toEqual(['DSS-010@7']);
  });

  it('DSS-010: a Data ACK for data never sent (all subflows captured); not evaluable after a capture gap', async () => {
    const p = base();
    p[4]!.opts = [sack(50)];
    expect((await run(p)).errors).toEqual(['DSS-010@5']);
    // A subflow gap (segments the capture may have missed): not evaluable, never an error.
    const q = base();
    q.push({ from: 'c', seq: 1021, ack: 5001, flags: ACK, opts: [cmap(21, 21, 5)], payload: 5 });
    q.push({ from: 's', seq: 5001, ack: 1026, flags: ACK, opts: [sack(60)] });
    const r = await run(q);
    expect(r.errors.filter((e) => e.startsWith('DSS-010'))).toEqual([]);
    expect(r.r.notEvaluable.map((n) => n.id)).toContain('DSS-010');
  });

  it('DSS-011 (warning): the Data ACK decreases on one subflow', async () => {
    const p = base();
    p.push({ from: 's', seq: 5001, ack: 1011, flags: ACK, opts: [sack(5)] });
    const r = await run(p);
    expect(r.warnings).toEqual(['DSS-011@6']);
    expect(r.errors).toEqual([]);
  });

  it('DSS-013 (warning): data beyond the highest Data ACK + window', async () => {
    const p = base();
    p[4]!.window = 20;
    p.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [cmap(11, 11, 40)], payload: 40 });
    expect((await run(p)).warnings).toEqual(['DSS-013@6']);
  });

  it('FB-006: a join subflow keeps carrying unmapped data, acknowledged, never reset', async () => {
    const p = [...base(), ...joinHs()];
    p.push({ from: 'c', port: 40001, seq: 7001, ack: 9001, flags: ACK, opts: [], payload: 10 });
    p.push({ from: 'c', port: 40001, seq: 7011, ack: 9001, flags: ACK, opts: [], payload: 10 });
    p.push({ from: 's', port: 40001, seq: 9001, ack: 7021, flags: ACK, opts: [sack(11)] });
    const r = await run(p);
    expect(r.errors).toContain('FB-006@10');
    expect(r.errors).toContain('DSS-003@10');
  });

  it('ADDR-006 (warning): a subflow using a removed address ID carries new data long after REMOVE_ADDR', async () => {
    const p = [...base(), ...joinHs()];
    p.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [dss({ flags: 0x03, dataAck: IB + 1n }), { type: 'REMOVE_ADDR', addressIds: [2] }], t: 1 });
    p.push({ from: 'c', port: 40001, seq: 7001, ack: 9001, flags: ACK, opts: [cmap(11, 1, 5)], payload: 5, t: 5 });
    const r = await run(p);
    expect(r.warnings).toContain('ADDR-006@11');
    const q = [...base(), ...joinHs()];
    q.push({ from: 'c', seq: 1011, ack: 5001, flags: ACK, opts: [dss({ flags: 0x03, dataAck: IB + 1n }), { type: 'REMOVE_ADDR', addressIds: [2] }], t: 1 });
    q.push({ from: 'c', port: 40001, seq: 7001, ack: 9001, flags: ACK, opts: [cmap(11, 1, 5)], payload: 5, t: 1.5 });
    expect((await run(q)).warnings.filter((w) => w.startsWith('ADDR-006'))).toEqual([]);
  });
});

describe('sequence rules on real captures', () => {
  it('08a client (DSS stripped on non-SYN segments): a fallback at data (kernel MIB MPCapableDataFallback = 1), not DSS-003', async () => {
    const r = await checkFixture('shared-linux/08a-mbox-strip-nonsyn.client.pcap');
    expect(r.findings.filter((f) => f.id === 'DSS-003')).toEqual([]);
    expect(r.findings.map((f) => f.id)).toContain('FB-003');
  });
  it('15b server (payload byte flipped by the router): DSS-006; the client side verifies the same reinjections', async () => {
    const s = await checkFixture('shared-linux/15b-csum-corrupt-2sf.server.pcap');
    expect(s.findings.filter((f) => f.id === 'DSS-006').map((f) => f.frames)).toEqual([[864, 819]]);
    const c = await checkFixture('shared-linux/15b-csum-corrupt-2sf.client.pcap');
    expect(c.findings.filter((f) => f.id === 'DSS-006')).toEqual([]);
    expect(c.passes.find((p) => p.id === 'DSS-006')?.count).toBeGreaterThan(0);
  });
  it('k01 (clean, 2 subflows): segments inside their mappings and Data ACKs within the data, both verified', async () => {
    const r = await checkFixture('kernel/k01-two-subflows/k01-two-subflows.client.pcap');
    expect(r.findings.filter((f) => (SEQUENCE_RULES as readonly string[]).includes(f.id))).toEqual([]);
    expect(r.passes.find((p) => p.id === 'DSS-005')?.count).toBeGreaterThan(1000);
    expect(r.passes.find((p) => p.id === 'DSS-010')?.count).toBe(2);
  });
});
