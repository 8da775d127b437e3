/**
 * Live view state: turns the streaming connection model (FramePipeline → ConnectionTracker) into plain
 * view values for the TUI and into NDJSON events, at most once per UI tick.
 *
 * Throughput comes from the per-flow payload byte counters (FlowState.bytes via Subflow.bytes) sampled at
 * each tick: rate = Δbytes / Δt on the capture clock (so a replay at --speed N shows the captured rates).
 * RTT, retransmissions and data-level progress (DSN, Data ACK, reinjections) come from an optional
 * {@link TimelineSource}; findings from an optional {@link FindingsSource}. Without them those columns show "—".
 *
 * Memory: per subflow a fixed-size rate history; nothing grows with the number of packets.
 */
import type { FramePipeline } from '../../analyzer/analyze.js';
import type { Frame } from '../../analyzer/capture/types.js';
import type { DecodeIssue } from '../../analyzer/issue.js';
import type { ModelSnapshot } from '../../analyzer/model/tracker.js';
import type { Connection, Subflow } from '../../analyzer/model/types.js';
import type { Finding } from '../../conformance/finding.js';

/** Per-subflow timing facts from the timeline analysis (analyzer/timeline), when available. */
export interface SubflowTimeline {
  /** Smoothed round-trip time, milliseconds. */
  rttMs?: number;
  /** Retransmitted segments (subflow level) so far. */
  retransmissions?: number;
}

/**
 * Data-level progress of one connection (RFC 8684 §3.3), when available: strings as displayed
 * (e.g. "+123456" for a DSN relative to the IDSN).
 */
export interface DataLevelProgress {
  /** Highest Data Sequence Number mapped, client → server. */
  dsn?: string;
  /** Highest Data ACK seen, server → client. */
  dataAck?: string;
  /** Bytes mapped again on another subflow (reinjections). */
  reinjections?: number;
}

/**
 * Source of timeline facts for the live view. Connection and subflow indices are those of the model
 * (`Connection.id`, `Subflow.id`). Methods are called once per UI tick.
 */
export interface TimelineSource {
  /**
   * Called once per tick with the model snapshot, before the per-subflow/connection queries. `final` is true
   * once the capture has ended: the source must then bring its figures up to date (no throttling).
   */
  refresh?(snapshot: ModelSnapshot, final?: boolean): void;
  subflow(connection: number, subflow: number): SubflowTimeline | undefined;
  dataLevel(connection: number): DataLevelProgress | undefined;
}

/** Source of conformance findings for the live view: the cumulative list so far (appended to, in order). */
export interface FindingsSource {
  /** Called once per tick with the model snapshot, before findings() (e.g. to resolve connection indices). */
  refresh?(snapshot: ModelSnapshot): void;
  findings(): readonly Finding[];
}

export type SubflowStateName = 'active' | 'idle' | 'removed' | 'closed';

export interface SubflowView {
  id: number;
  tcpStream: number;
  kind: Subflow['kind'];
  client: string;
  server: string;
  /** Address IDs of the client and server ends (undefined when not known). */
  clientAddressId?: number;
  serverAddressId?: number;
  backup: boolean;
  state: SubflowStateName;
  /** How it ended (FIN, RST, MP_TCPRST, REMOVE_ADDR), when it did. */
  endedHow?: string;
  /** Payload bytes per second, both directions, over the last tick. */
  rate: number;
  /** Recent rates, oldest first (for the sparkline). */
  history: number[];
  bytes: number;
  packets: number;
  /** Share of the connection's payload bytes (0..1). */
  share: number;
  rttMs?: number;
  retransmissions?: number;
}

export type ConnectionStateName = 'handshake' | 'established' | 'fallback' | 'closed';

