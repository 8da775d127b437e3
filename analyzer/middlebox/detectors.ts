/**
 * Middlebox-interference detectors (rule catalogue §2.10, MBX-001..009; RFC 8684 §6, RFC 8041, RFC 6181),
 * from one vantage point, streaming.
 *
 * Every detector keeps per-flow (per subflow) state only: a few counters, the first frame that showed a
 * signature, the latest mapping, a capped list of open sequence holes, and a capped per-connection table
 * of payload hashes by Data Sequence Number (for reinjections). Nothing grows with the number of packets.
 *
 * Capture artefacts are reported in group `capture` and never blamed on a middlebox:
 * TSO/GRO super-segments and IP total length 0 (MBX-005), data lost at the capture point (MBX-007),
 * ACKs for data the capture never saw (MBX-008), options cut by snaplen (MBX-009).
 * DSS checksum failures are the conformance engine's DSS-002; MBX-004 references it instead of
 * recomputing checksums.
 */
import type { Frame } from '../capture/types.js';
import type { Dir, FlowState } from '../model/flow.js';
import type { ConnectionTracker } from '../model/tracker.js';
import type { TcpSegment } from '../wire/types.js';
import { TcpFlag } from '../wire/types.js';
import type { DssOption } from '../wire/mptcp/types.js';
import type { ConnectionFinishContext, ConnectionView, Detector, FindingInput, FinishContext, RuleContext, RuleSession } from '../../conformance/registry.js';
import { BoundedNumberTable } from '../timeline/queue.js';
import { STRIP_NOP_RUN, longestNopRun, segmentPayloadDigest } from './option-space.js';

/** Rule IDs this module may emit. */
export const MIDDLEBOX_RULES = ['MBX-001', 'MBX-002', 'MBX-003', 'MBX-004', 'MBX-005', 'MBX-006', 'MBX-007', 'MBX-008', 'MBX-009'] as const;

/** Open subflow-sequence holes kept per direction; more are counted, not kept. */
const MAX_HOLES = 64;
/** Payload hashes kept per connection direction for the reinjection check (most recent first-transmissions). */
const MAX_DSN_HASHES = 8192;

const SEQ_HALF = 0x80000000;

interface Hole {
  start: number;
  end: number;
  /** Frame of the segment after the hole. */
  frame: number;
}

/** Per-direction (sender) state of one flow. */
interface DirState {
  /** This direction's connection-level table of first transmissions (MBX-004), once the connection is known. */
  dsnTable?: DsnTable;
  /** Base for relative subflow sequence numbers: the ISN, or the first seq seen when the SYN was not captured. */
  base?: number;
  baseIsIsn: boolean;
  /** Next expected relative sequence number (highest end seen). */
  next: number;
  holes: Hole[];
  holesDropped: number;
  /** Highest relative ACK this direction sent for the peer's data (relative to the peer's base), and its frame. */
  maxAck: number;
  maxAckFrame: number;
  /** Largest segment the peer allows (MSS option in the peer's SYN). */
  peerMss?: number;
  /** MBX-002: segments without any MPTCP option on an established subflow. */
  plainFirst?: number;
  plainCount: number;
  plainNopRun: number;
  /** MPTCP options seen from this direction after the first plain segment. */
  mptcpAfterPlain: number;
  /** MBX-003 */
  ssnBadFirst?: number;
  ssnBadCount: number;
  /** Smallest and largest (relative seq − SSN) among bad segments; a mapping may span segments, so the shift is the smallest. */
  ssnOffsetMin: number;
  ssnOffsetMax: number;
  ssnMaxDll: number;
  ssnChecked: number;
  /** MBX-005 */
  coalesceFirst?: number;
  coalesceCount: number;
  superFirst?: number;
  superCount: number;
  superMax: number;
  ipLenZero: number;
  fin: boolean;
  /** Infinite mapping or MP_FAIL seen from either side: plain segments are expected from then on. */
  fellBack: boolean;
}

interface FlowMbx {
  flow: FlowState;
  d: [DirState, DirState];
  synAckNopRun: number;
  synAckFrame?: number;
  thirdAckFrame?: number;
  thirdAckNopRun: number;
  rst: boolean;
  /** Data segments whose payload the capture cut (snaplen): reinjected bytes cannot be compared. */
  payloadCut: number;
}

