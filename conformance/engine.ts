/**
 * Conformance engine: runs every registered detector over one capture (streaming, then one
 * end-of-capture pass) and returns the findings with connection/subflow indices resolved.
 *
 * Memory: the engine keeps one entry per flow (live state) and the findings (aggregated per rule,
 * subflow and key), never per-packet records.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread } from 'node:worker_threads';
import { type AnalyzeOptions, type CaptureAnalysis, type SegmentObserver, analyzeFile } from '../analyzer/analyze.js';
import type { Frame } from '../analyzer/capture/types.js';
import type { Dir, FlowState } from '../analyzer/model/flow.js';
import type { ConnectionTracker, RetiredConnection } from '../analyzer/model/tracker.js';
import type { Connection } from '../analyzer/model/types.js';
import { TimelineObserver } from '../analyzer/timeline/observer.js';
import type { TcpSegment } from '../analyzer/wire/types.js';
import { ruleInfo } from './catalogue.js';
import { initiatorIsClient } from './rules/util.js';
import './detectors.js';
import type { Finding, NotEvaluable } from './finding.js';
import {
  type ConnectionFinishContext,
  type ConnectionView,
  type Detector,
  type FindingInput,
  type FinishContext,
  type RuleContext,
  type RuleSession,
  type SubflowRef,
  registeredDetectors,
} from './registry.js';

/** Result of checking one capture. */
export interface CheckResult {
  file: string;
  analysis: CaptureAnalysis;
  /** Findings sorted by connection, then first frame. */
  findings: Finding[];
  notEvaluable: NotEvaluable[];
  /** Rule IDs the detectors that ran can emit. */
  rulesRun: string[];
  /** Checks that were evaluated and held, per rule and connection (e.g. HMACs and checksums verified). */
  passes: RulePass[];
}

/**
 * One connection's part of a check, handed over while the capture is read ({@link CheckOptions.onConnection}):
 * its final model (`id` −1) and what the rules found on it. Findings carry `subflow` (index in
 * `connection.subflows`), none of them `connection`.
 */
export interface StreamedCheck {
  connection: Connection;
  findings: Finding[];
  notEvaluable: NotEvaluable[];
  passes: RulePass[];
}

/** `count` evaluations of rule `id` held on `connection`. */
export interface RulePass {
  id: string;
  connection?: number;
  count: number;
}

const MAX_FRAMES = 20;

interface Pending {
  finding: Finding;
  tcpStream?: number;
}

class Collector implements RuleContext {
  timeline?: TimelineObserver;
  readonly pending = new Map<string, Pending>();
  readonly notEval = new Map<string, { id: string; tcpStream?: number; reason: string }>();
  private seq = 0;
  private noteSeq = 0;
  /** Passes of retired connections, folded per connection, by the tcp.stream of its first flow. */
  readonly retiredPasses = new Map<number, { tcpStream: number; ids: string[]; counts: number[] }>();
  /** Streaming ({@link take}): keys of `pending` / `notEval` entries by tcp.stream; undefined when not streaming. */
  byStream: { pending: Map<number, string[]>; notEval: Map<number, string[]> } | undefined;
  /** Called once per new (not aggregated) finding, as soon as it is reported (streaming sessions). */
  onNew: ((p: Pending) => void) | undefined;

  /** Pass entries of the last flow given to pass(), by rule ID (perf: no key string per call; 600 k calls per 1 M frames). */
  private passFlow: FlowState | undefined | null = null;
  private passById: Map<string, { id: string; tcpStream?: number; count: number }> | undefined;
  private readonly passByStream = new Map<number | undefined, Map<string, { id: string; tcpStream?: number; count: number }>>();

  pass(id: string, flow?: FlowState): void {
    if (flow !== this.passFlow || this.passById === undefined) {
      this.passFlow = flow;
      const s = flow?.tcpStream;
      let m = this.passByStream.get(s);
      if (m === undefined) {
        m = new Map();
        this.passByStream.set(s, m);
      }
      this.passById = m;
    }
    const p = this.passById.get(id);
    if (p !== undefined) p.count++;
    else {
      const e: { id: string; tcpStream?: number; count: number } = { id, count: 1 };
      if (flow !== undefined) e.tcpStream = flow.tcpStream;
      this.passById.set(id, e);
    }
  }

