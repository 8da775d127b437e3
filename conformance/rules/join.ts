/**
 * JOIN-001…JOIN-011 and SEC-001: MP_JOIN subflows (RFC 8684 §3.2; spec §2.4, §2.11), including the
 * HMAC verification of the SYN/ACK (leftmost 64 bits of HMAC(K_R‖K_I, R_R‖R_I)) and of the third ACK
 * (leftmost 160 bits of HMAC(K_I‖K_R, R_I‖R_R)); HMAC-SHA256 in v1, HMAC-SHA1 in v0 (spec §1.12).
 */
import { joinAckHmac, joinSynAckHmac } from '../../analyzer/crypto/index.js';
import type { FlowState } from '../../analyzer/model/flow.js';
import type { MpJoinOption } from '../../analyzer/wire/mptcp/types.js';
import type { ConnectionFinishContext, ConnectionView } from '../registry.js';
import { registerDetector } from '../registry.js';
import { FlowMap, hex32, hexBytes, initiatorIsClient, isRst, isSyn } from './util.js';

interface JoinFlow {
  r2iAck?: boolean;
  earlyDataReported?: boolean;
  noJoinAckReported?: boolean;
}

/** Distinct unknown tokens from one source before SEC-001 fires. */
export const SEC001_THRESHOLD = 8;

const joinOpt = (o: unknown): MpJoinOption | undefined => ((o as { type?: string } | undefined)?.type === 'MP_JOIN' ? (o as MpJoinOption) : undefined);