/** Per connection direction: first transmissions by DSN (low 32 bits) → payload length, hash, frame (columns {@link DSN_LEN}, {@link DSN_HASH}, {@link DSN_FRAME}). */
interface DsnTable {
  map: BoundedNumberTable;
}
const DSN_LEN = 0;
const DSN_HASH = 1;
const DSN_FRAME = 2;

function newDir(): DirState {
  return {
    baseIsIsn: false,
    next: 0,
    holes: [],
    holesDropped: 0,
    maxAck: -1,
    maxAckFrame: 0,
    plainCount: 0,
    plainNopRun: 0,
    mptcpAfterPlain: 0,
    ssnBadCount: 0,
    ssnOffsetMin: Number.POSITIVE_INFINITY,
    ssnOffsetMax: Number.NEGATIVE_INFINITY,
    ssnMaxDll: 0,
    ssnChecked: 0,
    coalesceCount: 0,
    superCount: 0,
    superMax: 0,
    ipLenZero: 0,
    fin: false,
    fellBack: false,
  };
}

const hex = (v: bigint | number, w: number): string => `0x${v.toString(16).padStart(w, '0')}`;

/** Relative sequence number (32-bit modular difference). */
const rel = (seq: number, base: number): number => (seq - base) >>> 0;

/**
 * One capture's middlebox detectors. Implements the conformance {@link RuleSession} contract
 * (conformance/registry.ts): `onSegment` streaming, `finishConnection` and `release` as connections are
 * retired (or at the end), `finish` once at the end.
 */
export class MiddleboxSession implements RuleSession {
  private readonly flows = new Map<FlowState, FlowMbx>();
  private readonly dsnTables = new Map<string, DsnTable>();
  /** Servers (ip|port) whose SYN/ACK carried MP_CAPABLE on some flow finished so far (MBX-001). */
  private readonly serversSpeakingMptcp = new Set<string>();
  /** Handshakes whose SYN/ACK dropped MP_CAPABLE: MBX-001 is decided at the end, against every server seen. */
  private readonly fellBack: { tcpStream: number; server: string; serverName: string; synAckFrame: number; synFrame: number; nopRun: number }[] = [];

  constructor(private readonly ctx: RuleContext) {}

  private state(flow: FlowState): FlowMbx {
    let s = this.flows.get(flow);
    if (s === undefined) {
      s = { flow, d: [newDir(), newDir()], synAckNopRun: 0, thirdAckNopRun: 0, rst: false, payloadCut: 0 };
      this.flows.set(flow, s);
    }
    return s;
  }

