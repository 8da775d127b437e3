/**
 * Sequence timelines of MPTCP connections, built while streaming: a {@link SegmentObserver} for
 * {@link FramePipeline} / analyzeFile({observers}).
 *
 * Subflow level (per TCP conversation and direction): relative sequence / ACK numbers with 32-bit
 * wrap-around handled, bytes in flight at the capture point, retransmissions, RTT samples
 * (SEQ→ACK with Karn's rule, and TSval→TSecr, RFC 7323 §4), RFC 6298 SRTT/RTO, receive window,
 * throughput and goodput bins, sequence holes and SACK blocks.
 *
 * Data level (per connection and data direction, RFC 8684 §3.3): DSS mappings per subflow kept as
 * intervals (SSN → DSN, Data-Level Length; contiguous ones merged; infinite mapping = Data-Level
 * Length 0); 4-byte DSNs and Data ACKs widened to 64 bits by the `m`/`a` flags against the
 * direction's IDSN (or the first value seen when the keys are unknown); MP_CAPABLE with data
 * (RFC 8684 §3.1: DSN = IDSN+1, SSN 1); DATA_FIN occupying one DSN (RFC 8684 §3.3.3) and its
 * acknowledgement; Data ACK progression; data-level holes and out-of-order arrival; inter-subflow
 * reinjections (the same DSN range on more than one subflow) with the original frames and a
 * needed/spurious verdict; failover episodes.
 *
 * Memory: live mappings (trimmed once the subflow ACK passes them), unacknowledged send records
 * (trimmed once the Data ACK passes them, plus a bounded history), open holes and unacknowledged
 * RTT entries — the window, not the packet count. Time bins grow with the capture's duration /
 * interval. Never throws on odd input: values that do not fit are ignored or counted.
 */
import type { SegmentObserver } from '../analyze.js';
import type { Frame } from '../capture/types.js';
import type { Dir, FlowState } from '../model/flow.js';
import type { ConnectionTracker, RetiredConnection } from '../model/tracker.js';
import type { Connection } from '../model/types.js';
import type { ModelSnapshot } from '../model/tracker.js';
import type { DssOption, MpCapableOption } from '../wire/mptcp/types.js';
import type { TcpSegment } from '../wire/types.js';
import { TcpFlag } from '../wire/types.js';
import { NumQueue } from './queue.js';
import { BinColumns, LogHistogram, RtoEstimator } from './stats.js';
import type {
  ConnectionTimeline,
  DataDirTimeline,
  FailoverEpisode,
  Reinjection,
  RttSummary,
  SubflowDirTimeline,
  SubflowTimeline,
  TimelineEvent,
  TimelineHooks,
  TimelineOptions,
  TimelineResult,
} from './types.js';

const TWO32 = 4294967296;
/** Signed 32-bit difference a − b of two unsigned 32-bit values. */
const diff32 = (a: number, b: number): number => ((a - b) | 0);
const mod32 = (v: number): number => {
  // perf: skip the floating-point modulo; for integers ToUint32 (>>> 0) is the same non-negative modulo.
  if (v >= 0 && v < TWO32) return v;
  if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) return v >>> 0;
  const m = v % TWO32;
  return m < 0 ? m + TWO32 : m;
};
/** Gap between reinjections of one subflow's data that starts a new failover episode, seconds. */
const EPISODE_GAP = 1.0;
/** A subflow that neither delivered nor sent new data for max(STOP_GAP, 2 RTO) while another carried new data has stopped, seconds. */
const STOP_GAP = 0.5;
const MAX_RTT_QUEUE = 65536;
const MAX_HOLES = 4096;
/** Shared empty result of overlaps() (never pushed to: perf, most segments overlap nothing). */
const NO_RECS: SentRec[] = [];
/** 2^i for window scale shifts (perf: `2 ** x` per segment showed in the profile). */
const POW2: readonly number[] = Array.from({ length: 256 }, (_, i) => 2 ** i);

/** Unwraps 32-bit sequence numbers of one direction into a monotone-ish 64-bit space (JS number). */
class SeqSpace {
  ref: number | undefined;
  /** Absolute (unwrapped) value of a 32-bit number; moves the reference forward. */
  abs(x32: number): number {
    const r = this.ref;
    if (r === undefined) {
      this.ref = x32;
      return x32;
    }
    const v = r + diff32(x32 >>> 0, mod32(r));
    if (v > r) this.ref = v;
    return v;
  }
  /** Like abs() without moving the reference. */
  peek(x32: number): number {
    const r = this.ref;
    if (r === undefined) return x32;
    return r + diff32(x32 >>> 0, mod32(r));
  }
}

interface Mapping {
  /** Absolute (unwrapped) subflow sequence range [ssn, end); end = Infinity for an infinite mapping. */
  ssn: number;
  end: number;
  /** Relative DSN of the first byte. */
  dsn: number;
  frame: number;
}


interface SfDir {
  dir: Dir;
  space: SeqSpace;
  isn: number | undefined;
  isnSource: SubflowDirTimeline['isnSource'];
  packets: number;
  bytes: number;
  newBytes: number;
  dataPackets: number;
  retrans: number;
  retransBytes: number;
  retransUnseen: number;
  /** Absolute next sequence number (highest seen end), −1 before any. */
  nxt: number;
  /** Absolute highest ACK from the peer, −1 before any. */
  una: number;
  maxInFlight: number;
  /** Open subflow holes [start, end, flags] (absolute); flags 1 = the receiver's SACK blocks went past it without covering it. */
  holes: Array<[number, number, number]>;
  holesMissed: number;
  holesMissedBytes: number;
  holesRetx: number;
  /** Holes filled by a retransmission after SACK showed the receiver lacked them. */
  holesLost: number;
  /** Highest right edge SACKed by the receiver (absolute), −1 before any; the latest SACK blocks [l, r, l, r, …]. */
  sackHigh: number;
  sackL: number[];
  /** Retransmissions of seen data the receiver had SACKed beyond without covering: lost after the capture point. */
  lostAfter: number;
  /** D-SACK blocks (RFC 2883). */
  dsacks: number;
  /** Data segments awaiting their ACK, for SEQ→ACK RTT: records [end (absolute subflow sequence), time (s), retransmitted (0/1)]. */
  rttQ: NumQueue;
  rtt: LogHistogram;
  rto: RtoEstimator;
  /** TSvals awaiting their echo (RFC 7323 §4.1): records [TSval, time (s)]. */
  tsQ: NumQueue;
  lastTsVal: number | undefined;
  rttTs: LogHistogram;
  lastWindow: number | undefined;
  sackBlocks: number;
  sackSegments: number;
  firstDataTime: number | undefined;
  lastDataTime: number | undefined;
  lastAckAdvance: number | undefined;
  /** Per time bin: bytes sent (column 0), bytes new to the capture (column 1). */
  bins: BinColumns;
  mappings: Mapping[];
  /** First SSN seen in a mapping, to infer the ISN when no SYN was captured. */
  windowScale: number | undefined;
  /** Last time this direction carried new data-level bytes. */
  freshTime: number | undefined;
  /** First new data-level bytes on another subflow after this direction's last ACK advance. */
  takeover: number | undefined;
  /** Highest DSN sent on any subflow at the last ACK advance, and when the Data ACK reached it. */
  recoverTarget: number;
  recoverAt: number | undefined;
  /** Failover episode open for this direction (until it carries new data again). */
  stopEp: FailoverEpisode | undefined;
}

interface SfState {
  flow: FlowState;
  conn: ConnState;
  /** Data direction of this flow's direction 0. */
  dataDirOf0: Dir;
  dirs: [SfDir, SfDir];
  mappings: number;
  mappingConflicts: number;
  unmappedBytes: number;
  reset: number | undefined;
  infinite: { frame: number; dir: Dir } | undefined;
  /** Live per-window state released after the subflow closed (RST, or both FINs and a final ACK). */
  compacted: boolean;
}

interface SentRec {
  s: number;
  e: number;
  sf: SfState;
  sfDir: SfDir;
  /** Absolute subflow sequence end of the segment. */
  sfEnd: number;
  frame: number;
  /** This transmission filled a DSN gap its own subflow had skipped: a reinjection whose original was not captured. */
  unseenOriginal?: boolean;
}

const NO_F64: Float64Array = new Float64Array(0);
const NO_U8: Uint8Array = new Uint8Array(0);

/**
 * The acknowledged send records of a data direction (the bounded history that lets a late copy of acknowledged
 * data be recognised as a reinjection), as a ring of columns: numbers in typed arrays, subflow references in plain
 * arrays. Kept as SentRec objects, each record outlived a few young-generation collections, was promoted and died
 * in the old generation, which V8 then let grow (peak RSS of analyzeFull on a 4 M-frame capture, 3 runs each:
 * 189–210 MB with objects, 177–198 MB with columns). Grown on demand up to the limit (a short connection holds a
 * few slots).
 */
class AckedHistory {
  private n = 0;
  private pos = 0;
  private s = NO_F64;
  private e = NO_F64;
  private sfEnd = NO_F64;
  private frame = NO_F64;
  private unseen = NO_U8;
  private sf: SfState[] = [];
  private sfDir: SfDir[] = [];

  /** Add one record; the oldest is overwritten once `limit` records are held (limit ≤ 0: nothing is kept). */
  push(r: SentRec, limit: number): void {
    if (limit <= 0) return;
    let i: number;
    if (this.n < limit) {
      if (this.n === this.s.length) this.grow(Math.min(limit, Math.max(16, this.s.length * 2)));
      i = this.n++;
    } else {
      i = this.pos;
      this.pos = (this.pos + 1) % limit;
    }
    this.s[i] = r.s;
    this.e[i] = r.e;
    this.sfEnd[i] = r.sfEnd;
    this.frame[i] = r.frame;
    this.unseen[i] = r.unseenOriginal === true ? 1 : 0;
    this.sf[i] = r.sf;
    this.sfDir[i] = r.sfDir;
  }

  private grow(size: number): void {
    const f = (a: Float64Array): Float64Array => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.s = f(this.s);
    this.e = f(this.e);
    this.sfEnd = f(this.sfEnd);
    this.frame = f(this.frame);
    const u = new Uint8Array(size);
    u.set(this.unseen);
    this.unseen = u;
  }

  /** Records of subflows other than `sf` overlapping [s, e), appended to `out` as fresh SentRec objects (in slot order). */
  overlapping(s: number, e: number, sf: SfState, out: SentRec[]): SentRec[] {
    for (let i = 0; i < this.n; i++) {
      if (this.e[i]! > s && this.s[i]! < e && this.sf[i] !== sf) {
        const r: SentRec = { s: this.s[i]!, e: this.e[i]!, sf: this.sf[i]!, sfDir: this.sfDir[i]!, sfEnd: this.sfEnd[i]!, frame: this.frame[i]! };
        if (this.unseen[i] === 1) r.unseenOriginal = true;
        (out === NO_RECS ? (out = []) : out).push(r);
      }
    }
    return out;
  }

