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

export function judge(result: CheckResult, policy: Policy): JudgedResult {
  const findings: JudgedFinding[] = [];
  let ignored = 0;
  let failing = 0;
  for (const f of result.findings) {
    const action = actionFor(f, policy);
    if (action === 'ignore') {
      ignored++;
      continue;
    }
    if (action === 'error') failing++;
    findings.push({ ...f, action });
  }
  const pending = RULES.filter((r) => r.status === 'pending-timeline').map((r) => r.id);
  return { result, findings, ignored, failing, pending };
}