  onSegment(seg: TcpSegment, flow: FlowState, dir: Dir, _time: number, tracker: ConnectionTracker, frame?: Frame): void {
    const s = this.state(flow);
    const me = s.d[dir];
    const peer = s.d[dir === 0 ? 1 : 0];
    const flags = seg.flags;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const ackFlag = (flags & TcpFlag.ACK) !== 0;
    const rst = (flags & TcpFlag.RST) !== 0;
    const fin = (flags & TcpFlag.FIN) !== 0;
    const opts = seg.options.mptcp;

    // ---- sequence space: base, holes (MBX-007), ACKs (MBX-008)
    if (syn) {
      if (me.base === undefined || !me.baseIsIsn) {
        me.base = seg.seq;
        me.baseIsIsn = true;
        me.next = 1;
        me.holes.length = 0;
      }
      if (seg.options.mss !== undefined) peer.peerMss = seg.options.mss;
      if (ackFlag) {
        s.synAckFrame = seg.frame;
        s.synAckNopRun = longestNopRun(seg, frame);
      }
    } else if (!rst) {
      if (dir === 0 && s.thirdAckFrame === undefined && flow.synAck !== undefined) {
        s.thirdAckFrame = seg.frame;
        s.thirdAckNopRun = longestNopRun(seg, frame);
      }
      if (me.base === undefined) {
        me.base = seg.seq;
        me.next = 0;
      }
      this.trackSeq(me, seg, fin);
    }
    if (ackFlag && peer.base !== undefined && !rst) {
      const a = rel(seg.ack, peer.base);
      if (a < SEQ_HALF && a > me.maxAck) {
        me.maxAck = a;
        me.maxAckFrame = seg.frame;
      }
    }
    if (rst) s.rst = true;
    if (fin) me.fin = true;
    if (seg.capturedPayloadLength < seg.payloadLength) s.payloadCut++;

    // ---- capture artefacts on the sending host (MBX-005, capture)
    if (seg.ipLengthZero === true) me.ipLenZero++;
    if (me.peerMss !== undefined && seg.payloadLength > me.peerMss) {
      me.superCount++;
      if (me.superFirst === undefined) me.superFirst = seg.frame;
      if (seg.payloadLength > me.superMax) me.superMax = seg.payloadLength;
    }

    // ---- MPTCP options
    let hasMptcp = false;
    let mapping: DssOption | undefined;
    for (let i = 0; i < opts.length; i++) {
      const o = opts[i]!;
      if (o.type === 'MALFORMED') continue;
      hasMptcp = true;
      switch (o.type) {
        case 'DSS':
          if (o.dataSequenceNumber !== undefined) {
            if (o.dataLevelLength === 0) {
              me.fellBack = true;
              peer.fellBack = true;
              this.ctx.report(
                {
                  id: 'MBX-004',
                  severity: 'info',
                  group: 'middlebox',
                  rfc: 'RFC 8684 §3.7',
                  frames: [seg.frame],
                  message: `infinite mapping (Data-Level Length 0) at DSN ${o.dataSequenceNumber}: the sender fell back to TCP, usually after a middlebox broke a mapping or a checksum`,
                  evidence: { dsn: o.dataSequenceNumber.toString(), subflowSequenceNumber: o.subflowSequenceNumber ?? null, checksum: o.checksum ?? null },
                  key: 'infinite',
                },
                flow,
              );
            } else mapping = o;
          }
          break;
        case 'MP_FAIL':
          me.fellBack = true;
          peer.fellBack = true;
          this.ctx.report(
            {
              id: 'MBX-004',
              severity: 'warning',
              group: 'middlebox',
              rfc: 'RFC 8684 §3.7',
              frames: [seg.frame],
              message: `MP_FAIL at DSN ${o.dataSequenceNumber}: the receiver found the payload or its mapping modified in transit (see DSS-002 for the checksum itself)`,
              evidence: { dsn: o.dataSequenceNumber.toString(), related: 'DSS-002' },
              key: `fail|${o.dataSequenceNumber}`,
            },
            flow,
          );
          break;
        case 'MP_TCPRST':
          if (o.reason === 0x06) {
            this.ctx.report(
              {
                id: 'MBX-004',
                severity: 'warning',
                group: 'middlebox',
                rfc: 'RFC 8684 §3.6',
                frames: [seg.frame],
                message: 'MP_TCPRST reason 0x06 (middlebox interference): the sender reset this subflow because of a middlebox',
                evidence: { reason: o.reason },
                key: 'tcprst6',
              },
              flow,
            );
          }
          break;
        case 'MP_FASTCLOSE':
          me.fellBack = true;
          peer.fellBack = true;
          break;
        default:
          break;
      }
    }
    if (hasMptcp && me.plainFirst !== undefined) me.mptcpAfterPlain++;

    // ---- MBX-002: no MPTCP option on an established subflow
    if (!syn && !rst && !hasMptcp && !seg.headerTruncated && !me.fin && !peer.fin && !me.fellBack && this.established(flow, s)) {
      // A pure ACK that ends the subflow after a FIN, or a TIME-WAIT ACK, never gets here (fin guards).
      me.plainCount++;
      if (me.plainFirst === undefined) {
        me.plainFirst = seg.frame;
        me.plainNopRun = longestNopRun(seg, frame);
      }
    }

    // ---- mappings vs segments: MBX-003 (SSN vs seq − ISN), MBX-005 (coalescing), MBX-004 (reinjection)
    if (mapping !== undefined && seg.payloadLength > 0 && !syn) {
      const ssn = mapping.subflowSequenceNumber;
      const dll = mapping.dataLevelLength ?? 0;
      if (ssn !== undefined && ssn !== 0 && me.base !== undefined && me.baseIsIsn) {
        const r = rel(seg.seq, me.base);
        const off = (r - ssn) | 0;
        me.ssnChecked++;
        if (off < 0 || off >= dll) {
          if (me.ssnBadFirst === undefined) me.ssnBadFirst = seg.frame;
          me.ssnBadCount++;
          if (off < me.ssnOffsetMin) me.ssnOffsetMin = off;
          if (off > me.ssnOffsetMax) me.ssnOffsetMax = off;
          if (dll > me.ssnMaxDll) me.ssnMaxDll = dll;
        } else if (off + seg.payloadLength > dll) {
          const tso = seg.ipLengthZero === true || (me.peerMss !== undefined && seg.payloadLength > me.peerMss);
          if (!tso) {
            me.coalesceCount++;
            if (me.coalesceFirst === undefined) me.coalesceFirst = seg.frame;
          }
        }
        if (off >= 0 && off < dll && frame !== undefined && seg.capturedPayloadLength === seg.payloadLength) {
          this.checkReinjection(seg, me, flow, dir, tracker, frame, mapping, off);
        }
      }
    }
  }

