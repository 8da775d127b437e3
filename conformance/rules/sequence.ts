/**
 * Data-level sequence rules on the capture's one shared timeline (analyzer/timeline/, TimelineHooks):
 * DSS-003 (payload not covered by a mapping), DSS-004 (a mapping changed), DSS-005 (segment outside its
 * mapping), DSS-006 (reinjected bytes differ), DSS-008 (DATA_FIN DSN), DSS-009 (DATA_FIN acknowledgement,
 * data after both DATA_FINs), DSS-010 (Data ACK for data never sent), DSS-011 (Data ACK decreases),
 * DSS-013 (data beyond Data ACK + receive window), FB-006 (a join subflow keeps carrying unmapped data)
 * and the timing half of ADDR-006 (data long after REMOVE_ADDR). RFC 8684 §3.3.1–§3.3.6, §3.2, §3.4.2, §3.7.
 *
 * Conservative by construction (a false error on a clean trace is a bug): rules that need the subflow
 * handshake, both directions, every subflow, or whole payloads report "not evaluable" for the connection
 * instead of guessing; bytes whose mapping may be in a segment the capture missed are never "unmapped".
 * State: a few numbers per flow direction and per connection direction, plus a capped table of payload
 * sums by DSN for DSS-006 ({@link MAX_SUMS} per connection direction).
 */
import { OnesComplementSum } from '../../analyzer/crypto/index.js';
import type { Dir, FlowState } from '../../analyzer/model/flow.js';
import type { TimelineHooks } from '../../analyzer/timeline/types.js';
import { BoundedNumberTable } from '../../analyzer/timeline/queue.js';
import type { ConnectionFinishContext, ConnectionView, RuleContext } from '../registry.js';
import { registerDetector } from '../registry.js';
import { FlowMap, isRst, isSyn, isnOf, relSeq } from './util.js';
import { segmentPayloadDigest } from '../../analyzer/middlebox/option-space.js';

/** Payload sums kept per connection direction for DSS-006 (most recent first transmissions). */
export const MAX_SUMS = 8192;
const SUM_END = 0;
const SUM_SUM = 1;
const SUM_STREAM = 2;
const SUM_FRAME = 3;
/** ADDR-006: data this long after a REMOVE_ADDR on a subflow using the removed ID is "long after", seconds. */
export const REMOVE_GRACE = 2;

interface FlowDir {
  /** Previous mapping declared on this direction (relative SSN, DLL) for DSS-005. */
  prevSsn: number;
  prevDll: number;
  /** Last Data ACK sent on this direction (DSS-011, within one subflow). */
  lastAck: number | undefined;
  /** A mapping (DSS or MP_CAPABLE with data) was declared on this direction. */
  mapped: boolean;
  /** FB-006 / DSS-003 */
  unmappedSegs: number;
  unmappedEnd: number;
  unmappedFrames: number[];
  /** Highest relative sequence end sent and highest relative ACK the peer sent for it. */
  next: number;
  peerAck: number;
  lastNewData: number | undefined;
  lastNewDataFrame: number;
}

interface FlowSt {
  d: [FlowDir, FlowDir];
}

interface ConnDir {
  /** Highest DSN end declared by a mapping (DATA_FIN included), relative. */
  maxEnd: number | undefined;
  maxDataEnd: number;
  maxDataFrame: number;
  finDsn: number | undefined;
  finFrame: number;
  finAcked: boolean;
  gaps: number;
  maxAck: number | undefined;
  maxAckFrame: number;
  maxAckFlow: FlowState | undefined;
  lastAck: number | undefined;
  lastAckStream: number;
  rightEdge: number | undefined;
  beyond: { frame: number; end: number; edge: number; flow: FlowState } | undefined;
  /** Relative DSN → [end, payload sum, tcp.stream, frame] (columns SUM_END … SUM_FRAME). */
  sums: BoundedNumberTable;
}

interface ConnSt {
  d: [ConnDir, ConnDir];
  flows: Set<FlowState>;
  /** Payload bytes the timeline found unmapped (any reason): DSS-010 then cannot tell data never sent. */
  unmapped: number;
  removals: Array<{ frame: number; time: number; flow: FlowState; dir: Dir; ids: number[] }>;
}

