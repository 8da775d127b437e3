/**
 * ConnectionTracker: folds TCP segments into flows and builds MPTCP connection models from them.
 *
 * RFC 8684 §3.1 (MP_CAPABLE handshake, keys → token/IDSN), §3.2 (MP_JOIN linked by the receiver's
 * token), §3.4 (address IDs), §3.7 (fallback). Works on captures that start mid-connection: flows
 * without a handshake are kept and reported with unknown keys, never dropped.
 *
 * Streaming: {@link ConnectionTracker.onSegment} is O(1) per segment (one map lookup); the model is
 * built on demand by {@link ConnectionTracker.snapshot}, so a live view can call it repeatedly.
 */
import { deriveKey, joinSynAckHmac } from '../crypto/index.js';
import { TcpRstReason } from '../wire/mptcp/mp-tcprst.js';
import type { TcpSegment } from '../wire/types.js';
import { TcpFlag } from '../wire/types.js';
import { C2S, type Dir, type FlowState, S2C, flowKind, newFlow, updateFlow } from './flow.js';
import type {
  Connection,
  Ending,
  Fallback,
  HostKeys,
  Subflow,
  TcpConnection,
} from './types.js';


export interface ModelSnapshot {
  connections: Connection[];
  tcpConnections: TcpConnection[];
}

const hex64 = (v: bigint): string => v.toString(16).padStart(16, '0');
const hex32 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');

/** Default {@link TrackerOptions.maxFlows}. Measured: 250 000 MP_CAPABLE flows hold ~300 MB of heap (~1.2 KB each). */
export const DEFAULT_MAX_FLOWS = 250_000;

/**
 * Limits of the tracker's state. The tracker holds one {@link FlowState} per TCP conversation
 * (live or retired by 4-tuple reuse); every other structure is bounded by that number.
 */
export interface TrackerOptions {
  /**
   * Most flows held at once (live + retired), ≥ 1. When a new flow would exceed it, about 1/16 of the
   * limit (at least one flow) is evicted: flows replaced by 4-tuple reuse first, then closed flows
   * (RST, MP_FASTCLOSE, or FIN both ways), then idle ones, each group oldest last-frame first.
   * Evicted flows leave the model (they are not in {@link ConnectionTracker.snapshot}) and are
   * counted in {@link ConnectionTracker.evictions}: never silent. A later segment of an evicted
   * conversation starts a new flow (new tcpStream, handshake not captured); a join whose initial
   * subflow was evicted becomes a connection of unknown keys. Default {@link DEFAULT_MAX_FLOWS}.
   */
  maxFlows?: number;
  /** Called for each flow just before it is released (to summarise it elsewhere). Must not throw. */
  onEvict?: (flow: FlowState, reason: 'state-limit') => void;
  /**
   * Seconds of capture time a finished connection stays after its last segment before it is retired
   * (default {@link RETIRE_AFTER_SECONDS}; `Infinity`: never, everything is kept to the end). Finished: every
   * subflow closed (RST, MP_FASTCLOSE, or a FIN in both directions) and, for MPTCP, the connection over
   * (DATA_FIN from both hosts, MP_FASTCLOSE, a fallback, or every subflow reset); a plain TCP flow: closed.
   * Joins for a token not in the capture are never retired (they are merged by token at the end).
   * More than {@link MAX_FINISHED_WAITING} finished connections waiting retire the oldest early.
   * Retiring builds the connection's model once (as {@link ConnectionTracker.snapshot} would), hands it to
   * `onRetire`, and drops its flows; later segments of those 4-tuples (a retransmitted FIN, a last ACK)
   * are counted in that model ({@link ConnectionTracker.onSegment} returns undefined for them) for
   * {@link TOMBSTONE_SECONDS}; a new SYN there starts a new flow. An MP_JOIN for a retired connection's token
   * (none is accepted after DATA_FIN / MP_FASTCLOSE) becomes a connection of unknown keys, as a join for a token
   * not in the capture does.
   */
  retireAfter?: number;
  /** Called for each connection as it is retired, before its flows are dropped. Must not throw. */
  onRetire?: (r: RetiredConnection) => void;
  /**
   * Streaming: retired connections' models are handed here instead of being kept for
   * {@link ConnectionTracker.snapshot} — each once it is final, i.e. when the last of its tombstones
   * ({@link TOMBSTONE_SECONDS} after retirement, late segments counted) is gone, or at
   * {@link ConnectionTracker.flushFinal}. Their `id` is −1 (ids are positions in first-appearance order,
   * which a stream cannot know). The snapshot then holds only the connections not retired. Must not throw.
   */
  onFinal?: (m: FinalModel) => void;
}

/** A retired connection's final model (see {@link TrackerOptions.onFinal}): exactly one of the two is set. */
export interface FinalModel {
  connection?: Connection;
  tcpConnection?: TcpConnection;
}

/** Default {@link TrackerOptions.retireAfter}: seconds a finished connection is kept after its last segment. */
export const RETIRE_AFTER_SECONDS = 10;
/** Finished connections waiting to be retired, at most; beyond it the oldest retire before their time. */
export const MAX_FINISHED_WAITING = 4096;
/** Seconds a retired flow's 4-tuple still takes late segments into its model (Linux TIME_WAIT is 60 s). */
export const TOMBSTONE_SECONDS = 60;
/** Retired 4-tuples remembered for late segments, at most. */
const MAX_TOMBSTONES = 65536;

/** A finished connection as the tracker retires it (see {@link TrackerOptions.retireAfter}). */
export interface RetiredConnection {
  /**
   * The MPTCP connection's model, final but for late segments' counters and its `id` (−1 here: ids are
   * assigned in order of first appearance by each {@link ConnectionTracker.snapshot}, which returns this object).
   */
  connection?: Connection;
  /** The plain TCP conversation's model (when `connection` is undefined). */
  tcpConnection?: TcpConnection;
  /** Its flows; for an MPTCP connection in subflow order (`connection.subflows[i]` is `flows[i]`). */
  flows: FlowState[];
  /** The initial subflow's flow (holds the keys), for an MPTCP connection whose MP_CAPABLE was seen. */
  root?: FlowState;
}

