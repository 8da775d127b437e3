/**
 * `check --junit FILE`: JUnit XML for CI systems (the de-facto Ant/Surefire schema read by Jenkins,
 * GitLab, GitHub Actions reporters). One <testsuite> per capture, one <testcase> per rule and
 * connection (classname `FILE.connection-N`, or `FILE.capture` for findings outside a connection):
 * <failure> when a finding with action `error` exists, <skipped> when the rule was not evaluable there,
 * passed otherwise; warnings/info go to <system-out>. Rules waiting for the data-level timeline are
 * <skipped> with message "pending". A tiny escaping writer: XML 1.0 §2.4 entities and
 * characters outside the XML 1.0 Char production are replaced.
 */
import type { JudgedFinding, JudgedResult } from './apply.js';

/** Escape text or attribute content for XML 1.0. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const line = (f: JudgedFinding): string => `${f.severity} ${f.id} frames ${f.frames.join(',')}${f.subflow !== undefined ? ` subflow ${f.subflow}` : ''}: ${f.message}${f.evidence !== undefined ? ` ${JSON.stringify(f.evidence)}` : ''}`;

export function toJunit(results: JudgedResult[]): string {
  const suites: string[] = [];
  let allTests = 0;
  let allFail = 0;
  let allSkip = 0;
  for (const j of results) {
    const r = j.result;
    const cases: string[] = [];
    let fail = 0;
    let skip = 0;
    const scopes: Array<number | undefined> = r.analysis.connections.map((c) => c.id);
    if (j.findings.some((f) => f.connection === undefined)) scopes.push(undefined);
    for (const conn of scopes) {
      const cls = `${r.file}.${conn === undefined ? 'capture' : `connection-${conn}`}`;
      for (const id of r.rulesRun) {
        const fs = j.findings.filter((f) => f.id === id && f.connection === conn);
        if (conn === undefined && fs.length === 0) continue;
        const failing = fs.filter((f) => f.action === 'error');
        const ne = r.notEvaluable.find((n) => n.id === id && n.connection === conn);
        let body = '';
        if (failing.length > 0) {
          fail++;
          body += `<failure type="${xmlEscape(failing[0]!.severity)}" message="${xmlEscape(failing[0]!.message)}">${xmlEscape(failing.map(line).join('\n'))}</failure>`;
        } else if (ne !== undefined && fs.length === 0) {
          skip++;
          body += `<skipped message="${xmlEscape(`not evaluable: ${ne.reason}`)}"/>`;
        }
        const other = fs.filter((f) => f.action !== 'error');
        if (other.length > 0) body += `<system-out>${xmlEscape(other.map(line).join('\n'))}</system-out>`;
        cases.push(`    <testcase classname="${xmlEscape(cls)}" name="${xmlEscape(id)}"${body === '' ? '/>' : `>${body}</testcase>`}`);
      }
      if (conn !== undefined) {
        for (const id of j.pending) {
          skip++;
          cases.push(`    <testcase classname="${xmlEscape(cls)}" name="${xmlEscape(id)}"><skipped message="pending: needs the data-level timeline (analyzer/timeline/)"/></testcase>`);
        }
      }
    }
    allTests += cases.length;
    allFail += fail;
    allSkip += skip;
    suites.push(`  <testsuite name="${xmlEscape(r.file)}" tests="${cases.length}" failures="${fail}" errors="0" skipped="${skip}">\n${cases.join('\n')}\n  </testsuite>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="mptcpscope check" tests="${allTests}" failures="${allFail}" errors="0" skipped="${allSkip}">\n${suites.join('\n')}\n</testsuites>\n`;
}

/**
 * `gate --junit FILE` / `check --expect … --junit FILE`: one <testsuite> per fixture (name = fixture folder
 * relative to the suite), one <testcase> per capture/diff and expectation (`CAPTURE: mptcpConnections`,
 * `CAPTURE: requiredRules MBX-001`, `CAPTURE: metrics.failoverSeconds`, …, and `CAPTURE: policy`).
 * A failed expectation is a <failure>; an invalid expect.json or an unreadable capture an <error>.
 * Findings that did not fail (warnings, accepted required/known ones) go to the policy case's <system-out>.
 */
export function gateToJunit(fixtures: GateJunitFixture[]): string {
  const suites: string[] = [];
  let all = 0;
  let allFail = 0;
  let allErr = 0;
  for (const fx of fixtures) {
    const cases: string[] = [];
    let fail = 0;
    let err = 0;
    const cls = xmlEscape(fx.name);
    if (fx.error !== undefined) {
      err++;
      cases.push(`    <testcase classname="${cls}" name="expect.json"><error type="invalid" message="${xmlEscape(fx.error.split('\n')[0]!)}">${xmlEscape(fx.error)}</error></testcase>`);
    }
    for (const item of [...fx.captures.map((c) => ({ label: c.file, item: c })), ...fx.diffs.map((d) => ({ label: d.name, item: d }))]) {
      const it = item.item;
      for (const o of it.outcomes) {
        const name = xmlEscape(`${item.label}: ${o.name}`);
        const time = o.name === 'policy' || o.name === 'readable' ? ` time="${it.seconds.toFixed(3)}"` : '';
        let body = '';
        if (!o.passed && it.error !== undefined && o.name === 'readable') {
          err++;
          body = `<error type="unreadable" message="${xmlEscape(o.message)}"/>`;
        } else if (!o.passed) {
          fail++;
          const detail = `expected: ${JSON.stringify(o.expected)}\nactual: ${JSON.stringify(o.actual)}${o.rules !== undefined ? `\nrules: ${o.rules.join(', ')}` : ''}\n${o.message}`;
          body = `<failure type="${xmlEscape(o.name.split(' ')[0]!)}" message="${xmlEscape(o.message)}">${xmlEscape(detail)}</failure>`;
        }
        if (o.name === 'policy') {
          const other = it.findings.filter((f) => f.action !== 'ignore' && !(f.action === 'error' && f.accepted === undefined));
          const lines = other.map((f) => `${f.action}${f.accepted !== undefined ? ` (${f.accepted}${f.reason !== undefined ? `: ${f.reason}` : ''})` : ''} ${f.severity} ${f.id} frames ${f.frames.join(',')}: ${f.message}`);
          for (const k of it.staleKnown) lines.push(`stale known entry ${k}: no such finding any more`);
          if (lines.length > 0) body += `<system-out>${xmlEscape(lines.join('\n'))}</system-out>`;
        }
        cases.push(`    <testcase classname="${cls}" name="${name}"${time}${body === '' ? '/>' : `>${body}</testcase>`}`);
      }
    }
    all += cases.length;
    allFail += fail;
    allErr += err;
    suites.push(`  <testsuite name="${cls}" tests="${cases.length}" failures="${fail}" errors="${err}" skipped="0">\n${cases.join('\n')}\n  </testsuite>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="mptcpscope gate" tests="${all}" failures="${allFail}" errors="${allErr}" skipped="0">\n${suites.join('\n')}\n</testsuites>\n`;
}

/** The parts of conformance/gate.ts FixtureVerdict that {@link gateToJunit} reads. */
export interface GateJunitFixture {
  name: string;
  error?: string;
  captures: Array<GateJunitItem & { file: string }>;
  diffs: Array<GateJunitItem & { name: string }>;
}
interface GateJunitItem {
  error?: string;
  seconds: number;
  staleKnown: string[];
  outcomes: Array<{ name: string; passed: boolean; expected: unknown; actual: unknown; message: string; rules?: string[] }>;
  findings: Array<{ id: string; severity: string; action: string; accepted?: string; reason?: string; frames: number[]; message: string }>;
}