const newFlowDir = (): FlowDir => ({ prevSsn: -1, prevDll: 0, lastAck: undefined, mapped: false, unmappedSegs: 0, unmappedEnd: 0, unmappedFrames: [], next: 0, peerAck: 0, lastNewData: undefined, lastNewDataFrame: 0 });
const newConnDir = (): ConnDir => ({
  maxEnd: undefined,
  maxDataEnd: 0,
  maxDataFrame: 0,
  finDsn: undefined,
  finFrame: 0,
  finAcked: false,
  gaps: 0,
  maxAck: undefined,
  maxAckFrame: 0,
  maxAckFlow: undefined,
  lastAck: undefined,
  lastAckStream: -1,
  rightEdge: undefined,
  beyond: undefined,
  sums: new BoundedNumberTable(MAX_SUMS, 4),
});

const fold = (s: number): number => {
  let v = s;
  while (v > 0xffff) v = (v & 0xffff) + Math.floor(v / 0x10000);
  return v;
};
const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >>> 8);

/** Is the subflow MPTCP-established and not fallen back (both handshake options, third ACK with MP_CAPABLE / MP_JOIN)? */
const established = (f: FlowState): boolean =>
  f.syn?.option !== undefined && f.synAck?.option !== undefined && (f.mpcAck !== undefined || f.joinAck !== undefined) && f.infiniteMapping === undefined && f.mpFail === undefined && f.fastClose === undefined;
const isJoin = (f: FlowState): boolean => f.syn?.option?.type === 'MP_JOIN';

export const SEQUENCE_RULES = ['DSS-003', 'DSS-004', 'DSS-005', 'DSS-006', 'DSS-008', 'DSS-009', 'DSS-010', 'DSS-011', 'DSS-013', 'FB-006', 'ADDR-006'] as const;