  /** Pass entries kept so far, per subflow and rule (live subflows), then those of retired connections. */
  *passEntries(): Generator<{ id: string; tcpStream?: number; count: number }> {
    for (const m of this.passByStream.values()) yield* m.values();
    for (const r of this.retiredPasses.values()) for (let i = 0; i < r.ids.length; i++) yield { id: r.ids[i]!, tcpStream: r.tcpStream, count: r.counts[i]! };
  }

  /** A connection retired (its flows get no more segments): fold its subflows' pass entries into one record. */
  foldPasses(flows: readonly FlowState[]): void {
    const first = flows[0];
    if (first === undefined) return;
    const byId = new Map<string, number>();
    for (const f of flows) {
      const m = this.passByStream.get(f.tcpStream);
      if (m === undefined) continue;
      for (const e of m.values()) byId.set(e.id, (byId.get(e.id) ?? 0) + e.count);
      this.passByStream.delete(f.tcpStream);
      if (this.passFlow === f) this.passFlow = null;
    }
    if (byId.size > 0) this.retiredPasses.set(first.tcpStream, { tcpStream: first.tcpStream, ids: [...byId.keys()], counts: [...byId.values()] });
  }

  /**
   * Streaming: removes and returns what was collected on the tcp.streams of one connection (`streams[i]` is its
   * subflow i): findings (with `subflow`), not-evaluable notes (the first per rule, in report order) and passes
   * per rule. Later reports on those streams (end-of-capture rules across connections) start new entries.
   */
  take(streams: readonly number[]): { findings: Finding[]; notEvaluable: NotEvaluable[]; passes: RulePass[] } {
    const idx = this.byStream;
    const findings: Finding[] = [];
    const notes: { id: string; reason: string; order: number }[] = [];
    const passes = new Map<string, number>();
    streams.forEach((s, i) => {
      for (const k of idx?.pending.get(s) ?? []) {
        const p = this.pending.get(k);
        if (p === undefined || p.tcpStream !== s) continue;
        this.pending.delete(k);
        p.finding.subflow = i;
        findings.push(p.finding);
      }
      idx?.pending.delete(s);
      for (const k of idx?.notEval.get(s) ?? []) {
        const e = this.notEval.get(k) as { id: string; reason: string; order?: number } | undefined;
        if (e === undefined) continue;
        this.notEval.delete(k);
        notes.push({ id: e.id, reason: e.reason, order: e.order ?? 0 });
      }
      idx?.notEval.delete(s);
      const r = this.retiredPasses.get(s);
      if (r !== undefined) {
        r.ids.forEach((id, j) => passes.set(id, (passes.get(id) ?? 0) + r.counts[j]!));
        this.retiredPasses.delete(s);
      }
      const m = this.passByStream.get(s);
      if (m !== undefined) {
        for (const e of m.values()) passes.set(e.id, (passes.get(e.id) ?? 0) + e.count);
        this.passByStream.delete(s);
        if (this.passFlow !== null && this.passFlow?.tcpStream === s) this.passFlow = null;
      }
    });
    findings.sort((a, b) => (a.frames[0] ?? 0) - (b.frames[0] ?? 0) || a.id.localeCompare(b.id));
    notes.sort((a, b) => a.order - b.order);
    const seen = new Set<string>();
    const notEvaluable: NotEvaluable[] = [];
    for (const n of notes) {
      if (seen.has(n.id)) continue;
      seen.add(n.id);
      notEvaluable.push({ id: n.id, reason: n.reason });
    }
    notEvaluable.sort((a, b) => a.id.localeCompare(b.id));
    const ps: RulePass[] = [...passes].map(([id, count]) => ({ id, count })).sort((a, b) => a.id.localeCompare(b.id));
    return { findings, notEvaluable, passes: ps };
  }