  /** Both handshake segments carried MPTCP (MP_CAPABLE or MP_JOIN): the subflow is MPTCP-established. */
  private established(flow: FlowState, s: FlowMbx): boolean {
    if (flow.syn?.option === undefined || flow.synAck?.option === undefined) return false;
    if (flow.infiniteMapping !== undefined || flow.mpFail !== undefined || flow.fastClose !== undefined) return false;
    // The third ACK must have completed the MPTCP handshake, or have lost its option to a stripping device.
    return flow.mpcAck !== undefined || flow.joinAck !== undefined || s.thirdAckNopRun >= STRIP_NOP_RUN;
  }

  private trackSeq(me: DirState, seg: TcpSegment, fin: boolean): void {
    const base = me.base!;
    const len = seg.payloadLength + (fin ? 1 : 0);
    if (len === 0) return;
    const start = rel(seg.seq, base);
    if (start >= SEQ_HALF) return; // before the base: old data, ignore
    const end = start + len;
    if (start > me.next) {
      if (me.holes.length < MAX_HOLES) me.holes.push({ start: me.next, end: start, frame: seg.frame });
      else me.holesDropped++;
    } else if (start < me.next && me.holes.length > 0) {
      // retransmission: fill what it covers
      const kept: Hole[] = [];
      for (const h of me.holes) {
        if (end <= h.start || start >= h.end) kept.push(h);
        else {
          if (start > h.start) kept.push({ start: h.start, end: start, frame: h.frame });
          if (end < h.end) kept.push({ start: end, end: h.end, frame: h.frame });
        }
      }
      me.holes = kept;
    }
    if (end > me.next) me.next = end;
  }

  /** MBX-004: the same DSN range transmitted twice with different bytes (reinjection of modified data). */
  private checkReinjection(seg: TcpSegment, me: DirState, flow: FlowState, dir: Dir, tracker: ConnectionTracker, frame: Frame, m: DssOption, off: number): void {
    if (m.dataSequenceNumber === undefined) return;
    let t = me.dsnTable;
    if (t === undefined) {
      // Shared by every subflow of the connection that the same host sends on (perf: looked up once per flow direction).
      const root = tracker.connectionRoot(flow);
      if (root === undefined) return;
      const host = hostOfDir(flow, dir, root);
      if (host === undefined) return;
      const key = `${root.tcpStream}|${host}`;
      t = this.dsnTables.get(key);
      if (t === undefined) {
        t = { map: new BoundedNumberTable(MAX_DSN_HASHES, 3) };
        this.dsnTables.set(key, t);
      }
      me.dsnTable = t;
    }
    // Low 32 bits of DSN + off (0 ≤ off < Data-Level Length): one bigint conversion, then number arithmetic.
    const dsn = (Number(BigInt.asUintN(32, m.dataSequenceNumber)) + off) >>> 0;
    const h = segmentPayloadDigest(seg, frame.data).hash;
    const tab = t.map;
    const row = tab.find(dsn);
    if (row < 0) {
      const r = tab.insert(dsn);
      tab.setValue(r, DSN_LEN, seg.payloadLength);
      tab.setValue(r, DSN_HASH, h);
      tab.setValue(r, DSN_FRAME, seg.frame);
      return;
    }
    const prev = { len: tab.value(row, DSN_LEN), hash: tab.value(row, DSN_HASH), frame: tab.value(row, DSN_FRAME) };
    if (prev.len === seg.payloadLength && prev.hash !== h) {
      this.ctx.report(
        {
          id: 'MBX-004',
          severity: 'warning',
          group: 'middlebox',
          rfc: 'RFC 8684 §3.3.1',
          frames: [seg.frame, prev.frame],
          message: `DSN ${hex(dsn, 8)} (+${seg.payloadLength} bytes) retransmitted with different bytes than in frame ${prev.frame}: payload modified in transit`,
          evidence: { dsnLow32: hex(dsn, 8), length: seg.payloadLength, firstFrame: prev.frame, seenHash: hex(h, 8), firstHash: hex(prev.hash, 8) },
          key: `reinject|${dsn}`,
        },
        flow,
      );
    }
  }