registerDetector({
  name: 'sequence',
  rules: SEQUENCE_RULES,
  needsTimeline: true,
  create(ctx: RuleContext) {
    const flows = new FlowMap<FlowSt>(() => ({ d: [newFlowDir(), newFlowDir()] }));
    const conns = new FlowMap<ConnSt>(() => ({ d: [newConnDir(), newConnDir()], flows: new Set(), unmapped: 0, removals: [] }));

    const hooks: TimelineHooks = {
      unmapped(root, flow, dir, seg, ssn, len, ambiguous) {
        conns.get(root).unmapped++;
        if (isSyn(seg) || seg.headerTruncated || ambiguous || isnOf(flow, dir) === undefined || !established(flow)) return;
        if (seg.options.mptcp.some((o) => o.type === 'MALFORMED')) return;
        const fd = flows.get(flow).d[dir];
        // The initial subflow's first data without a mapping is a fallback (FB-003), not DSS-003.
        if (!isJoin(flow) && !fd.mapped) return;
        // The peer sent plain TCP segments first: the initial subflow fell back (RFC 8684 §3.7, FB-003), data without DSS follows.
        const peerPlain = flow.firstPlain[dir === 0 ? 1 : 0];
        if (!isJoin(flow) && peerPlain !== undefined && peerPlain < seg.frame) return;
        fd.unmappedSegs++;
        if (ssn + len > fd.unmappedEnd) fd.unmappedEnd = ssn + len;
        if (fd.unmappedFrames.length < 20) fd.unmappedFrames.push(seg.frame);
        ctx.report({ id: 'DSS-003', frames: [seg.frame], message: `${len} payload byte(s) at subflow sequence ${ssn} not covered by any DSS mapping of this subflow (stripped option? see MBX-002)`, evidence: { ssn, bytes: len, seen: 'no mapping', expected: 'a DSS mapping covering every payload byte' }, key: String(dir) }, flow);
        void root;
      },
      conflict(_root, flow, dir, frame, firstFrame, ssn, dsn, expected) {
        if (flow.infiniteMapping !== undefined) return;
        ctx.report({ id: 'DSS-004', frames: [frame, firstFrame], message: `mapping changed: subflow byte ${ssn} mapped to relative DSN ${dsn}, frame ${firstFrame} mapped it to ${expected}`, evidence: { ssn, seen: dsn, expected, firstFrame }, key: String(dir) }, flow);
      },
      mapping(root, flow, dir, dataDir, frame, dsn, dll, dataFin) {
        flows.get(flow).d[dir].mapped = true;
        if (dll === 0) return;
        const c = conns.get(root);
        c.flows.add(flow);
        const cd = c.d[dataDir];
        const end = dsn + dll;
        if (cd.maxEnd === undefined || end > cd.maxEnd) cd.maxEnd = end;
        const dataEnd = dataFin ? end - 1 : end;
        if (dataFin) {
          const f = end - 1;
          if (cd.finDsn !== undefined && f !== cd.finDsn) {
            ctx.report({ id: 'DSS-008', frames: [frame, cd.finFrame], message: `DATA_FIN at relative DSN ${f}, an earlier DATA_FIN (frame ${cd.finFrame}) was at ${cd.finDsn}`, evidence: { seen: f, expected: cd.finDsn }, key: 'two-fins' }, flow);
          } else if (cd.finDsn === undefined) {
            cd.finDsn = f;
            cd.finFrame = frame;
            if (cd.maxDataEnd > f) ctx.report({ id: 'DSS-008', frames: [frame, cd.maxDataFrame], message: `DATA_FIN at relative DSN ${f} but data was mapped up to ${cd.maxDataEnd} (frame ${cd.maxDataFrame})`, evidence: { seen: cd.maxDataEnd, expected: `≤ ${f}` }, key: 'beyond' }, flow);
          }
        }
        if (dataEnd > cd.maxDataEnd) {
          cd.maxDataEnd = dataEnd;
          cd.maxDataFrame = frame;
          if (cd.finDsn !== undefined && dataEnd > cd.finDsn) {
            ctx.report({ id: 'DSS-008', frames: [frame, cd.finFrame], message: `data mapped up to relative DSN ${dataEnd}, beyond the DATA_FIN at ${cd.finDsn} (frame ${cd.finFrame})`, evidence: { seen: dataEnd, expected: `≤ ${cd.finDsn}` }, key: 'beyond' }, flow);
          }
        }
      },
      piece(root, flow, dir, dataDir, seg, frame, time, dsn, dsnEnd, offset, retx) {
        const c = conns.get(root);
        c.flows.add(flow);
        const cd = c.d[dataDir];
        const fd = flows.get(flow).d[dir];
        if (!retx) {
          fd.lastNewData = time;
          fd.lastNewDataFrame = seg.frame;
        }
        // DSS-009: data after both DATA_FINs were acknowledged.
        if (!retx && c.d[0].finAcked && c.d[1].finAcked) {
          ctx.report({ id: 'DSS-009', frames: [seg.frame], message: `data (relative DSN ${dsn}) sent after both DATA_FINs were acknowledged`, evidence: { dsn, seen: 'data after the connection closed', expected: 'subflows closed' }, key: `late|${dir}` }, flow);
        }
        // DSS-013: beyond the highest Data ACK + window the receiver advertised.
        if (!retx && cd.rightEdge !== undefined && dsnEnd > cd.rightEdge + 1 && (cd.beyond === undefined || dsnEnd - cd.rightEdge > cd.beyond.end - cd.beyond.edge)) {
          cd.beyond = { frame: seg.frame, end: dsnEnd, edge: cd.rightEdge, flow };
        }
        // DSS-006: compare payload sums of the same DSN range on two subflows.
        if (frame === undefined || seg.capturedPayloadLength < seg.payloadLength || c.flows.size < 2) return;
        const start = seg.payloadOffset + offset;
        // The whole payload (the usual piece): the sum MBX-004's hash is computed with, in one pass.
        let sum = offset === 0 && dsnEnd - dsn === seg.payloadLength ? segmentPayloadDigest(seg, frame.data).sum : new OnesComplementSum().add(frame.data, start, start + (dsnEnd - dsn)).folded();
        if ((dsn & 1) === 1) sum = swap16(sum);
        const sums = cd.sums;
        const row = sums.find(dsn);
        if (row < 0) {
          const r = sums.insert(dsn);
          sums.setValue(r, SUM_END, dsnEnd);
          sums.setValue(r, SUM_SUM, sum);
          sums.setValue(r, SUM_STREAM, flow.tcpStream);
          sums.setValue(r, SUM_FRAME, seg.frame);
        } else if (sums.value(row, SUM_END) === dsnEnd && sums.value(row, SUM_STREAM) !== flow.tcpStream) {
          const prev = { sum: sums.value(row, SUM_SUM), frame: sums.value(row, SUM_FRAME) };
          if (fold(prev.sum) !== fold(sum)) {
            ctx.report({ id: 'DSS-006', frames: [seg.frame, prev.frame], message: `relative DSN ${dsn}–${dsnEnd} reinjected with other bytes than in frame ${prev.frame} (payload sums differ; modified in transit? see MBX-004)`, evidence: { dsn, length: dsnEnd - dsn, seen: `0x${sum.toString(16)}`, expected: `0x${prev.sum.toString(16)}`, firstFrame: prev.frame } }, flow);
          } else ctx.pass('DSS-006', flow);
        }
      },
      dataAck(root, flow, dir, acked, seg, _time, a, window) {
        const frame = seg.frame;
        const c = conns.get(root);
        c.flows.add(flow);
        const cd = c.d[acked];
        const fd = flows.get(flow).d[dir];
        // A segment whose subflow ACK is also below one already sent was reordered on its path (IP ID order tells the same).
        const peerIsn = isnOf(flow, dir === 0 ? 1 : 0);
        const tcpAck = peerIsn !== undefined && (seg.flags & 0x10) !== 0 ? relSeq(seg.ack, peerIsn) : undefined;
        const reordered = tcpAck !== undefined && tcpAck < flows.get(flow).d[dir === 0 ? 1 : 0].peerAck;
        // DSS-011: a decrease within one subflow (W). Decreases across subflows, or on a segment reordered on its
        // path, are reordering at the capture point, not sender behaviour: not reported.
        if (fd.lastAck !== undefined && a < fd.lastAck && !reordered) {
          ctx.report({ id: 'DSS-011', frames: [frame], message: `Data ACK decreased from ${fd.lastAck} to ${a} (relative) on the same subflow`, evidence: { seen: a, expected: `≥ ${fd.lastAck}` }, key: `same|${dir}` }, flow);
        }
        if (fd.lastAck === undefined || a > fd.lastAck) fd.lastAck = a;
        if (cd.lastAck === undefined || a >= cd.lastAck) {
          cd.lastAck = a;
          cd.lastAckStream = flow.tcpStream;
        }
        // DSS-010 candidates (judged at the end), DSS-009 acknowledgement.
        if (cd.maxAck === undefined || a > cd.maxAck) {
          cd.maxAck = a;
          cd.maxAckFrame = frame;
          cd.maxAckFlow = flow;
        }
        if (cd.finDsn !== undefined) {
          if (a >= cd.finDsn + 1) cd.finAcked = true;
          if (a > cd.finDsn + 1) {
            ctx.report({ id: 'DSS-009', frames: [frame, cd.finFrame], message: `Data ACK ${a} goes past the DATA_FIN DSN + 1 (${cd.finDsn + 1}, frame ${cd.finFrame})`, evidence: { seen: a, expected: cd.finDsn + 1 }, key: 'past' }, flow);
          }
        }
        if (window !== undefined) {
          const edge = a + window;
          if (cd.rightEdge === undefined || edge > cd.rightEdge) cd.rightEdge = edge;
        }
      },
      gap(root, dataDir) {
        conns.get(root).d[dataDir].gaps++;
      },
    };
    ctx.timeline?.addHooks(hooks);

    return {
      onSegment(seg, flow, dir, time, tracker) {
        if (!flow.mptcpSeen) return;
        const isn = isnOf(flow, dir);
        const peerIsn = isnOf(flow, dir === 0 ? 1 : 0);
        let st: FlowSt | undefined;
        const syn = isSyn(seg);
        if (isn !== undefined && !syn && !isRst(seg)) {
          st = flows.get(flow);
          const fd = st.d[dir];
          const r = relSeq(seg.seq, isn);
          if (r < 0x80000000) {
            const end = r + seg.payloadLength;
            if (end > fd.next) fd.next = end;
          }
          // DSS-005: the carrying segment starts inside its mapping (or the still-open previous one).
          if (seg.payloadLength > 0) {
            for (const o of seg.options.mptcp) {
              if (o.type !== 'DSS' || o.dataSequenceNumber === undefined || o.subflowSequenceNumber === undefined) continue;
              const dll = o.dataLevelLength ?? 0;
              if (dll === 0) continue;
              const ssn = o.subflowSequenceNumber;
              const inside = (s: number, l: number): boolean => s >= 0 && ((r - s) >>> 0) < l;
              if (ssn === 0 && dll > 1) {
                ctx.report({ id: 'DSS-005', frames: [seg.frame], message: `mapping with SSN 0 and Data-Level Length ${dll} (SSN 0 only for a DATA_FIN-only mapping)`, evidence: { seen: `SSN 0 DLL ${dll}`, expected: 'SSN 0 only with DLL 1' }, key: `ssn0|${dir}` }, flow);
              } else if (ssn !== 0 && !inside(ssn, dll) && !inside(fd.prevSsn, fd.prevDll)) {
                ctx.report({ id: 'DSS-005', frames: [seg.frame], message: `segment at subflow sequence ${r} outside its mapping [${ssn}, ${(ssn + dll) >>> 0}) (see MBX-003)`, evidence: { seen: r, expected: `[${ssn}, ${(ssn + dll) >>> 0})` }, key: `out|${dir}` }, flow);
              } else ctx.pass('DSS-005', flow);
              if (ssn !== 0) {
                fd.prevSsn = ssn;
                fd.prevDll = dll;
              }
            }
          }
        } else if (syn) return;
        // Peer's subflow ACK over this direction (closed-world check of DSS-010, FB-006).
        if (peerIsn !== undefined && (seg.flags & 0x10) !== 0 && !syn) {
          st ??= flows.get(flow);
          const a = relSeq(seg.ack, peerIsn);
          const pd = st.d[dir === 0 ? 1 : 0];
          if (a < 0x80000000 && a > pd.peerAck) pd.peerAck = a;
        }
        for (const o of seg.options.mptcp) {
          if (o.type === 'REMOVE_ADDR') {
            const root = tracker.connectionRoot(flow) ?? flow;
            const c = conns.get(root);
            if (c.removals.length < 64) c.removals.push({ frame: seg.frame, time, flow, dir, ids: [...o.addressIds] });
          }
        }
      },
      finishConnection(fin, v) {
        if (fin.timeline === undefined) {
          for (const id of SEQUENCE_RULES) if (v.flows[0] !== undefined) fin.notEvaluable(id, v.flows[0], 'no data-level timeline in this pass');
          return;
        }
        finishConnection(fin, v);
      },
    };

    function finishConnection(fin: ConnectionFinishContext, v: ConnectionView): void {
      const root = v.root;
      const first = v.flows[0];
      if (first === undefined) return;
      const c = root !== undefined ? conns.peek(root) : undefined;
      const allSyn = v.flows.every((f) => f.syn !== undefined && f.synAck !== undefined);
      // Subflow handshakes not captured: segment-level rules cannot be judged there.
      for (const f of v.flows) {
        if (f.clientIsn === undefined || f.serverIsn === undefined) {
          for (const id of ['DSS-003', 'DSS-005', 'FB-006'] as const) fin.notEvaluable(id, f, 'subflow SYN / SYN-ACK not captured: relative subflow sequence numbers unknown (mid-capture start)');
        }
      }
      // FB-006: a join subflow that kept carrying unmapped data, acknowledged by the receiver, without RST.
      for (const f of v.flows) {
        if (!isJoin(f)) continue;
        const st = flows.peek(f);
        if (st === undefined) continue;
        for (const dir of [0, 1] as const) {
          const fd = st.d[dir];
          if (fd.unmappedSegs === 0) continue;
          if (fd.unmappedSegs >= 2 && fd.peerAck >= fd.unmappedEnd && f.rst === undefined) {
            fin.report({ id: 'FB-006', frames: fd.unmappedFrames, message: `join subflow carried ${fd.unmappedSegs} segment(s) of unmapped data, acknowledged by the receiver, and was never reset (a join subflow cannot fall back)`, evidence: { segments: fd.unmappedSegs, seen: 'unmapped data acknowledged, no RST', expected: 'RST of the subflow' } }, f);
          } else if (f.rst !== undefined) fin.pass('FB-006', f);
        }
      }
      if (c === undefined || root === undefined) return;
      const keys = root.keys;
      for (const d of [0, 1] as const) {
        const cd = c.d[d];
        // DSS-010: Data ACK above every DSN the peer mapped in the whole capture.
        if (cd.maxAck !== undefined && cd.maxAckFlow !== undefined) {
          const idsnKnown = (d === 0 ? keys?.clientIdsn : keys?.serverIdsn) !== undefined && root.syn !== undefined;
          const bound = cd.maxEnd ?? (idsnKnown ? 1 : undefined);
          if (bound !== undefined && cd.maxAck > bound) {
            const closed = idsnKnown && allSyn && cd.gaps === 0 && c.unmapped === 0 && v.flows.every((f) => f.optionsCut === 0 && f.synOptionsCut !== true) && v.flows.every((f) => subflowCompleteFor(fin, f, d));
            if (closed) {
              fin.report({ id: 'DSS-010', frames: [cd.maxAckFrame], message: `Data ACK ${cd.maxAck} (relative) acknowledges data never sent: the peer mapped data only up to ${bound}`, evidence: { seen: cd.maxAck, expected: `≤ ${bound}` } }, cd.maxAckFlow);
            } else {
              fin.notEvaluable('DSS-010', cd.maxAckFlow, `Data ACK ${cd.maxAck} beyond the data seen (${bound}), but a subflow or segments may be outside the capture (see MBX-008)`);
            }
          } else if (bound !== undefined) fin.pass('DSS-010', cd.maxAckFlow);
        }
        // DSS-013: data beyond the shared receive window.
        if (cd.beyond !== undefined) {
          if (allSyn) {
            fin.report({ id: 'DSS-013', frames: [cd.beyond.frame], message: `data up to relative DSN ${cd.beyond.end} sent beyond the highest Data ACK + receive window advertised (${cd.beyond.edge})`, evidence: { seen: cd.beyond.end, expected: `≤ ${cd.beyond.edge}` } }, cd.beyond.flow);
          } else fin.notEvaluable('DSS-013', first, 'a subflow handshake was not captured: window scale unknown there');
        }
      }
      removals(fin, v, c);
    }

    /** No data of connection direction `d` on `f` acknowledged at subflow level without being seen. */
    function subflowCompleteFor(fin: ConnectionFinishContext, f: FlowState, d: Dir): boolean {
      const st = flows.peek(f);
      if (st === undefined) return true;
      for (const dir of [0, 1] as const) {
        const host = fin.hostOf(f, dir);
        if (host === undefined) return false;
        if ((host === 'client' ? 0 : 1) !== d) continue;
        // The peer's ACK may cover the FIN (one more than the data).
        if (st.d[dir].peerAck > st.d[dir].next + 1) return false;
      }
      return true;
    }

    /** ADDR-006 (timing half): subflows using a removed address ID still send new data long after. */
    function removals(fin: ConnectionFinishContext, v: ConnectionView, c: ConnSt): void {
      for (const r of c.removals) {
        const remover = fin.hostOf(r.flow, r.dir);
        if (remover === undefined) continue;
        for (const f of v.flows) {
          const id = addressIdOf(f, v, remover, fin);
          if (id === undefined || !r.ids.includes(id)) continue;
          const st = flows.peek(f);
          if (st === undefined) continue;
          for (const dir of [0, 1] as const) {
            const fd = st.d[dir];
            if (fd.lastNewData !== undefined && fd.lastNewData > r.time + REMOVE_GRACE) {
              fin.report({ id: 'ADDR-006', frames: [fd.lastNewDataFrame, r.frame], message: `subflow using address ID ${id} of the ${remover} still carries new data ${(fd.lastNewData - r.time).toFixed(1)} s after REMOVE_ADDR (frame ${r.frame})`, evidence: { addressId: id, seconds: Number((fd.lastNewData - r.time).toFixed(3)), removedAt: r.frame } }, f);
            }
          }
        }
      }
    }
  },
});

/** The address ID that `host` uses on subflow `f` (0 on the initial subflow; MP_JOIN SYN / SYN-ACK on joins). */
function addressIdOf(f: FlowState, v: ConnectionView, host: 'client' | 'server', fin: ConnectionFinishContext): number | undefined {
  if (f === v.root) return 0;
  const initiator = fin.hostOf(f, 0);
  if (initiator === undefined) return undefined;
  const o = initiator === host ? f.syn?.option : f.synAck?.option;
  return o?.type === 'MP_JOIN' ? o.addressId : undefined;
}