  /** Forget everything (the connection closed: no late copy can come). */
  clear(): void {
    this.n = 0;
    this.pos = 0;
    this.s = this.e = this.sfEnd = this.frame = NO_F64;
    this.unseen = NO_U8;
    this.sf = [];
    this.sfDir = [];
  }
}

/** A data-level gap: [s, e) skipped by subflow `by` (tcpStream) at `t`. */
interface DataHole {
  s: number;
  e: number;
  by: number;
  t: number;
}

interface Pending {
  r: Reinjection;
  originals: SentRec[];
}

interface Episode {
  ep: FailoverEpisode;
  lastCopy: number;
  /** Highest DSN end reinjected in the episode. */
  target: number;
  /** Highest DSN sent on any subflow when the episode started. */
  caughtUp: number;
}


interface ConnDir {
  d: Dir;
  base: bigint | undefined;
  baseKind: DataDirTimeline['dsnBase'];
  baseLow: number;
  /** Reference for widening 4-byte DSNs (relative). */
  dsnRef: number;
  unique: number;
  mapped: number;
  started: boolean;
  highest: number;
  holes: DataHole[];
  holesFilled: number;
  holesMissed: number;
  ooo: { segments: number; bytes: number; maxDistance: number };
  dataAck: number | undefined;
  dataAckUpdates: number;
  lastDataAckTime: number | undefined;
  dataFin: { frame: number; time: number; dsn: number } | undefined;
  dataFinAck: { frame: number; time: number } | undefined;
  sent: SentRec[];
  sentHead: number;
  maxRecLen: number;
  acked: AckedHistory;
  pending: Pending[];
  reinj: { count: number; bytes: number; needed: number; spurious: number };
  episodes: Map<number, Episode>;
  firstDataTime: number | undefined;
  lastDataTime: number | undefined;
  /** Per time bin: new data-level bytes. */
  bins: BinColumns;
  /** tcp.stream → per time bin: new data-level bytes on that subflow. */
  share: Map<number, BinColumns>;
  bySubflow: Map<number, number>;
}

interface ConnState {
  root: FlowState;
  subflows: SfState[];
  dirs: [ConnDir, ConnDir];
  reinjections: Reinjection[];
  episodes: FailoverEpisode[];
  /** Capture time of its latest segment. */
  lastTime: number;
  /** Queued for freezing (all subflows closed). */
  closing: boolean;
}

/**
 * A finished connection summarised: its ConnectionTimeline (without the snapshot's labels) as JSON, and
 * the packed SEQ→ACK RTT histograms per subflow direction. `obj` holds the parsed form once a late
 * segment (after the close) had to be counted.
 */
interface Frozen {
  /** {@link Shapes.encode}d ConnectionTimeline, as JSON (undefined once thawed into `obj`). */
  json: string | undefined;
  /** The packed SEQ→ACK RTT histograms, `{tcpStream: [dir 0, dir 1] LogHistogram.pack()}` as JSON (read alone by rttHistogram). */
  hist: string;
  /** Decoded form, once a late segment had to be counted (json is then undefined). */
  obj: ConnectionTimeline | undefined;
}

/**
 * Key-less encoding of plain JSON values for the summaries of finished connections: an object becomes
 * `["#n", value, …]` where shape n (a key list shared by every summary) names the values; an object keyed
 * by numbers (a key set of its own) becomes `["#*", key, value, …]`. Arrays of the
 * timeline never start with a string, so the form is unambiguous. About half the size of JSON with keys.
 */
class Shapes {
  /** Shape ids by first key (candidates compared key by key: no signature string per object). */
  private readonly byHead = new Map<string, number[]>();
  private readonly keys: string[][] = [];
  /** Per shape, a compiled decoder building the object as one literal (fast properties, unlike keyed stores). */
  private readonly makers: ((v: unknown[], d: (x: unknown) => unknown) => unknown)[] = [];
  private readonly dec = (x: unknown): unknown => this.decode(x);

  encode(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.encode(x));
    if (v === null || typeof v !== 'object') return v;
    const ks = Object.keys(v);
    const c = ks.length > 0 ? ks[0]!.charCodeAt(0) : 0;
    if (c >= 48 && c <= 57) {
      // Keyed by numbers (bytesBySubflow: tcp.stream → bytes): a key set per connection, so no shared shape.
      const out: unknown[] = ['#*'];
      for (const k of ks) out.push(k, this.encode((v as Record<string, unknown>)[k]));
      return out;
    }
    const out: unknown[] = [`#${this.shapeOf(ks)}`];
    for (const k of ks) out.push(this.encode((v as Record<string, unknown>)[k]));
    return out;
  }

  decode(v: unknown): unknown {
    if (!Array.isArray(v)) return v;
    const h = v[0];
    if (typeof h === 'string' && h.charCodeAt(0) === 35) {
      if (h === '#*') {
        const o: Record<string, unknown> = {};
        for (let i = 1; i + 1 < v.length; i += 2) o[v[i] as string] = this.decode(v[i + 1]);
        return o;
      }
      return this.makers[Number(h.slice(1))]!(v, this.dec);
    }
    return v.map(this.dec);
  }

  private shapeOf(ks: string[]): number {
    const head = ks[0] ?? '';
    let cands = this.byHead.get(head);
    if (cands !== undefined) {
      for (const id of cands) {
        const o = this.keys[id]!;
        if (o.length !== ks.length) continue;
        let i = 0;
        while (i < ks.length && o[i] === ks[i]) i++;
        if (i === ks.length) return id;
      }
    } else {
      cands = [];
      this.byHead.set(head, cands);
    }
    const id = this.keys.length;
    this.keys.push(ks);
    cands.push(id);
    const body = ks.map((k, i) => `${JSON.stringify(k)}: d(v[${i + 1}])`).join(', ');
    // Keys are the timeline's own property names; JSON.stringify quotes them, so none can escape the literal.
    this.makers.push(new Function('v', 'd', `return { ${body} };`) as (v: unknown[], d: (x: unknown) => unknown) => unknown);
    return id;
  }
}

/** Capture seconds a closed connection stays in live form before it is summarised (late ACKs, FIN retransmissions). */
const LINGER = 2.0;
/** Closed connections waiting to be summarised, at most; older ones are summarised early. */
const MAX_CLOSING = 256;

function newSfDir(dir: Dir): SfDir {
  return {
    dir,
    space: new SeqSpace(),
    isn: undefined,
    isnSource: 'none',
    packets: 0,
    bytes: 0,
    newBytes: 0,
    dataPackets: 0,
    retrans: 0,
    retransBytes: 0,
    retransUnseen: 0,
    nxt: -1,
    una: -1,
    maxInFlight: 0,
    holes: [],
    holesMissed: 0,
    holesMissedBytes: 0,
    holesRetx: 0,
    holesLost: 0,
    sackHigh: -1,
    sackL: [],
    lostAfter: 0,
    dsacks: 0,
    rttQ: new NumQueue(3),
    rtt: new LogHistogram(),
    rto: new RtoEstimator(),
    tsQ: new NumQueue(2),
    lastTsVal: undefined,
    rttTs: new LogHistogram(),
    lastWindow: undefined,
    sackBlocks: 0,
    sackSegments: 0,
    firstDataTime: undefined,
    lastDataTime: undefined,
    lastAckAdvance: undefined,
    bins: new BinColumns(2),
    mappings: [],
    windowScale: undefined,
    freshTime: undefined,
    takeover: undefined,
    recoverTarget: 0,
    recoverAt: undefined,
    stopEp: undefined,
  };
}

function newConnDir(d: Dir): ConnDir {
  return {
    d,
    base: undefined,
    baseKind: 'none',
    baseLow: 0,
    dsnRef: 0,
    unique: 0,
    mapped: 0,
    started: false,
    highest: 0,
    holes: [],
    holesFilled: 0,
    holesMissed: 0,
    ooo: { segments: 0, bytes: 0, maxDistance: 0 },
    dataAck: undefined,
    dataAckUpdates: 0,
    lastDataAckTime: undefined,
    dataFin: undefined,
    dataFinAck: undefined,
    sent: [],
    sentHead: 0,
    maxRecLen: 0,
    acked: new AckedHistory(),
    pending: [],
    reinj: { count: 0, bytes: 0, needed: 0, spurious: 0 },
    episodes: new Map(),
    firstDataTime: undefined,
    lastDataTime: undefined,
    bins: new BinColumns(1),
    share: new Map(),
    bySubflow: new Map(),
  };
}

/**
 * Builds per-subflow and data-level sequence timelines. Feed it through
 * `analyzeFile(path, { observers: [obs] })` or `FramePipeline.observers`, then call {@link result}.
 *
 * Connection identity while streaming is the initial subflow's flow (ConnectionTracker.connectionRoot);
 * pass the tracker's snapshot to {@link result} to label connections and subflows with the analyze
 * model's `Connection.id` / `Subflow.id`. Only flows that carried an MPTCP option are tracked.
 */
export class TimelineObserver implements SegmentObserver {
  private readonly interval: number;
  private readonly onEvent: ((e: TimelineEvent) => void) | undefined;
  private readonly maxReinjections: number;
  private readonly ackedHistory: number;
  private readonly linger: number;
  private readonly conns = new Map<FlowState, ConnState>();
  private readonly sfs = new Map<FlowState, SfState>();
  private readonly sfByStream = new Map<number, SfState>();
  /** Finished connections, summarised (see freeze()), in the order they were (a Set: streaming consumers {@link forget} single ones). */
  private readonly frozen = new Set<Frozen>();
  private frozenCount = 0;
  private readonly frozenByFlow = new WeakMap<FlowState, Frozen>();
  private readonly frozenByStream = new Map<number, Frozen>();
  /** Closed connections in closing order; entries before closingHead are done (cleared, so frozen ones are not kept alive). */
  private readonly closing: (ConnState | undefined)[] = [];
  private closingHead = 0;
  private readonly shapes = new Shapes();
  private histCache: [Frozen, Record<string, [number[], number[]]>] | undefined;
  private t0: number | undefined;
  private live = 0;
  /** Highest live state (mappings + send records + holes + RTT entries) seen, sampled per segment. */
  peakLiveState = 0;
  /** Rule callbacks (see {@link addHooks}); empty unless a conformance rule needs the timeline. */
  private hooks: TimelineHooks[] = [];
  private curSeg: TcpSegment | undefined;
  private curFrame: Frame | undefined;