  report(f: FindingInput, flow?: SubflowRef): void {
    const info = ruleInfo(f.id);
    const stream = flow?.tcpStream;
    const aggKey = f.key !== undefined ? `${f.id}|${stream ?? '-'}|${f.key}` : `#${this.seq++}`;
    const prev = this.pending.get(aggKey);
    if (prev !== undefined) {
      const fr = f.frames[0];
      if (fr !== undefined && prev.finding.frames.length < MAX_FRAMES && !prev.finding.frames.includes(fr)) prev.finding.frames.push(fr);
      const ev = (prev.finding.evidence ??= {});
      ev.occurrences = (typeof ev.occurrences === 'number' ? ev.occurrences : 1) + 1;
      return;
    }
    const finding: Finding = {
      id: f.id,
      rfc: f.rfc ?? info?.rfc ?? '',
      severity: f.severity ?? info?.severity ?? 'info',
      group: f.group ?? info?.group ?? 'protocol',
      frames: f.frames.slice(0, MAX_FRAMES),
      message: f.message,
    };
    if (f.evidence !== undefined) finding.evidence = { ...f.evidence };
    const p: Pending = { finding };
    if (stream !== undefined) p.tcpStream = stream;
    this.pending.set(aggKey, p);
    if (this.byStream !== undefined && stream !== undefined) (this.byStream.pending.get(stream) ?? this.byStream.pending.set(stream, []).get(stream)!).push(aggKey);
    this.onNew?.(p);
  }

  notEvaluable(id: string, flow: FlowState | undefined, reason: string): void {
    const k = `${id}|${flow?.tcpStream ?? '-'}`;
    if (this.notEval.has(k)) return;
    const e: { id: string; tcpStream?: number; reason: string; order?: number } = { id, reason };
    if (flow !== undefined) e.tcpStream = flow.tcpStream;
    this.notEval.set(k, e);
    if (this.byStream !== undefined && flow !== undefined) {
      e.order = this.noteSeq++;
      (this.byStream.notEval.get(flow.tcpStream) ?? this.byStream.notEval.set(flow.tcpStream, []).get(flow.tcpStream)!).push(k);
    }
  }
}

/**
 * Observer that fans segments out to every session and remembers flows by tcp.stream, weakly: a flow the
 * tracker evicts (state limit) is not kept alive here; dead entries are pruned as new flows appear.
 * When the tracker retires a finished connection, runs the sessions' per-connection end pass on it and
 * releases its flows (see RuleSession).
 */
class Fanout {
  private readonly refs = new Map<number, WeakRef<FlowState>>();
  private sincePrune = 0;
  /** The previous segment's flow (already in refs): skips the map lookup for runs of one flow. */
  private last: FlowState | undefined;
  /** Held so the tracker (and the flows it keeps) outlives analyzeFile until the end-of-capture pass. */
  tracker: ConnectionTracker | undefined;
  /** Connections whose end pass already ran (retired while reading). */
  readonly finished = new WeakSet<Connection>();
  constructor(
    private readonly sessions: RuleSession[],
    private readonly collector: Collector,
    /** Rule IDs of these sessions that need both directions (catalogue observability '2D'). */
    readonly twoDir: readonly string[],
  ) {}
  flow(tcpStream: number): FlowState | undefined {
    return this.refs.get(tcpStream)?.deref();
  }
  onSegment(seg: TcpSegment, flow: FlowState, dir: Dir, time: number, tracker: ConnectionTracker, frame?: Frame): void {
    this.tracker = tracker;
    if (flow !== this.last && !this.refs.has(flow.tcpStream)) {
      this.refs.set(flow.tcpStream, new WeakRef(flow));
      if (++this.sincePrune >= 65536) {
        this.sincePrune = 0;
        for (const [k, r] of this.refs) if (r.deref() === undefined) this.refs.delete(k);
      }
    }
    this.last = flow;
    const s = this.sessions;
    for (let i = 0; i < s.length; i++) s[i]!.onSegment(seg, flow, dir, time, tracker, frame);
  }
  onConnectionEnd(r: RetiredConnection): void {
    const conn = r.connection;
    if (conn !== undefined) {
      const v: ConnectionView = { conn, flows: r.flows };
      if (r.root !== undefined) v.root = r.root;
      const ctx = connectionContext(this.collector, v);
      for (const s of this.sessions) s.finishConnection?.(ctx, v);
      twoDirCheck(this.collector, v, this.twoDir);
      this.finished.add(conn);
      this.collector.foldPasses(r.flows);
    }
    for (const f of r.flows) {
      if (this.last === f) this.last = undefined;
      this.refs.delete(f.tcpStream);
      for (const s of this.sessions) s.release?.(f);
    }
  }
}

