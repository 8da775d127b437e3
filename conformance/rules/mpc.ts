/**
 * MPC-001…MPC-014: the MP_CAPABLE handshake (RFC 8684 §3.1; spec §2.2).
 * Streaming checks (key consistency, first data, MP_CAPABLE placement, Data ACK floor) plus an
 * end-of-capture pass over each initial subflow's handshake facts (analyzer/model/flow.ts).
 */
import type { FlowState } from '../../analyzer/model/flow.js';
import type { MpCapableOption } from '../../analyzer/wire/mptcp/types.js';
import { registerDetector } from '../registry.js';
import { FlowMap, checksumNegotiated, expand32, hex64, hostOfDir, isAck, isRst, isSyn, isnOf, relSeq } from './util.js';

interface MpcFlow {
  keyA?: bigint;
  keyB?: bigint;
  keyMismatchReported?: boolean;
  /** A DSS was seen from the responder on this flow (MPC-007 applies only before). */
  s2cDss?: boolean;
  firstDataChecked?: boolean;
  /** Largest DLL of an MP_CAPABLE-with-data seen (MPC-009 window). */
  maxDll: number;
}

interface MpcConn {
  firstMapping: [boolean, boolean];
}

/** Crypto-algorithm bits: v1 D–H (0x1f), v0 C–H (0x3f). */
const algoMask = (version: number): number => (version === 0 ? 0x3f : 0x1f);
const popcount = (x: number): number => {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
};

/** A connection using a key (MPC-011 reuse), without holding its model: `first` is its initial tcp.stream. */
interface KeyUser {
  first: number;
  tcpStream: number;
  frame: number;
}