  /** Registers synchronous rule callbacks (TimelineHooks); used by conformance/rules/sequence.ts. */
  addHooks(h: TimelineHooks): void {
    this.hooks.push(h);
  }

  constructor(opts: TimelineOptions = {}) {
    this.interval = opts.interval !== undefined && opts.interval > 0 ? opts.interval : 0.1;
    this.onEvent = opts.onEvent;
    this.maxReinjections = opts.maxReinjections ?? 10000;
    this.ackedHistory = opts.ackedHistory ?? 4096;
    this.linger = opts.lingerSeconds !== undefined && opts.lingerSeconds >= 0 ? opts.lingerSeconds : LINGER;
  }

  onSegment(seg: TcpSegment, flow: FlowState, dir: Dir, time: number, tracker: ConnectionTracker, frame?: Frame): void {
    if (!flow.mptcpSeen) return;
    this.curSeg = seg;
    this.curFrame = frame;
    try {
      this.segment(seg, flow, dir, time, tracker);
    } catch {
      // Never let a timeline problem break the pipeline; the segment is simply not accounted.
    }
  }

  /**
   * The tracker retires a finished connection: summarise it now if its own linger has not done so yet
   * (e.g. ended by MP_FASTCLOSE without FIN or RST), so that none of its flows' state outlives it.
   */
  onConnectionEnd(r: RetiredConnection): void {
    for (const f of r.flows) {
      const sf = this.sfs.get(f);
      if (sf === undefined) continue;
      const c = sf.conn;
      if (this.conns.get(c.root) !== c) continue;
      try {
        for (const x of c.subflows) if (!x.compacted) this.compact(x);
        this.freeze(c);
      } catch {
        // As in onSegment: a timeline problem never breaks the pipeline.
      }
    }
  }

  /** A late segment of a flow the tracker retired: counted in its connection's summary, like late copies after the linger. */
  onLateSegment(seg: TcpSegment, tcpStream: number, dir: Dir): void {
    const fz = this.frozenByStream.get(tcpStream);
    if (fz !== undefined) this.late(fz, tcpStream, seg, dir);
  }

  private bin(time: number): number {
    if (this.t0 === undefined) this.t0 = time;
    return Math.floor((time - this.t0) / this.interval);
  }

  private emit(e: TimelineEvent): void {
    this.onEvent?.(e);
  }

  private subflow(flow: FlowState, tracker: ConnectionTracker): SfState | undefined {
    const root = tracker.connectionRoot(flow) ?? flow;
    const hit = this.lastSf;
    if (hit !== undefined && hit.flow === flow && hit.conn.root === root) return hit;
    let sf = this.sfs.get(flow);
    if (sf !== undefined && sf.conn.root === root) return (this.lastSf = sf);
    if (sf === undefined && this.frozenCount > 0 && this.frozenByFlow.has(flow)) return undefined;
    let conn = this.conns.get(root);
    if (conn === undefined) {
      conn = { root, subflows: [], dirs: [newConnDir(0), newConnDir(1)], reinjections: [], episodes: [], lastTime: 0, closing: false };
      this.conns.set(root, conn);
    }
    if (sf !== undefined) {
      // Linked to its connection after a few segments: move it (its data-level state so far stays with the orphan).
      const old = sf.conn;
      old.subflows = old.subflows.filter((x) => x !== sf);
      if (old.subflows.length === 0) this.conns.delete(old.root);
      sf.conn = conn;
      sf.dataDirOf0 = dataDirOf0(flow, root);
      conn.subflows.push(sf);
      return sf;
    }
    sf = {
      flow,
      conn,
      dataDirOf0: dataDirOf0(flow, root),
      dirs: [newSfDir(0), newSfDir(1)],
      mappings: 0,
      mappingConflicts: 0,
      unmappedBytes: 0,
      reset: undefined,
      infinite: undefined,
      compacted: false,
    };
    this.sfs.set(flow, sf);
    this.sfByStream.set(flow.tcpStream, sf);
    conn.subflows.push(sf);
    return sf;
  }

  /** The previous segment's subflow state (perf: skips the map lookup for runs of one flow). */
  private lastSf: SfState | undefined;

  private segment(seg: TcpSegment, flow: FlowState, dir: Dir, time: number, tracker: ConnectionTracker): void {
    const sf = this.subflow(flow, tracker);
    if (sf === undefined) {
      const fz = this.frozenByFlow.get(flow);
      if (fz !== undefined) this.late(fz, flow.tcpStream, seg, dir);
      return;
    }
    const conn = sf.conn;
    conn.lastTime = time;
    const sd = sf.dirs[dir];
    const rd = sf.dirs[dir === 0 ? 1 : 0];
    const dataDir: Dir = (dir === 0 ? sf.dataDirOf0 : 1 - sf.dataDirOf0) as Dir;
    const cd = conn.dirs[dataDir];
    const peerCd = conn.dirs[dataDir === 0 ? 1 : 0];
    const flags = seg.flags;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const hasAck = (flags & TcpFlag.ACK) !== 0;
    const b = this.bin(time);
    sd.packets++;
    sd.bytes += seg.payloadLength;
    if ((flags & TcpFlag.RST) !== 0 && sf.reset === undefined) sf.reset = seg.frame;

    if (syn) {
      sd.space.ref = undefined;
      sd.isn = sd.space.abs(seg.seq);
      sd.isnSource = 'syn';
      sd.nxt = sd.isn + 1;
      if (seg.options.windowScale !== undefined) sd.windowScale = seg.options.windowScale;
    }

    // --- DSS / MP_CAPABLE options: mappings first (they describe this segment), Data ACK after.
    let dss: DssOption | undefined;
    let mpcData: MpCapableOption | undefined;
    for (const o of seg.options.mptcp) {
      if (o.type === 'DSS') dss = o;
      else if (o.type === 'MP_CAPABLE' && o.form === 'ack-data' && o.dataLevelLength !== undefined) mpcData = o;
    }

    const len = seg.payloadLength;
    const segAbs = syn ? sd.isn! + 1 : sd.space.abs(seg.seq);
    if (sd.isn === undefined && (len > 0 || (flags & TcpFlag.FIN) !== 0)) {
      if (dss?.subflowSequenceNumber !== undefined && dss.dataSequenceNumber !== undefined && len > 0) {
        sd.isn = segAbs - dss.subflowSequenceNumber;
        sd.isnSource = 'mapping';
      } else {
        sd.isn = segAbs - 1;
        sd.isnSource = 'first-segment';
      }
    }

    if (mpcData !== undefined && sd.isn !== undefined) {
      // RFC 8684 §3.1: MP_CAPABLE with data maps SSN 1 to DSN IDSN(A)+1.
      this.ensureBase(cd, conn, dataDir, undefined);
      this.addMapping(sf, sd, cd, sd.isn + 1, mpcData.dataLevelLength!, 1, seg.frame, time, dir, dataDir);
      for (const h of this.hooks) h.mapping?.(conn.root, flow, dir, dataDir, seg.frame, 1, mpcData.dataLevelLength!, false);
    }
    if (dss?.dataSequenceNumber !== undefined && dss.subflowSequenceNumber !== undefined && dss.dataLevelLength !== undefined) {
      this.ensureBase(cd, conn, dataDir, dss.dataSequenceNumber);
      const rel = this.widen(cd, dss.dataSequenceNumber, dss.dsn64);
      if (sd.isn !== undefined) {
        const ssnAbs = dss.dataLevelLength === 0 && dss.subflowSequenceNumber === 0 ? segAbs : sd.space.peek(sd.isn + dss.subflowSequenceNumber);
        if (dss.dataLevelLength === 0 && sf.infinite === undefined) sf.infinite = { frame: seg.frame, dir };
        // RFC 8684 §3.3.3: a DATA_FIN counts in the Data-Level Length but occupies no subflow sequence byte.
        const sfLen = dss.dataFin && dss.dataLevelLength > 1 ? dss.dataLevelLength - 1 : dss.dataLevelLength;
        this.addMapping(sf, sd, cd, ssnAbs, sfLen, rel, seg.frame, time, dir, dataDir);
        for (const h of this.hooks) h.mapping?.(conn.root, flow, dir, dataDir, seg.frame, rel, dss.dataLevelLength, dss.dataFin);
        if (dss.dataFin && dss.dataLevelLength > 0) {
          const fin = rel + dss.dataLevelLength - 1;
          if (cd.dataFin === undefined) {
            cd.dataFin = { frame: seg.frame, time, dsn: fin };
            this.emit({ time, frame: seg.frame, root: conn.root.tcpStream, tcpStream: flow.tcpStream, dir, dataDir, type: 'data-fin', dsn: fin });
          }
        }
      }
    }

    // --- Subflow data.
    if (len > 0 && sd.isn !== undefined) {
      const s = segAbs;
      const e = s + len;
      sd.dataPackets++;
      if (sd.firstDataTime === undefined) sd.firstDataTime = time;
      sd.lastDataTime = time;
      const bins = sd.bins;
      const bin = bins.row(b) * 2; // columns 0 and 1 of this bin in bins.values (no other row is added below)
      bins.values[bin]! += len;
      let retx = false;
      if (sd.nxt < 0) sd.nxt = s;
      if (s < sd.nxt) {
        retx = true;
        sd.retrans++;
        sd.retransBytes += len;
        filledLost = false;
        const filled = sd.holes.length > 0 ? fillHoles(sd.holes, s, Math.min(e, sd.nxt)) : 0;
        if (filled === 0) {
          // Original seen at the capture point: lost after it when the receiver SACKed beyond it without covering it.
          if (sd.sackHigh > s && s >= sd.una && !inBlocks(sd.sackL, s, e)) sd.lostAfter++;
        } else if (filledLost) sd.holesLost++;
        if (filled > 0) {
          sd.holesRetx++;
          // Bytes the capture sees for the first time count as goodput, though the sender resent them.
          sd.newBytes += filled;
          bins.values[bin + 1]! += filled;
        }
        if (filled >= Math.min(e, sd.nxt) - s && s >= sd.isn + 1) sd.retransUnseen++;
        // Karn: no RTT sample from retransmitted data.
        const q = sd.rttQ;
        for (let i = 0, n = q.length; i < n; i++) {
          const end = q.get(i, 0);
          if (end > s && end - len <= e) q.set(i, 2, 1);
        }
      } else if (s > sd.nxt) {
        if (sd.holes.length < MAX_HOLES) sd.holes.push([sd.nxt, s, 0]);
        for (const h of this.hooks) h.gap?.(conn.root, dataDir, 'subflow');
        this.emit({ time, frame: seg.frame, root: conn.root.tcpStream, tcpStream: flow.tcpStream, dir, dataDir, type: 'hole', seq: sd.nxt - sd.isn, len: s - sd.nxt });
      }
      if (e > sd.nxt) {
        const fresh = e - Math.max(s, sd.nxt);
        sd.newBytes += fresh;
        bins.values[bin + 1]! += fresh;
        sd.nxt = e;
        if (sd.rttQ.length < MAX_RTT_QUEUE) sd.rttQ.push(e, time, retx ? 1 : 0);
      }
      if (seg.options.tsVal !== undefined && seg.options.tsVal !== sd.lastTsVal) {
        sd.lastTsVal = seg.options.tsVal;
        if (sd.tsQ.length < MAX_RTT_QUEUE) sd.tsQ.push(seg.options.tsVal, time);
      }
      const inFlight = sd.una >= 0 ? sd.nxt - sd.una : 0;
      if (inFlight > sd.maxInFlight) sd.maxInFlight = inFlight;
      const dsn = this.dataLevel(sf, sd, cd, s, e, seg.frame, time, dir, dataDir, retx, b);
      if (this.onEvent !== undefined) this.emit({
        time,
        frame: seg.frame,
        root: conn.root.tcpStream,
        tcpStream: flow.tcpStream,
        dir,
        dataDir,
        type: retx ? 'retransmission' : 'data',
        seq: s - sd.isn,
        len,
        ...(dsn !== undefined ? { dsn } : {}),
        inFlight,
      });
    }

    // --- Subflow ACK (acknowledges the other direction's data).
    if (hasAck && !syn) this.subflowAck(seg, sf, rd, time, dir, dataDir === 0 ? 1 : 0);
    if (hasAck && syn && rd.isn !== undefined) rd.una = Math.max(rd.una, rd.space.abs(seg.ack));
    // Scaled receive window (RFC 7323 §2.3), or undefined on a SYN or before both window scales are known.
    const scaledWin = hasAck && !syn && rd.windowScale !== undefined && sd.windowScale !== undefined ? seg.window * (POW2[sd.windowScale] ?? 2 ** sd.windowScale) : undefined;
    if (hasAck) rd.lastWindow = scaledWin ?? seg.window;
    const sack = seg.options.sack;
    if (sack !== undefined && sack.length > 0) {
      rd.sackSegments++;
      rd.sackBlocks += sack.length;
      if (rd.isn !== undefined) this.sackUpdate(rd, sack);
      if (this.onEvent !== undefined && rd.isn !== undefined) {
        const isn = rd.isn;
        const txt = sack.map(([l, r]) => `${rd.space.peek(l) - isn}-${rd.space.peek(r) - isn}`).join(' ');
        this.emit({ time, frame: seg.frame, root: conn.root.tcpStream, tcpStream: flow.tcpStream, dir, dataDir, type: 'sack', detail: txt });
      }
    }

    // --- Data ACK (acknowledges the other data direction).
    if (dss?.dataAck !== undefined) {
      this.ensureBase(peerCd, conn, peerCd.d, dss.dataAck);
      // Widened once, before this.dataAck can move the 4-byte reference (the hooks see the same value as before).
      const a = this.widen(peerCd, dss.dataAck, dss.dataAck64);
      for (const h of this.hooks) h.dataAck?.(conn.root, flow, dir, peerCd.d, seg, time, a, scaledWin);
      this.dataAck(conn, peerCd, a, seg.frame, time, flow.tcpStream, dir);
    }

    if (!sf.compacted && (flow.rst !== undefined || (flow.fin[0] !== undefined && flow.fin[1] !== undefined && len === 0))) this.compact(sf);
    if (this.closingHead < this.closing.length) this.freezeDue(time);
    const liveNow = this.live;
    if (liveNow > this.peakLiveState) this.peakLiveState = liveNow;
  }