/** An end-pass context over `collector` with the given connection lookup and host attribution. */
function endContext(collector: Collector, connectionOf: ConnectionFinishContext['connectionOf'], hostOf: ConnectionFinishContext['hostOf']): ConnectionFinishContext {
  const ctx: ConnectionFinishContext = {
    connectionOf,
    hostOf,
    report: (f, flow) => collector.report(f, flow),
    notEvaluable: (id, flow, reason) => collector.notEvaluable(id, flow, reason),
    pass: (id, flow) => collector.pass(id, flow),
  };
  if (collector.timeline !== undefined) ctx.timeline = collector.timeline;
  return ctx;
}

/** The context of one connection's end pass. */
function connectionContext(collector: Collector, v: ConnectionView): ConnectionFinishContext {
  return endContext(collector, (f) => (v.flows.includes(f) ? v : undefined), (f, dir) => hostIn(v, f, dir));
}

/** Which connection-level host sends direction `dir` of `f` in `v` (see FinishContext.hostOf). */
function hostIn(v: ConnectionView | undefined, f: FlowState, dir: Dir): 'client' | 'server' | undefined {
  if (v === undefined) return undefined;
  const flowClientIsConnClient = initiatorIsClient(f, v.root);
  if (flowClientIsConnClient === undefined) return undefined;
  return (dir === 0) === flowClientIsConnClient ? 'client' : 'server';
}

/** Rules that need both directions cannot be judged on a connection captured one way only. */
function twoDirCheck(collector: Collector, v: ConnectionView, twoDir: readonly string[]): void {
  const first = v.flows[0];
  if (first === undefined) return;
  const c2s = v.flows.some((f) => f.packets[0] > 0);
  const s2c = v.flows.some((f) => f.packets[1] > 0);
  if (c2s && s2c) return;
  for (const id of twoDir) collector.notEvaluable(id, first, `only the ${c2s ? 'client → server' : 'server → client'} direction was captured`);
}

const twoDirRules = (detectors: readonly Detector[]): string[] => detectors.flatMap((d) => d.rules).filter((id) => ruleInfo(id)?.observability === '2D');

export interface CheckOptions extends AnalyzeOptions {
  /** Detectors to run (default: every registered one). */
  detectors?: readonly Detector[];
  /** Further observers run in the same pass, after the detectors. */
  observers?: SegmentObserver[];
  /**
   * The pass's TimelineObserver (e.g. analyzeFull's), shared with detectors that need one and fed by
   * this pass: do not also list it in `observers`. Without it, one is created when a detector needs it.
   */
  timelineObserver?: TimelineObserver;
  /**
   * Streaming: each MPTCP connection's model and findings, handed over once the model is final (AnalyzeOptions.onFinal:
   * retired, then its tombstones over) and not kept. The result then covers the rest: connections still held at the
   * end, and findings without a connection (capture-wide rules, and those reported at the end on a connection
   * already handed over: they carry `tcpStream`). Plain TCP conversations' findings stay in the result.
   */
  onConnection?: (c: StreamedCheck) => void;
  /**
   * Use a second core: the detectors that need no timeline run in a worker thread that reads the capture a second
   * time, in parallel with this thread (the models, the timeline and the timeline rules); their findings, notes
   * and passes are merged into this thread's result, which is then exactly the one-thread result (same order).
   * - `'auto'` (default): when the file is at least {@link SPLIT_MIN_BYTES} bytes, was last modified at least
   *   {@link SPLIT_QUIET_MS} ago (not a capture still being written), the machine has two or more cores
   *   (os.availableParallelism) and this is the main thread (not already a worker);
   * - `true`: whenever the options allow it; `false`: never.
   * Never with a custom `source`, streaming (`onFinal`, `onConnection`) or detectors that are not registered ones
   * (the worker finds them by name). Costs CPU (decode and connection tracking run in both threads) for wall time.
   * If the worker fails, or read another number of frames than this thread, its detectors run in this thread
   * afterwards (a second read).
   */
  split?: boolean | 'auto';
  /** (Tests) the worker script of a split check; default conformance/check-worker.js in dist/. */
  splitWorker?: URL;
}

