/**
 * One pass over a capture with everything on: connection models (analyze), data-level and subflow
 * timelines with the per-connection metrics (analyzer/timeline/), and every conformance detector
 * (HMAC, DSS checksum and rule findings). Used by `analyze`, `check --expect` and `gate`.
 */
import { computeMetrics, type ConnectionMetrics } from '../analyzer/timeline/metrics.js';
import { TimelineObserver } from '../analyzer/timeline/observer.js';
import type { TimelineOptions, TimelineResult } from '../analyzer/timeline/types.js';
import { type CheckOptions, type CheckResult, checkFile } from './engine.js';

/** What {@link analyzeFull} returns: the check result (with `analysis`) plus the timelines and metrics. */
export interface FullResult {
  check: CheckResult;
  timeline: TimelineResult;
  /** One entry per `timeline.connections` entry, same order. */
  metrics: ConnectionMetrics[];
}

export interface FullOptions extends CheckOptions {
  timeline?: TimelineOptions;
}

/**
 * Analyse, build timelines and check one capture in a single streaming pass.
 * Rejects only when the file cannot be opened (like analyzeFile); bad content yields errors/findings.
 */
export async function analyzeFull(path: string, opts: FullOptions = {}): Promise<FullResult> {
  const { timeline: tlOpts, observers, ...rest } = opts;
  const obs = new TimelineObserver(tlOpts ?? {});
  const check = await checkFile(path, { ...rest, timelineObserver: obs, ...(observers !== undefined ? { observers } : {}) });
  const a = check.analysis;
  const timeline = obs.result({ connections: a.connections, tcpConnections: a.tcpConnections });
  const metrics = computeMetrics(timeline, (t, d) => obs.rttHistogram(t, d));
  return { check, timeline, metrics };
}