  /**
   * SACK blocks (RFC 2018) from the receiver of `rd`'s data: D-SACKs (RFC 2883: first block below the
   * cumulative ACK or inside the second block) are counted; holes a block covers were received without the
   * capture seeing them (capture-missed); holes below the highest SACKed byte that no block covered are marked
   * as lacking at the receiver (lost before the capture point, if a retransmission fills them later).
   */
  private sackUpdate(rd: SfDir, sack: ReadonlyArray<readonly [number, number]>): void {
    const sp = rd.space;
    const out = rd.sackL;
    out.length = 0;
    for (let i = 0; i < sack.length; i++) {
      const b = sack[i]!;
      const l = sp.peek(b[0]);
      const r = sp.peek(b[1]);
      if (!(r > l) || r - l > TWO32 / 2) continue;
      if (i === 0) {
        const n = sack[1];
        if ((rd.una >= 0 && r <= rd.una) || (n !== undefined && l >= sp.peek(n[0]) && r <= sp.peek(n[1]))) {
          rd.dsacks++;
          continue;
        }
      }
      out.push(l, r);
      if (r > rd.sackHigh) rd.sackHigh = r;
      if (rd.holes.length > 0) {
        const covered = fillHoles(rd.holes, l, r);
        if (covered > 0) {
          rd.holesMissed++;
          rd.holesMissedBytes += covered;
        }
      }
    }
    for (const h of rd.holes) {
      if (h[1] > rd.sackHigh) break;
      h[2] = 1;
    }
  }

  /** Releases a closed subflow's window state (RTT queues, mappings); its counters and histograms stay. */
  private compact(sf: SfState): void {
    sf.compacted = true;
    for (const d of sf.dirs) {
      this.live -= d.mappings.length;
      d.mappings = [];
      d.rttQ.clear();
      d.tsQ.clear();
    }
    // Once every subflow of the connection is closed, no late copy can come: drop the acknowledged history.
    const conn = sf.conn;
    if (conn.subflows.every((x) => x.compacted)) {
      for (const cd of conn.dirs) {
        cd.acked.clear();
      }
      if (!conn.closing && this.linger !== Number.POSITIVE_INFINITY) {
        conn.closing = true;
        this.closing.push(conn);
      }
    }
  }

  /** Summarises the closed connections whose last segment is LINGER s old (or that overflow MAX_CLOSING). */
  private freezeDue(time: number): void {
    while (this.closingHead < this.closing.length) {
      const c = this.closing[this.closingHead]!;
      if (time - c.lastTime <= this.linger && (this.closing.length - this.closingHead <= MAX_CLOSING || this.linger === Number.POSITIVE_INFINITY)) break;
      this.closing[this.closingHead++] = undefined;
      c.closing = false;
      if (this.conns.get(c.root) === c && c.subflows.every((x) => x.compacted)) this.freeze(c);
    }
    if (this.closingHead > 1024 && this.closingHead * 2 > this.closing.length) {
      this.closing.splice(0, this.closingHead);
      this.closingHead = 0;
    }
  }

  /**
   * Replaces a finished connection's live state by its summary (Frozen): the ConnectionTimeline as JSON
   * and the packed RTT histograms. Everything else (flow references, maps, queues) is released.
   */
  private freeze(c: ConnState): void {
    const ct = this.connTimeline(c, undefined);
    const hist: Record<string, [number[], number[]]> = {};
    for (const sf of c.subflows) hist[sf.flow.tcpStream] = [sf.dirs[0].rtt.pack(), sf.dirs[1].rtt.pack()];
    const fz: Frozen = { json: JSON.stringify(this.shapes.encode(ct)), hist: JSON.stringify(hist), obj: undefined };
    for (const cd of c.dirs) this.live -= cd.sent.length - cd.sentHead + cd.holes.length + cd.pending.length;
    this.conns.delete(c.root);
    if (this.lastSf?.conn === c) this.lastSf = undefined;
    for (const sf of c.subflows) {
      this.sfs.delete(sf.flow);
      this.sfByStream.delete(sf.flow.tcpStream);
      this.frozenByFlow.set(sf.flow, fz);
      this.frozenByStream.set(sf.flow.tcpStream, fz);
    }
    this.frozenByFlow.set(c.root, fz);
    this.frozen.add(fz);
    this.frozenCount++;
  }

  /**
   * A segment of a flow whose connection was already summarised: counted in its summary (packets, bytes;
   * payload as a retransmission, since the flow had closed) — nothing else of it is analysed.
   */
  private late(fz: Frozen, tcpStream: number, seg: TcpSegment, dir: Dir): void {
    fz.obj ??= this.thaw(fz);
    fz.json = undefined;
    const ct = fz.obj;
    const d = ct.subflows.find((s) => s.tcpStream === tcpStream)?.dirs[dir];
    if (d === undefined) return;
    d.packets++;
    const len = seg.payloadLength;
    if (len > 0) {
      d.bytes += len;
      d.dataPackets++;
      d.retransmissions++;
      d.retransmittedBytes += len;
    }
  }

  /** Sets the DSN base of a data direction: the IDSN when the keys are known, else the first value seen − 1. */
  private ensureBase(cd: ConnDir, conn: ConnState, dataDir: Dir, first: bigint | undefined): void {
    if (cd.base !== undefined) return;
    const k = conn.root.keys;
    const idsn = k === undefined ? undefined : dataDir === 0 ? k.clientIdsn : k.serverIdsn;
    if (idsn !== undefined) {
      cd.base = idsn;
      cd.baseKind = 'idsn';
    } else if (first !== undefined) {
      cd.base = first - 1n;
      cd.baseKind = 'first-seen';
    } else return;
    cd.baseLow = Number(BigInt.asUintN(32, cd.base));
    cd.dsnRef = 0;
  }

  /** Relative DSN of a DSN / Data ACK field: 8-byte values exactly, 4-byte ones nearest the direction's reference. */
  private widen(cd: ConnDir, v: bigint, is64: boolean): number {
    if (is64) return Number(BigInt.asUintN(64, v - cd.base!));
    const low = mod32(Number(v) - cd.baseLow);
    return cd.dsnRef + diff32(low, mod32(cd.dsnRef));
  }