export interface ConnectionView {
  id: number;
  /** Stable key: tcp.stream of the first subflow. */
  key: number;
  state: ConnectionStateName;
  endedHow?: string;
  version: 0 | 1 | null;
  client: string;
  server: string;
  clientToken: string | null;
  serverToken: string | null;
  subflows: SubflowView[];
  activeSubflows: number;
  rate: number;
  bytes: number;
  findings: number;
  model: Connection;
  dataLevel?: DataLevelProgress;
}

export interface StatusView {
  source: string;
  frames: number;
  tcpFrames: number;
  /** Bytes on the wire of all frames. */
  bytes: number;
  packetsPerSecond: number;
  /** Kernel drop counter (null when unknown, e.g. replay). */
  dropped: number | null;
  /** Bytes captured but not yet analysed (the capture child's memory queue and spool), as last reported; 0 when caught up or replaying. */
  backlogBytes: number;
  /** A live capture that is not capturing yet (its capture child is still opening the interface): packets sent now are not seen. */
  opening: boolean;
  /** Decode problems so far (malformed or capture-cut frames, state-limit evictions). */
  problems: number;
  /** The latest notice about the capture itself (interface lost, reopened), if any. */
  notice?: string;
  /** Seconds since the start (capture clock). */
  elapsed: number;
  paused: boolean;
  ended: boolean;
}

export interface LiveView {
  connections: ConnectionView[];
  findings: readonly Finding[];
  /** The latest decode problems (at most 50; their total is `status.problems`), oldest first. */
  problems: readonly DecodeIssue[];
  status: StatusView;
  /** True when a timeline source is attached (RTT/retransmission/data-level columns have data). */
  hasTimeline: boolean;
  hasFindings: boolean;
}

/** An NDJSON event of the non-TTY mode. `time` is the capture time in seconds since the epoch. */
export type LiveEvent =
  | { type: 'connection-opened'; time: number; frame: number; connection: number; version: 0 | 1 | null; client: string; server: string; clientToken: string | null; serverToken: string | null }
  | {
      type: 'subflow-added';
      time: number;
      frame: number;
      connection: number;
      subflow: number;
      tcpStream: number;
      kind: Subflow['kind'];
      client: { ip: string; port: number; addressId?: number };
      server: { ip: string; port: number; addressId?: number };
      backup: boolean;
    }
  | { type: 'subflow-closed'; time: number; frame?: number; connection: number; subflow: number; tcpStream: number; how: string; by?: string }
  | { type: 'add-addr'; time: number; frame: number; connection: number; by: string; addressId: number; address: string; port?: number; echo: boolean }
  | { type: 'remove-addr'; time: number; frame: number; connection: number; by: string; addressIds: number[] }
  | { type: 'mp-prio'; time: number; frame: number; connection: number; by: string; backup: boolean; subflow: number }
  | { type: 'fallback'; time: number; frame: number; connection: number; reason: string; detail: string }
  | { type: 'connection-closed'; time: number; frame?: number; connection: number; how: string }
  | ({ type: 'finding'; time: number } & Finding)
  /** A frame that could not be decoded (or was cut by the capture): the analysis goes on. */
  | ({ type: 'problem'; time: number } & DecodeIssue)
  /** The capture itself: `lost` (interface down or removed), `waiting` (reopen failed, retrying), `reopened`. */
  | { type: 'capture'; time: number; kind: 'lost' | 'reopened' | 'waiting'; message: string; afterFrame: number }
  | { type: 'stats'; time: number; frames: number; tcpFrames: number; bytes: number; packetsPerSecond: number; dropped: number | null; backlogBytes: number; problems: number; elapsed: number; connections: number };

export interface LiveStateOptions {
  source: string;
  timeline?: TimelineSource;
  findings?: FindingsSource;
  /** Rate samples kept per subflow. Default 32. */
  historyLength?: number;
  /** A subflow with no packet for this long (capture-clock seconds) is idle. Default 2. */
  idleAfter?: number;
}

interface FlowSample {
  bytes: number;
  history: number[];
  rate: number;
}