/** What retiring finished connections released so far. */
export interface RetirementSummary {
  /** The linger in force (seconds of capture time; null: never retire). */
  afterSeconds: number | null;
  /** MPTCP connections and plain TCP conversations retired. */
  connections: number;
  tcpConnections: number;
  /** Flows released by retiring. */
  flows: number;
  /** Segments of retired 4-tuples counted in their model without further analysis. */
  lateSegments: number;
}

/** A retired flow's 4-tuple, for late segments. */
interface Tombstone {
  key: string;
  tcpStream: number;
  clientIp: string;
  clientPort: number;
  /** Its model entry: a Subflow of `conn`, or a plain TcpConnection. */
  entry: Subflow | TcpConnection;
  conn: Connection | undefined;
  expires: number;
  /** Streaming ({@link TrackerOptions.onFinal}): the retired model, handed over when its last tombstone goes. */
  owner?: PendingFinal;
}

/** A retired model waiting for its tombstones (streaming). */
interface PendingFinal {
  model: FinalModel;
  tombstones: number;
}

/** What the state limit dropped from the model so far (all zero when the limit was never reached). */
export interface EvictionSummary {
  /** The limit in force (flows). */
  maxFlows: number;
  /** Flows evicted. */
  flows: number;
  /** Of them: MPTCP flows (initial subflows, joins, or flows with any MPTCP option). */
  mptcpFlows: number;
  /** Of them: flows that were closed (RST/MP_FASTCLOSE/FIN both ways) or replaced by 4-tuple reuse when evicted. */
  closedFlows: number;
  /** Segments and TCP payload bytes (both directions) of the evicted flows. */
  packets: number;
  bytes: number;
  /** Frame whose new flow caused the first / last eviction. */
  firstFrame?: number;
  lastFrame?: number;
}

export class ConnectionTracker {
  /** Live flows by 4-tuple key. */
  private readonly flows = new Map<string, FlowState>();
  /** Flows replaced by a new incarnation of the same 4-tuple (port reuse). */
  private retired: FlowState[] = [];
  /** Limit on flows held (live + retired). */
  readonly maxFlows: number;
  private readonly onEvict: TrackerOptions['onEvict'];
  /** What the state limit evicted so far (see {@link TrackerOptions.maxFlows}). */
  readonly evictions: EvictionSummary;

  /** See {@link TrackerOptions.retireAfter} (seconds; Infinity = never). */
  readonly retireAfter: number;
  private readonly onRetire: TrackerOptions['onRetire'];
  private readonly onFinal: TrackerOptions['onFinal'];
  /** What retiring released so far. */
  readonly retirement: RetirementSummary;
  /** Roots of finished connections in the order they finished; entries before finishedHead are done. */
  private readonly finished: (FlowState | undefined)[] = [];
  private finishedHead = 0;
  /** Retired MPTCP connections' models (with their first tcp.stream), and retired plain conversations'. */
  private readonly doneConns: { first: number; conn: Connection }[] = [];
  private doneConnsSorted = true;
  private readonly doneTcp: TcpConnection[] = [];
  private doneTcpSorted = true;
  private readonly tombs = new Map<string, Tombstone>();
  private readonly tombQueue: (Tombstone | undefined)[] = [];
  private tombHead = 0;
  /** tcp.stream of the last segment for which {@link onSegment} returned undefined (a late segment). */
  lateTcpStream = -1;

  constructor(opts: TrackerOptions = {}) {
    const m = opts.maxFlows ?? DEFAULT_MAX_FLOWS;
    this.maxFlows = Number.isFinite(m) && m >= 1 ? Math.floor(m) : DEFAULT_MAX_FLOWS;
    this.onEvict = opts.onEvict;
    this.evictions = { maxFlows: this.maxFlows, flows: 0, mptcpFlows: 0, closedFlows: 0, packets: 0, bytes: 0 };
    const r = opts.retireAfter ?? RETIRE_AFTER_SECONDS;
    this.retireAfter = r >= 0 ? r : RETIRE_AFTER_SECONDS;
    this.onRetire = opts.onRetire;
    this.onFinal = opts.onFinal;
    this.retirement = { afterSeconds: this.retireAfter === Number.POSITIVE_INFINITY ? null : this.retireAfter, connections: 0, tcpConnections: 0, flows: 0, lateSegments: 0 };
  }
  private nextTcpStream = 0;
  /** Token → initial-subflow flow, filled while streaming (for MP_JOIN linking before snapshot). */
  private readonly byToken = new Map<number, FlowState>();
  /** Direction of the last segment passed to onSegment (C2S = 0: from the flow's client). */
  lastDir: Dir = C2S;