  private addMapping(
    sf: SfState,
    sd: SfDir,
    cd: ConnDir,
    ssnAbs: number,
    dll: number,
    dsnRel: number,
    frame: number,
    time: number,
    dir: Dir,
    dataDir: Dir,
  ): void {
    if (dsnRel > cd.dsnRef) cd.dsnRef = dsnRel;
    const end = dll === 0 ? Number.POSITIVE_INFINITY : ssnAbs + dll;
    const maps = sd.mappings;
    const last = maps[maps.length - 1];
    if (last !== undefined) {
      if (last.ssn <= ssnAbs && ssnAbs < last.end) {
        // Already covered (retransmission or repeated mapping): same DSN → duplicate, else a conflict.
        if (last.dsn + (ssnAbs - last.ssn) !== dsnRel) {
          sf.mappingConflicts++;
          for (const h of this.hooks) h.conflict?.(sf.conn.root, sf.flow, dir, frame, last.frame, ssnAbs - (sd.isn ?? 0), dsnRel, last.dsn + (ssnAbs - last.ssn));
          last.end = ssnAbs;
        } else {
          if (end > last.end) last.end = end;
          return;
        }
      } else if (last.end === ssnAbs && last.dsn + (last.end - last.ssn) === dsnRel) {
        last.end = end;
        sf.mappings++;
        this.emitMapping(sf, sd, ssnAbs, dll, dsnRel, frame, time, dir, dataDir);
        return;
      } else {
        for (let i = maps.length - 2; i >= 0; i--) {
          const m = maps[i]!;
          if (m.ssn <= ssnAbs && ssnAbs < m.end) {
            if (m.dsn + (ssnAbs - m.ssn) !== dsnRel) {
              sf.mappingConflicts++;
              for (const h of this.hooks) h.conflict?.(sf.conn.root, sf.flow, dir, frame, m.frame, ssnAbs - (sd.isn ?? 0), dsnRel, m.dsn + (ssnAbs - m.ssn));
            }
            return;
          }
          if (m.end <= ssnAbs) break;
        }
      }
    }
    sf.mappings++;
    const m: Mapping = { ssn: ssnAbs, end, dsn: dsnRel, frame };
    if (last === undefined || ssnAbs >= last.ssn) maps.push(m);
    else {
      let i = maps.length - 1;
      while (i > 0 && maps[i - 1]!.ssn > ssnAbs) i--;
      maps.splice(i, 0, m);
    }
    this.live++;
    this.emitMapping(sf, sd, ssnAbs, dll, dsnRel, frame, time, dir, dataDir);
  }

  private emitMapping(sf: SfState, sd: SfDir, ssnAbs: number, dll: number, dsn: number, frame: number, time: number, dir: Dir, dataDir: Dir): void {
    if (this.onEvent === undefined) return;
    this.emit({
      time,
      frame,
      root: sf.conn.root.tcpStream,
      tcpStream: sf.flow.tcpStream,
      dir,
      dataDir,
      type: 'mapping',
      seq: ssnAbs - (sd.isn ?? 0),
      len: dll,
      dsn,
      detail: dll === 0 ? 'infinite' : '',
    });
  }

  /** Maps [s, e) of subflow sequence space to DSN pieces and accounts them at the data level; returns the first piece's DSN. */
  private dataLevel(sf: SfState, sd: SfDir, cd: ConnDir, s: number, e: number, frame: number, time: number, dir: Dir, dataDir: Dir, retx: boolean, b: number): number | undefined {
    const maps = sd.mappings;
    let first: number | undefined;
    let pos = s;
    while (pos < e) {
      let m: Mapping | undefined;
      for (let i = maps.length - 1; i >= 0; i--) {
        const x = maps[i]!;
        if (x.ssn <= pos && pos < x.end) {
          m = x;
          break;
        }
        if (x.end <= pos && i === maps.length - 1 && x.ssn <= pos) continue;
      }
      if (m === undefined) {
        // Find the next mapping start after pos, to skip the unmapped piece.
        let next = e;
        for (const x of maps) if (x.ssn > pos && x.ssn < next) next = x.ssn;
        sf.unmappedBytes += next - pos;
        if (this.hooks.length > 0 && this.curSeg !== undefined) {
          const amb = pos < sd.una || sd.holes.length > 0 || sd.holesMissed > 0 || sd.holesRetx > 0 || sf.compacted;
          for (const h of this.hooks) h.unmapped?.(sf.conn.root, sf.flow, dir, this.curSeg, pos - (sd.isn ?? 0), next - pos, amb);
        }
        pos = next;
        continue;
      }
      const pe = Math.min(e, m.end);
      let ds = m.dsn + (pos - m.ssn);
      if (first === undefined) first = ds;
      let de = ds + (pe - pos);
      // The DATA_FIN's DSN carries no byte: data ends before it.
      if (cd.dataFin !== undefined && de > cd.dataFin.dsn && ds <= cd.dataFin.dsn) de = cd.dataFin.dsn;
      if (de > ds) {
        this.dataPiece(sf, sd, cd, ds, de, pos, pe, frame, time, dir, dataDir, retx, b);
        const seg = this.curSeg;
        if (this.hooks.length > 0 && seg !== undefined) {
          const off = pos - s;
          for (const h of this.hooks) h.piece?.(sf.conn.root, sf.flow, dir, dataDir, seg, this.curFrame, time, ds, de, off, retx);
        }
      }
      ds = de;
      pos = pe;
    }
    return first;
  }

  private dataPiece(
    sf: SfState,
    sd: SfDir,
    cd: ConnDir,
    s: number,
    e: number,
    _sfStart: number,
    sfEnd: number,
    frame: number,
    time: number,
    dir: Dir,
    dataDir: Dir,
    subflowRetx: boolean,
    b: number,
  ): void {
    cd.mapped += e - s;
    if (cd.firstDataTime === undefined) cd.firstDataTime = time;
    cd.lastDataTime = time;
    const ts = sf.flow.tcpStream;
    const root = sf.conn.root.tcpStream;
    // Data-level holes, out-of-order arrival, unique bytes.
    let fresh = 0;
    if (!cd.started) {
      cd.started = true;
      cd.highest = cd.baseKind === 'idsn' && s > 1 && s < 1e9 ? 1 : s;
      if (cd.dataAck !== undefined && cd.dataAck > cd.highest && cd.dataAck <= s) cd.highest = cd.dataAck;
    }
    if (s > cd.highest) {
      for (const h of this.hooks) h.gap?.(sf.conn.root, dataDir, 'data');
      if (cd.holes.length < MAX_HOLES) {
        cd.holes.push({ s: cd.highest, e: s, by: ts, t: time });
        this.live++;
      }
      this.emit({ time, frame, root, tcpStream: ts, dir, dataDir, type: 'data-hole', dsn: cd.highest, len: s - cd.highest });
    }
    let selfFilled = 0;
    if (s < cd.highest) {
      const before = cd.holes.length;
      const pieces = fillDataHoles(cd.holes, s, Math.min(e, cd.highest));
      this.live += cd.holes.length - before;
      let filled = 0;
      for (const p of pieces) {
        filled += p.e - p.s;
        if (p.by === ts) selfFilled += p.e - p.s;
      }
      if (filled > 0) {
        fresh += filled;
        cd.ooo.segments++;
        cd.ooo.bytes += filled;
        const dist = cd.highest - s;
        if (dist > cd.ooo.maxDistance) cd.ooo.maxDistance = dist;
        cd.holesFilled++;
        this.emit({ time, frame, root, tcpStream: ts, dir, dataDir, type: 'out-of-order', dsn: s, len: filled, detail: `distance ${dist}` });
      }
    }
    if (e > cd.highest) {
      fresh += e - Math.max(s, cd.highest);
      cd.highest = e;
    }
    if (e > cd.dsnRef) cd.dsnRef = e;
    if (fresh > 0) {
      sd.freshTime = time;
      if (sd.stopEp !== undefined) {
        if (sd.stopEp.resumed === undefined && time > sd.stopEp.lastDelivered) sd.stopEp.resumed = time;
        sd.stopEp = undefined;
      }
      if (sf.conn.subflows.length > 1) this.watchStops(sf, cd, time, frame);
      cd.unique += fresh;
      cd.bins.add(b, 0, fresh);
      cd.bySubflow.set(ts, (cd.bySubflow.get(ts) ?? 0) + fresh);
      let sh = cd.share.get(ts);
      if (sh === undefined) {
        sh = new BinColumns(1);
        cd.share.set(ts, sh);
      }
      sh.add(b, 0, fresh);
    }

    // Reinjection: overlap with a transmission on another subflow (a subflow-level retransmission is not one).
    const rec: SentRec = { s, e, sf, sfDir: sd, sfEnd, frame };
    const originals = this.overlaps(cd, s, e, sf);
    if (originals.length > 0) this.reinjection(sf, cd, rec, originals, time, dir, dataDir, subflowRetx);
    else if (!subflowRetx) {
      if (selfFilled > 0) {
        // This subflow skipped these DSNs earlier (the scheduler gave them to another subflow) and now sends
        // them itself: a reinjection whose original transmission the capture did not show.
        rec.unseenOriginal = true;
        this.reinjection(sf, cd, rec, [], time, dir, dataDir, false);
      }
    }
    if (cd.dataAck === undefined || e > cd.dataAck) this.insertSent(cd, rec);
  }

