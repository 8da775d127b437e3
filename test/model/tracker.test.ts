/**
 * Connection model on crafted conversations: each fallback path (RFC 8684 §3.7), MP_JOIN linking by
 * token (§3.2) in both directions, keys → token/IDSN (spec §1.11 vectors), v0, captures that start
 * mid-connection, joins for unknown tokens, 4-tuple reuse and how subflows/connections end.
 */
import { describe, expect, it } from 'vitest';
import { FramePipeline } from '../../analyzer/analyze.js';
import type { Connection } from '../../analyzer/model/types.js';
import type { MptcpOption } from '../../analyzer/wire/mptcp/types.js';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { concat, encodeMptcp, tcp4Frame } from '../helpers/packet-builder.js';

const { SYN, ACK, FIN, RST } = TcpFlag;
// Spec §1.11 vectors: key → (v1 token, v1 IDSN), (v0 token, v0 IDSN).
const KEY_A = 0x0102030405060708n;
const KEY_B = 0x1112131415161718n;

type Opt = Partial<MptcpOption> & { type: MptcpOption['type'] };

interface Seg {
  from: 'c' | 's';
  flags: number;
  seq?: number;
  payload?: number;
  opts?: Opt[];
}

/** Feed a conversation between `client` and `server` (ip:port) through the pipeline; returns the snapshot. */
class Trace {
  private readonly pipe = new FramePipeline('<crafted>');
  private n = 0;

  add(client: [string, number], server: [string, number], segs: Seg[]): this {
    for (const s of segs) {
      const [src, dst] = s.from === 'c' ? [client, server] : [server, client];
      const options = concat(...(s.opts ?? []).map((o) => encodeMptcp({ offset: 0, length: 0, ...o } as MptcpOption)));
      const frame = tcp4Frame(
        { srcPort: src[1], dstPort: dst[1], flags: s.flags, seq: s.seq ?? 1000, options, payload: s.payload ?? 0 },
        { src: src[0], dst: dst[0] },
        { number: ++this.n },
      );
      frame.tsSec += this.n;
      this.pipe.onFrame(frame);
    }
    return this;
  }

  result(): { connections: Connection[]; tcp: number; issues: number } {
    const snap = this.pipe.tracker.snapshot();
    return { connections: snap.connections, tcp: snap.tcpConnections.length, issues: this.pipe.issues.count };
  }
}

const C: [string, number] = ['10.0.1.1', 40000];
const S: [string, number] = ['10.0.3.1', 5201];
const C2: [string, number] = ['10.0.2.1', 40001];

const mpcSyn: Opt = { type: 'MP_CAPABLE', version: 1, flags: 0x01 };
const mpcSynAck: Opt = { type: 'MP_CAPABLE', version: 1, flags: 0x01, sendersKey: KEY_B };
const mpcAck: Opt = { type: 'MP_CAPABLE', version: 1, flags: 0x01, sendersKey: KEY_A, receiversKey: KEY_B };
const dss: Opt = { type: 'DSS', flags: 0x01, dataAck: 1n, dataAck64: false, dsn64: false };

function handshake(extraSynAck: Opt[] = [mpcSynAck]): Seg[] {
  return [
    { from: 'c', flags: SYN, seq: 100, opts: [mpcSyn] },
    { from: 's', flags: SYN | ACK, seq: 900, opts: extraSynAck },
    { from: 'c', flags: ACK, seq: 101, opts: [mpcAck] },
  ];
}

