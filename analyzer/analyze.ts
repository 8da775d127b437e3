/**
 * The `analyze` pipeline for one capture file: source → frames → decodePacket → ConnectionTracker.
 *
 * Never throws for bad content: decode problems are collected (with file, frame number and byte
 * offset) and the analysis of the rest goes on. Rejects only when the file cannot be opened at all.
 */
import { openCapture } from './capture/open.js';
import type { CaptureSource, CaptureSummary, Frame, FrameSink } from './capture/types.js';
import type { DecodeIssue } from './issue.js';
import type { Dir, FlowState } from './model/flow.js';
import { ConnectionTracker, type EvictionSummary, type FinalModel, type RetiredConnection, type RetirementSummary, type TrackerOptions } from './model/tracker.js';
import type { Connection, TcpConnection } from './model/types.js';
import { decodePacket } from './wire/packet.js';
import type { TcpSegment } from './wire/types.js';

/**
 * Something that wants every TCP segment after the connection tracker saw it (timelines, rules, live view).
 * `flow` is the segment's TCP conversation (see analyzer/model/flow.ts), `dir` 0 = from the flow's client,
 * `time` the timestamp in seconds. The segment object is only valid during the call.
 * `frame` (optional, additive) is the captured frame: payload bytes are `frame.data[seg.payloadOffset, +capturedPayloadLength)`; valid only during the call.
 */
export interface SegmentObserver {
  onSegment(seg: TcpSegment, flow: FlowState, dir: Dir, time: number, tracker: ConnectionTracker, frame?: Frame): void;
  /**
   * A finished connection is being retired (TrackerOptions.retireAfter): finish what is kept about it and
   * release its flows' state; they get no further onSegment. Called between segments, its flows still intact.
   */
  onConnectionEnd?(r: RetiredConnection, tracker: ConnectionTracker): void;
  /** A late segment of a retired flow (`tcpStream`), counted in its model; it gets no onSegment. */
  onLateSegment?(seg: TcpSegment, tcpStream: number, dir: Dir, time: number): void;
}

export const SCHEMA_VERSION = 1;

/** Frame counts by what the decoder made of them. */
export interface FrameCounts {
  tcp: number;
  /** IP packets that are not TCP (UDP, ICMP, …). */
  ipOther: number;
  /** IP fragments (counted, not reassembled). */
  ipFragments: number;
  /** Frames that are not IP (ARP, LLDP, …). */
  nonIp: number;
  /** Frames that could not be decoded as far as TCP (see errors). */
  undecodable: number;
  /** Frames whose captured length is less than their original length (snaplen). */
  truncatedByCapture: number;
}

/** Issues grouped by (layer, kind, field, capture): the list is capped, this is not. */
export interface IssueGroup {
  layer: string;
  kind: string;
  field?: string;
  capture: boolean;
  count: number;
  firstFrame?: number;
  example: string;
}

export interface CaptureFileInfo {
  file: string;
  format: CaptureSummary['format'];
  gzip: boolean;
  byteOrder: 'little' | 'big';
  linkTypes: number[];
  snaplen: number;
  sections: number;
  bytes: number;
  /** Reading stopped early (cut-off or corrupt file); everything before it is analysed. */
  incomplete: boolean;
}

/** Result of analysing one capture (the `analyze --json` object; schema in docs/analyze-json.md). */
export interface CaptureAnalysis {
  schemaVersion: number;
  capture: CaptureFileInfo;
  /** Frames read from the file. */
  frames: number;
  counts: FrameCounts;
  connections: Connection[];
  tcpConnections: TcpConnection[];
  /** Decode and file problems, in order, at most `maxErrors` of them. */
  errors: DecodeIssue[];
  /** Total number of problems (may exceed errors.length). */
  errorCount: number;
  errorGroups: IssueGroup[];
  /** The tracker's state limit and what it evicted (flows dropped from the model; see TrackerOptions.maxFlows). */
  stateLimit: EvictionSummary;
  /** Finished connections retired while reading (their models are final; see TrackerOptions.retireAfter). */
  retirement: RetirementSummary;
}