  private insertSent(cd: ConnDir, rec: SentRec): void {
    const a = cd.sent;
    const len = rec.e - rec.s;
    if (len > cd.maxRecLen) cd.maxRecLen = len;
    if (a.length === cd.sentHead || a[a.length - 1]!.s <= rec.s) a.push(rec);
    else {
      let lo = cd.sentHead;
      let hi = a.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (a[mid]!.s <= rec.s) lo = mid + 1;
        else hi = mid;
      }
      a.splice(lo, 0, rec);
    }
    this.live++;
  }

  /** Send records of other subflows overlapping [s, e), in the live window and the acknowledged history. */
  private overlaps(cd: ConnDir, s: number, e: number, sf: SfState): SentRec[] {
    let out: SentRec[] = NO_RECS;
    const a = cd.sent;
    let lo = cd.sentHead;
    let hi = a.length;
    // New data starts at or above every record: all of them start below e (no search over the window).
    if (hi > lo && a[hi - 1]!.s < e) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid]!.s < e) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= cd.sentHead; i--) {
      const r = a[i]!;
      if (r.s + cd.maxRecLen <= s) break;
      if (r.e > s && r.s < e && r.sf !== sf) (out === NO_RECS ? (out = []) : out).push(r);
    }
    if (cd.dataAck !== undefined && s < cd.dataAck) {
      out = cd.acked.overlapping(s, e, sf, out);
    }
    if (out.length > 1) out.sort((x, y) => x.frame - y.frame);
    return out;
  }

  private reinjection(sf: SfState, cd: ConnDir, rec: SentRec, originals: SentRec[], time: number, dir: Dir, dataDir: Dir, subflowRetx: boolean): void {
    const conn = sf.conn;
    const r: Reinjection = {
      frame: rec.frame,
      time,
      tcpStream: sf.flow.tcpStream,
      dsnStart: rec.s,
      dsnEnd: rec.e,
      originalFrames: [...new Set(originals.map((o) => o.frame))],
      originalTcpStreams: [...new Set(originals.map((o) => o.sf.flow.tcpStream))],
      verdict: 'needed',
      reason: '',
    };
    cd.reinj.count++;
    cd.reinj.bytes += rec.e - rec.s;
    const lateOriginal = originals.length > 0 && originals.every((o) => o.unseenOriginal === true);
    if (rec.unseenOriginal === true) {
      // The original never reached the capture point on its subflow: this copy carried the data.
      r.verdict = 'needed';
      r.reason = 'original not captured (DSN range skipped by this subflow, assigned to another subflow that did not transmit it)';
      const owner = this.inferOwner(sf);
      if (owner !== undefined) r.originalTcpStreams = [owner.flow.tcpStream];
    } else if (lateOriginal) {
      r.verdict = 'spurious';
      r.reason = subflowRetx
        ? 'subflow retransmission of data already reinjected on another subflow'
        : 'late first transmission of data already reinjected on another subflow';
    } else if (subflowRetx) {
      r.verdict = 'spurious';
      r.reason = 'subflow retransmission of data another subflow already carried';
    } else if (cd.dataAck !== undefined && cd.dataAck >= rec.e) {
      r.verdict = 'spurious';
      r.reason = 'Data ACK covered the range before the copy';
    } else {
      r.reason = 'pending';
      if (cd.pending.length < this.maxReinjections) {
        cd.pending.push({ r, originals });
        this.live++;
      }
    }
    if (r.verdict === 'spurious') cd.reinj.spurious++;
    if (conn.reinjections.length < this.maxReinjections) conn.reinjections.push(r);
    // Failover episodes, by original subflow; not for copies of data the Data ACK already covered, nor late originals.
    const owners: SfState[] = [];
    if (r.verdict !== 'spurious') {
      for (const o of originals) if (!owners.includes(o.sf)) owners.push(o.sf);
      if (rec.unseenOriginal === true) {
        const owner = this.inferOwner(sf);
        if (owner !== undefined) owners.push(owner);
      }
    }
    for (const osf of owners) {
      const ots = osf.flow.tcpStream;
      let ep = cd.episodes.get(ots);
      if (ep !== undefined && time - ep.lastCopy > EPISODE_GAP) ep = undefined;
      if (ep === undefined) {
        const od = osf.dirs[osf.dataDirOf0 === cd.d ? 0 : 1];
        const last = od.lastAckAdvance ?? od.firstDataTime ?? time;
        // A stop already reported for this subflow (no copy until now) becomes this episode.
        const se = od.stopEp;
        const reuse = se !== undefined && se.firstReinjection === undefined && se.lastDelivered === last;
        const fe: FailoverEpisode = reuse ? se : { tcpStream: ots, dataDir: cd.d, lastDelivered: last, reinjectedBytes: 0 };
        fe.reinjected = true;
        fe.firstReinjection = time;
        fe.timeToReinjection = time - last;
        if (reuse) {
          delete fe.recovered;
          delete fe.timeToRecovery;
        }
        if (od.rto.srtt !== undefined) fe.srtt = od.rto.srtt;
        const rto = od.rto.rto;
        if (rto !== undefined) fe.rto = rto;
        if (fe.takeover === undefined && od.takeover !== undefined && od.takeover >= last) {
          fe.takeover = od.takeover;
          fe.timeToTakeover = od.takeover - last;
        }
        ep = { ep: fe, lastCopy: time, target: rec.e, caughtUp: Math.max(cd.highest, rec.e) };
        cd.episodes.set(ots, ep);
        if (!reuse) conn.episodes.push(fe);
        detectedAt.set(fe, rec.frame);
        if (od.stopEp === undefined) od.stopEp = fe;
      }
      ep.lastCopy = time;
      ep.ep.reinjectedBytes += rec.e - rec.s;
      if (rec.e > ep.target) {
        ep.target = rec.e;
        if (ep.ep.drained !== undefined) {
          delete ep.ep.drained;
          delete ep.ep.timeToDrain;
        }
      }
    }
    this.emit({
      time,
      frame: rec.frame,
      root: conn.root.tcpStream,
      tcpStream: sf.flow.tcpStream,
      dir,
      dataDir,
      type: 'reinjection',
      dsn: rec.s,
      len: rec.e - rec.s,
      detail:
        r.originalFrames.length > 0
          ? `of frames ${r.originalFrames.join(' ')} (${r.reason === 'pending' ? 'pending' : r.verdict})`
          : `of unseen original on tcp.stream ${r.originalTcpStreams.join(' ') || '?'} (needed)`,
    });
  }

  /**
   * Called when subflow `sf` carried new data-level bytes of `cd` at `time`: notes the first takeover of
   * each other subflow's traffic after its last delivery, and opens a failover episode for a subflow that
   * has neither delivered nor sent new data for max(STOP_GAP, 2 RTO). O(subflows of the connection).
   */
  private watchStops(sf: SfState, cd: ConnDir, time: number, frame: number): void {
    for (const x of sf.conn.subflows) {
      if (x === sf) continue;
      const xd = x.dirs[x.dataDirOf0 === cd.d ? 0 : 1];
      const fresh = xd.freshTime;
      if (fresh === undefined) continue;
      const ack = xd.lastAckAdvance;
      if (xd.takeover === undefined && time > (ack ?? fresh)) xd.takeover = time;
      if (xd.stopEp !== undefined) continue;
      const act = ack !== undefined && ack > fresh ? ack : fresh;
      const rto = xd.rto.rto ?? 0.2;
      if (time - act <= (2 * rto > STOP_GAP ? 2 * rto : STOP_GAP)) continue;
      const last = ack ?? xd.firstDataTime ?? fresh;
      const ex = cd.episodes.get(x.flow.tcpStream);
      let fe: FailoverEpisode;
      if (ex !== undefined && ex.ep.resumed === undefined && ex.ep.lastDelivered >= last - EPISODE_GAP) fe = ex.ep;
      else {
        fe = { tcpStream: x.flow.tcpStream, dataDir: cd.d, lastDelivered: last, reinjectedBytes: 0, reinjected: false };
        if (xd.rto.srtt !== undefined) fe.srtt = xd.rto.srtt;
        if (xd.rto.rto !== undefined) fe.rto = xd.rto.rto;
        if (xd.recoverAt !== undefined && xd.recoverAt >= last) {
          fe.recovered = xd.recoverAt;
          fe.timeToRecovery = xd.recoverAt - last;
        }
        sf.conn.episodes.push(fe);
        detectedAt.set(fe, frame);
      }
      if (fe.takeover === undefined && xd.takeover !== undefined) {
        fe.takeover = xd.takeover;
        fe.timeToTakeover = xd.takeover - fe.lastDelivered;
      }
      xd.stopEp = fe;
    }
  }

  /**
   * The subflow whose unseen transmission `filler` replaced: the only other subflow of the connection
   * that has sent data, else the other data-carrying subflow whose ACKs stopped advancing first.
   */
  private inferOwner(filler: SfState): SfState | undefined {
    const others = filler.conn.subflows.filter((x) => x !== filler && (x.dirs[0].dataPackets > 0 || x.dirs[1].dataPackets > 0));
    if (others.length <= 1) return others[0];
    let best: SfState | undefined;
    let bestT = Number.POSITIVE_INFINITY;
    for (const o of others) {
      const t = Math.max(o.dirs[0].lastAckAdvance ?? 0, o.dirs[1].lastAckAdvance ?? 0);
      if (t < bestT) {
        bestT = t;
        best = o;
      }
    }
    return best;
  }

  private subflowAck(seg: TcpSegment, sf: SfState, rd: SfDir, time: number, dir: Dir, ackedDataDir: Dir): void {
    if (rd.isn === undefined && rd.space.ref === undefined) return;
    const a = rd.space.peek(seg.ack);
    if (rd.nxt >= 0 && a > rd.nxt + TWO32 / 2) return; // nonsense ACK
    if (a <= rd.una) return;
    rd.una = a;
    rd.lastAckAdvance = time;
    rd.takeover = undefined;
    rd.recoverTarget = sf.conn.dirs[ackedDataDir].highest;
    rd.recoverAt = undefined;
    // Capture-missed holes: acknowledged without being seen.
    while (rd.holes.length > 0 && rd.holes[0]![0] < a) {
      const h = rd.holes[0]!;
      const end = Math.min(h[1], a);
      rd.holesMissed++;
      rd.holesMissedBytes += end - h[0];
      if (end >= h[1]) rd.holes.shift();
      else h[0] = end;
    }
    // SEQ→ACK RTT: the newest fully acknowledged entry, unless any acknowledged entry was retransmitted (Karn).
    let sampleTime = 0;
    let sampled = false;
    let karn = false;
    const q = rd.rttQ;
    while (q.length > 0 && q.get(0, 0) <= a) {
      if (q.get(0, 2) !== 0) karn = true;
      sampleTime = q.get(0, 1);
      sampled = true;
      q.shift();
    }
    if (sampled && !karn) {
      const r = time - sampleTime;
      rd.rtt.add(r);
      rd.rto.add(r);
      if (this.onEvent !== undefined) {
        this.emit({ time, frame: seg.frame, root: sf.conn.root.tcpStream, tcpStream: sf.flow.tcpStream, dir, dataDir: ackedDataDir, type: 'rtt', ack: a - (rd.isn ?? 0), rtt: r, detail: 'seq-ack' });
      }
    }
    // Timestamp RTT (RFC 7323 §4.1): TSecr echoes a TSval of the data being acknowledged.
    const ecr = seg.options.tsEcr;
    if (ecr !== undefined) {
      const tq = rd.tsQ;
      while (tq.length > 0 && diff32(tq.get(0, 0), ecr) < 0) tq.shift();
      if (tq.length > 0 && tq.get(0, 0) === ecr) {
        rd.rttTs.add(time - tq.get(0, 1));
        tq.shift();
      }
    }
    // Trim mappings the peer has acknowledged (keep the last one: it may continue).
    const maps = rd.mappings;
    let drop = 0;
    while (drop < maps.length - 1 && maps[drop]!.end <= a) drop++;
    if (drop > 0) {
      maps.splice(0, drop);
      this.live -= drop;
    }
    if (this.onEvent !== undefined && rd.isn !== undefined) {
      this.emit({
        time,
        frame: seg.frame,
        root: sf.conn.root.tcpStream,
        tcpStream: sf.flow.tcpStream,
        dir,
        dataDir: ackedDataDir,
        type: 'ack',
        ack: a - rd.isn,
        inFlight: rd.nxt >= 0 ? Math.max(0, rd.nxt - a) : 0,
      });
    }
  }

  /** A Data ACK `a` (relative, already widened) acknowledging data direction `cd`. */
  private dataAck(conn: ConnState, cd: ConnDir, a: number, frame: number, time: number, tcpStream: number, dir: Dir): void {
    if (cd.dataAck !== undefined && a <= cd.dataAck) return;
    if (cd.dataAck !== undefined && a - cd.dataAck > TWO32) return; // implausible jump
    cd.dataAck = a;
    cd.dataAckUpdates++;
    cd.lastDataAckTime = time;
    if (a > cd.dsnRef) cd.dsnRef = a;
    // Holes passed by the Data ACK were delivered without the capture seeing them.
    while (cd.holes.length > 0 && cd.holes[0]!.s < a) {
      const h = cd.holes[0]!;
      if (h.e <= a) {
        cd.holes.shift();
        cd.holesMissed++;
        this.live--;
      } else {
        h.s = a;
        break;
      }
    }
    // Acknowledged send records move to the bounded history.
    const s = cd.sent;
    while (cd.sentHead < s.length && s[cd.sentHead]!.e <= a) {
      const r = s[cd.sentHead++]!;
      this.live--;
      cd.acked.push(r, this.ackedHistory);
    }
    if (cd.sentHead === s.length) {
      s.length = 0;
      cd.sentHead = 0;
    } else if (cd.sentHead > 1024 && cd.sentHead * 2 > s.length) {
      s.splice(0, cd.sentHead);
      cd.sentHead = 0;
    }
    if (conn.subflows.length > 1) {
      for (const x of conn.subflows) {
        const xd = x.dirs[x.dataDirOf0 === cd.d ? 0 : 1];
        if (xd.recoverAt === undefined && xd.lastAckAdvance !== undefined && a >= xd.recoverTarget) {
          xd.recoverAt = time;
          const se = xd.stopEp;
          if (se !== undefined && se.firstReinjection === undefined && se.recovered === undefined) {
            se.recovered = time;
            se.timeToRecovery = time - se.lastDelivered;
          }
        }
      }
    }
    for (const ep of cd.episodes.values()) {
      if (ep.ep.recovered === undefined && a >= ep.caughtUp) {
        ep.ep.recovered = time;
        ep.ep.timeToRecovery = time - ep.ep.lastDelivered;
      }
      if (ep.ep.drained === undefined && a >= ep.target) {
        ep.ep.drained = time;
        ep.ep.timeToDrain = time - ep.ep.lastDelivered;
      }
    }
    if (cd.dataFin !== undefined && cd.dataFinAck === undefined && a >= cd.dataFin.dsn + 1) {
      cd.dataFinAck = { frame, time };
      this.emit({ time, frame, root: conn.root.tcpStream, tcpStream, dir, dataDir: cd.d, type: 'data-fin-ack', dataAck: a });
    }
    if (this.onEvent !== undefined) this.emit({ time, frame, root: conn.root.tcpStream, tcpStream, dir, dataDir: cd.d, type: 'data-ack', dataAck: a });
  }

  /** The SEQ→ACK RTT histogram of a subflow direction (for per-path aggregation, see metrics.ts). */
  rttHistogram(tcpStream: number, dir: Dir): LogHistogram | undefined {
    const sf = this.sfByStream.get(tcpStream);
    if (sf !== undefined) return sf.dirs[dir].rtt;
    const fz = this.frozenByStream.get(tcpStream);
    if (fz === undefined) return undefined;
    if (this.histCache?.[0] !== fz) this.histCache = [fz, JSON.parse(fz.hist) as Record<string, [number[], number[]]>];
    const h = this.histCache[1][String(tcpStream)];
    return h === undefined ? undefined : LogHistogram.unpack(h[dir]);
  }

  /** Finished connections summarised so far (see TimelineOptions.lingerSeconds). */
  get summarisedConnections(): number {
    return this.frozenCount;
  }

  /** Live state now: mappings, unacknowledged send records, open holes, pending verdicts (not the bounded history). */
  get liveState(): number {
    return this.live;
  }

  /**
   * The timelines so far (callable at any time; finishing touches — pending reinjection verdicts — are
   * applied to the returned copy only). `snapshot` (ConnectionTracker.snapshot()) labels connections and
   * subflows with the analyze model's ids and backup flags.
   */
  result(snapshot?: ModelSnapshot): TimelineResult {
    const connId = new Map<number, { conn: number; sub: number; backup: boolean }>();
    if (snapshot !== undefined) {
      for (const c of snapshot.connections) for (const s of c.subflows) connId.set(s.tcpStream, { conn: c.id, sub: s.id, backup: s.backup });
    }
    const out: ConnectionTimeline[] = [];
    for (const c of this.conns.values()) out.push(this.connTimeline(c, connId));
    for (const fz of this.frozen) out.push(this.labelled(fz, connId));
    out.sort((a, b) => a.rootTcpStream - b.rootTcpStream);
    return { interval: this.interval, connections: out, peakLiveState: this.peakLiveState };
  }

  /**
   * Streaming (`analyze --ndjson --timeline`): the timeline of the summarised connection `conn` (its model, whose
   * subflow ids and backup flags label it; `connection` is left out), as a one-connection TimelineResult for
   * computeMetrics with {@link rttHistogram}; undefined when the timelines hold no summary of it (never tracked:
   * no MPTCP option after the SYN; or still live). Then {@link forget} it.
   */
  finished(conn: Connection): TimelineResult | undefined {
    const root = conn.subflows[0]?.tcpStream;
    const fz = root === undefined ? undefined : this.frozenByStream.get(root);
    if (fz === undefined || !this.frozen.has(fz)) return undefined;
    const ids = new Map(conn.subflows.map((s) => [s.tcpStream, { conn: conn.id, sub: s.id, backup: s.backup }]));
    const ct = this.labelled(fz, ids);
    delete ct.connection;
    return { interval: this.interval, connections: [ct], peakLiveState: this.peakLiveState };
  }

  /** A fresh copy of a summary, labelled with the model's ids and backup flags (by tcp.stream) where known. */
  private labelled(fz: Frozen, connId: Map<number, { conn: number; sub: number; backup: boolean }>): ConnectionTimeline {
    const ct = fz.obj !== undefined ? structuredClone(fz.obj) : this.thaw(fz);
    const ids = connId.get(ct.rootTcpStream);
    if (ids !== undefined) ct.connection = ids.conn;
    for (const s of ct.subflows) {
      const id = connId.get(s.tcpStream);
      if (id !== undefined) {
        s.subflow = id.sub;
        s.backup = id.backup;
      }
    }
    return ct;
  }

  /** Streaming: drops the summary of `conn` (timeline and RTT histograms); it is no longer in {@link result}. */
  forget(conn: Connection): void {
    const root = conn.subflows[0]?.tcpStream;
    const fz = root === undefined ? undefined : this.frozenByStream.get(root);
    if (fz === undefined) return;
    this.frozen.delete(fz);
    for (const s of conn.subflows) if (this.frozenByStream.get(s.tcpStream) === fz) this.frozenByStream.delete(s.tcpStream);
    if (this.histCache?.[0] === fz) this.histCache = undefined;
  }

  /** The decoded summary of a finished connection (a fresh copy unless it was thawed for a late segment). */
  private thaw(fz: Frozen): ConnectionTimeline {
    if (fz.obj !== undefined) return fz.obj;
    return this.shapes.decode(JSON.parse(fz.json!)) as ConnectionTimeline;
  }

  /** One connection's timeline (labelled with the analyze model's ids when `connId` is given). */
  private connTimeline(c: ConnState, connId: Map<number, { conn: number; sub: number; backup: boolean }> | undefined): ConnectionTimeline {
    const ids = connId?.get(c.root.tcpStream);
    {
      const subflows = c.subflows
        .slice()
        .sort((a, b) => a.flow.tcpStream - b.flow.tcpStream)
        .map((sf) => this.subflowResult(sf, connId));
      const copyOf = new Map(c.reinjections.map((r) => [r, { ...r, originalFrames: [...r.originalFrames], originalTcpStreams: [...r.originalTcpStreams] }]));
      const reinjections = [...copyOf.values()];
      const spurious = [0, 0];
      for (const d of [0, 1] as const) {
        for (const p of c.dirs[d].pending) {
          const v = pendingVerdict(p);
          if (v.verdict === 'spurious') spurious[d]!++;
          const r = copyOf.get(p.r);
          if (r !== undefined) {
            r.verdict = v.verdict;
            r.reason = v.reason;
          }
        }
      }
      const ct: ConnectionTimeline = {
        rootTcpStream: c.root.tcpStream,
        keysKnown: c.root.keys?.clientKey !== undefined || c.root.keys?.serverKey !== undefined,
        subflows,
        data: [this.dataResult(c.dirs[0], this.t0 ?? 0, spurious[0]!), this.dataResult(c.dirs[1], this.t0 ?? 0, spurious[1]!)],
        reinjections,
        failovers: c.episodes.map((e) => withCause({ ...e }, c, detectedAt.get(e))).filter(isOutage),
      };
      if (ids !== undefined) ct.connection = ids.conn;
      return ct;
    }
  }

  private subflowResult(sf: SfState, ids: Map<number, { conn: number; sub: number; backup: boolean }> | undefined): SubflowTimeline {
    const f = sf.flow;
    const id = ids?.get(f.tcpStream);
    const t: SubflowTimeline = {
      tcpStream: f.tcpStream,
      client: f.clientIp,
      clientPort: f.clientPort,
      server: f.serverIp,
      serverPort: f.serverPort,
      backup: id?.backup ?? (f.backup[0] || f.backup[1]),
      dirs: [this.sfDirResult(sf, 0), this.sfDirResult(sf, 1)],
      mappings: sf.mappings,
      mappingConflicts: sf.mappingConflicts,
      unmappedBytes: sf.unmappedBytes,
    };
    if (id !== undefined) t.subflow = id.sub;
    if (sf.infinite !== undefined) t.infiniteMapping = sf.infinite;
    if (sf.reset !== undefined) t.reset = sf.reset;
    return t;
  }

  private sfDirResult(sf: SfState, dir: Dir): SubflowDirTimeline {
    const d = sf.dirs[dir];
    const isn = d.isn ?? 0;
    const t0 = this.t0 ?? 0;
    const r: SubflowDirTimeline = {
      dir,
      dataDir: (dir === 0 ? sf.dataDirOf0 : 1 - sf.dataDirOf0) as Dir,
      isnSource: d.isnSource,
      packets: d.packets,
      bytes: d.bytes,
      newBytes: d.newBytes,
      dataPackets: d.dataPackets,
      retransmissions: d.retrans,
      retransmittedBytes: d.retransBytes,
      retransmissionsOriginalUnseen: d.retransUnseen,
      highestSeq: d.nxt >= 0 ? d.nxt - isn : 0,
      highestAck: d.una >= 0 ? d.una - isn : 0,
      maxInFlight: d.maxInFlight,
      holes: { captureMissed: d.holesMissed, retransmitted: d.holesRetx, open: d.holes.length, bytesCaptureMissed: d.holesMissedBytes, lostBeforeCapture: d.holesLost },
      retransmissionsLostAfterCapture: d.lostAfter,
      dsacks: d.dsacks,
      rtt: rttSummary(d.rtt, d.rto),
      rttTimestamps: rttSummary(d.rttTs, undefined),
      sackBlocks: d.sackBlocks,
      sackSegments: d.sackSegments,
      bins: Array.from({ length: d.bins.length }, (_, r) => [t0 + d.bins.binAt(r) * this.interval, d.bins.at(r, 0), d.bins.at(r, 1)] as [number, number, number]),
    };
    if (d.lastWindow !== undefined) r.lastWindow = d.lastWindow;
    if (d.firstDataTime !== undefined) r.firstDataTime = d.firstDataTime;
    if (d.lastDataTime !== undefined) r.lastDataTime = d.lastDataTime;
    if (d.lastAckAdvance !== undefined) r.lastAckAdvanceTime = d.lastAckAdvance;
    return r;
  }

  private dataResult(cd: ConnDir, t0: number, pendingSpurious: number): DataDirTimeline {
    // [bin index, tcp.stream, bytes], by bin, then tcp.stream.
    const rows: Array<[number, number, number]> = [];
    for (const [ts, c] of cd.share) for (let r = 0; r < c.length; r++) rows.push([c.binAt(r), ts, c.at(r, 0)]);
    rows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const share = rows.map(([i, ts, v]): [number, number, number] => [t0 + i * this.interval, ts, v]);
    const r: DataDirTimeline = {
      dataDir: cd.d,
      dsnBase: cd.baseKind,
      uniqueBytes: cd.unique,
      mappedBytes: cd.mapped,
      highestDsn: cd.highest,
      dataAckUpdates: cd.dataAckUpdates,
      outOfOrder: { ...cd.ooo },
      holes: { filled: cd.holesFilled, captureMissed: cd.holesMissed, open: cd.holes.length },
      reinjections: {
        count: cd.reinj.count,
        bytes: cd.reinj.bytes,
        needed: cd.reinj.count - cd.reinj.spurious - pendingSpurious,
        spurious: cd.reinj.spurious + pendingSpurious,
      },
      bins: Array.from({ length: cd.bins.length }, (_, r) => [t0 + cd.bins.binAt(r) * this.interval, cd.bins.at(r, 0)] as [number, number]),
      bytesBySubflow: Object.fromEntries([...cd.bySubflow.entries()].map(([k, v]) => [String(k), v])),
      shareBins: share,
    };
    if (cd.base !== undefined) r.dsnBaseValue = BigInt.asUintN(64, cd.base).toString();
    if (cd.dataAck !== undefined) r.dataAck = cd.dataAck;
    if (cd.dataFin !== undefined) r.dataFin = { ...cd.dataFin };
    if (cd.dataFinAck !== undefined) r.dataFinAck = { ...cd.dataFinAck };
    if (cd.firstDataTime !== undefined) r.firstDataTime = cd.firstDataTime;
    if (cd.lastDataTime !== undefined) r.lastDataTime = cd.lastDataTime;
    if (cd.lastDataAckTime !== undefined) r.lastDataAckTime = cd.lastDataAckTime;
    return r;
  }
}