describe('MP_CAPABLE handshake', () => {
  it('derives tokens and IDSNs from the keys (spec §1.11 vectors, v1 SHA-256)', () => {
    const { connections } = new Trace().add(C, S, [...handshake(), { from: 's', flags: ACK, opts: [dss] }]).result();
    expect(connections).toHaveLength(1);
    const c = connections[0]!;
    expect(c.version).toBe(1);
    expect(c.handshake).toBe('complete');
    expect(c.fallback).toBeNull();
    expect(c.client).toMatchObject({ key: '0102030405060708', token: '66840dda', idsn: 'f5a101d3d29d6f72', ip: '10.0.1.1', port: 40000 });
    expect(c.server).toMatchObject({ key: '1112131415161718', token: 'ccad45ac', idsn: '535beea38e087c8e' });
    expect(c.subflows[0]).toMatchObject({ kind: 'mp_capable', addressId: 0, backup: false, packets: 4 });
  });

  it('v0 (SHA-1): the SYN carries the client key', () => {
    const v0 = (o: Opt): Opt => ({ ...o, version: 0 }) as Opt;
    const { connections } = new Trace()
      .add(C, S, [
        { from: 'c', flags: SYN, opts: [v0({ ...mpcSyn, sendersKey: KEY_A })] },
        { from: 's', flags: SYN | ACK, opts: [v0(mpcSynAck)] },
      ])
      .result();
    const c = connections[0]!;
    expect(c.version).toBe(0);
    expect(c.handshake).toBe('partial');
    expect(c.client).toMatchObject({ token: 'dd5783bc', idsn: '3a95ed6e4ebb4ad5' });
    expect(c.server).toMatchObject({ token: '3383d918', idsn: '9e1ae42f702627a9' });
  });

  it('a v1 SYN answered by a v0 SYN/ACK negotiates v0: keys are hashed with SHA-1', () => {
    const { connections } = new Trace()
      .add(C, S, [
        { from: 'c', flags: SYN, opts: [mpcSyn] },
        { from: 's', flags: SYN | ACK, opts: [{ ...mpcSynAck, version: 0 } as Opt] },
      ])
      .result();
    expect(connections[0]!.version).toBe(0);
    expect(connections[0]!.server).toMatchObject({ token: '3383d918', idsn: '9e1ae42f702627a9' });
  });

  it('checksum is negotiated when either the SYN or the SYN/ACK sets A (RFC 8684 §3.1)', () => {
    const a = { ...mpcSynAck, flags: 0x81 };
    expect(new Trace().add(C, S, handshake([a])).result().connections[0]!.checksum).toBe(true);
    expect(new Trace().add(C, S, handshake()).result().connections[0]!.checksum).toBe(false);
  });
});

describe('fallback to plain TCP', () => {
  it('SYN/ACK without MP_CAPABLE (FB-001)', () => {
    const { connections, tcp } = new Trace().add(C, S, [...handshake([]), { from: 'c', flags: ACK, payload: 10 }]).result();
    expect(tcp).toBe(0);
    expect(connections[0]!.fallback).toMatchObject({ reason: 'syn-ack-without-mp-capable', frame: 2, side: 'server' });
  });

  it('third ACK without MP_CAPABLE (FB-002)', () => {
    const { connections } = new Trace()
      .add(C, S, [
        { from: 'c', flags: SYN, opts: [mpcSyn] },
        { from: 's', flags: SYN | ACK, opts: [mpcSynAck] },
        { from: 'c', flags: ACK },
        { from: 'c', flags: ACK, payload: 100 },
      ])
      .result();
    expect(connections[0]!.fallback).toMatchObject({ reason: 'ack-without-mp-capable', frame: 3 });
  });

  it('peer sends no MPTCP option after the handshake (FB-003), but not when options come back', () => {
    const stripped = new Trace()
      .add(C, S, [...handshake(), { from: 'c', flags: ACK, payload: 100, opts: [dss] }, { from: 's', flags: ACK }, { from: 's', flags: ACK }])
      .result();
    expect(stripped.connections[0]!.fallback).toMatchObject({ reason: 'no-dss-after-handshake', frame: 5, side: 'server' });
    const transient = new Trace()
      .add(C, S, [...handshake(), { from: 's', flags: ACK }, { from: 's', flags: ACK, opts: [dss] }])
      .result();
    expect(transient.connections[0]!.fallback).toBeNull();
  });

  it('a plain ACK after FIN (TIME-WAIT) is not a fallback', () => {
    const { connections } = new Trace()
      .add(C, S, [...handshake(), { from: 's', flags: ACK | FIN, opts: [dss] }, { from: 'c', flags: ACK | FIN, opts: [dss] }, { from: 's', flags: ACK }])
      .result();
    expect(connections[0]!.fallback).toBeNull();
    expect(connections[0]!.subflows[0]!.ended.how).toBe('FIN');
  });

  it('infinite mapping (DLL 0, FB-005)', () => {
    const inf: Opt = { type: 'DSS', flags: 0x04, dataSequenceNumber: 5n, dsn64: false, dataAck64: false, subflowSequenceNumber: 1, dataLevelLength: 0 };
    const { connections } = new Trace().add(C, S, [...handshake(), { from: 'c', flags: ACK, payload: 10, opts: [inf] }]).result();
    expect(connections[0]!.fallback).toMatchObject({ reason: 'infinite-mapping', frame: 4, side: 'client' });
  });

  it('SYN retransmitted without MP_CAPABLE (MPC-012)', () => {
    const { connections } = new Trace()
      .add(C, S, [
        { from: 'c', flags: SYN, seq: 100, opts: [mpcSyn] },
        { from: 'c', flags: SYN, seq: 100 },
        { from: 's', flags: SYN | ACK },
      ])
      .result();
    expect(connections[0]!.fallback).toMatchObject({ reason: 'syn-ack-without-mp-capable' });
    const noAnswer = new Trace()
      .add(C, S, [
        { from: 'c', flags: SYN, seq: 100, opts: [mpcSyn] },
        { from: 'c', flags: SYN, seq: 100 },
      ])
      .result();
    expect(noAnswer.connections[0]!.fallback).toMatchObject({ reason: 'syn-retransmitted-without-mp-capable', frame: 2 });
  });
});