  /** The connection's flows are done: MBX-006 on it (its flows' own checks run in {@link release}). */
  finishConnection(ctx: ConnectionFinishContext, v: ConnectionView): void {
    this.finishNat(ctx, v);
  }

  /** A flow gets no more segments: run its end checks and drop its state. */
  release(flow: FlowState): void {
    const s = this.flows.get(flow);
    if (s === undefined) return;
    this.finishFlow(s);
    this.flows.delete(flow);
    if (flow.keys !== undefined) {
      this.dsnTables.delete(`${flow.tcpStream}|client`);
      this.dsnTables.delete(`${flow.tcpStream}|server`);
    }
  }

  finish(ctx: FinishContext): void {
    for (const s of this.flows.values()) this.finishFlow(s);
    this.flows.clear();
    // MBX-001 on fallen-back handshakes, now that every server seen answering MP_CAPABLE is known.
    for (const p of this.fellBack) {
      const other = this.serversSpeakingMptcp.has(p.server);
      const stripped = p.nopRun >= STRIP_NOP_RUN;
      if (!stripped && !other) continue;
      this.ctx.report(
        {
          id: 'MBX-001',
          severity: 'info',
          group: 'middlebox',
          rfc: 'RFC 8684 §3.1, §6',
          frames: [p.synAckFrame, p.synFrame],
          message:
            `SYN offered MP_CAPABLE, the SYN/ACK has none` +
            (stripped ? ` and ${p.nopRun} NOP bytes where an option was (stripped in transit)` : '') +
            (other ? `${stripped ? ';' : ','} the same server ${p.serverName} answers MP_CAPABLE on other connections` : ''),
          evidence: { synAckNopRun: p.nopRun, serverSpeaksMptcpElsewhere: other, seen: 'SYN/ACK without MP_CAPABLE', expected: 'MP_CAPABLE' },
        },
        { tcpStream: p.tcpStream },
      );
    }
    this.finishIssues(ctx);
  }