function rttSummary(h: LogHistogram, est: RtoEstimator | undefined): RttSummary {
  const r: RttSummary = { samples: h.count };
  if (h.count > 0) {
    r.min = h.min;
    r.median = h.quantile(0.5)!;
    r.p95 = h.quantile(0.95)!;
    r.max = h.max;
  }
  if (est?.srtt !== undefined) {
    r.srtt = est.srtt;
    r.rto = est.rto!;
  }
  return r;
}

/**
 * Labels a failover episode with why its subflow stopped (FailoverEpisode.cause), from the subflow's
 * flow state: RST, a REMOVE_ADDR (any subflow of the connection) naming the address ID its MP_JOIN SYN
 * carried (or 0 for the initial subflow), an MP_PRIO / MP_JOIN backup flag, a FIN in the direction that
 * carried the data, else `stopped`.
 */
function withCause(e: FailoverEpisode, c: ConnState, detected: number | undefined): FailoverEpisode {
  const sf = c.subflows.find((x) => x.flow.tcpStream === e.tcpStream);
  if (sf === undefined) return e;
  const f = sf.flow;
  // Only events up to the frame at which the episode was opened (first copy, or the stop noticed) count.
  const hi = detected ?? Number.POSITIVE_INFINITY;
  const before = (frame: number | undefined): boolean => frame !== undefined && frame <= hi;
  const syn = f.syn?.option;
  const id = f === c.root ? 0 : syn?.type === 'MP_JOIN' ? syn.addressId : undefined;
  const removed = id !== undefined && c.subflows.some((x) => x.flow.removeAddr.some((r) => r.addressIds.includes(id) && before(r.frame)));
  const prio = f.prio.filter((p) => before(p.frame));
  const backup = prio.length > 0 ? prio[prio.length - 1]!.backup : syn?.type === 'MP_JOIN' && syn.backup === true;
  const d = sf.dataDirOf0 === e.dataDir ? 0 : 1;
  e.cause = before(sf.reset) || before(f.rst?.frame)
    ? 'rst'
    : removed
      ? 'remove-addr'
      : backup
        ? 'backup'
        : before(f.fin[d])
          ? 'fin'
          : 'stopped';
  if (e.reinjected === undefined) e.reinjected = e.firstReinjection !== undefined;
  return e;
}