  /**
   * Feed one TCP segment (in capture order). `time` = timestamp in seconds.
   * Returns the segment's flow; {@link lastDir} tells its direction. O(1), no allocation on the common path.
   * Returns undefined for a late segment of a retired flow (see {@link TrackerOptions.retireAfter}): it was
   * counted in that flow's model; {@link lateTcpStream} and {@link lastDir} tell which and which way.
   */
  onSegment(seg: TcpSegment, time: number): FlowState | undefined {
    if (this.finishedHead < this.finished.length || this.tombHead < this.tombQueue.length) this.retireDue(time);
    const synOnly = (seg.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
    // Recent flows first: consecutive segments mostly belong to a few flows, and comparing the
    // (cached, mostly identical) address strings and ports is cheaper than building and hashing the key.
    let f = this.recentFlow(seg);
    let key: string | undefined;
    if (f === undefined) {
      key = flowKey(seg);
      f = this.flows.get(key);
      if (f !== undefined) this.remember(f);
      else if (this.tombs.size > 0) {
        const t = this.tombs.get(key);
        if (t !== undefined) {
          if (!synOnly) {
            this.lateSegment(t, seg, time);
            return undefined;
          }
          this.tombs.delete(key);
        }
      }
    }
    if (f !== undefined && synOnly && f.clientIsn !== undefined && f.clientIsn !== seg.seq && isReusable(f)) {
      // A new SYN with another ISN on a finished 4-tuple: a new connection (tshark starts a new tcp.stream too).
      this.retired.push(f);
      this.forgetRecent();
      f = undefined;
    }
    if (f === undefined) {
      key ??= flowKey(seg);
      const synAck = (seg.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
      // Client = SYN sender; if the SYN was not captured, the SYN/ACK's receiver; else a guess.
      const clientIsSrc = synOnly || !synAck ? guessClientIsSrc(seg, synOnly) : false;
      const guessed = !synOnly && !synAck;
      if (this.flows.size + this.retired.length >= this.maxFlows) this.evict(seg.frame);
      f = newFlow(key, this.nextTcpStream++, seg, clientIsSrc, guessed, time);
      this.flows.set(key, f);
      this.remember(f);
    }
    const dir: Dir = seg.srcPort === f.clientPort && seg.src === f.clientIp ? C2S : S2C;
    updateFlow(f, seg, dir, time);
    if (seg.options.mptcp.length > 0) this.link(f);
    this.lastDir = dir;
    if (!f.closed && isClosed(f)) {
      f.closed = true;
      if (this.retireAfter !== Number.POSITIVE_INFINITY) this.flowClosed(f);
    }
    return f;
  }

  /** A flow just closed: queue its connection for retirement if that finished it. */
  private flowClosed(f: FlowState): void {
    const root = f.keys !== undefined ? f : (f.root ?? f);
    if (this.retirable(root)) this.finished.push(root);
  }

  /**
   * Can the connection whose initial (or only) flow is `root` be retired: every flow closed, and for MPTCP
   * the connection over (see {@link TrackerOptions.retireAfter})?
   */
  private retirable(root: FlowState): boolean {
    if (root.retired === true || !root.closed) return false;
    const kind = flowKind(root);
    if (kind === 'mp_join') return false;
    const js = root.joins;
    if (js !== undefined) for (const j of js) if (j.root === root && j.retired !== true && !j.closed) return false;
    if (kind === 'plain') return true;
    if (root.fastClose !== undefined || detectFallback(root) !== null) return true;
    // DATA_FIN from both hosts (on a join opened by the server, its direction 0 is the server).
    let client = root.dataFin[0] !== undefined;
    let server = root.dataFin[1] !== undefined;
    let allReset = root.rst !== undefined;
    if (js !== undefined) {
      for (const j of js) {
        if (j.root !== root || j.retired === true) continue;
        if (j.fastClose !== undefined) return true;
        const same = j.clientIp === root.clientIp || j.serverIp !== root.clientIp;
        if (j.dataFin[same ? 0 : 1] !== undefined) client = true;
        if (j.dataFin[same ? 1 : 0] !== undefined) server = true;
        if (j.rst === undefined) allReset = false;
      }
    }
    return (client && server) || allReset;
  }

  /**
   * Retire the finished connections whose last segment is retireAfter s old (or that overflow MAX_FINISHED_WAITING);
   * forget tombstones past their time.
   */
  private retireDue(time: number): void {
    const q = this.finished;
    while (this.finishedHead < q.length) {
      const root = q[this.finishedHead]!;
      if (q.length - this.finishedHead <= MAX_FINISHED_WAITING && time - groupEnd(root) <= this.retireAfter) break;
      q[this.finishedHead++] = undefined;
      // Still finished (no new join opened meanwhile) and not retired by an earlier entry.
      if (this.retirable(root)) this.retire(root, time);
    }
    if (this.finishedHead > 1024 && this.finishedHead * 2 > q.length) {
      q.splice(0, this.finishedHead);
      this.finishedHead = 0;
    }
    const tq = this.tombQueue;
    while (this.tombHead < tq.length) {
      const t = tq[this.tombHead]!;
      if (t.expires >= time && tq.length - this.tombHead <= MAX_TOMBSTONES) break;
      this.endTombstone();
    }
    if (this.tombHead > 1024 && this.tombHead * 2 > tq.length) {
      tq.splice(0, this.tombHead);
      this.tombHead = 0;
    }
  }

  /** Build the model of the connection of `root`, hand it to onRetire, and drop its flows (leaving tombstones). */
  private retire(root: FlowState, time: number): void {
    const flows = [root];
    if (root.joins !== undefined) for (const j of root.joins) if (j.root === root && j.retired !== true) flows.push(j);
    const kind = flowKind(root);
    const r: RetiredConnection = { flows };
    const entries: (Subflow | TcpConnection)[] = [];
    let conn: Connection | undefined;
    if (kind === 'plain') {
      const t = plainConnection(root);
      r.tcpConnection = t;
      entries.push(t);
      if (this.onFinal === undefined) {
        if (this.doneTcp.length > 0 && this.doneTcp[this.doneTcp.length - 1]!.tcpStream > t.tcpStream) this.doneTcpSorted = false;
        this.doneTcp.push(t);
      }
      this.retirement.tcpConnections++;
    } else {
      const b = kind === 'mp_capable' ? initialConnection(root) : unknownConnection(root);
      for (let i = 1; i < flows.length; i++) b.flows.push(flows[i]!);
      conn = finishConnection(b, -1);
      r.connection = conn;
      r.flows = b.flows;
      if (kind === 'mp_capable') r.root = root;
      entries.push(...conn.subflows);
      if (this.onFinal === undefined) {
        const d = this.doneConns;
        if (d.length > 0 && d[d.length - 1]!.first > b.firstTcpStream) this.doneConnsSorted = false;
        d.push({ first: b.firstTcpStream, conn });
      }
      this.retirement.connections++;
    }
    if (this.onRetire !== undefined) this.onRetire(r);
    const expires = time + TOMBSTONE_SECONDS;
    const owner: PendingFinal | undefined = this.onFinal === undefined ? undefined : { model: conn !== undefined ? { connection: conn } : { tcpConnection: r.tcpConnection! }, tombstones: 0 };
    r.flows.forEach((f, i) => {
      f.retired = true;
      this.retirement.flows++;
      if (this.flows.get(f.key) === f) {
        this.flows.delete(f.key);
        const t: Tombstone = { key: f.key, tcpStream: f.tcpStream, clientIp: f.clientIp, clientPort: f.clientPort, entry: entries[i]!, conn, expires };
        if (owner !== undefined) {
          t.owner = owner;
          owner.tombstones++;
        }
        this.tombs.set(f.key, t);
        this.tombQueue.push(t);
      } else {
        const at = this.retired.indexOf(f);
        if (at >= 0) this.retired.splice(at, 1);
      }
      for (let k = 0; k < 4; k++) if (this.recent[k] === f) this.recent[k] = undefined;
      const keys = f.keys;
      if (keys !== undefined) {
        if (keys.clientToken !== undefined && this.byToken.get(keys.clientToken) === f) this.byToken.delete(keys.clientToken);
        if (keys.serverToken !== undefined && this.byToken.get(keys.serverToken) === f) this.byToken.delete(keys.serverToken);
      }
    });
    if (owner !== undefined && owner.tombstones === 0) this.onFinal!(owner.model);
  }

  /** Ends the oldest queued tombstone; a streamed model is final when it was its last one. */
  private endTombstone(): void {
    const t = this.tombQueue[this.tombHead]!;
    this.tombQueue[this.tombHead++] = undefined;
    if (this.tombs.get(t.key) === t) this.tombs.delete(t.key);
    const owner = t.owner;
    if (owner !== undefined && --owner.tombstones === 0) this.onFinal!(owner.model);
  }

  /**
   * Streaming ({@link TrackerOptions.onFinal}): ends the tombstones of retired connections now (end of
   * capture), handing each model still waiting to onFinal, in retirement order. No-op without onFinal.
   */
  flushFinal(): void {
    if (this.onFinal === undefined) return;
    const tq = this.tombQueue;
    while (this.tombHead < tq.length) this.endTombstone();
    tq.length = 0;
    this.tombHead = 0;
  }

  /** A segment of a retired flow: counted in its model entry (packets, bytes, last frame, end). */
  private lateSegment(t: Tombstone, seg: TcpSegment, time: number): void {
    const dir: Dir = seg.srcPort === t.clientPort && seg.src === t.clientIp ? C2S : S2C;
    const e = t.entry;
    e.packets++;
    e.bytes += seg.payloadLength;
    if ('packetsClientToServer' in e) {
      if (dir === C2S) {
        e.packetsClientToServer++;
        e.bytesClientToServer += seg.payloadLength;
      } else {
        e.packetsServerToClient++;
        e.bytesServerToClient += seg.payloadLength;
      }
    }
    e.lastFrame = seg.frame;
    e.end = time;
    const c = t.conn;
    if (c !== undefined) {
      if (seg.frame > c.lastFrame) c.lastFrame = seg.frame;
      if (time > c.end) c.end = time;
    }
    this.retirement.lateSegments++;
    this.lateTcpStream = t.tcpStream;
    this.lastDir = dir;
  }

  /** Small round-robin cache of recently used live flows (each is the map's current entry for its 4-tuple). */
  private readonly recent: (FlowState | undefined)[] = [undefined, undefined, undefined, undefined];
  private recentNext = 0;

  private recentFlow(seg: TcpSegment): FlowState | undefined {
    const r = this.recent;
    for (let i = 0; i < 4; i++) {
      const f = r[i];
      if (f === undefined) continue;
      if (seg.srcPort === f.clientPort && seg.dstPort === f.serverPort) {
        if (seg.src === f.clientIp && seg.dst === f.serverIp) return f;
      }
      if (seg.srcPort === f.serverPort && seg.dstPort === f.clientPort) {
        if (seg.src === f.serverIp && seg.dst === f.clientIp) return f;
      }
    }
    return undefined;
  }

  private remember(f: FlowState): void {
    this.recent[this.recentNext] = f;
    this.recentNext = (this.recentNext + 1) & 3;
  }

  /** Called whenever a map entry is replaced or removed (4-tuple reuse, eviction). */
  private forgetRecent(): void {
    this.recent.fill(undefined);
  }

  /**
   * The initial subflow's flow of the MPTCP connection `f` belongs to, as known so far: `f` itself for an
   * initial subflow, the token owner for a linked MP_JOIN, undefined when not (yet) linked.
   */
  connectionRoot(f: FlowState): FlowState | undefined {
    if (f.keys !== undefined) return f;
    return f.root;
  }

  /** Learn keys (derive tokens/IDSNs once) and link MP_JOIN flows by token, while streaming. */
  private link(f: FlowState): void {
    // Fast exits (every DSS segment comes here): both keys learned, or a join already linked.
    const k0 = f.keys;
    if (k0 !== undefined ? k0.clientKey !== undefined && k0.serverKey !== undefined : f.root !== undefined) return;
    const synOpt = f.syn?.option;
    const synAckOpt = f.synAck?.option;
    if (synOpt?.type === 'MP_JOIN' || synAckOpt?.type === 'MP_JOIN') {
      if (f.root === undefined && synOpt?.type === 'MP_JOIN' && synOpt.receiversToken !== undefined) {
        const root = this.byToken.get(synOpt.receiversToken);
        if (root !== undefined) {
          f.root = root;
          (root.joins ??= []).push(f);
        }
      }
      return;
    }
    if (f.keys === undefined) {
      if (synOpt?.type !== 'MP_CAPABLE' && synAckOpt?.type !== 'MP_CAPABLE' && f.anyMpc === undefined) return;
      const v = synAckOpt?.type === 'MP_CAPABLE' ? synAckOpt.version : (f.mpcVersion ?? 1);
      f.keys = { version: v === 0 ? 0 : 1 };
    }
    const k = f.keys;
    // The SYN/ACK's version is the negotiated one (RFC 8684 §3.1); it applies until a key was hashed.
    if (synAckOpt?.type === 'MP_CAPABLE' && k.clientKey === undefined && k.serverKey === undefined) {
      k.version = synAckOpt.version === 0 ? 0 : 1;
    }
    if (k.serverKey === undefined) {
      const key = (synAckOpt?.type === 'MP_CAPABLE' ? synAckOpt.sendersKey : undefined) ?? f.mpcAck?.option?.receiversKey ?? f.anyMpc?.receiversKey;
      if (key !== undefined) {
        const d = deriveKey(key, k.version);
        k.serverKey = key;
        k.serverToken = d.token;
        k.serverIdsn = d.idsn;
        if (!this.byToken.has(d.token)) this.byToken.set(d.token, f);
      }
    }
    if (k.clientKey === undefined) {
      const key = f.mpcAck?.option?.sendersKey ?? (synOpt?.type === 'MP_CAPABLE' ? synOpt.sendersKey : undefined) ?? f.anyMpc?.sendersKey;
      if (key !== undefined) {
        const d = deriveKey(key, k.version);
        k.clientKey = key;
        k.clientToken = d.token;
        k.clientIdsn = d.idsn;
        if (!this.byToken.has(d.token)) this.byToken.set(d.token, f);
      }
    }
  }

  /**
   * Make room under {@link maxFlows}: evict about 1/16 of the limit (≥ 1 flow) — retired flows first,
   * then closed, then idle, oldest last frame first. One O(flows) scan per batch, so O(16) per new flow
   * amortised. Tokens of evicted initial subflows leave the streaming token map.
   */
  private evict(frame: number): void {
    let want = Math.max(1, Math.floor(this.maxFlows / 16));
    const victims: FlowState[] = [];
    const retiredSet = new Set<FlowState>();
    if (this.retired.length > 0) {
      const byAge = (x: FlowState, y: FlowState): number => x.lastFrame - y.lastFrame;
      const r = this.retired.sort(byAge).slice(0, want);
      for (const f of r) retiredSet.add(f);
      victims.push(...r);
      want -= r.length;
    }
    if (want > 0 && this.flows.size > 0) {
      // Rank live flows: closed ones before idle ones, each by last frame; take the `want` lowest ranks.
      // The want-th rank is found by quickselect (O(flows)), not by sorting.
      const CLOSED_BIAS = 2 ** 50;
      const live = [...this.flows.values()];
      const ranks = new Float64Array(live.length);
      for (let i = 0; i < live.length; i++) ranks[i] = live[i]!.lastFrame - (isClosed(live[i]!) ? CLOSED_BIAS : 0);
      const k = Math.min(want, ranks.length);
      const threshold = kthSmallest(ranks.slice(), k - 1);
      let below = 0;
      for (let i = 0; i < ranks.length; i++) if (ranks[i]! < threshold) below++;
      let atThreshold = k - below;
      for (let i = 0; i < ranks.length; i++) {
        const r = ranks[i]!;
        if (r < threshold || (r === threshold && atThreshold-- > 0)) victims.push(live[i]!);
      }
    }
    this.forgetRecent();
    const ev = this.evictions;
    /** Evicted initial subflows (flows with keys): joins may point at them. */
    const gone = new Set<FlowState>();
    for (const f of victims) {
      f.retired = true;
      if (f.keys !== undefined) gone.add(f);
      if (this.flows.get(f.key) === f) this.flows.delete(f.key);
      const k = f.keys;
      if (k !== undefined) {
        for (const t of [k.clientToken, k.serverToken]) if (t !== undefined && this.byToken.get(t) === f) this.byToken.delete(t);
      }
      ev.flows++;
      if (f.mptcpSeen || flowKind(f) !== 'plain') ev.mptcpFlows++;
      if (retiredSet.has(f) || isClosed(f)) ev.closedFlows++;
      ev.packets += f.packets[0] + f.packets[1];
      ev.bytes += f.bytes[0] + f.bytes[1];
      if (this.onEvict !== undefined) this.onEvict(f, 'state-limit');
    }
    if (retiredSet.size > 0) this.retired = this.retired.filter((f) => !retiredSet.has(f));
    // Joins whose initial subflow was evicted keep no reference to it.
    if (gone.size > 0) {
      for (const f of this.flows.values()) if (f.root !== undefined && gone.has(f.root)) f.root = undefined;
      for (const f of this.retired) if (f.root !== undefined && gone.has(f.root)) f.root = undefined;
    }
    if (ev.firstFrame === undefined) ev.firstFrame = frame;
    ev.lastFrame = frame;
  }

  /** Number of flows held (live state). */
  get flowCount(): number {
    return this.flows.size + this.retired.length;
  }

  /** Build the connection model from everything seen so far. Cost O(flows). */
  snapshot(): ModelSnapshot {
    const all = [...this.retired, ...this.flows.values()].sort((x, y) => x.tcpStream - y.tcpStream);
    const conns: ConnBuilder[] = [];
    const byToken = new Map<number, ConnBuilder>();
    /** Tokens named by the keys of several connections (32-bit collisions): all candidates, in order. */
    const collided = new Map<number, ConnBuilder[]>();
    const unknownByToken = new Map<number, ConnBuilder>();
    const tcpConnections: TcpConnection[] = [];
    const joins: FlowState[] = [];

    for (const f of all) {
      const kind = flowKind(f);
      if (kind === 'plain') {
        tcpConnections.push(plainConnection(f));
      } else if (kind === 'mp_capable') {
        const c = initialConnection(f);
        conns.push(c);
        for (const t of [c.clientToken, c.serverToken]) {
          if (t === undefined) continue;
          if (!byToken.has(t)) byToken.set(t, c);
          else if (byToken.get(t) !== c) (collided.get(t) ?? collided.set(t, [byToken.get(t)!]).get(t)!).push(c);
        }
      } else if (kind === 'mp_join') {
        joins.push(f);
      } else {
        conns.push(unknownConnection(f));
      }
    }
    for (const f of joins) {
      const token = joinToken(f);
      let c = token !== undefined ? byToken.get(token) : undefined;
      if (token !== undefined && collided.has(token)) c = pickByJoinHmac(f, token, collided.get(token)!) ?? c;
      if (c === undefined && token !== undefined) c = unknownByToken.get(token);
      if (c === undefined) {
        c = unknownConnection(f);
        if (token !== undefined) {
          // The token names the key of the host that received the MP_JOIN SYN: the join's server side.
          c.conn.server.token = hex32(token);
          unknownByToken.set(token, c);
        }
        conns.push(c);
        continue;
      }
      c.flows.push(f);
    }

    conns.sort((x, y) => x.firstTcpStream - y.firstTcpStream);
    // Retired connections' models are final: merged in by first tcp.stream, renumbered in place.
    const done = this.doneConns;
    if (!this.doneConnsSorted) {
      done.sort((x, y) => x.first - y.first);
      this.doneConnsSorted = true;
    }
    const connections: Connection[] = [];
    for (let i = 0, j = 0; i < conns.length || j < done.length; ) {
      if (j >= done.length || (i < conns.length && conns[i]!.firstTcpStream < done[j]!.first)) connections.push(finishConnection(conns[i++]!, connections.length));
      else {
        const c = done[j++]!.conn;
        c.id = connections.length;
        connections.push(c);
      }
    }
    if (this.doneTcp.length > 0) {
      if (!this.doneTcpSorted) {
        this.doneTcp.sort((x, y) => x.tcpStream - y.tcpStream);
        this.doneTcpSorted = true;
      }
      const live = tcpConnections;
      const merged: TcpConnection[] = [];
      const d = this.doneTcp;
      for (let i = 0, j = 0; i < live.length || j < d.length; ) {
        if (j >= d.length || (i < live.length && live[i]!.tcpStream < d[j]!.tcpStream)) merged.push(live[i++]!);
        else merged.push(d[j++]!);
      }
      return { connections, tcpConnections: merged };
    }
    return { connections, tcpConnections };
  }
}

/** The k-th smallest value (0-based) of `a` (Hoare quickselect; reorders `a`). */
function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Map key of a segment's 4-tuple, the same for both directions. */
function flowKey(seg: TcpSegment): string {
  const a = `${seg.src}|${seg.srcPort}`;
  const b = `${seg.dst}|${seg.dstPort}`;
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** Latest end time (s) of the flows of the connection of `root`. */
function groupEnd(root: FlowState): number {
  let e = root.end;
  const js = root.joins;
  if (js !== undefined) for (const j of js) if (j.root === root && j.end > e) e = j.end;
  return e;
}

/** Closed for eviction purposes: RST, MP_FASTCLOSE, or FIN in both directions. */
function isClosed(f: FlowState): boolean {
  return f.rst !== undefined || f.fastClose !== undefined || (f.fin[0] !== undefined && f.fin[1] !== undefined);
}

function isReusable(f: FlowState): boolean {
  return f.rst !== undefined || (f.fin[0] !== undefined && f.fin[1] !== undefined);
}

/** Without a SYN, guess the client: the side with the higher (ephemeral) port. */
function guessClientIsSrc(seg: TcpSegment, synOnly: boolean): boolean {
  if (synOnly) return true;
  return seg.srcPort >= seg.dstPort;
}

interface ConnBuilder {
  conn: Connection;
  flows: FlowState[];
  firstTcpStream: number;
  clientToken?: number;
  serverToken?: number;
  version?: 0 | 1;
  clientKey?: bigint;
  serverKey?: bigint;
}

/**
 * Token collision (two captured connections whose keys give the same 32-bit token): the MP_JOIN SYN/ACK's
 * truncated HMAC (RFC 8684 §3.2: HMAC(Key-B‖Key-A, R-B‖R-A), receiver's key first) names the connection.
 * Returns the candidate whose keys verify it, or undefined (SYN/ACK not captured, or no candidate verifies).
 */
function pickByJoinHmac(f: FlowState, token: number, candidates: ConnBuilder[]): ConnBuilder | undefined {
  const syn = f.syn?.option;
  const synAck = f.synAck?.option;
  if (syn?.type !== 'MP_JOIN' || synAck?.type !== 'MP_JOIN') return undefined;
  if (syn.sendersRandom === undefined || synAck.sendersRandom === undefined || synAck.truncatedHmac === undefined) return undefined;
  for (const c of candidates) {
    if (c.clientKey === undefined || c.serverKey === undefined || c.version === undefined) continue;
    const owner = c.serverToken === token ? c.serverKey : c.clientKey;
    const other = owner === c.serverKey ? c.clientKey : c.serverKey;
    if (joinSynAckHmac(owner, other, synAck.sendersRandom, syn.sendersRandom, c.version) === synAck.truncatedHmac) return c;
  }
  return undefined;
}

/** Keys of one host as reported: hex key, token and IDSN (derived once while streaming, see link()). */
function hostKeys(key: bigint | undefined, token: number | undefined, idsn: bigint | undefined, ip: string, port: number): HostKeys {
  const keys: HostKeys = { key: null, token: null, idsn: null, ip, port };
  if (key === undefined || token === undefined || idsn === undefined) return keys;
  keys.key = hex64(key);
  keys.token = hex32(token);
  keys.idsn = hex64(idsn);
  return keys;
}

function emptyConnection(f: FlowState): Connection {
  return {
    id: -1,
    version: null,
    handshake: 'not-captured',
    keysKnown: false,
    checksum: null,
    fallback: null,
    client: { key: null, token: null, idsn: null },
    server: { key: null, token: null, idsn: null },
    subflows: [],
    addAddr: [],
    removeAddr: [],
    prio: [],
    firstFrame: f.firstFrame,
    lastFrame: f.lastFrame,
    start: f.start,
    end: f.end,
    ended: { how: 'capture-end' },
    dataFin: {},
  };
}

function initialConnection(f: FlowState): ConnBuilder {
  const conn = emptyConnection(f);
  const synOpt = f.syn?.option?.type === 'MP_CAPABLE' ? f.syn.option : undefined;
  const synAckOpt = f.synAck?.option?.type === 'MP_CAPABLE' ? f.synAck.option : undefined;
  const ackOpt = f.mpcAck?.option ?? f.anyMpc;
  // Keys, tokens and IDSNs were learned (and hashed once) while streaming: ConnectionTracker.link().
  const k = f.keys ?? { version: 1 };
  const version = k.version;
  conn.version = version;
  const clientKey = k.clientKey;
  const serverKey = k.serverKey;
  conn.client = hostKeys(clientKey, k.clientToken, k.clientIdsn, f.clientIp, f.clientPort);
  conn.server = hostKeys(serverKey, k.serverToken, k.serverIdsn, f.serverIp, f.serverPort);
  conn.keysKnown = clientKey !== undefined && serverKey !== undefined;
  if (f.syn?.option && f.synAck?.option && f.mpcAck) conn.handshake = 'complete';
  else if (f.syn !== undefined || f.synAck !== undefined) conn.handshake = 'partial';
  if (synOpt !== undefined || synAckOpt !== undefined) {
    conn.checksum = (f.synChecksum ?? false) || (f.synAckChecksum ?? false);
  } else if (ackOpt !== undefined) {
    conn.checksum = ackOpt.checksumRequired;
  }
  conn.fallback = detectFallback(f);
  const b: ConnBuilder = { conn, flows: [f], firstTcpStream: f.tcpStream, version };
  if (clientKey !== undefined) b.clientKey = clientKey;
  if (serverKey !== undefined) b.serverKey = serverKey;
  if (k.clientToken !== undefined) b.clientToken = k.clientToken;
  if (k.serverToken !== undefined) b.serverToken = k.serverToken;
  return b;
}

function unknownConnection(f: FlowState): ConnBuilder {
  const conn = emptyConnection(f);
  if (f.mpcVersion !== undefined) conn.version = f.mpcVersion;
  return { conn, flows: [f], firstTcpStream: f.tcpStream };
}

function joinToken(f: FlowState): number | undefined {
  const o = f.syn?.option;
  return o?.type === 'MP_JOIN' ? o.receiversToken : undefined;
}

/** RFC 8684 §3.7 / rules FB-001..FB-005, MPC-012: where the initial subflow fell back to plain TCP. */
function detectFallback(f: FlowState): Fallback | null {
  if (f.syn?.option?.type === 'MP_CAPABLE' && f.synAck !== undefined && f.synAck.option === undefined) {
    return {
      reason: 'syn-ack-without-mp-capable',
      frame: f.synAck.frame,
      side: 'server',
      detail: `SYN (frame ${f.syn.frame}) offered MP_CAPABLE; SYN/ACK (frame ${f.synAck.frame}) has none`,
    };
  }
  if (f.synRetransWithoutMpc !== undefined && f.synAck?.option === undefined) {
    return {
      reason: 'syn-retransmitted-without-mp-capable',
      frame: f.synRetransWithoutMpc,
      side: 'client',
      detail: `SYN retransmission (frame ${f.synRetransWithoutMpc}) dropped MP_CAPABLE`,
    };
  }
  if (f.synAck?.option?.type === 'MP_CAPABLE' && f.thirdAck !== undefined && f.thirdAck.option === undefined && f.mpcAck === undefined) {
    return {
      reason: 'ack-without-mp-capable',
      frame: f.thirdAck.frame,
      side: 'client',
      detail: `SYN/ACK (frame ${f.synAck.frame}) carried MP_CAPABLE; the third ACK (frame ${f.thirdAck.frame}) and later segments have none`,
    };
  }
  if (f.infiniteMapping !== undefined) {
    return {
      reason: 'infinite-mapping',
      frame: f.infiniteMapping.frame,
      side: f.infiniteMapping.dir === C2S ? 'client' : 'server',
      detail: `DSS with Data-Level Length 0 (infinite mapping) in frame ${f.infiniteMapping.frame}`,
    };
  }
  // A side that, after the handshake, sends segments without any MPTCP option and never one again (FB-003).
  let best: Fallback | null = null;
  for (const dir of [C2S, S2C] as const) {
    const plain = f.firstPlain[dir];
    if (plain === undefined || f.lastMptcp[dir] > plain) continue;
    const handshakeEnd = f.mpcAck?.frame ?? f.synAck?.frame ?? 0;
    if (plain < handshakeEnd) continue;
    if (best === null || plain < best.frame) {
      const side = dir === C2S ? 'client' : 'server';
      best = {
        reason: 'no-dss-after-handshake',
        frame: plain,
        side,
        detail: `after the MP_CAPABLE handshake the ${side} sends segments without MPTCP options from frame ${plain} on`,
      };
    }
  }
  return best;
}

function subflowEnding(f: FlowState): Ending {
  const side = (d: Dir): 'client' | 'server' => (d === C2S ? 'client' : 'server');
  if (f.fastClose !== undefined) return { how: 'MP_FASTCLOSE', frame: f.fastClose.frame, by: side(f.fastClose.dir) };
  if (f.tcpRst !== undefined) {
    return {
      how: 'MP_TCPRST',
      frame: f.tcpRst.frame,
      reason: f.tcpRst.reason,
      reasonName: TcpRstReason[f.tcpRst.reason] ?? 'unknown',
      by: side(f.tcpRst.dir),
    };
  }
  if (f.rst !== undefined) return { how: 'RST', frame: f.rst.frame, by: side(f.rst.dir) };
  const [fc, fs] = f.fin;
  if (fc !== undefined && fs !== undefined) return { how: 'FIN', frame: Math.max(fc, fs) };
  return { how: 'capture-end' };
}

function plainConnection(f: FlowState): TcpConnection {
  const t: TcpConnection = {
    tcpStream: f.tcpStream,
    client: { ip: f.clientIp, port: f.clientPort },
    server: { ip: f.serverIp, port: f.serverPort },
    packets: f.packets[0] + f.packets[1],
    bytes: f.bytes[0] + f.bytes[1],
    firstFrame: f.firstFrame,
    lastFrame: f.lastFrame,
    start: f.start,
    end: f.end,
    ended: subflowEnding(f),
  };
  if (f.roleGuessed) t.roleGuessed = true;
  if (f.synOptionsCut === true || (f.syn === undefined && f.optionsCut > 0 && f.optionsCut === f.packets[0] + f.packets[1])) {
    t.optionsCutByCapture = true;
  }
  return t;
}

function buildSubflow(f: FlowState, id: number): Subflow {
  const synOpt = f.syn?.option;
  const synAckOpt = f.synAck?.option;
  const kind = flowKind(f);
  const sf: Subflow = {
    id,
    tcpStream: f.tcpStream,
    kind: kind === 'mp_capable' ? 'mp_capable' : kind === 'mp_join' ? 'mp_join' : 'unknown',
    client: { ip: f.clientIp, port: f.clientPort },
    server: { ip: f.serverIp, port: f.serverPort },
    backup: f.backup[0] || f.backup[1],
    packets: f.packets[0] + f.packets[1],
    bytes: f.bytes[0] + f.bytes[1],
    packetsClientToServer: f.packets[0],
    packetsServerToClient: f.packets[1],
    bytesClientToServer: f.bytes[0],
    bytesServerToClient: f.bytes[1],
    firstFrame: f.firstFrame,
    lastFrame: f.lastFrame,
    start: f.start,
    end: f.end,
    ended: subflowEnding(f),
    optionCounts: { ...f.optionCounts },
  };
  if (kind === 'mp_capable') {
    sf.client.addressId = 0;
    sf.server.addressId = 0;
    sf.addressId = 0;
  } else if (kind === 'mp_join') {
    if (synOpt?.type === 'MP_JOIN' && synOpt.addressId !== undefined) {
      sf.client.addressId = synOpt.addressId;
      sf.addressId = synOpt.addressId;
    }
    if (synAckOpt?.type === 'MP_JOIN' && synAckOpt.addressId !== undefined) sf.server.addressId = synAckOpt.addressId;
    if (synOpt?.type === 'MP_JOIN' && synOpt.receiversToken !== undefined) sf.joinToken = hex32(synOpt.receiversToken);
  }
  if (f.roleGuessed) sf.roleGuessed = true;
  if (f.eventsDropped > 0) sf.eventsDropped = f.eventsDropped;
  return sf;
}

function finishConnection(b: ConnBuilder, id: number): Connection {
  const conn = b.conn;
  conn.id = id;
  const connClientIp = conn.client.ip;
  b.flows.sort((x, y) => x.tcpStream - y.tcpStream);
  let dataFinClient: number | undefined;
  let dataFinServer: number | undefined;
  let fastClose: Ending | undefined;
  b.flows.forEach((f, i) => {
    // On a join subflow opened by the connection's server, the subflow client is the connection server.
    const sameOrientation = connClientIp === undefined || f.clientIp === connClientIp || f.serverIp !== connClientIp;
    const sf = buildSubflow(f, i);
    conn.subflows.push(sf);
    const who = (side: 'client' | 'server'): 'client' | 'server' =>
      sameOrientation ? side : side === 'client' ? 'server' : 'client';
    for (const a of f.addAddr) conn.addAddr.push({ ...a, by: who(a.by), subflow: i });
    for (const r of f.removeAddr) conn.removeAddr.push({ ...r, by: who(r.by), subflow: i });
    for (const p of f.prio) conn.prio.push({ ...p, by: who(p.by), subflow: i });
    const dfc = sameOrientation ? f.dataFin[0] : f.dataFin[1];
    const dfs = sameOrientation ? f.dataFin[1] : f.dataFin[0];
    if (dfc !== undefined && (dataFinClient === undefined || dfc < dataFinClient)) dataFinClient = dfc;
    if (dfs !== undefined && (dataFinServer === undefined || dfs < dataFinServer)) dataFinServer = dfs;
    if (sf.ended.how === 'MP_FASTCLOSE' && (fastClose === undefined || (sf.ended.frame ?? 0) < (fastClose.frame ?? 0))) {
      fastClose = { ...sf.ended };
      if (fastClose.by !== undefined) fastClose.by = who(fastClose.by);
    }
    conn.firstFrame = Math.min(conn.firstFrame, f.firstFrame);
    conn.lastFrame = Math.max(conn.lastFrame, f.lastFrame);
    conn.start = Math.min(conn.start, f.start);
    conn.end = Math.max(conn.end, f.end);
  });
  for (const list of [conn.addAddr, conn.removeAddr, conn.prio] as Array<Array<{ frame: number }>>) {
    list.sort((x, y) => x.frame - y.frame);
  }
  if (dataFinClient !== undefined) conn.dataFin.client = dataFinClient;
  if (dataFinServer !== undefined) conn.dataFin.server = dataFinServer;
  if (fastClose !== undefined) conn.ended = fastClose;
  else if (dataFinClient !== undefined && dataFinServer !== undefined) {
    conn.ended = { how: 'DATA_FIN', frame: Math.max(dataFinClient, dataFinServer) };
  } else if (conn.fallback !== null && conn.subflows[0] !== undefined && conn.subflows[0].ended.how !== 'capture-end') {
    // A fallen-back connection ends with its only subflow.
    conn.ended = { ...conn.subflows[0].ended };
  } else if (conn.subflows.length > 0 && conn.subflows.every((s) => s.ended.how === 'RST' || s.ended.how === 'MP_TCPRST')) {
    const last = conn.subflows.reduce((x, y) => ((x.ended.frame ?? 0) >= (y.ended.frame ?? 0) ? x : y));
    conn.ended = { ...last.ended };
  }
  return conn;
}