export interface AnalyzeOptions {
  /** Cap on the `errors` list (all are still counted in errorGroups). Default 1000. */
  maxErrors?: number;
  /** Called every ~64k frames with the frame's file offset (decompressed bytes). */
  onProgress?: (fileOffset: number) => void;
  /** Use another capture source (e.g. pcap-parser for the benchmark). */
  source?: CaptureSource;
  /** Extra per-segment consumers (timelines, rules). */
  observers?: SegmentObserver[];
  /** Tracker state limit in flows (default DEFAULT_MAX_FLOWS in model/tracker.ts). */
  maxFlows?: number;
  /** Seconds a finished connection is kept before it is retired (TrackerOptions.retireAfter; default 10, Infinity: never). */
  retireAfter?: number;
  /**
   * Streaming (TrackerOptions.onFinal): each retired connection's final model is handed here while the file is
   * read, and not kept; the result's `connections` / `tcpConnections` then hold only the connections not
   * retired by the end (`retirement` counts the others). The models handed over have `id` −1.
   */
  onFinal?: (m: FinalModel) => void;
  /** Backpressure for a streaming consumer: see FrameSink.drain (asked between chunks of the file). */
  drain?: () => Promise<void> | undefined;
}

/** Collects issues with a cap, grouping all of them. */
export class IssueCollector {
  readonly list: DecodeIssue[] = [];
  count = 0;
  private readonly groups = new Map<string, IssueGroup>();
  constructor(private readonly max: number) {}

  add(i: DecodeIssue): void {
    this.count++;
    if (this.list.length < this.max) this.list.push(i);
    const capture = i.capture === true;
    const key = `${i.layer}|${i.kind}|${i.field ?? ''}|${capture}`;
    const g = this.groups.get(key);
    if (g !== undefined) {
      g.count++;
      return;
    }
    const ng: IssueGroup = { layer: i.layer, kind: i.kind, capture, count: 1, example: i.message };
    if (i.field !== undefined) ng.field = i.field;
    if (i.frame !== undefined) ng.firstFrame = i.frame;
    this.groups.set(key, ng);
  }

  groupList(): IssueGroup[] {
    return [...this.groups.values()];
  }
}

/**
 * Per-frame work shared by file analysis and live capture: decode, count, feed the tracker.
 * `file` names the source in issues.
 */
export class FramePipeline {
  readonly tracker: ConnectionTracker;
  readonly counts: FrameCounts = { tcp: 0, ipOther: 0, ipFragments: 0, nonIp: 0, undecodable: 0, truncatedByCapture: 0 };
  readonly issues: IssueCollector;
  frames = 0;
  readonly observers: SegmentObserver[] = [];
  private readonly scratch: DecodeIssue[] = [];

  constructor(
    private readonly file: string,
    maxErrors = 1000,
    maxFlows?: number,
    retireAfter?: number,
    onFinal?: TrackerOptions['onFinal'],
  ) {
    this.issues = new IssueCollector(maxErrors);
    const opts: TrackerOptions = { onRetire: (r) => this.retire(r) };
    if (maxFlows !== undefined) opts.maxFlows = maxFlows;
    if (retireAfter !== undefined) opts.retireAfter = retireAfter;
    if (onFinal !== undefined) opts.onFinal = onFinal;
    this.tracker = new ConnectionTracker(opts);
  }

  private retire(r: RetiredConnection): void {
    const obs = this.observers;
    for (let i = 0; i < obs.length; i++) obs[i]!.onConnectionEnd?.(r, this.tracker);
  }

  /** The analysis of the frames fed so far (model snapshot, counts, problems), with `capture` describing their source. */
  analysis(capture: CaptureAnalysis['capture']): CaptureAnalysis {
    const model = this.tracker.snapshot();
    return {
      schemaVersion: SCHEMA_VERSION,
      capture,
      frames: this.frames,
      counts: this.counts,
      connections: model.connections,
      tcpConnections: model.tcpConnections,
      errors: this.issues.list,
      errorCount: this.issues.count,
      errorGroups: this.issues.groupList(),
      stateLimit: { ...this.tracker.evictions },
      retirement: { ...this.tracker.retirement },
    };
  }

