/**
 * ADDR-001…ADDR-007, PRIO-001, PRIO-002: address management and priority (RFC 8684 §3.4, §3.3.8;
 * spec §2.6, §2.7). End-of-capture pass over the model's ADD_ADDR / REMOVE_ADDR / MP_PRIO lists
 * (connection-level `by`), with ADD_ADDR HMAC verification (v1, E = 0): HMAC-SHA256(K_sender‖K_receiver,
 * ID ‖ address ‖ port (0 when absent)), rightmost 64 bits. The leftmost 64 bits (early Linux, e.g.
 * tcpdump's mptcp-aa-v1.pcap from 2020) are accepted as an info-level legacy finding.
 */
import { addAddrHmacDigest } from '../../analyzer/crypto/index.js';
import type { MpJoinOption } from '../../analyzer/wire/mptcp/types.js';
import type { ConnectionFinishContext, ConnectionView } from '../registry.js';
import { registerDetector } from '../registry.js';
import { hexBytes, initiatorIsClient } from './util.js';

const peerOf = (h: 'client' | 'server'): 'client' | 'server' => (h === 'client' ? 'server' : 'client');

registerDetector({
  name: 'addr',
  rules: ['ADDR-001', 'ADDR-002', 'ADDR-003', 'ADDR-004', 'ADDR-005', 'ADDR-006', 'ADDR-007', 'PRIO-001', 'PRIO-002'],
  create() {
    return {
      onSegment() {},
      finishConnection(fin, v) {
        verifyAddAddr(fin, v);
        echoes(fin, v);
        idsAndRemovals(fin, v);
        priorities(fin, v);
      },
    };
  },
});

function flowOfSubflow(v: ConnectionView, i: number) {
  const sf = v.conn.subflows[i];
  return sf === undefined ? v.root : (v.flows.find((f) => f.tcpStream === sf.tcpStream) ?? v.root);
}

function verifyAddAddr(fin: ConnectionFinishContext, v: ConnectionView): void {
  const keys = v.root?.keys;
  for (const a of v.conn.addAddr) {
    if (a.echo || a.hmac === undefined || v.conn.version !== 1) continue;
    const f = flowOfSubflow(v, a.subflow);
    const ks = a.by === 'client' ? keys?.clientKey : keys?.serverKey;
    const kr = a.by === 'client' ? keys?.serverKey : keys?.clientKey;
    if (ks === undefined || kr === undefined) {
      fin.notEvaluable('ADDR-001', f, 'connection keys not captured');
      continue;
    }
    let d: Uint8Array;
    try {
      d = addAddrHmacDigest(ks, kr, a.addressId, a.address, a.port);
    } catch {
      continue;
    }
    const right = hexBytes(d.subarray(24, 32));
    const left = hexBytes(d.subarray(0, 8));
    if (a.hmac === right) fin.pass('ADDR-001', f);
    else if (a.hmac === left) {
      fin.report({ id: 'ADDR-001', severity: 'info', frames: [a.frame], message: `ADD_ADDR ${a.address} id ${a.addressId}: HMAC carries the leftmost 64 bits (early Linux ≈5.7–5.9); RFC 8684 and current Linux use the rightmost`, evidence: { seen: a.hmac, expected: right, legacy: true } }, f);
    } else {
      fin.report({ id: 'ADDR-001', frames: [a.frame], message: `ADD_ADDR ${a.address}${a.port !== undefined ? `:${a.port}` : ''} id ${a.addressId} from the ${a.by}: truncated HMAC mismatch`, evidence: { seen: a.hmac, expected: right } }, f);
    }
  }
}

function echoes(fin: ConnectionFinishContext, v: ConnectionView): void {
  const list = v.conn.addAddr;
  const same = (x: (typeof list)[number], y: (typeof list)[number]): boolean => x.addressId === y.addressId && x.address === y.address && (x.port ?? 0) === (y.port ?? 0);
  if (v.conn.version !== 1) return;
  const handled = new Set<number>();
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    if (a.echo || handled.has(i)) continue;
    const echo = list.find((e) => e.echo && e.by === peerOf(a.by) && e.frame > a.frame && same(a, e));
    const retrans = list.findIndex((r, j) => j > i && !r.echo && r.by === a.by && same(a, r));
    const f = flowOfSubflow(v, a.subflow);
    if (echo === undefined) {
      fin.report({ id: 'ADDR-002', frames: [a.frame], message: `ADD_ADDR ${a.address} id ${a.addressId} from the ${a.by} never echoed${retrans >= 0 ? ' (retransmitted)' : ''}`, evidence: { seen: 'no echo', expected: 'ADD_ADDR with E = 1' } }, f);
    } else if (retrans >= 0 && list[retrans]!.frame < echo.frame) {
      fin.report({ id: 'ADDR-002', frames: [a.frame, list[retrans]!.frame], message: `ADD_ADDR ${a.address} id ${a.addressId} retransmitted before its echo`, evidence: { seen: 'retransmission before echo' } }, f);
    }
    if (retrans >= 0) handled.add(retrans);
  }
  if (v.root?.syn === undefined) return;
  for (const e of list) {
    if (!e.echo) continue;
    if (!list.some((a) => !a.echo && a.by === peerOf(e.by) && same(a, e))) {
      fin.report({ id: 'ADDR-002', frames: [e.frame], message: `ADD_ADDR echo for ${e.address} id ${e.addressId} that the ${peerOf(e.by)} never announced (or with other fields)`, evidence: { seen: `${e.address} id ${e.addressId}`, expected: 'an announced address' } }, flowOfSubflow(v, e.subflow));
    }
  }
}