/** Decode problems kept for the feed (the NDJSON output lists every one the pipeline keeps). */
const RECENT_PROBLEMS = 50;

const ep = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Keeps the pipeline's counters and computes views/events on demand. Not thread-safe; single event loop. */
export class LiveState {
  readonly pipe: FramePipeline;
  private wireBytes = 0;
  private firstTime = Number.NaN;
  private lastTime = Number.NaN;
  private lastSampleTime = Number.NaN;
  private lastSampleFrames = 0;
  private pps = 0;
  private readonly samples = new Map<number, FlowSample>();
  private readonly historyLength: number;
  private readonly idleAfter: number;
  // Event bookkeeping (keys: connection key; subflow tcpStream).
  private readonly seenConn = new Set<number>();
  private readonly closedConn = new Set<number>();
  private readonly fallbackConn = new Set<number>();
  private readonly seenSubflow = new Set<number>();
  private readonly closedSubflow = new Set<number>();
  private readonly addrEvents = new Map<number, [number, number, number]>();
  private findingsSeen = 0;
  private problemsSeen = 0;
  private lastNotice: string | undefined;
  private readonly notices: LiveEvent[] = [];
  private readonly recentProblems: DecodeIssue[] = [];
  dropped: number | null = null;
  /** See {@link StatusView.backlogBytes}; set by the live capture's owner. */
  backlogBytes = 0;
  /** See {@link StatusView.opening}; set by the live capture's owner. */
  opening = false;
  paused = false;
  ended = false;

  constructor(
    pipe: FramePipeline,
    private readonly opts: LiveStateOptions,
  ) {
    this.pipe = pipe;
    this.historyLength = opts.historyLength ?? 32;
    this.idleAfter = opts.idleAfter ?? 2;
    // Remember when address-management options were seen (the model keeps their frame numbers only);
    // entries are dropped once reported, so this stays as small as the number of pending events.
    const times = this.optionTimes;
    pipe.observers.push({
      onSegment(seg, _flow, _dir, time): void {
        const opts = seg.options.mptcp;
        for (let i = 0; i < opts.length; i++) {
          const t = opts[i]!.type;
          if ((t === 'ADD_ADDR' || t === 'REMOVE_ADDR' || t === 'MP_PRIO') && times.size < 65536) times.set(seg.frame, time);
        }
      },
    });
  }

  private readonly optionTimes = new Map<number, number>();

  private optionTime(frame: number, fallback: number): number {
    const t = this.optionTimes.get(frame);
    return t ?? fallback;
  }

  /** A notice about the capture (from LiveCaptureSource's onNotice): an NDJSON `capture` event and the status bar. */
  notice(kind: 'lost' | 'reopened' | 'waiting', message: string): void {
    this.lastNotice = message;
    if (this.notices.length < 1000) this.notices.push({ type: 'capture', time: Date.now() / 1000, kind, message, afterFrame: this.pipe.frames });
  }

  /** Feed one frame (call from the capture sink). */
  onFrame(frame: Frame): void {
    const t = frame.tsSec + frame.tsNsec / 1e9;
    if (Number.isNaN(this.firstTime)) this.firstTime = t;
    if (!(t < this.lastTime)) this.lastTime = t;
    this.wireBytes += frame.originalLength;
    this.pipe.onFrame(frame);
  }

  /** Capture-clock time of the latest frame (NaN before the first). */
  get captureTime(): number {
    return this.lastTime;
  }