let splitDefault: boolean | 'auto' = 'auto';

/** The process-wide default of {@link CheckOptions.split} (CLI `--single-thread`: false). */
export function setSplitDefault(mode: boolean | 'auto'): void {
  splitDefault = mode;
}

/** Smallest capture file, in bytes, that `split: 'auto'` checks in two threads (a worker starts in ≈ 0.1 s). */
export const SPLIT_MIN_BYTES = 32 * 1024 * 1024;

/** `split: 'auto'` leaves a file modified less than this long ago (ms) to one thread: it may still be growing. */
export const SPLIT_QUIET_MS = 5000;

/** The rules' part of a check, as a split check's worker returns it (conformance/check-worker.ts). */
export type CheckPart = Pick<CheckResult, 'findings' | 'notEvaluable' | 'passes' | 'rulesRun'>;

/** A split check's worker reply: its part, and how many frames it read (it must be this thread's count). */
export type WorkerPart = CheckPart & { frames: number };

/** What the worker of a split check is given (workerData). */
export interface CheckWorkerTask {
  path: string;
  /** Names of the registered detectors to run. */
  detectors: string[];
  opts: Pick<AnalyzeOptions, 'maxErrors' | 'maxFlows' | 'retireAfter'>;
}

/** What the worker of a split check posts back. */
export type CheckWorkerReply = { part: WorkerPart } | { error: string };

/**
 * Check one capture file against the rule catalogue.
 * Rejects only when the file cannot be opened (like {@link analyzeFile}); bad content yields findings/errors.
 */
export async function checkFile(path: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const detectors = opts.detectors ?? registeredDetectors();
  const plan = splitPlan(path, opts, detectors);
  if (plan === undefined) return checkOneThread(path, opts, detectors);
  const task: CheckWorkerTask = { path, detectors: plan.worker.map((d) => d.name), opts: {} };
  if (opts.maxErrors !== undefined) task.opts.maxErrors = opts.maxErrors;
  if (opts.maxFlows !== undefined) task.opts.maxFlows = opts.maxFlows;
  if (opts.retireAfter !== undefined) task.opts.retireAfter = opts.retireAfter;
  const w = new Worker(plan.url, { workerData: task });
  const reply = new Promise<CheckWorkerReply>((resolve) => {
    w.once('message', resolve);
    w.once('error', (e) => resolve({ error: e.message }));
    w.once('exit', (code) => resolve({ error: `worker exited (code ${code})` }));
  });
  let own: CheckResult;
  try {
    own = await checkOneThread(path, opts, plan.main);
  } catch (e) {
    await w.terminate();
    throw e;
  }
  const r = await reply;
  void w.terminate();
  if ('part' in r && r.part.frames === own.analysis.frames) return mergeCheck(own, r.part, plan.rank);
  // The worker failed (out of memory, say), or read another number of frames (the file changed while it was read):
  // its detectors run here, on a second read without this pass's observers.
  const { observers: _o, timelineObserver: _t, ...again } = opts;
  return mergeCheck(own, await checkOneThread(path, again, plan.worker), plan.rank);
}

/** Where a split check's worker script is: next to this module in dist/, or dist/'s copy when run from sources. */
function checkWorkerUrl(): URL | undefined {
  for (const rel of ['./check-worker.js', '../dist/conformance/check-worker.js']) {
    const u = new URL(rel, import.meta.url);
    if (u.protocol === 'file:' && existsSync(fileURLToPath(u))) return u;
  }
  return undefined;
}