function idsAndRemovals(fin: ConnectionFinishContext, v: ConnectionView): void {
  const { conn, root } = v;
  type Ev = { frame: number; kind: 'add' | 'rm' | 'join'; by: 'client' | 'server'; id: number; addr?: string; port?: number };
  const evs: Ev[] = [];
  for (const a of conn.addAddr) if (!a.echo) evs.push({ frame: a.frame, kind: 'add', by: a.by, id: a.addressId, addr: a.address, port: a.port ?? 0 });
  for (const r of conn.removeAddr) for (const id of r.addressIds) evs.push({ frame: r.frame, kind: 'rm', by: r.by, id });
  const used = { client: new Set<number>([0]), server: new Set<number>([0]) };
  for (const f of v.flows) {
    const s = f.syn?.option?.type === 'MP_JOIN' ? (f.syn.option as MpJoinOption) : undefined;
    const sa = f.synAck?.option?.type === 'MP_JOIN' ? (f.synAck.option as MpJoinOption) : undefined;
    const ic = initiatorIsClient(f, root);
    if (ic === undefined) continue;
    const ih = ic ? 'client' : 'server';
    if (s?.addressId !== undefined) {
      used[ih].add(s.addressId);
      evs.push({ frame: f.syn!.frame, kind: 'join', by: ih, id: s.addressId });
    }
    if (sa?.addressId !== undefined) {
      used[peerOf(ih)].add(sa.addressId);
      evs.push({ frame: f.synAck!.frame, kind: 'join', by: peerOf(ih), id: sa.addressId });
    }
    // ADDR-004: joins to an announced address use the announced port (RFC 8684 §3.4.1: without a port, the
    // initial subflow's). A join to the peer's initial address and port is always allowed, even when that
    // address was also announced with another port; any announcement of the address with the port used passes.
    const anns = conn.addAddr.filter((a) => !a.echo && a.by === peerOf(ih) && a.address === f.serverIp);
    const ann = anns[0];
    if (ann !== undefined && f.syn !== undefined && root !== undefined) {
      const toServer = peerOf(ih) === 'server';
      const rootIp = toServer ? root.serverIp : root.clientIp;
      const rootPort = toServer ? root.serverPort : root.clientPort;
      const initial = f.serverIp === rootIp && f.serverPort === rootPort;
      if (!initial && !anns.some((a) => (a.port ?? rootPort) === f.serverPort)) {
        const want = ann.port ?? rootPort;
        fin.report({ id: 'ADDR-004', frames: [f.syn.frame, ann.frame], message: `join to announced ${ann.address} uses port ${f.serverPort}, announced/initial port is ${want}`, evidence: { seen: f.serverPort, expected: want } }, f);
      }
    }
  }
  for (const a of conn.addAddr) if (!a.echo) used[a.by].add(a.addressId);
  evs.sort((x, y) => x.frame - y.frame);
  const current = { client: new Map<number, string>(), server: new Map<number, string>() };
  const removed = { client: new Map<number, number>(), server: new Map<number, number>() };
  for (const e of evs) {
    if (e.kind === 'add') {
      const val = `${e.addr}|${e.port}`;
      const prev = current[e.by].get(e.id);
      if (prev !== undefined && prev !== val) {
        fin.report({ id: 'ADDR-003', frames: [e.frame], message: `the ${e.by} re-announces address ID ${e.id} as ${e.addr} (was ${prev.split('|')[0]}) without REMOVE_ADDR`, evidence: { seen: val, expected: prev } }, root);
      }
      current[e.by].set(e.id, val);
      removed[e.by].delete(e.id);
    } else if (e.kind === 'rm') {
      current[e.by].delete(e.id);
      removed[e.by].set(e.id, e.frame);
      if (root?.syn !== undefined && !used[e.by].has(e.id)) {
        fin.report({ id: 'ADDR-007', frames: [e.frame], message: `REMOVE_ADDR from the ${e.by} names address ID ${e.id}, never used by it`, evidence: { addressId: e.id } }, root);
      }
    } else {
      const r = removed[e.by].get(e.id);
      if (r !== undefined) {
        fin.report({ id: 'ADDR-006', frames: [e.frame, r], message: `the ${e.by} uses address ID ${e.id} in an MP_JOIN after removing it (frame ${r}) without re-announcing it`, evidence: { addressId: e.id, removedAt: r } }, root);
      }
    }
  }
  // ADDR-005: unauthenticated signalling.
  if (conn.removeAddr.length > 0) {
    fin.report({ id: 'ADDR-005', frames: conn.removeAddr.map((r) => r.frame).slice(0, 20), message: `${conn.removeAddr.length} REMOVE_ADDR option(s): unauthenticated (RFC 7430)`, evidence: { count: conn.removeAddr.length } }, root);
  }
  const v0adds = conn.version === 0 ? conn.addAddr : [];
  if (v0adds.length > 0) {
    fin.report({ id: 'ADDR-005', frames: v0adds.map((a) => a.frame).slice(0, 20), message: `${v0adds.length} v0 ADD_ADDR option(s): no HMAC (RFC 7430)`, evidence: { count: v0adds.length } }, root);
  }
}

function priorities(fin: ConnectionFinishContext, v: ConnectionView): void {
  for (const p of v.conn.prio) {
    const f = flowOfSubflow(v, p.subflow);
    if (v.conn.version === 1 && p.addressId !== undefined) {
      fin.report({ id: 'PRIO-001', frames: [p.frame], message: `4-byte MP_PRIO with address ID ${p.addressId} on a v1 connection (v0 form)`, evidence: { seen: 4, expected: 3 } }, f);
    }
    fin.report({ id: 'PRIO-002', frames: [p.frame], message: `the ${p.by} sets subflow ${p.subflow} to ${p.backup ? 'backup' : 'regular'} priority (MP_PRIO)`, evidence: { backup: p.backup }, key: `${p.by}|${p.backup}` }, f);
  }
}