  /**
   * The state-limit notice (layer `model`, kind `limit`) when the tracker evicted flows, else undefined.
   * Added once per analysis by analyzeFile; a live view can show it as it grows.
   */
  evictionIssue(): DecodeIssue | undefined {
    const e = this.tracker.evictions;
    if (e.flows === 0) return undefined;
    const i: DecodeIssue = {
      layer: 'model',
      kind: 'limit',
      field: 'max flows',
      message: `state limit of ${e.maxFlows} flows reached: ${e.flows} flow(s) evicted from the model (${e.mptcpFlows} MPTCP, ${e.closedFlows} closed; ${e.packets} packets, ${e.bytes} bytes), frames ${e.firstFrame}..${e.lastFrame}`,
      file: this.file,
      offset: 0,
      need: e.maxFlows + e.flows,
      have: e.maxFlows,
    };
    if (e.firstFrame !== undefined) i.frame = e.firstFrame;
    return i;
  }

  onFrame(frame: Frame): void {
    this.frames++;
    if (frame.capturedLength < frame.originalLength) this.counts.truncatedByCapture++;
    const scratch = this.scratch;
    const d = decodePacket(frame, this.file, scratch);
    if (scratch.length > 0) {
      for (const i of scratch) this.issues.add(i);
      scratch.length = 0;
    }
    switch (d.kind) {
      case 'tcp':
      {
        this.counts.tcp++;
        const time = frame.tsSec + frame.tsNsec / 1e9;
        const flow = this.tracker.onSegment(d.segment, time);
        const obs = this.observers;
        if (flow === undefined) {
          for (let i = 0; i < obs.length; i++) obs[i]!.onLateSegment?.(d.segment, this.tracker.lateTcpStream, this.tracker.lastDir, time);
          break;
        }
        for (let i = 0; i < obs.length; i++) obs[i]!.onSegment(d.segment, flow, this.tracker.lastDir, time, this.tracker, frame);
        break;
      }
      case 'ip-other':
        if (d.fragment) this.counts.ipFragments++;
        else this.counts.ipOther++;
        break;
      case 'non-ip':
        this.counts.nonIp++;
        break;
      case 'error':
        this.counts.undecodable++;
        break;
    }
  }
}

/** Analyse one capture file. Rejects only if the file cannot be read at all (ENOENT, EACCES, EISDIR). */
export async function analyzeFile(path: string, opts: AnalyzeOptions = {}): Promise<CaptureAnalysis> {
  const source = opts.source ?? openCapture(path);
  const pipe = new FramePipeline(path, opts.maxErrors ?? 1000, opts.maxFlows, opts.retireAfter, opts.onFinal);
  if (opts.observers !== undefined) pipe.observers.push(...opts.observers);
  const onProgress = opts.onProgress;
  const sink: FrameSink = {
    frame: (f) => {
      pipe.onFrame(f);
      if (onProgress !== undefined && (pipe.frames & 0xffff) === 0) onProgress(f.fileOffset);
    },
  };
  if (opts.drain !== undefined) sink.drain = opts.drain;
  const summary = await source.run(sink);
  for (const i of summary.issues) pipe.issues.add(i);
  pipe.tracker.flushFinal();
  const evicted = pipe.evictionIssue();
  if (evicted !== undefined) pipe.issues.add(evicted);
  const linkTypes = [...new Set(summary.interfaces.map((i) => Number(i.linkType)))];
  return pipe.analysis({
    file: path,
    format: summary.format,
    gzip: summary.gzip,
    byteOrder: summary.byteOrder,
    linkTypes,
    snaplen: summary.interfaces[0]?.snaplen ?? 0,
    sections: summary.sections,
    bytes: summary.bytes,
    incomplete: summary.incomplete,
  });
}
