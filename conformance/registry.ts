/**
 * Conformance rule registry: how rule modules and middlebox detectors plug into `check`.
 *
 * A {@link Detector} names the rule IDs it can emit and creates one {@link RuleSession} per capture.
 * A session is a streaming {@link SegmentObserver} (called for every TCP segment, in capture order, with
 * the captured frame) plus an optional end-of-capture pass over the model ({@link RuleSession.finish}).
 * Sessions report through a {@link RuleContext}; the engine (conformance/engine.ts) fills in the
 * connection/subflow indices, RFC section, default severity and group from the catalogue, and
 * aggregates repeats. Contract summary in docs/CONTRACTS.md ("Conformance rule registry").
 */
import type { CaptureAnalysis, SegmentObserver } from '../analyzer/analyze.js';
import type { Dir, FlowState } from '../analyzer/model/flow.js';
import type { Connection } from '../analyzer/model/types.js';
import type { TimelineObserver } from '../analyzer/timeline/observer.js';
import type { Finding } from './finding.js';

/**
 * What a rule reports. `rfc`, `severity` and `group` default to the catalogue entry of `id`;
 * `connection`/`subflow` are filled in from `flow` by the engine.
 */
export interface FindingInput {
  id: string;
  frames: number[];
  message: string;
  evidence?: Finding['evidence'];
  severity?: Finding['severity'];
  group?: Finding['group'];
  rfc?: string;
  /**
   * Aggregation key: later reports with the same (id, flow, key) only add their first frame (up to 20)
   * and increment `evidence.occurrences`, so a per-packet violation yields one finding per subflow.
   */
  key?: string;
}

/** What a finding names its subflow by: a flow, or the tcp.stream of one released earlier. */
export type SubflowRef = Pick<FlowState, 'tcpStream'>;

/** Where sessions send their results. */
export interface RuleContext {
  /**
   * Report a finding about `flow` (its connection and subflow: only its tcp.stream is used, so a flow
   * already released can be named by `{ tcpStream }`), or about the capture when omitted.
   */
  report(f: FindingInput, flow?: SubflowRef): void;
  /** Rule `id` cannot be judged for `flow`'s connection (missing direction/handshake/payload). Deduplicated per connection. */
  notEvaluable(id: string, flow: FlowState | undefined, reason: string): void;
  /** Rule `id` was evaluated on `flow`'s connection and held (e.g. one HMAC or one mapping checksum verified). */
  pass(id: string, flow?: FlowState): void;
  /**
   * The capture's one shared data-level timeline (analyzer/timeline/), present when a detector declared
   * `needsTimeline`: sessions register TimelineHooks on it in `create` instead of running their own.
   */
  timeline?: TimelineObserver;
}

/** One MPTCP connection as seen at the end of the capture, for end-of-capture passes. */
export interface ConnectionView {
  /** The model's connection (analyze --json `connections[]`). */
  conn: Connection;
  /** Flows of its subflows, in subflow order (undefined where a flow was not seen by the observer). */
  flows: FlowState[];
  /** The initial subflow's flow (holds `keys`), if captured. */
  root?: FlowState;
}

/** The context of one connection's end pass ({@link RuleSession.finishConnection}). */
export interface ConnectionFinishContext extends RuleContext {
  /** The connection a flow belongs to (undefined for plain TCP flows and flows of other connections). */
  connectionOf(flow: FlowState): ConnectionView | undefined;
  /**
   * Which connection-level host sent segments of direction `dir` on `flow`: 'client' = the host that
   * sent the initial subflow's SYN. For a join opened by the connection's server, dir 0 is the server.
   */
  hostOf(flow: FlowState, dir: Dir): 'client' | 'server' | undefined;
}

/** The end-of-capture context. */
export interface FinishContext extends ConnectionFinishContext {
  analysis: CaptureAnalysis;
  /** The connections still held at the end (the ones retired earlier had their finishConnection then). */
  connections: ConnectionView[];
}

/**
 * A per-capture rule instance: streaming observer plus end passes. The engine calls
 * {@link finishConnection} once per MPTCP connection: when the tracker retires it (TrackerOptions.retireAfter:
 * it finished and went quiet) or, for those still held, at the end of the capture before {@link finish};
 * then {@link release} for each of its flows (and each retired plain TCP flow), which get no more segments.
 * Per-flow state in a WeakMap needs no release. {@link finish} runs once at the end for what spans
 * connections (keep a summary of what it needs, not the flows).
 */
export interface RuleSession extends SegmentObserver {
  finishConnection?(ctx: ConnectionFinishContext, v: ConnectionView): void;
  release?(flow: FlowState): void;
  finish?(ctx: FinishContext): void;
}

/** A rule module or middlebox detector. */
export interface Detector {
  /** Short name (`opt`, `join`, `mbx-strip`, …). */
  name: string;
  /** Rule IDs it may emit (must be in conformance/catalogue.ts). */
  rules: readonly string[];
  /** Needs the shared TimelineObserver (`ctx.timeline`); the engine creates one when the caller gave none. */
  needsTimeline?: boolean;
  /** New session for one capture. */
  create(ctx: RuleContext): RuleSession;
}

const registry: Detector[] = [];

/** Add a detector to the global registry (idempotent by name). Call at module load. */
export function registerDetector(d: Detector): void {
  const i = registry.findIndex((x) => x.name === d.name);
  if (i >= 0) registry[i] = d;
  else registry.push(d);
}

/** Registered detectors, in registration order. */
export function registeredDetectors(): readonly Detector[] {
  return registry;
}