registerDetector({
  name: 'mpc',
  rules: ['MPC-001', 'MPC-002', 'MPC-003', 'MPC-004', 'MPC-005', 'MPC-006', 'MPC-007', 'MPC-008', 'MPC-009', 'MPC-010', 'MPC-011', 'MPC-012', 'MPC-013', 'MPC-014'],
  create(ctx) {
    const flows = new FlowMap<MpcFlow>(() => ({ maxDll: 0 }));
    const conns = new FlowMap<MpcConn>(() => ({ firstMapping: [false, false] }));
    /** MPTCP keys → the connections whose initial subflow used them (MPC-011 reuse, across connections). */
    const keyUsers = new Map<bigint, KeyUser | KeyUser[]>();
    return {
      onSegment(seg, flow, dir, _time, tracker) {
        const opts = seg.options.mptcp;
        const syn = isSyn(seg);
        if (opts.length === 0) {
          return;
        }
        const st = flows.get(flow);
        let mpc: MpCapableOption | undefined;
        let hasMapping = false;
        for (const o of opts) {
          if (o.type === 'MP_CAPABLE') mpc = o;
          else if (o.type === 'DSS') {
            if (dir === 1) st.s2cDss = true;
            if (o.dataSequenceNumber !== undefined) hasMapping = true;
          }
        }
        const isJoin = flow.syn?.option?.type === 'MP_JOIN' || flow.synAck?.option?.type === 'MP_JOIN';

        // MPC-014: SYN with data and MP_CAPABLE (TFO).
        if (syn && !isAck(seg) && mpc !== undefined && seg.payloadLength > 0) {
          ctx.report({ id: 'MPC-014', frames: [seg.frame], message: `SYN carries ${seg.payloadLength} bytes of data with MP_CAPABLE (TCP Fast Open)`, evidence: { payload: seg.payloadLength }, key: 'tfo' }, flow);
        }

        if (mpc !== undefined && !syn) {
          // MPC-002: initiator key constant; echoed responder key constant.
          if (dir === 0 && !isJoin) {
            if (mpc.sendersKey !== undefined) {
              if (st.keyA === undefined) st.keyA = mpc.sendersKey;
              else if (st.keyA !== mpc.sendersKey && st.keyMismatchReported !== true) {
                st.keyMismatchReported = true;
                ctx.report({ id: 'MPC-002', frames: [seg.frame], message: `initiator key changed between MP_CAPABLE options: ${hex64(mpc.sendersKey)} after ${hex64(st.keyA)}`, evidence: { seen: hex64(mpc.sendersKey), expected: hex64(st.keyA) } }, flow);
              }
            }
            if (mpc.receiversKey !== undefined) {
              if (st.keyB === undefined) st.keyB = mpc.receiversKey;
              else if (st.keyB !== mpc.receiversKey && st.keyMismatchReported !== true) {
                st.keyMismatchReported = true;
                ctx.report({ id: 'MPC-002', frames: [seg.frame], message: `echoed responder key changed between MP_CAPABLE options: ${hex64(mpc.receiversKey)} after ${hex64(st.keyB)}`, evidence: { seen: hex64(mpc.receiversKey), expected: hex64(st.keyB) } }, flow);
              }
            }
          }
          // MPC-008: MP_CAPABLE-with-data length vs checksum negotiation.
          if (mpc.form === 'ack-data') {
            if (mpc.dataLevelLength !== undefined && mpc.dataLevelLength > st.maxDll) st.maxDll = mpc.dataLevelLength;
            const neg = checksumNegotiated(flow);
            if (neg === undefined) ctx.notEvaluable('MPC-008', flow, 'checksum negotiation unknown: MP_CAPABLE SYN / SYN-ACK not captured');
            else if ((mpc.checksum !== undefined) !== neg) {
              ctx.report({ id: 'MPC-008', frames: [seg.frame], message: `MP_CAPABLE with data is ${mpc.length} bytes but checksums were ${neg ? '' : 'not '}negotiated (expected ${neg ? 24 : 22})`, evidence: { seen: mpc.length, expected: neg ? 24 : 22 }, key: 'len' }, flow);
            }
          }
          // MPC-009: placement.
          let misplaced: string | undefined;
          if (isJoin) misplaced = 'on an MP_JOIN subflow';
          else if (dir === 1) misplaced = 'from the responder after the SYN/ACK';
          else {
            const isn = isnOf(flow, 0);
            if (isn === undefined) ctx.notEvaluable('MPC-009', flow, 'initiator SYN not captured: relative sequence numbers unknown');
            else {
              const rel = relSeq(seg.seq, isn);
              const limit = mpc.form === 'ack-data' ? Math.max(st.maxDll, mpc.dataLevelLength ?? 0) : st.maxDll;
              const ok = rel === 1 || (rel >= 1 && rel < 1 + limit);
              if (!ok) misplaced = `at relative sequence ${rel}, beyond the first data (MP_CAPABLE data-level length ${limit})`;
            }
          }
          if (misplaced !== undefined) {
            ctx.report({ id: 'MPC-009', frames: [seg.frame], message: `MP_CAPABLE ${misplaced}`, evidence: { seen: misplaced }, key: misplaced.slice(0, 12) }, flow);
          }
        }

        // MPC-007: first initiator data on the initial subflow.
        if (!syn && dir === 0 && !isJoin && seg.payloadLength > 0 && st.firstDataChecked !== true && !isRst(seg)) {
          const isn = isnOf(flow, 0);
          const handshakeMptcp = flow.syn?.option?.type === 'MP_CAPABLE' && flow.synAck?.option?.type === 'MP_CAPABLE' && flow.mpcAck !== undefined;
          if (isn !== undefined && handshakeMptcp && relSeq(seg.seq, isn) === 1) {
            st.firstDataChecked = true;
            if (st.s2cDss !== true) {
              if (mpc?.form === 'ack-data') {
                const dll = mpc.dataLevelLength ?? 0;
                if (dll === 0 || dll < seg.payloadLength) {
                  ctx.report({ id: 'MPC-007', frames: [seg.frame], message: `first data: MP_CAPABLE data-level length ${dll} does not cover the ${seg.payloadLength}-byte segment`, evidence: { seen: dll, expected: `>= ${seg.payloadLength}` } }, flow);
                }
              } else if (!hasMapping) {
                ctx.report({ id: 'MPC-007', frames: [seg.frame], message: 'first initiator data carries neither MP_CAPABLE with data nor a DSS mapping', evidence: { seen: opts.map((o) => o.type).join(','), expected: 'MP_CAPABLE (22/24 bytes) or DSS mapping' } }, flow);
              }
            }
          }
        }

        // MPC-013: Data ACK floor and first mapping.
        const root = tracker.connectionRoot(flow);
        const keys = root?.keys;
        if (keys === undefined || root === undefined) return;
        const host = hostOfDir(flow, root, dir);
        if (host === undefined) return;
        const ownIdsn = host === 'client' ? keys.clientIdsn : keys.serverIdsn;
        const peerIdsn = host === 'client' ? keys.serverIdsn : keys.clientIdsn;
        const hostIdx = host === 'client' ? 0 : 1;
        const cs = conns.get(root);
        for (const o of opts) {
          if (o.type === 'DSS') {
            if (o.dataAck !== undefined && o.dataAck64 && peerIdsn !== undefined && o.dataAck <= peerIdsn) {
              ctx.report({ id: 'MPC-013', frames: [seg.frame], message: `Data ACK ${o.dataAck} is below the peer's IDSN + 1 (${peerIdsn + 1n})`, evidence: { seen: o.dataAck.toString(), expected: `>= ${peerIdsn + 1n}` }, key: 'ack' }, flow);
            }
            if (o.dataSequenceNumber !== undefined && (o.dataLevelLength ?? 0) > 0 && !(o.dataFin && o.subflowSequenceNumber === 0)) {
              checkFirstMapping(flow, root, cs, hostIdx, ownIdsn, o.dataSequenceNumber, o.dsn64, o.subflowSequenceNumber ?? 0, seg.frame);
            }
          } else if (o.type === 'MP_CAPABLE' && o.form === 'ack-data' && dir === 0) {
            // Implicit mapping (IDSN_A + 1, SSN 1): correct by construction.
            cs.firstMapping[0] = true;
          }
        }
      },
      finishConnection(fin, v) {
        const f = v.root;
        if (f === undefined) return;
        const synO = f.syn?.option?.type === 'MP_CAPABLE' ? f.syn.option : undefined;
        const saO = f.synAck?.option?.type === 'MP_CAPABLE' ? f.synAck.option : undefined;
        const ackO = f.mpcAck?.option;
        // MPC-001: forms.
        if (synO !== undefined) {
          if (synO.version >= 1 && synO.length !== 4) {
            fin.report({ id: 'MPC-001', frames: [f.syn!.frame], message: `v${synO.version} MP_CAPABLE SYN is ${synO.length} bytes (carries a key); v1 SYN must be 4 bytes`, evidence: { seen: synO.length, expected: 4 } }, f);
          } else if (synO.version === 0 && synO.length !== 12) {
            fin.report({ id: 'MPC-001', frames: [f.syn!.frame], message: `v0 MP_CAPABLE SYN is ${synO.length} bytes; expected 12 (Key-A)`, evidence: { seen: synO.length, expected: 12 } }, f);
          }
        }
        if (saO !== undefined && saO.sendersKey === undefined) {
          fin.report({ id: 'MPC-001', frames: [f.synAck!.frame], message: `MP_CAPABLE SYN/ACK without the responder key (${saO.length} bytes)`, evidence: { seen: saO.length, expected: 12 } }, f);
        }
        // MPC-002: echo of the responder key in the third ACK.
        if (saO?.sendersKey !== undefined && ackO?.receiversKey !== undefined && saO.sendersKey !== ackO.receiversKey) {
          fin.report({ id: 'MPC-002', frames: [f.mpcAck!.frame, f.synAck!.frame], message: `third ACK echoes responder key ${hex64(ackO.receiversKey)}, SYN/ACK sent ${hex64(saO.sendersKey)}`, evidence: { seen: hex64(ackO.receiversKey), expected: hex64(saO.sendersKey) } }, f);
        } else if (ackO !== undefined && saO === undefined && f.synAck === undefined) {
          fin.notEvaluable('MPC-002', f, 'SYN/ACK not captured: echoed responder key cannot be compared');
        }
        if (synO?.version === 0 && synO.sendersKey !== undefined && ackO?.sendersKey !== undefined && synO.sendersKey !== ackO.sendersKey) {
          fin.report({ id: 'MPC-002', frames: [f.mpcAck!.frame, f.syn!.frame], message: `v0 initiator key differs between SYN (${hex64(synO.sendersKey)}) and third ACK (${hex64(ackO.sendersKey)})`, evidence: { seen: hex64(ackO.sendersKey), expected: hex64(synO.sendersKey) } }, f);
        }
        // MPC-003: algorithm bits.
        if (synO !== undefined && saO !== undefined) {
          const mask = algoMask(saO.version);
          const offered = synO.flags & algoMask(synO.version);
          const chosen = saO.flags & mask;
          if (offered === 0) {
            fin.report({ id: 'MPC-003', frames: [f.synAck!.frame, f.syn!.frame], message: 'MP_CAPABLE SYN/ACK answers a SYN that offered no crypto algorithm (must be ignored)', evidence: { seen: `SYN flags 0x${synO.flags.toString(16)}`, expected: 'an algorithm bit' } }, f);
          } else if (popcount(chosen) !== 1 || (chosen & offered) !== chosen) {
            fin.report({ id: 'MPC-003', frames: [f.synAck!.frame], message: `MP_CAPABLE SYN/ACK algorithm bits 0x${chosen.toString(16)}: must be exactly one of those offered (0x${offered.toString(16)})`, evidence: { seen: chosen, expected: `one bit of 0x${offered.toString(16)}` } }, f);
          }
        }
        // MPC-004: B bit.
        for (const [o, fr] of [[synO, f.syn?.frame], [saO, f.synAck?.frame], [ackO, f.mpcAck?.frame]] as const) {
          if (o !== undefined && o.extensibility && fr !== undefined) {
            fin.report({ id: 'MPC-004', frames: [fr], message: `MP_CAPABLE ${o.form} with extensibility bit B set`, evidence: { seen: 1, expected: 0 }, key: 'B' }, f);
          }
        }
        // MPC-005: version.
        if (synO !== undefined && saO !== undefined && saO.version > synO.version) {
          fin.report({ id: 'MPC-005', frames: [f.synAck!.frame, f.syn!.frame], message: `SYN/ACK version ${saO.version} is above the SYN's ${synO.version}`, evidence: { seen: saO.version, expected: `<= ${synO.version}` } }, f);
        }
        // MPC-006: checksum flag in the third ACK.
        if (synO !== undefined && saO !== undefined && ackO !== undefined) {
          const want = synO.checksumRequired || saO.checksumRequired;
          if (ackO.checksumRequired !== want) {
            fin.report({ id: 'MPC-006', frames: [f.mpcAck!.frame], message: `third ACK checksum flag A = ${ackO.checksumRequired ? 1 : 0}, but SYN.A OR SYN/ACK.A = ${want ? 1 : 0}`, evidence: { seen: ackO.checksumRequired, expected: want } }, f);
          }
        }
        // MPC-010: C flag.
        for (const [o, fr] of [[synO, f.syn?.frame], [saO, f.synAck?.frame], [ackO, f.mpcAck?.frame]] as const) {
          if (o !== undefined && o.version === 1 && o.noJoinToSourceAddress && fr !== undefined) {
            fin.report({ id: 'MPC-010', frames: [fr], message: `MP_CAPABLE ${o.form} with C = 1: no new subflows to ${o.form === 'syn-ack' ? `${f.serverIp}:${f.serverPort}` : `${f.clientIp}:${f.clientPort}`}`, evidence: { flag: 'C' }, key: o.form }, f);
          }
        }
        // MPC-011: key 0 / reuse.
        const keys = f.keys;
        for (const k of [keys?.clientKey, keys?.serverKey]) {
          if (k === undefined) continue;
          if (k === 0n) fin.report({ id: 'MPC-011', frames: [f.firstFrame], message: 'MPTCP key is 0', evidence: { seen: hex64(k) }, key: 'zero' }, f);
          // Reuse across connections is reported at the end of the capture, when connection ids are final.
          const user = { first: v.conn.subflows[0]?.tcpStream ?? f.tcpStream, tcpStream: f.tcpStream, frame: f.firstFrame };
          const users = keyUsers.get(k);
          if (users === undefined) keyUsers.set(k, user);
          else if (Array.isArray(users)) users.push(user);
          else keyUsers.set(k, [users, user]);
        }
        // MPC-012: MP_CAPABLE dropped on SYN retransmission.
        if (f.synRetransWithoutMpc !== undefined) {
          fin.report({ id: 'MPC-012', frames: [f.synRetransWithoutMpc, f.syn!.frame], message: 'SYN retransmitted without MP_CAPABLE (fallback to TCP after SYN losses)', evidence: { seen: 'plain SYN retransmission' } }, f);
        }
        if (f.syn === undefined) {
          for (const id of ['MPC-001', 'MPC-003', 'MPC-005', 'MPC-006', 'MPC-007']) fin.notEvaluable(id, f, 'MP_CAPABLE SYN not captured');
        }
      },
      finish(fin) {
        // MPC-011 (reuse): the first connection (lowest id) using a key owns it; every other one is reported.
        // Ids of the connections in the result; a connection already streamed (CheckOptions.onConnection) has none
        // and is named by its initial tcp.stream.
        const idOf = new Map<number, number>();
        for (const c of fin.analysis.connections) {
          const s = c.subflows[0]?.tcpStream;
          if (s !== undefined) idOf.set(s, c.id);
        }
        for (const [k, users] of keyUsers) {
          if (!Array.isArray(users)) continue;
          users.sort((a, b) => {
            const x = idOf.get(a.first);
            const y = idOf.get(b.first);
            return x !== undefined && y !== undefined ? x - y : a.first - b.first;
          });
          const owner = users[0]!;
          const ownerId = idOf.get(owner.first);
          for (const u of users) {
            if (u.first === owner.first) continue;
            const name = ownerId !== undefined ? `connection ${ownerId}` : `the connection of tcp.stream ${owner.first}`;
            const evidence: Record<string, string | number | boolean | null> = { seen: hex64(k), otherConnection: ownerId ?? null };
            if (ownerId === undefined) evidence.otherTcpStream = owner.first;
            fin.report({ id: 'MPC-011', frames: [u.frame], message: `key ${hex64(k)} also used by ${name}`, evidence, key: 'reuse' }, { tcpStream: u.tcpStream });
          }
        }
      },
    };

    function checkFirstMapping(flow: FlowState, root: FlowState, cs: MpcConn, hostIdx: 0 | 1, idsn: bigint | undefined, dsnRaw: bigint, dsn64: boolean, ssn: number, frame: number): void {
      if (cs.firstMapping[hostIdx]) return;
      cs.firstMapping[hostIdx] = true;
      if (idsn === undefined || flow !== root || ssn !== 1) return;
      const senderDir = hostIdx === 0 ? 0 : 1;
      if (isnOf(flow, senderDir) === undefined) return;
      const dsn = dsn64 ? dsnRaw : expand32(idsn + 1n, Number(dsnRaw & 0xffffffffn));
      if (dsn !== BigInt.asUintN(64, idsn + 1n)) {
        ctx.report({ id: 'MPC-013', frames: [frame], message: `first mapping of the ${hostIdx === 0 ? 'client' : 'server'} starts at DSN ${dsn}, expected IDSN + 1 = ${BigInt.asUintN(64, idsn + 1n)}`, evidence: { seen: dsn.toString(), expected: BigInt.asUintN(64, idsn + 1n).toString() } }, flow);
      }
    }
  },
});

