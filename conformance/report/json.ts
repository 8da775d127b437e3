/**
 * `check --json`: one object per capture (an array for several files). Stable within `schemaVersion`.
 * `findings[]` are conformance/finding.ts Findings plus `action` (policy: error | warn; ignored ones are left out).
 */
import type { JudgedResult } from './apply.js';

export const CHECK_SCHEMA_VERSION = 1;

export function toJson(j: JudgedResult): object {
  const r = j.result;
  return {
    schemaVersion: CHECK_SCHEMA_VERSION,
    file: r.file,
    frames: r.analysis.frames,
    connections: r.analysis.connections.length,
    summary: {
      findings: j.findings.length,
      error: j.findings.filter((f) => f.severity === 'error').length,
      warning: j.findings.filter((f) => f.severity === 'warning').length,
      info: j.findings.filter((f) => f.severity === 'info').length,
      failing: j.failing,
      ignored: j.ignored,
    },
    findings: j.findings,
    notEvaluable: r.notEvaluable,
    passes: r.passes,
    pendingTimeline: j.pending,
    decodeErrors: r.analysis.errorCount,
  };
}