/** Where the detectors of a split check run, and the worker script. */
interface SplitPlan {
  main: Detector[];
  worker: Detector[];
  url: URL;
  rank: SideRanks;
}

/** Which detectors run where in a split check (see CheckOptions.split), or undefined for one thread. */
function splitPlan(path: string, opts: CheckOptions, detectors: readonly Detector[]): SplitPlan | undefined {
  const mode = opts.split ?? splitDefault;
  if (mode === false || opts.source !== undefined || opts.onFinal !== undefined || opts.onConnection !== undefined) return undefined;
  const registered = registeredDetectors();
  if (!detectors.every((d) => registered.includes(d))) return undefined;
  const worker = detectors.filter((d) => d.needsTimeline !== true);
  const main = detectors.filter((d) => d.needsTimeline === true);
  if (worker.length === 0) return undefined;
  if (mode === 'auto') {
    if (!isMainThread || availableParallelism() < 2) return undefined;
    try {
      const st = statSync(path);
      // Small, or perhaps still being written (a running capture): the two reads could see different files.
      if (st.size < SPLIT_MIN_BYTES || Date.now() - st.mtimeMs < SPLIT_QUIET_MS) return undefined;
    } catch {
      return undefined; // the one-thread read reports why the file cannot be opened
    }
  }
  const url = opts.splitWorker ?? checkWorkerUrl();
  return url === undefined ? undefined : { main, worker, url, rank: ruleRanks(detectors, main, worker) };
}

/**
 * Per side of a split check, each rule ID's position in the one-thread detector order: the first detector of that
 * side that lists it. A rule two detectors report (ADDR-006: addr and sequence) then ties as in one thread, where
 * sessions run in detector order.
 */
type SideRanks = [Map<string, number>, Map<string, number>];

function ruleRanks(all: readonly Detector[], main: readonly Detector[], worker: readonly Detector[]): SideRanks {
  const side = (ds: readonly Detector[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const d of ds) for (const id of d.rules) if (!m.has(id)) m.set(id, all.indexOf(d));
    return m;
  };
  return [side(main), side(worker)];
}

/**
 * The check result with a worker's part merged in, ordered as one thread orders it: findings by connection, first
 * frame, rule ID, then detector order; a not-evaluable note once per rule and connection (the first detector's);
 * passes of one rule and connection added up.
 */
function mergeCheck(own: CheckResult, part: CheckPart, rank: SideRanks): CheckResult {
  const r = new Map<Finding | NotEvaluable, number>();
  const tag = <T extends Finding | NotEvaluable>(mine: readonly T[], theirs: readonly T[]): T[] => {
    for (const x of mine) r.set(x, rank[0].get(x.id) ?? 0);
    for (const x of theirs) r.set(x, rank[1].get(x.id) ?? 0);
    return [...mine, ...theirs];
  };
  const byRank = (a: Finding | NotEvaluable, b: Finding | NotEvaluable): number => (r.get(a) ?? 0) - (r.get(b) ?? 0);
  const findings = tag(own.findings, part.findings).sort((a, b) => findingOrder(a, b) || byRank(a, b));
  const notes = tag(own.notEvaluable, part.notEvaluable).sort((a, b) => byConnectionThenId(a, b) || byRank(a, b));
  const notEvaluable = notes.filter((n, i) => i === 0 || byConnectionThenId(notes[i - 1]!, n) !== 0);
  const passes: RulePass[] = [];
  for (const p of [...own.passes, ...part.passes].sort(byConnectionThenId)) {
    const last = passes[passes.length - 1];
    if (last !== undefined && byConnectionThenId(last, p) === 0) last.count += p.count;
    else passes.push({ ...p });
  }
  return { ...own, findings, notEvaluable, passes, rulesRun: [...new Set([...own.rulesRun, ...part.rulesRun])].sort() };
}

/** Findings by connection, then first frame, then rule ID (a stable sort keeps a rule's own order). */
const findingOrder = (a: Finding, b: Finding): number => (a.connection ?? -1) - (b.connection ?? -1) || (a.frames[0] ?? 0) - (b.frames[0] ?? 0) || a.id.localeCompare(b.id);
const byConnectionThenId = (a: { connection?: number; id: string }, b: { connection?: number; id: string }): number => (a.connection ?? -1) - (b.connection ?? -1) || a.id.localeCompare(b.id);