registerDetector({
  name: 'join',
  rules: ['JOIN-001', 'JOIN-002', 'JOIN-003', 'JOIN-004', 'JOIN-005', 'JOIN-006', 'JOIN-007', 'JOIN-008', 'JOIN-009', 'JOIN-010', 'JOIN-011', 'SEC-001'],
  create(ctx) {
    const flows = new FlowMap<JoinFlow>(() => ({}));
    /** MP_JOIN SYNs for tokens of no captured connection, by source address (SEC-001, across connections). */
    const unknownBySource = new Map<string, { tokens: Set<number>; frames: number[] }>();
    return {
      onSegment(seg, flow, dir) {
        const synO = joinOpt(flow.syn?.option);
        if (synO === undefined || isSyn(seg)) return;
        const st = flows.get(flow);
        if (dir === 1) {
          st.r2iAck = true;
          return;
        }
        const sa = flow.synAck;
        if (sa === undefined || isRst(seg)) return;
        // JOIN-004: the initiator goes on after a SYN/ACK without MP_JOIN.
        if (joinOpt(sa.option) === undefined) {
          if (st.noJoinAckReported !== true) {
            st.noJoinAckReported = true;
            ctx.report({ id: 'JOIN-004', frames: [seg.frame, sa.frame], message: 'initiator continues (ACK/data instead of RST) after a SYN/ACK without MP_JOIN', evidence: { seen: seg.payloadLength > 0 ? 'data' : 'ACK', expected: 'RST' } }, flow);
          }
          return;
        }
        // JOIN-005: no initiator data before the responder's fourth ACK.
        if (seg.payloadLength > 0 && st.r2iAck !== true && st.earlyDataReported !== true) {
          st.earlyDataReported = true;
          ctx.report({ id: 'JOIN-005', frames: [seg.frame], message: `initiator sends ${seg.payloadLength} bytes on the join subflow before the responder acknowledged the third ACK`, evidence: { seen: 'data before the fourth ACK', expected: 'wait for the ACK of the third ACK' } }, flow);
        }
      },
      finishConnection(fin, v) {
        const root = v.root;
        const randomsSeen = new Map<string, number>();
        const idIps = new Map<string, Set<string>>();
        const addId = (host: string, id: number, ip: string): void => {
          const k = `${host}|${id}`;
          let s = idIps.get(k);
          if (s === undefined) idIps.set(k, (s = new Set()));
          s.add(ip);
        };
        if (root !== undefined) {
          addId('client', 0, root.clientIp);
          addId('server', 0, root.serverIp);
        }
        for (const f of v.flows) {
          const synO = joinOpt(f.syn?.option);
          const saO = joinOpt(f.synAck?.option);
          if (synO === undefined && saO === undefined) continue;
          const iIsClient = initiatorIsClient(f, root);
          const iHost = iIsClient === undefined ? undefined : iIsClient ? 'client' : 'server';
          const rHost = iHost === undefined ? undefined : iHost === 'client' ? 'server' : 'client';
          // JOIN-001: token.
          if (synO !== undefined) {
            const tok = synO.receiversToken ?? 0;
            if (root === undefined || root.keys === undefined) {
              fin.report({ id: 'JOIN-001', severity: 'info', frames: [f.syn!.frame], message: `MP_JOIN SYN for token ${hex32(tok)} of no connection in the capture`, evidence: { token: hex32(tok) } }, f);
              const u = unknownBySource.get(f.clientIp) ?? { tokens: new Set<number>(), frames: [] };
              u.tokens.add(tok);
              if (u.frames.length < 20) u.frames.push(f.syn!.frame);
              unknownBySource.set(f.clientIp, u);
            } else {
              const fellBack = root.synAck !== undefined && (root.synAck.option === undefined || (root.thirdAck !== undefined && root.thirdAck.option === undefined));
              if (fellBack && saO !== undefined) {
                fin.report({ id: 'JOIN-001', frames: [f.synAck!.frame, f.syn!.frame], message: `MP_JOIN accepted (SYN/ACK with MP_JOIN) for token ${hex32(tok)} of a connection that fell back to TCP`, evidence: { seen: 'SYN/ACK + MP_JOIN', expected: 'RST' } }, f);
              } else if (root.thirdAck !== undefined && f.syn!.frame < root.thirdAck.frame) {
                fin.report({ id: 'JOIN-001', severity: 'info', frames: [f.syn!.frame], message: 'MP_JOIN SYN before the initial subflow\'s third ACK (keys not yet exchanged)', evidence: { joinSyn: f.syn!.frame, thirdAck: root.thirdAck.frame } }, f);
              }
            }
            if (synO.backup === true) fin.report({ id: 'JOIN-009', frames: [f.syn!.frame], message: 'MP_JOIN SYN requests backup priority (B = 1)', evidence: { backup: true } }, f);
            // JOIN-010: random reuse.
            if (synO.sendersRandom !== undefined) {
              const k = `${f.clientIp}|${tok}|${synO.sendersRandom}`;
              const prev = randomsSeen.get(k);
              if (prev !== undefined) fin.report({ id: 'JOIN-010', frames: [f.syn!.frame, prev], message: `MP_JOIN SYN random ${hex32(synO.sendersRandom)} reused by ${f.clientIp} for token ${hex32(tok)}`, evidence: { random: hex32(synO.sendersRandom) } }, f);
              else randomsSeen.set(k, f.syn!.frame);
            }
            if (iHost !== undefined && synO.addressId !== undefined) addId(iHost, synO.addressId, f.clientIp);
          }
          if (saO !== undefined) {
            if (saO.backup === true) fin.report({ id: 'JOIN-009', frames: [f.synAck!.frame], message: 'MP_JOIN SYN/ACK requests backup priority (B = 1)', evidence: { backup: true } }, f);
            if (saO.sendersRandom !== undefined) {
              const k = `R|${f.serverIp}|${saO.sendersRandom}`;
              const prev = randomsSeen.get(k);
              if (prev !== undefined) fin.report({ id: 'JOIN-010', frames: [f.synAck!.frame, prev], message: `MP_JOIN SYN/ACK random ${hex32(saO.sendersRandom)} reused by ${f.serverIp}`, evidence: { random: hex32(saO.sendersRandom) } }, f);
              else randomsSeen.set(k, f.synAck!.frame);
            }
            if (rHost !== undefined && saO.addressId !== undefined) addId(rHost, saO.addressId, f.serverIp);
          }
          verifyHmacs(fin, f, root, iIsClient, synO, saO);
          // JOIN-006: data without the MP_JOIN third ACK.
          if (synO !== undefined && saO !== undefined && f.joinAck === undefined && f.bytes[0] > 0) {
            fin.report({ id: 'JOIN-006', frames: [f.thirdAck?.frame ?? f.synAck!.frame], message: 'initiator data on a join subflow whose third ACK carried no 24-byte MP_JOIN', evidence: { seen: 'no MP_JOIN ACK', expected: 'MP_JOIN (24 bytes) on the third ACK' } }, f);
          }
          if (root !== undefined && synO !== undefined) checkTarget(fin, v, f, root, iHost);
        }
        // JOIN-007: one address per ID per sender (unless removed in between).
        for (const [k, ips] of idIps) {
          if (ips.size < 2) continue;
          const [host, idS] = k.split('|') as [string, string];
          const id = Number(idS);
          const removed = v.conn.removeAddr.some((r) => r.by === host && r.addressIds.includes(id));
          if (removed) continue;
          fin.report({ id: 'JOIN-007', frames: [v.conn.firstFrame], message: `${host} uses address ID ${id} for ${[...ips].join(' and ')} without REMOVE_ADDR (NAT? see MBX-006)`, evidence: { addressId: id, addresses: [...ips].join(',') } }, root ?? v.flows[0]);
        }
      },
      finish(fin) {
        for (const [src, u] of unknownBySource) {
          if (u.tokens.size >= SEC001_THRESHOLD) {
            fin.report({ id: 'SEC-001', frames: u.frames, message: `${u.tokens.size} MP_JOIN SYNs with unknown tokens from ${src} (token guessing or join flood?)`, evidence: { source: src, tokens: u.tokens.size } });
          }
        }
      },
    };
  },
});