  /**
   * Take a snapshot of the model and compute the view plus the events since the previous call.
   * `now` is the capture-clock time to measure rates against (default: the latest frame's time).
   * Cost O(flows); call at most ~10 times per second.
   */
  sample(now: number = this.lastTime): { view: LiveView; events: LiveEvent[] } {
    const snap = this.pipe.tracker.snapshot();
    this.opts.timeline?.refresh?.(snap, this.ended);
    this.opts.findings?.refresh?.(snap);
    const events: LiveEvent[] = [];
    const dt = Number.isNaN(this.lastSampleTime) ? 0 : now - this.lastSampleTime;
    if (dt > 0) this.pps = (this.pipe.frames - this.lastSampleFrames) / dt;
    const allFindings = this.opts.findings?.findings() ?? [];
    const findingsBy = new Map<number, number>();
    for (const f of allFindings) if (f.connection !== undefined) findingsBy.set(f.connection, (findingsBy.get(f.connection) ?? 0) + 1);

    const connections: ConnectionView[] = [];
    for (const c of snap.connections) {
      const first = c.subflows[0];
      const key = first?.tcpStream ?? -1 - c.id;
      if (!this.seenConn.has(key)) {
        this.seenConn.add(key);
        events.push({
          type: 'connection-opened',
          time: c.start,
          frame: c.firstFrame,
          connection: c.id,
          version: c.version,
          client: first !== undefined ? ep(first.client.ip, first.client.port) : '?',
          server: first !== undefined ? ep(first.server.ip, first.server.port) : '?',
          clientToken: c.client.token,
          serverToken: c.server.token,
        });
      }
      const subflows: SubflowView[] = [];
      for (const s of c.subflows) subflows.push(this.subflowView(c, s, now, dt, events));
      this.addressEvents(c, key, events);
      if (c.fallback !== null && !this.fallbackConn.has(key)) {
        this.fallbackConn.add(key);
        events.push({ type: 'fallback', time: this.frameTimeGuess(c), frame: c.fallback.frame, connection: c.id, reason: c.fallback.reason, detail: c.fallback.detail });
      }
      const closed = c.ended.how !== 'capture-end';
      if (closed && !this.closedConn.has(key)) {
        this.closedConn.add(key);
        events.push({ type: 'connection-closed', time: c.end, ...(c.ended.frame !== undefined ? { frame: c.ended.frame } : {}), connection: c.id, how: c.ended.how });
      }
      const bytes = subflows.reduce((a, s) => a + s.bytes, 0);
      for (const s of subflows) s.share = bytes > 0 ? s.bytes / bytes : 0;
      const state: ConnectionStateName = closed ? 'closed' : c.fallback !== null ? 'fallback' : c.handshake === 'partial' ? 'handshake' : 'established';
      const cv: ConnectionView = {
        id: c.id,
        key,
        state,
        version: c.version,
        client: first !== undefined ? ep(first.client.ip, first.client.port) : '?',
        server: first !== undefined ? ep(first.server.ip, first.server.port) : '?',
        clientToken: c.client.token,
        serverToken: c.server.token,
        subflows,
        activeSubflows: subflows.filter((s) => s.state === 'active' || s.state === 'idle').length,
        rate: subflows.reduce((a, s) => a + s.rate, 0),
        bytes,
        findings: findingsBy.get(c.id) ?? 0,
        model: c,
      };
      if (closed) cv.endedHow = c.ended.how;
      const dl = this.opts.timeline?.dataLevel(c.id);
      if (dl !== undefined) cv.dataLevel = dl;
      connections.push(cv);
    }
    for (let i = this.findingsSeen; i < allFindings.length; i++) {
      const f = allFindings[i]!;
      events.push({ type: 'finding', time: now, ...f });
    }
    this.findingsSeen = allFindings.length;
    // Decode problems (malformed or cut frames, the state limit): the pipeline keeps the first maxErrors, counts all.
    const issues = this.pipe.issues.list;
    for (let i = this.problemsSeen; i < issues.length; i++) {
      const p = issues[i]!;
      events.push({ type: 'problem', time: now, ...p });
      this.recentProblems.push(p);
      if (this.recentProblems.length > RECENT_PROBLEMS) this.recentProblems.shift();
    }
    this.problemsSeen = issues.length;
    events.push(...this.notices);
    this.notices.length = 0;
    if (dt > 0 || Number.isNaN(this.lastSampleTime)) {
      this.lastSampleTime = now;
      this.lastSampleFrames = this.pipe.frames;
    }
    // In frame order within one tick (events without a frame, e.g. findings, keep their time order at the end).
    events.sort((a, b) => ('frame' in a && a.frame !== undefined ? a.frame : Infinity) - ('frame' in b && b.frame !== undefined ? b.frame : Infinity) || a.time - b.time);
    const view: LiveView = {
      connections,
      findings: allFindings,
      problems: [...this.recentProblems],
      status: this.status(now),
      hasTimeline: this.opts.timeline !== undefined,
      hasFindings: this.opts.findings !== undefined,
    };
    return { view, events };
  }