/** {@link checkFile} in this thread with `detectors`. */
async function checkOneThread(path: string, opts: CheckOptions, detectors: readonly Detector[]): Promise<CheckResult> {
  const collector = new Collector();
  const { detectors: _d, observers: extra, timelineObserver: givenTimeline, onConnection, split: _s, splitWorker: _w, ...analyzeOpts } = opts;
  const timeline = givenTimeline ?? (detectors.some((d) => d.needsTimeline === true) ? new TimelineObserver() : undefined);
  if (timeline !== undefined) collector.timeline = timeline;
  if (onConnection !== undefined) {
    collector.byStream = { pending: new Map(), notEval: new Map() };
    analyzeOpts.onFinal = (m) => {
      if (m.connection === undefined) return;
      onConnection({ connection: m.connection, ...collector.take(m.connection.subflows.map((s) => s.tcpStream)) });
      // The rules' per-connection passes ran at retirement: a timeline made here for them keeps no summary of it.
      if (givenTimeline === undefined) timeline?.forget(m.connection);
    };
  }
  const sessions = detectors.map((d) => d.create(collector));
  const fan = new Fanout(sessions, collector, twoDirRules(detectors));
  const analysis = await analyzeFile(path, { ...analyzeOpts, observers: [...(timeline !== undefined ? [timeline] : []), fan, ...(extra ?? [])] });
  return completeCheck(path, analysis, detectors, collector, sessions, fan);
}

/** Options of a streaming {@link CheckSession}. */
export interface CheckSessionOptions {
  /** Detectors to run (default: every registered one). */
  detectors?: readonly Detector[];
  /**
   * Called for each new finding as soon as a rule reports it (streaming pass; the end-of-capture pass's
   * findings come from finish()). `tcpStream` names the subflow it is about (undefined: about the capture);
   * `finding.connection`/`subflow` are not filled in yet (the caller resolves them against its model snapshot).
   * Later repeats of an aggregated finding update the same object (`frames`, `evidence.occurrences`).
   */
  onFinding?: (finding: Finding, tcpStream: number | undefined) => void;
  /**
   * The timeline the caller feeds with the same segments (before this session, in the same pipeline), shared by the
   * rules that need one (`Detector.needsTimeline`). Without it, such rules see no timeline and report not evaluable.
   */
  timeline?: TimelineObserver;
}

/**
 * The detectors of one capture as a streaming {@link SegmentObserver}, for a live capture (cli/live.ts): put it
 * in a FramePipeline's observers; call {@link CheckSession.finish} once at the end of the capture.
 * Memory as for checkFile: one entry per flow plus the aggregated findings.
 */
export class CheckSession implements SegmentObserver {
  private readonly detectors: readonly Detector[];
  private readonly collector = new Collector();
  private readonly sessions: RuleSession[];
  private readonly fan: Fanout;
  private finished = false;

  constructor(opts: CheckSessionOptions = {}) {
    this.detectors = opts.detectors ?? registeredDetectors();
    const cb = opts.onFinding;
    if (cb !== undefined) this.collector.onNew = (p) => cb(p.finding, p.tcpStream);
    if (opts.timeline !== undefined) this.collector.timeline = opts.timeline;
    this.sessions = this.detectors.map((d) => d.create(this.collector));
    this.fan = new Fanout(this.sessions, this.collector, twoDirRules(this.detectors));
  }

  onSegment(seg: TcpSegment, flow: FlowState, dir: Dir, time: number, tracker: ConnectionTracker, frame?: Frame): void {
    this.fan.onSegment(seg, flow, dir, time, tracker, frame);
  }

  onConnectionEnd(r: RetiredConnection): void {
    this.fan.onConnectionEnd(r);
  }