  private finishFlow(s: FlowMbx): void {
    const f = s.flow;
    const report = (x: FindingInput): void => this.ctx.report(x, f);
    const synOpt = f.syn?.option;
    const synAckOpt = f.synAck?.option;

    if (f.synOptionsCut === true) this.ctx.notEvaluable('MBX-001', f, "the SYN's options were cut by the capture snaplen");
    if (s.payloadCut > 0 && f.mptcpSeen) this.ctx.notEvaluable('MBX-004', f, `payload of ${s.payloadCut} segment(s) cut by the capture snaplen: reinjected bytes not comparable (MP_FAIL / MP_TCPRST still checked)`);
    if (synAckOpt?.type === 'MP_CAPABLE') this.serversSpeakingMptcp.add(`${f.serverIp}|${f.serverPort}`);
    // ---- MBX-001: MP_CAPABLE offered, handshake fell back, with evidence of a device: decided in finish(),
    // once every connection to the same server has been seen.
    if (synOpt?.type === 'MP_CAPABLE' && f.synAck !== undefined && synAckOpt === undefined) {
      this.fellBack.push({ tcpStream: f.tcpStream, server: `${f.serverIp}|${f.serverPort}`, serverName: `${f.serverIp}:${f.serverPort}`, synAckFrame: f.synAck.frame, synFrame: f.syn!.frame, nopRun: s.synAckNopRun });
    } else if (synOpt?.type === 'MP_CAPABLE' && synAckOpt?.type === 'MP_CAPABLE' && f.mpcAck === undefined && s.thirdAckFrame !== undefined && s.thirdAckNopRun < STRIP_NOP_RUN) {
      // Server vantage: our SYN/ACK carried MP_CAPABLE, the client answered as plain TCP. A Linux client does so
      // only when the SYN/ACK it received had no MP_CAPABLE: stripped between here and the client.
      const third = s.d[0];
      if (third.mptcpAfterPlain === 0 && f.mptcpSeen) {
        report({
          id: 'MBX-001',
          severity: 'info',
          group: 'middlebox',
          rfc: 'RFC 8684 §3.1, §6',
          frames: [s.thirdAckFrame, f.synAck!.frame],
          message: `SYN and SYN/ACK carried MP_CAPABLE but the client's third ACK is plain TCP: the SYN/ACK's MP_CAPABLE was likely stripped on its way to the client`,
          evidence: { seen: 'third ACK without MP_CAPABLE', expected: 'MP_CAPABLE (ACK form)', thirdAckNopRun: s.thirdAckNopRun },
        });
      }
    }

    for (const dir of [0, 1] as const) {
      const d = s.d[dir];
      const who = dir === 0 ? `${f.clientIp}:${f.clientPort}` : `${f.serverIp}:${f.serverPort}`;
      // ---- MBX-002
      if (d.plainFirst !== undefined) {
        const stripped = d.plainNopRun >= STRIP_NOP_RUN;
        report({
          id: 'MBX-002',
          severity: 'warning',
          group: 'middlebox',
          rfc: 'RFC 8684 §3.7, §6',
          frames: [d.plainFirst],
          message:
            `${d.plainCount} segment(s) from ${who} without any MPTCP option on an MPTCP subflow` +
            (stripped ? `, with ${d.plainNopRun} NOP bytes where options were (stripped in transit)` : ' (options stripped, or that host fell back)'),
          evidence: { segments: d.plainCount, nopRun: d.plainNopRun, mptcpOptionsAfter: d.mptcpAfterPlain, seen: 'no MPTCP option', expected: 'DSS (Data ACK / mapping)' },
        });
      }
      // ---- MBX-003
      if (d.ssnChecked > 0 && d.ssnBadFirst === undefined) this.ctx.pass('MBX-003', f);
      if (d.ssnBadFirst !== undefined) {
        // Segments inside one multi-segment mapping add their position in it: a constant shift spreads over less than a mapping.
        const constant = d.ssnOffsetMax - d.ssnOffsetMin < d.ssnMaxDll;
        report({
          id: 'MBX-003',
          severity: 'warning',
          group: 'middlebox',
          rfc: 'RFC 8684 §3.3.1, §6',
          frames: [d.ssnBadFirst],
          message: `${d.ssnBadCount} of ${d.ssnChecked} mapped segments from ${who} start outside their mapping (TCP seq − ISN vs Subflow Sequence Number): shift ${d.ssnOffsetMin} bytes${constant ? ' (constant: ISN rewritten or SYN missed)' : ` to ${d.ssnOffsetMax} (changing: payload lengths altered)`}`,
          evidence: { segments: d.ssnBadCount, checked: d.ssnChecked, shift: d.ssnOffsetMin, offsetMax: d.ssnOffsetMax, constant },
        });
      }
      // ---- MBX-005
      if (d.coalesceFirst !== undefined) {
        report({
          id: 'MBX-005',
          severity: 'warning',
          group: 'middlebox',
          rfc: 'RFC 8684 §6',
          frames: [d.coalesceFirst],
          message: `${d.coalesceCount} segment(s) from ${who} carry payload past the end of their own mapping (not above the MSS): segments coalesced in transit`,
          evidence: { segments: d.coalesceCount },
        });
      }
      if (d.superFirst !== undefined || d.ipLenZero > 0) {
        report({
          id: 'MBX-005',
          severity: 'info',
          group: 'capture',
          rfc: 'RFC 8684 §6',
          frames: d.superFirst !== undefined ? [d.superFirst] : [],
          message: `${d.superCount} segment(s) from ${who} larger than the peer's MSS ${d.peerMss ?? '?'} (max ${d.superMax} bytes)${d.ipLenZero > 0 ? `, ${d.ipLenZero} with IP total length 0` : ''}: TSO/GRO super-segments of the capturing host, not a middlebox`,
          evidence: { segments: d.superCount, maxPayload: d.superMax, mss: d.peerMss ?? null, ipTotalLengthZero: d.ipLenZero },
        });
      }
      // ---- MBX-007 / MBX-008: holes and ACKs for data never seen
      const peerAck = s.d[dir === 0 ? 1 : 0].maxAck;
      const peerAckFrame = s.d[dir === 0 ? 1 : 0].maxAckFrame;
      if (d.base !== undefined) {
        let ackedHoles = 0;
        let ackedBytes = 0;
        let openHoles = 0;
        let openBytes = 0;
        let firstAcked: Hole | undefined;
        let firstOpen: Hole | undefined;
        for (const h of d.holes) {
          if (peerAck >= h.end) {
            ackedHoles++;
            ackedBytes += h.end - h.start;
            firstAcked ??= h;
          } else {
            openHoles++;
            openBytes += h.end - h.start;
            firstOpen ??= h;
          }
        }
        if (firstAcked !== undefined) {
          report({
            id: 'MBX-007',
            severity: 'info',
            group: 'capture',
            rfc: '-',
            frames: [firstAcked.frame],
            message: `${ackedHoles} subflow sequence hole(s) from ${who} (${ackedBytes} bytes) never retransmitted yet acknowledged by the peer: lost at the capture point, not in the network`,
            evidence: { holes: ackedHoles, bytes: ackedBytes, firstHoleRelStart: firstAcked.start, firstHoleRelEnd: firstAcked.end, holesNotKept: d.holesDropped },
          });
        }
        if (firstOpen !== undefined) {
          report({
            id: 'MBX-007',
            severity: 'info',
            group: 'middlebox',
            rfc: '-',
            frames: [firstOpen.frame],
            message: `${openHoles} subflow sequence hole(s) from ${who} (${openBytes} bytes) never filled nor acknowledged in the capture: dropped on the path (or the capture ended first)`,
            evidence: { holes: openHoles, bytes: openBytes, firstHoleRelStart: firstOpen.start, firstHoleRelEnd: firstOpen.end },
          });
        }
        if (peerAck > d.next && (d.next > 0 || d.baseIsIsn)) {
          report({
            id: 'MBX-008',
            severity: 'info',
            group: 'capture',
            rfc: 'RFC 8684 §3.3.2',
            frames: [peerAckFrame],
            message: `the peer acknowledged ${who}'s data up to relative seq ${peerAck}, but the capture saw it only up to ${d.next}: data never seen (capture loss or another path), not a protocol error`,
            evidence: { ackedUpTo: peerAck, seenUpTo: d.next },
          });
        }
      }
    }
  }