  /** The periodic `stats` event. */
  statsEvent(now: number = this.lastTime): LiveEvent {
    const s = this.status(now);
    return {
      type: 'stats',
      time: Number.isNaN(now) ? Date.now() / 1000 : now,
      frames: s.frames,
      tcpFrames: s.tcpFrames,
      bytes: s.bytes,
      packetsPerSecond: Math.round(s.packetsPerSecond),
      dropped: s.dropped,
      backlogBytes: s.backlogBytes,
      problems: s.problems,
      elapsed: Math.round(s.elapsed * 1000) / 1000,
      connections: this.seenConn.size,
    };
  }

  private status(now: number): StatusView {
    return {
      source: this.opts.source,
      frames: this.pipe.frames,
      tcpFrames: this.pipe.counts.tcp,
      bytes: this.wireBytes,
      packetsPerSecond: this.pps,
      dropped: this.dropped,
      backlogBytes: this.backlogBytes,
      opening: this.opening,
      problems: this.pipe.issues.count,
      ...(this.lastNotice !== undefined ? { notice: this.lastNotice } : {}),
      elapsed: Number.isNaN(this.firstTime) || Number.isNaN(now) ? 0 : Math.max(0, now - this.firstTime),
      paused: this.paused,
      ended: this.ended,
    };
  }

  /** True while a REMOVE_ADDR at `frame` may still be needed to time a subflow's removal. */
  private pendingRemoval(c: Connection, frame: number): boolean {
    return c.removeAddr.some((r) => r.frame === frame) && c.subflows.some((s) => !this.closedSubflow.has(s.tcpStream));
  }

  private frameTimeGuess(c: Connection): number {
    return c.end;
  }