describe('MP_JOIN linking (RFC 8684 §3.2)', () => {
  const joinSyn = (token: number, backup = false): Opt => ({ type: 'MP_JOIN', form: 'syn', addressId: 2, backup, receiversToken: token, sendersRandom: 7 });
  const joinSynAck: Opt = { type: 'MP_JOIN', form: 'syn-ack', addressId: 0, backup: false, truncatedHmac: 1n, sendersRandom: 9 };
  const joinAck: Opt = { type: 'MP_JOIN', form: 'ack', hmac: new Uint8Array(20) };

  it('a client join carrying the server token joins the connection, with address IDs and backup', () => {
    const { connections } = new Trace()
      .add(C, S, handshake())
      .add(C2, S, [
        { from: 'c', flags: SYN, opts: [joinSyn(0xccad45ac, true)] },
        { from: 's', flags: SYN | ACK, opts: [joinSynAck] },
        { from: 'c', flags: ACK, opts: [joinAck] },
      ])
      .result();
    expect(connections).toHaveLength(1);
    const sf = connections[0]!.subflows[1]!;
    expect(sf).toMatchObject({ kind: 'mp_join', addressId: 2, backup: true, joinToken: 'ccad45ac' });
    expect(sf.client).toEqual({ ip: '10.0.2.1', port: 40001, addressId: 2 });
    expect(sf.server).toEqual({ ip: '10.0.3.1', port: 5201, addressId: 0 });
  });

  it('a server-initiated join carrying the client token joins too; its ADD_ADDR is attributed to the right host', () => {
    const addAddr: Opt = { type: 'ADD_ADDR', version: 1, echo: true, ipVersion: 4, addressId: 5, address: '10.0.4.1' };
    const { connections } = new Trace()
      .add(C, S, [...handshake(), { from: 'c', flags: ACK, opts: [addAddr] }])
      .add(['10.0.4.1', 5202], ['10.0.1.1', 6000], [{ from: 'c', flags: SYN, opts: [joinSyn(0x66840dda)] }])
      .result();
    expect(connections).toHaveLength(1);
    expect(connections[0]!.subflows).toHaveLength(2);
    expect(connections[0]!.addAddr[0]).toMatchObject({ by: 'client', addressId: 5, address: '10.0.4.1', echo: true });
  });

  it('joins for an unknown token are kept, grouped by token, with unknown keys', () => {
    const { connections } = new Trace()
      .add(C2, S, [{ from: 'c', flags: SYN, opts: [joinSyn(0xdeadbeef)] }])
      .add(['10.0.2.1', 40002], S, [{ from: 'c', flags: SYN, opts: [joinSyn(0xdeadbeef)] }])
      .add(['10.0.2.1', 40003], S, [{ from: 'c', flags: SYN, opts: [joinSyn(0x12345678)] }])
      .result();
    expect(connections.map((c) => c.subflows.length)).toEqual([2, 1]);
    expect(connections[0]!.keysKnown).toBe(false);
    expect(connections[0]!.server.token).toBe('deadbeef');
  });
});