/** Frame at which each failover episode was opened (for {@link withCause}). */
const detectedAt = new WeakMap<FailoverEpisode, number>();

/** Set by {@link fillHoles}: a filled hole was marked as lacking at the receiver (flags 1). */
let filledLost = false;

/** Whether [s, e) lies inside one of the blocks [l, r, l, r, …]. */
function inBlocks(b: number[], s: number, e: number): boolean {
  for (let i = 0; i + 1 < b.length; i += 2) if (b[i]! <= s && e <= b[i + 1]!) return true;
  return false;
}

/** Removes [s, e) from a sorted hole list; returns the bytes filled. */
function fillHoles(holes: Array<[number, number, number]>, s: number, e: number): number {
  let filled = 0;
  for (let i = 0; i < holes.length; i++) {
    const h = holes[i]!;
    if (h[1] <= s) continue;
    if (h[0] >= e) break;
    const os = Math.max(s, h[0]);
    const oe = Math.min(e, h[1]);
    filled += oe - os;
    if (h[2] !== 0) filledLost = true;
    if (os <= h[0] && oe >= h[1]) {
      holes.splice(i, 1);
      i--;
    } else if (os <= h[0]) h[0] = oe;
    else if (oe >= h[1]) h[1] = os;
    else {
      holes.splice(i + 1, 0, [oe, h[1], h[2]]);
      h[1] = os;
      i++;
    }
  }
  return filled;
}

/**
 * Verdict of a copy whose original was seen and the Data ACK did not yet cover at copy time:
 * `needed` when the original's subflow was reset or never acknowledged the original (lost, or the
 * subflow failed; also after MP_FAIL, where TCP acknowledged bytes MPTCP discarded, the subflow is reset);
 * `spurious` when the original was acknowledged on its subflow and that subflow stayed up.
 */
function pendingVerdict(p: Pending): { verdict: 'needed' | 'spurious'; reason: string } {
  if (p.originals.some((o) => o.sf.reset !== undefined)) return { verdict: 'needed', reason: 'original subflow was reset' };
  if (p.originals.every((o) => o.sfDir.una >= o.sfEnd)) return { verdict: 'spurious', reason: 'original acknowledged on its subflow' };
  return { verdict: 'needed', reason: 'original never acknowledged on its subflow' };
}

const NO_HOLES: readonly DataHole[] = Object.freeze([]);

/**
 * Removes [s, e) from a sorted data-hole list; returns the removed pieces with who skipped them (a shared empty
 * array when none: most calls, a subflow sending below the highest DSN another subflow sent, fill no hole).
 */
function fillDataHoles(holes: DataHole[], s: number, e: number): readonly DataHole[] {
  let out: DataHole[] | undefined;
  for (let i = 0; i < holes.length; i++) {
    const h = holes[i]!;
    if (h.e <= s) continue;
    if (h.s >= e) break;
    const os = Math.max(s, h.s);
    const oe = Math.min(e, h.e);
    (out ??= []).push({ s: os, e: oe, by: h.by, t: h.t });
    if (os <= h.s && oe >= h.e) {
      holes.splice(i, 1);
      i--;
    } else if (os <= h.s) h.s = oe;
    else if (oe >= h.e) h.e = os;
    else {
      holes.splice(i + 1, 0, { s: oe, e: h.e, by: h.by, t: h.t });
      h.e = os;
      i++;
    }
  }
  return out ?? NO_HOLES;
}

/**
 * Data direction of a flow's direction 0 (its client → server): 0 when the flow's client is the MPTCP
 * client. Initial subflow: 0. MP_JOIN: by the token in the SYN (it names the receiver's key,
 * RFC 8684 §3.2), else by the client address, else 0.
 */
function dataDirOf0(flow: FlowState, root: FlowState): Dir {
  if (flow === root) return 0;
  const syn = flow.syn?.option;
  const k = root.keys;
  if (syn?.type === 'MP_JOIN' && syn.receiversToken !== undefined && k !== undefined) {
    if (k.serverToken === syn.receiversToken) return 0;
    if (k.clientToken === syn.receiversToken) return 1;
  }
  if (flow.clientIp === root.serverIp && flow.serverIp === root.clientIp) return 1;
  return 0;
}

/**
 * Whether an episode is a failover, not a routine data-level retransmission: a subflow that was not reset,
 * removed, made backup or closed, and that delivered data again less than one RTO (at least the 200 ms Linux
 * floor) after its last delivery, never stopped (k07: a copy 39 µs after the last ACK advance, the subflow
 * resumed 2.5 ms later). Its copies stay in `reinjections`.
 */
function isOutage(e: FailoverEpisode): boolean {
  if (e.cause !== 'stopped' || e.resumed === undefined) return true;
  return e.resumed - e.lastDelivered >= Math.max(e.rto ?? 0.2, 0.2);
}