  private subflowView(c: Connection, s: Subflow, now: number, dt: number, events: LiveEvent[]): SubflowView {
    let smp = this.samples.get(s.tcpStream);
    if (smp === undefined) {
      smp = { bytes: s.bytes, history: [], rate: 0 };
      // A subflow first seen mid-way: its bytes so far count towards the first interval.
      smp.bytes = 0;
      this.samples.set(s.tcpStream, smp);
    }
    if (dt > 0) {
      smp.rate = (s.bytes - smp.bytes) / dt;
      smp.bytes = s.bytes;
      smp.history.push(smp.rate);
      if (smp.history.length > this.historyLength) smp.history.shift();
    } else if (Number.isNaN(this.lastSampleTime)) {
      smp.bytes = s.bytes; // first sample: the baseline, no rate yet
    }
    if (!this.seenSubflow.has(s.tcpStream)) {
      this.seenSubflow.add(s.tcpStream);
      events.push({
        type: 'subflow-added',
        time: s.start,
        frame: s.firstFrame,
        connection: c.id,
        subflow: s.id,
        tcpStream: s.tcpStream,
        kind: s.kind,
        client: { ...s.client },
        server: { ...s.server },
        backup: s.backup,
      });
    }
    const clientAddressId = s.client.addressId ?? (s.kind === 'mp_capable' ? 0 : s.addressId);
    const serverAddressId = s.server.addressId ?? (s.kind === 'mp_capable' ? 0 : undefined);
    let state: SubflowStateName;
    let endedHow: string | undefined;
    let endFrame: number | undefined;
    let endBy: string | undefined;
    const removal = c.removeAddr.find(
      (r) => r.frame >= s.firstFrame && ((r.by === 'client' && clientAddressId !== undefined && r.addressIds.includes(clientAddressId)) || (r.by === 'server' && serverAddressId !== undefined && r.addressIds.includes(serverAddressId))),
    );
    if (s.ended.how !== 'capture-end') {
      state = 'closed';
      endedHow = s.ended.how;
      endFrame = s.ended.frame;
      endBy = s.ended.by;
    } else if (removal !== undefined) {
      state = 'removed';
      endedHow = 'REMOVE_ADDR';
      endFrame = removal.frame;
      endBy = removal.by;
    } else if (!Number.isNaN(now) && now - s.end > this.idleAfter) {
      state = 'idle';
    } else {
      state = 'active';
    }
    if ((state === 'closed' || state === 'removed') && !this.closedSubflow.has(s.tcpStream)) {
      this.closedSubflow.add(s.tcpStream);
      events.push({
        type: 'subflow-closed',
        time: state === 'closed' ? s.end : this.optionTime(endFrame ?? -1, now),
        ...(endFrame !== undefined ? { frame: endFrame } : {}),
        connection: c.id,
        subflow: s.id,
        tcpStream: s.tcpStream,
        how: endedHow!,
        ...(endBy !== undefined ? { by: endBy } : {}),
      });
    }
    const v: SubflowView = {
      id: s.id,
      tcpStream: s.tcpStream,
      kind: s.kind,
      client: ep(s.client.ip, s.client.port),
      server: ep(s.server.ip, s.server.port),
      backup: s.backup,
      state,
      rate: smp.rate,
      history: [...smp.history],
      bytes: s.bytes,
      packets: s.packets,
      share: 0,
    };
    if (clientAddressId !== undefined) v.clientAddressId = clientAddressId;
    if (serverAddressId !== undefined) v.serverAddressId = serverAddressId;
    if (endedHow !== undefined) v.endedHow = endedHow;
    const tl = this.opts.timeline?.subflow(c.id, s.id);
    if (tl?.rttMs !== undefined) v.rttMs = tl.rttMs;
    if (tl?.retransmissions !== undefined) v.retransmissions = tl.retransmissions;
    return v;
  }

  /** ADD_ADDR / REMOVE_ADDR / MP_PRIO events not reported yet (the model keeps them in frame order). */
  private addressEvents(c: Connection, key: number, events: LiveEvent[]): void {
    const done = this.addrEvents.get(key) ?? [0, 0, 0];
    const time = (frame: number): number => this.optionTime(frame, c.end);
    for (let i = done[0]; i < c.addAddr.length; i++) {
      const a = c.addAddr[i]!;
      events.push({ type: 'add-addr', time: time(a.frame), frame: a.frame, connection: c.id, by: a.by, addressId: a.addressId, address: a.address, ...(a.port !== undefined ? { port: a.port } : {}), echo: a.echo });
    }
    for (let i = done[1]; i < c.removeAddr.length; i++) {
      const r = c.removeAddr[i]!;
      events.push({ type: 'remove-addr', time: time(r.frame), frame: r.frame, connection: c.id, by: r.by, addressIds: [...r.addressIds] });
    }
    for (let i = done[2]; i < c.prio.length; i++) {
      const p = c.prio[i]!;
      events.push({ type: 'mp-prio', time: time(p.frame), frame: p.frame, connection: c.id, by: p.by, backup: p.backup, subflow: p.subflow });
    }
    this.addrEvents.set(key, [c.addAddr.length, c.removeAddr.length, c.prio.length]);
    for (const list of [c.addAddr, c.removeAddr, c.prio]) for (const e of list) if (!this.pendingRemoval(c, e.frame)) this.optionTimes.delete(e.frame);
  }
}
