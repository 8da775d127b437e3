/** Findings with the policy applied: the common input of every report format. */
import { RULES } from '../catalogue.js';
import type { CheckResult } from '../engine.js';
import type { Finding } from '../finding.js';
import { type Action, type Policy, actionFor } from '../policy.js';

export interface JudgedFinding extends Finding {
  action: Action;
}

export interface JudgedResult {
  result: CheckResult;
  /** Findings whose action is not `ignore`. */
  findings: JudgedFinding[];
  ignored: number;
  /** Findings with action `error` (the gate fails when > 0). */
  failing: number;
  /** Rule IDs waiting for the data-level timeline (reported as not evaluable). */
  pending: string[];
}

/** `findings` with the policy's action each; ignored ones left out and counted, `error` ones counted as failing. */
export function judgeFindings(findings: readonly Finding[], policy: Policy): { findings: JudgedFinding[]; ignored: number; failing: number } {
  const out: JudgedFinding[] = [];
  let ignored = 0;
  let failing = 0;
  for (const f of findings) {
    const action = actionFor(f, policy);
    if (action === 'ignore') {
      ignored++;
      continue;
    }
    if (action === 'error') failing++;
    out.push({ ...f, action });
  }
  return { findings: out, ignored, failing };
}

/** Rule IDs waiting for the data-level timeline (reported as not evaluable). */
export function pendingTimelineRules(): string[] {
  return RULES.filter((r) => r.status === 'pending-timeline').map((r) => r.id);
}

export function judge(result: CheckResult, policy: Policy): JudgedResult {
  return { result, ...judgeFindings(result.findings, policy), pending: pendingTimelineRules() };
}