  /**
   * Run the end-of-capture pass over `analysis` (the model of what this session saw) and return every finding
   * (the streamed ones included) with connection/subflow indices resolved, as checkFile does.
   * Throws if called twice (the detectors' end pass is not repeatable).
   */
  finish(path: string, analysis: CaptureAnalysis): CheckResult {
    if (this.finished) throw new Error('CheckSession.finish called twice');
    this.finished = true;
    return completeCheck(path, analysis, this.detectors, this.collector, this.sessions, this.fan);
  }
}

/** The end-of-capture part of a check: resolve connections, run the detectors' finish passes, collect. */
function completeCheck(path: string, analysis: CaptureAnalysis, detectors: readonly Detector[], collector: Collector, sessions: RuleSession[], fan: Fanout): CheckResult {
  // Resolve connections: tcp.stream → (connection id, subflow id). Views only of those not finished yet.
  const where = new Map<number, { connection: number; subflow: number }>();
  const views: ConnectionView[] = [];
  const viewOfStream = new Map<number, ConnectionView>();
  for (const conn of analysis.connections) {
    conn.subflows.forEach((sf, i) => where.set(sf.tcpStream, { connection: conn.id, subflow: i }));
    if (fan.finished.has(conn)) continue;
    const flows: FlowState[] = [];
    let root: FlowState | undefined;
    for (const sf of conn.subflows) {
      const f = fan.flow(sf.tcpStream);
      if (f !== undefined) {
        flows.push(f);
        if (root === undefined && f.keys !== undefined) root = f;
      }
    }
    if (root === undefined) root = flows.find((f) => f.syn?.option?.type === 'MP_CAPABLE' || f.synAck?.option?.type === 'MP_CAPABLE' || f.anyMpc !== undefined);
    const v: ConnectionView = { conn, flows };
    if (root !== undefined) v.root = root;
    views.push(v);
    for (const sf of conn.subflows) viewOfStream.set(sf.tcpStream, v);
  }

  const connectionOf = (f: FlowState): ConnectionView | undefined => viewOfStream.get(f.tcpStream);
  const fin: FinishContext = { ...endContext(collector, connectionOf, (f, dir) => hostIn(connectionOf(f), f, dir)), analysis, connections: views };
  for (const s of sessions) if (s.finishConnection !== undefined) for (const v of views) s.finishConnection(fin, v);
  for (const s of sessions) s.finish?.(fin);
  for (const v of views) twoDirCheck(collector, v, fan.twoDir);

  const findings: Finding[] = [];
  for (const p of collector.pending.values()) {
    const f = p.finding;
    if (p.tcpStream !== undefined) {
      const w = where.get(p.tcpStream);
      if (w !== undefined) {
        f.connection = w.connection;
        f.subflow = w.subflow;
      } else if (collector.byStream !== undefined) f.tcpStream = p.tcpStream;
    }
    findings.push(f);
  }
  findings.sort(findingOrder);
  const notEvaluable: NotEvaluable[] = [];
  const seenNe = new Set<string>();
  for (const e of collector.notEval.values()) {
    const w = e.tcpStream !== undefined ? where.get(e.tcpStream) : undefined;
    const k = `${e.id}|${w?.connection ?? '-'}`;
    if (seenNe.has(k)) continue;
    seenNe.add(k);
    const ne: NotEvaluable = { id: e.id, reason: e.reason };
    if (w !== undefined) ne.connection = w.connection;
    notEvaluable.push(ne);
  }
  notEvaluable.sort(byConnectionThenId);
  const passAgg = new Map<string, RulePass>();
  for (const p of collector.passEntries()) {
    const w = p.tcpStream !== undefined ? where.get(p.tcpStream) : undefined;
    const k = `${p.id}|${w?.connection ?? '-'}`;
    const prev = passAgg.get(k);
    if (prev !== undefined) prev.count += p.count;
    else {
      const rp: RulePass = { id: p.id, count: p.count };
      if (w !== undefined) rp.connection = w.connection;
      passAgg.set(k, rp);
    }
  }
  const passes = [...passAgg.values()].sort(byConnectionThenId);
  const rulesRun = [...new Set(detectors.flatMap((d) => d.rules))].sort();
  return { file: path, analysis, findings, notEvaluable, rulesRun, passes };
}


