/**
 * Adapter from the streaming conformance engine (conformance/engine.ts {@link CheckSession}) to the live view's
 * {@link FindingsSource}: every detector runs on the live pipeline; each finding appears in the feed as soon as
 * a rule reports it, with its connection and subflow indices resolved against the model snapshot of the tick
 * (a finding about a flow not yet part of an MPTCP connection is resolved at a later tick). At the end of the
 * capture, {@link LiveFindingsSource.finish} runs the detectors' end-of-capture pass once and appends what it adds.
 *
 * Memory: the engine's aggregated findings (one per rule, subflow and key) plus one entry per finding here.
 */
import { type CaptureAnalysis, type FramePipeline } from '../../analyzer/analyze.js';
import type { ModelSnapshot } from '../../analyzer/model/tracker.js';
import { TimelineObserver } from '../../analyzer/timeline/observer.js';
import { CheckSession } from '../../conformance/engine.js';
import { registeredDetectors } from '../../conformance/registry.js';
import type { Finding } from '../../conformance/finding.js';
import type { FindingsSource } from './state.js';

export interface LiveFindingsSource extends FindingsSource {
  /** Run the end-of-capture pass (once; later calls do nothing). */
  finish(): void;
}

/**
 * Attach every registered detector to `pipe` (a CheckSession observer) and expose the findings. The sequence rules
 * read a timeline: `timeline` when given (already in `pipe.observers`, ahead of the session), else one of their own.
 */
export function attachFindings(pipe: FramePipeline, file: string, timeline?: TimelineObserver): LiveFindingsSource {
  const list: Finding[] = [];
  const unresolved = new Map<Finding, number>();
  let tl = timeline;
  if (tl === undefined && registeredDetectors().some((d) => d.needsTimeline === true)) {
    tl = new TimelineObserver();
    pipe.observers.push(tl);
  }
  const session = new CheckSession({
    ...(tl !== undefined ? { timeline: tl } : {}),
    onFinding: (f, tcpStream) => {
      list.push(f);
      if (tcpStream !== undefined) unresolved.set(f, tcpStream);
    },
  });
  pipe.observers.push(session);
  let finished = false;
  return {
    refresh(snapshot: ModelSnapshot): void {
      if (unresolved.size === 0) return;
      const where = new Map<number, { connection: number; subflow: number }>();
      for (const c of snapshot.connections) c.subflows.forEach((s, i) => where.set(s.tcpStream, { connection: c.id, subflow: i }));
      const plain = new Set(snapshot.tcpConnections.map((t) => t.tcpStream));
      for (const [f, stream] of unresolved) {
        const w = where.get(stream);
        if (w === undefined) {
          if (plain.has(stream)) unresolved.delete(f); // a plain TCP flow: no MPTCP connection to name
          continue;
        }
        f.connection = w.connection;
        f.subflow = w.subflow;
        unresolved.delete(f);
      }
    },
    findings: () => list,
    finish(): void {
      if (finished) return;
      finished = true;
      const r = session.finish(file, pipelineAnalysis(pipe, file));
      // The streamed findings are the same objects (now resolved); append only what the end pass added.
      const known = new Set(list);
      for (const f of r.findings) if (!known.has(f)) list.push(f);
      unresolved.clear();
    },
  };
}

/** What analyzeFile would return for the frames fed to `pipe` so far (a live capture has no file header). */
export function pipelineAnalysis(pipe: FramePipeline, file: string): CaptureAnalysis {
  return pipe.analysis({ file, format: 'pcapng', gzip: false, byteOrder: 'little', linkTypes: [], snaplen: 0, sections: 0, bytes: 0, incomplete: false });
}