  /** MBX-006: MP_JOIN source addresses vs the addresses announced (ADD_ADDR) for the same Address ID. */
  private finishNat(ctx: ConnectionFinishContext, v: ConnectionView): void {
    const announced = new Map<string, { address: string; frame: number }>();
    for (const a of v.conn.addAddr) {
      if (a.echo) continue;
      const k = `${a.by}|${a.addressId}`;
      if (!announced.has(k)) announced.set(k, { address: a.address, frame: a.frame });
    }
    const usedById = new Map<string, { ip: string; frame: number }>();
    v.flows.forEach((flow) => {
      const syn = flow.syn?.option;
      if (syn?.type !== 'MP_JOIN' || syn.addressId === undefined) return;
      const host = ctx.hostOf(flow, 0);
      if (host === undefined) return;
      const k = `${host}|${syn.addressId}`;
      const ann = announced.get(k);
      const frame = flow.syn!.frame;
      if (ann !== undefined && ann.address === flow.clientIp) ctx.pass('MBX-006', flow);
      if (ann !== undefined && ann.address !== flow.clientIp) {
        ctx.report(
          {
            id: 'MBX-006',
            severity: 'info',
            group: 'middlebox',
            rfc: 'RFC 8684 §3.4.1, §6',
            frames: [frame, ann.frame],
            message: `MP_JOIN from ${flow.clientIp}:${flow.clientPort} with Address ID ${syn.addressId}, which the ${host} announced as ${ann.address}: address translated (NAT) on the path`,
            evidence: { seen: flow.clientIp, expected: ann.address, addressId: syn.addressId, announcedIn: ann.frame },
            key: `nat|${k}|${flow.clientIp}`,
          },
          flow,
        );
      }
      const used = usedById.get(k);
      if (used !== undefined && used.ip !== flow.clientIp && !v.conn.removeAddr.some((r) => r.by === host && r.addressIds.includes(syn.addressId!))) {
        ctx.report(
          {
            id: 'MBX-006',
            severity: 'info',
            group: 'middlebox',
            rfc: 'RFC 8684 §3.4.1, §6',
            frames: [frame, used.frame],
            message: `Address ID ${syn.addressId} of the ${host} used from ${used.ip} and from ${flow.clientIp} without REMOVE_ADDR: address translated (NAT) on one path`,
            evidence: { seen: flow.clientIp, earlier: used.ip, addressId: syn.addressId },
            key: `nat-reuse|${k}|${flow.clientIp}`,
          },
          flow,
        );
      }
      if (used === undefined) usedById.set(k, { ip: flow.clientIp, frame });
    });
  }