function verifyHmacs(fin: ConnectionFinishContext, f: FlowState, root: FlowState | undefined, iIsClient: boolean | undefined, synO: MpJoinOption | undefined, saO: MpJoinOption | undefined): void {
  const keys = root?.keys;
  if (synO === undefined || saO === undefined) {
    fin.notEvaluable('JOIN-002', f, 'MP_JOIN SYN or SYN/ACK not captured');
    fin.notEvaluable('JOIN-003', f, 'MP_JOIN SYN or SYN/ACK not captured');
    return;
  }
  if (keys?.clientKey === undefined || keys.serverKey === undefined || iIsClient === undefined) {
    fin.notEvaluable('JOIN-002', f, 'connection keys not captured (initial subflow handshake missing)');
    fin.notEvaluable('JOIN-003', f, 'connection keys not captured (initial subflow handshake missing)');
    return;
  }
  const kI = iIsClient ? keys.clientKey : keys.serverKey;
  const kR = iIsClient ? keys.serverKey : keys.clientKey;
  const rI = synO.sendersRandom ?? 0;
  const rR = saO.sendersRandom ?? 0;
  const v = keys.version;
  const alg = v === 1 ? 'HMAC-SHA256' : 'HMAC-SHA1';
  if (saO.truncatedHmac !== undefined) {
    const want = joinSynAckHmac(kR, kI, rR, rI, v);
    if (want === saO.truncatedHmac) fin.pass('JOIN-002', f);
    else {
      const after = f.joinAck !== undefined ? '; the initiator went on with its third ACK instead of RST' : '';
      fin.report({ id: 'JOIN-002', frames: [f.synAck!.frame], message: `MP_JOIN SYN/ACK truncated ${alg} mismatch${after}`, evidence: { seen: saO.truncatedHmac.toString(16).padStart(16, '0'), expected: want.toString(16).padStart(16, '0') } }, f);
    }
  }
  const ack = f.joinAck?.option;
  if (ack?.hmac !== undefined) {
    const want = joinAckHmac(kI, kR, rI, rR, v);
    if (Buffer.from(want).equals(Buffer.from(ack.hmac))) fin.pass('JOIN-003', f);
    else {
      fin.report({ id: 'JOIN-003', frames: [f.joinAck!.frame], message: `MP_JOIN third-ACK ${alg} mismatch${f.bytes[1] > 0 ? '; the responder went on instead of RST' : ''}`, evidence: { seen: hexBytes(ack.hmac), expected: hexBytes(want) } }, f);
    }
  } else if (f.thirdAck !== undefined) {
    fin.notEvaluable('JOIN-003', f, 'MP_JOIN third ACK not captured');
  }
}

/** JOIN-008 (C flag) and JOIN-011 (join to a non-initial port). */
function checkTarget(fin: ConnectionFinishContext, v: ConnectionView, f: FlowState, root: FlowState, iHost: 'client' | 'server' | undefined): void {
  if (iHost === undefined) return;
  const rHost = iHost === 'client' ? 'server' : 'client';
  // The responder's initial address+port and whether it sent C = 1.
  const rIp = rHost === 'server' ? root.serverIp : root.clientIp;
  const rPort = rHost === 'server' ? root.serverPort : root.clientPort;
  const cOpts = rHost === 'server' ? [root.synAck?.option] : [root.syn?.option, root.mpcAck?.option];
  const cSet = cOpts.some((o) => o?.type === 'MP_CAPABLE' && o.version === 1 && o.noJoinToSourceAddress);
  if (cSet && f.serverIp === rIp && f.serverPort === rPort) {
    fin.report({ id: 'JOIN-008', frames: [f.syn!.frame], message: `MP_JOIN SYN to ${rIp}:${rPort}, which the ${rHost} refused with C = 1`, evidence: { seen: `${f.serverIp}:${f.serverPort}`, expected: 'another address or port' } }, f);
  }
  if (f.serverPort !== rPort) {
    const announced = v.conn.addAddr.some((a) => a.by === rHost && !a.echo && a.port === f.serverPort && a.address === f.serverIp);
    if (!announced) {
      fin.report({ id: 'JOIN-011', frames: [f.syn!.frame], message: `MP_JOIN to port ${f.serverPort}, not the initial port ${rPort} and not announced with ADD_ADDR`, evidence: { seen: f.serverPort, expected: rPort } }, f);
    }
  }
}