describe('captures that start mid-connection', () => {
  it('a subflow with DSS but no handshake is an MPTCP connection of unknown keys; roles from ports', () => {
    const { connections, tcp } = new Trace().add(C, S, [{ from: 's', flags: ACK, opts: [dss] }, { from: 'c', flags: ACK, payload: 50, opts: [dss] }]).result();
    expect(tcp).toBe(0);
    expect(connections[0]).toMatchObject({ handshake: 'not-captured', keysKnown: false, version: null });
    expect(connections[0]!.subflows[0]).toMatchObject({ kind: 'unknown', roleGuessed: true, client: { ip: '10.0.1.1', port: 40000 } });
  });

  it('a third ACK alone gives both keys', () => {
    const { connections } = new Trace().add(C, S, [{ from: 'c', flags: ACK, opts: [mpcAck] }]).result();
    expect(connections[0]!.client.key).toBe('0102030405060708');
    expect(connections[0]!.server.key).toBe('1112131415161718');
    expect(connections[0]!.keysKnown).toBe(true);
  });

  it('a captured SYN/ACK without its SYN fixes the roles', () => {
    const { connections } = new Trace().add(C, S, [{ from: 's', flags: SYN | ACK, opts: [mpcSynAck] }]).result();
    expect(connections[0]!.subflows[0]!.client).toMatchObject({ ip: '10.0.1.1', port: 40000 });
    expect(connections[0]!.subflows[0]!.roleGuessed).toBeUndefined();
  });

  it('plain TCP without MPTCP options is listed apart', () => {
    const r = new Trace().add(C, S, [{ from: 'c', flags: SYN }, { from: 's', flags: SYN | ACK }, { from: 'c', flags: ACK }]).result();
    expect(r.connections).toHaveLength(0);
    expect(r.tcp).toBe(1);
  });
});

describe('endings and 4-tuple reuse', () => {
  it('MP_TCPRST reason and MP_FASTCLOSE are reported', () => {
    const rst: Opt = { type: 'MP_TCPRST', flags: 0x1, transient: true, reason: 6 };
    const r1 = new Trace().add(C, S, [...handshake(), { from: 's', flags: RST, opts: [rst] }]).result();
    expect(r1.connections[0]!.subflows[0]!.ended).toMatchObject({ how: 'MP_TCPRST', reason: 6, reasonName: 'middlebox interference', by: 'server' });
    expect(r1.connections[0]!.ended.how).toBe('MP_TCPRST');
    const fc: Opt = { type: 'MP_FASTCLOSE', receiversKey: KEY_B };
    const r2 = new Trace().add(C, S, [...handshake(), { from: 'c', flags: RST | ACK, opts: [fc] }]).result();
    expect(r2.connections[0]!.ended).toMatchObject({ how: 'MP_FASTCLOSE', by: 'client', frame: 4 });
  });

  it('DATA_FIN from both sides ends the connection', () => {
    const df: Opt = { type: 'DSS', flags: 0x15, dataAck: 1n, dataAck64: false, dataSequenceNumber: 9n, dsn64: false, subflowSequenceNumber: 0, dataLevelLength: 1, dataFin: true };
    const { connections } = new Trace().add(C, S, [...handshake(), { from: 'c', flags: ACK, opts: [df] }, { from: 's', flags: ACK, opts: [df] }]).result();
    expect(connections[0]!.ended).toEqual({ how: 'DATA_FIN', frame: 5 });
    expect(connections[0]!.dataFin).toEqual({ client: 4, server: 5 });
  });

  it('a new SYN with another ISN on a closed 4-tuple starts a new connection', () => {
    const { connections } = new Trace()
      .add(C, S, [...handshake(), { from: 'c', flags: RST, seq: 101 }])
      .add(C, S, [{ from: 'c', flags: SYN, seq: 5000, opts: [mpcSyn] }])
      .result();
    expect(connections.map((c) => c.subflows[0]!.tcpStream)).toEqual([0, 1]);
  });

  it('payload bytes count from the IP length, per direction', () => {
    const { connections } = new Trace().add(C, S, [...handshake(), { from: 'c', flags: ACK, payload: 1000, opts: [dss] }, { from: 's', flags: ACK, payload: 7, opts: [dss] }]).result();
    expect(connections[0]!.subflows[0]).toMatchObject({ bytes: 1007, bytesClientToServer: 1000, bytesServerToClient: 7, packetsClientToServer: 3, packetsServerToClient: 2 });
  });
});