  /** MBX-009: option lists inconsistent with the lengths (malformed on the wire) vs cut by the capture snaplen. */
  private finishIssues(ctx: FinishContext): void {
    for (const g of ctx.analysis.errorGroups) {
      if (g.layer !== 'tcp' && g.layer !== 'mptcp') continue;
      const optionish = g.field === undefined || /option|offset|length/i.test(g.field);
      if (!optionish) continue;
      if (g.capture) {
        ctx.report({
          id: 'MBX-009',
          severity: 'info',
          group: 'capture',
          rfc: 'RFC 8684 §6',
          frames: g.firstFrame !== undefined ? [g.firstFrame] : [],
          message: `${g.count} segment(s) with TCP options cut by the capture snaplen (${g.field ?? g.layer}): a capture fact, those options are not evaluable`,
          evidence: { count: g.count, field: g.field ?? null, example: g.example },
        });
      } else if (g.kind === 'malformed' || g.kind === 'truncated') {
        ctx.report({
          id: 'MBX-009',
          severity: 'warning',
          group: 'middlebox',
          rfc: 'RFC 8684 §6',
          frames: g.firstFrame !== undefined ? [g.firstFrame] : [],
          message: `${g.count} segment(s) whose TCP option list does not fit its lengths (${g.field ?? g.layer}): options damaged in transit`,
          evidence: { count: g.count, field: g.field ?? null, example: g.example },
        });
      }
    }
  }
}

/** Which connection-level host sends direction `dir` of `flow` (see conformance FinishContext.hostOf), while streaming. */
function hostOfDir(flow: FlowState, dir: Dir, root: FlowState): 'client' | 'server' | undefined {
  let clientIsConnClient: boolean | undefined;
  if (flow === root) clientIsConnClient = true;
  else {
    const syn = flow.syn?.option;
    const k = root.keys;
    if (syn?.type === 'MP_JOIN' && syn.receiversToken !== undefined && k !== undefined) {
      if (k.serverToken === syn.receiversToken) clientIsConnClient = true;
      else if (k.clientToken === syn.receiversToken) clientIsConnClient = false;
    }
  }
  if (clientIsConnClient === undefined) return undefined;
  return (dir === 0) === clientIsConnClient ? 'client' : 'server';
}

/** The middlebox detector for the conformance registry (conformance/registry.ts). */
export const middleboxDetector: Detector = {
  name: 'middlebox',
  rules: MIDDLEBOX_RULES,
  create: (ctx) => new MiddleboxSession(ctx),
};
