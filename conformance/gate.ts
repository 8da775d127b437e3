/**
 * The CI gate: judge captures against their fixture's expect.json (conformance/expect.ts, docs/expect.md).
 *
 * One capture = one `analyzeFull` pass (models, timelines + metrics, every detector). Each stated
 * expectation becomes one outcome (one JUnit testcase), plus one `policy` outcome: no finding with
 * action `error` under the fixture's policy, except findings matched by `requiredRules` or `known`.
 * A diff entry runs `diff` over its two captures and judges the MBX findings of
 * analyzer/middlebox/diff-findings.ts the same way (requiredRules, forbiddenRules, known, policy).
 *
 * Exit codes (cli/exit-codes.ts): 0 every fixture passed; 1 an expectation or the policy failed;
 * 2 an expect.json or policy is invalid, or a capture cannot be read (reported with the file).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { formatIssue } from '../analyzer/issue.js';
import { diffFindings } from '../analyzer/middlebox/diff-findings.js';
import { diffCaptures } from '../analyzer/middlebox/diff.js';
import type { ConnectionMetrics } from '../analyzer/timeline/metrics.js';
import { ruleFamily } from './catalogue.js';
import {
  type CaptureSpec,
  type CountExpectation,
  type DiffSpec,
  ExpectError,
  type ExpectFile,
  type Expectation,
  type KnownFinding,
  METRIC_NAMES,
  type MetricName,
  loadExpect,
  mergeExpectation,
} from './expect.js';
import type { Finding } from './finding.js';
import { type FullResult, analyzeFull } from './full.js';
import { type Action, DEFAULT_POLICY, type Policy, actionFor, parsePolicy } from './policy.js';

/** One judged expectation (one JUnit testcase). */
export interface Outcome {
  /** `mptcpConnections`, `subflows`, `tcpConnections`, `fallback`, `requiredRules RULE`, `forbiddenRules RULE`, `metrics.NAME`, `policy`. */
  name: string;
  passed: boolean;
  expected: unknown;
  actual: unknown;
  /** One line, with the numbers. */
  message: string;
  /** Rule IDs behind a failure (forbidden findings, policy failures). */
  rules?: string[];
}

/** A finding as the gate judged it. */
export interface GateFinding {
  id: string;
  severity: Finding['severity'];
  group: Finding['group'];
  action: Action;
  /** Why an `error` finding does not fail: it is required, or known (with the reason). */
  accepted?: 'required' | 'known';
  reason?: string;
  connection?: number;
  frames: number[];
  message: string;
}

interface JudgedItem {
  passed: boolean;
  /** Set when the item could not be judged (unreadable capture): exit 2. */
  error?: string;
  outcomes: Outcome[];
  /** Names of the failing outcomes. */
  failing: string[];
  /** Rule IDs that made it fail (forbidden, or failing the policy). */
  failingRules: string[];
  findings: GateFinding[];
  /** `known` entries that matched no finding (stale: remove them). */
  staleKnown: string[];
  seconds: number;
}

export interface CaptureVerdict extends JudgedItem {
  /** File name as written in expect.json (or the path given to `check --expect`). */
  file: string;
  path: string;
  /** Metric values (null: not measurable in this capture). */
  metrics: Partial<Record<MetricName, number | null>>;
}

export interface DiffVerdict extends JudgedItem {
  before: string;
  after: string;
  /** `BEFORE → AFTER`. */
  name: string;
}

export interface FixtureVerdict {
  /** Fixture folder relative to the suite (the folder name when the suite is the fixture itself). */
  name: string;
  expectFile: string;
  purpose?: string;
  passed: boolean;
  /** Invalid expect.json or policy: nothing was judged (exit 2). */
  error?: string;
  captures: CaptureVerdict[];
  diffs: DiffVerdict[];
  /** Capture files in the folder that no captures[] or diffs[] entry names (informational). */
  unlisted: string[];
}

export interface GateResult {
  exitCode: 0 | 1 | 2;
  fixtures: FixtureVerdict[];
  seconds: number;
}

export interface GateOptions {
  /** Base policy for every fixture (CLI --policy); a fixture's own policy entries override it. */
  policy?: Policy;
}

const GROUPS = new Set(['malformed', 'protocol', 'sequence', 'checksum', 'middlebox', 'capture']);

/** True when `pattern` (rule ID, family or group) matches the finding. */
export function matchesRule(f: Pick<Finding, 'id' | 'group'>, pattern: string): boolean {
  if (pattern === f.id) return true;
  if (GROUPS.has(pattern)) return f.group === pattern;
  return !pattern.includes('-') && ruleFamily(f.id) === pattern;
}

// ---------------------------------------------------------------------------------------------- metrics

/**
 * The metric values of one capture (docs/expect.md "Metrics"), from `analyzeFull`'s ConnectionMetrics.
 * The bulk direction is the connection direction with the most distinct data-level bytes.
 * undefined (null in JSON): not measurable here (e.g. no failover episode, < 64 KiB of data for a gain).
 */
export function captureMetrics(metrics: ConnectionMetrics[]): Record<MetricName, number | undefined> {
  let bulk: ConnectionMetrics['directions'][number] | undefined;
  let failoverSeconds: number | undefined;
  let recoverySeconds: number | undefined;
  let failovers = 0;
  let reinjectedBytes = 0;
  let reinjections = 0;
  let spurious = 0;
  let ooo = 0;
  let retx = 0;
  let pathBytes = 0;
  let maxPathRetx: number | undefined;
  let rttMedian: number | undefined;
  let rttP95: number | undefined;
  const max = (a: number | undefined, b: number | undefined): number | undefined => (b === undefined ? a : a === undefined ? b : Math.max(a, b));
  for (const m of metrics) {
    for (const d of m.directions) {
      if (bulk === undefined || d.bytes > bulk.bytes) bulk = d;
      reinjectedBytes += d.reinjections.bytes;
      reinjections += d.reinjections.count;
      spurious += d.reinjections.spurious;
      ooo += d.outOfOrder.segments;
    }
    for (const f of m.failovers) {
      failovers++;
      failoverSeconds = max(failoverSeconds, f.timeToReinjection);
      recoverySeconds = max(recoverySeconds, f.timeToRecovery);
    }
    for (const p of m.paths) {
      retx += p.retransmissionRate * p.bytes;
      pathBytes += p.bytes;
      maxPathRetx = max(maxPathRetx, p.retransmissionRate);
      rttMedian = max(rttMedian, p.rtt.median);
      rttP95 = max(rttP95, p.rtt.p95);
    }
  }
  let minShare: number | undefined;
  if (bulk !== undefined && bulk.subflows.length > 0) minShare = Math.min(...bulk.subflows.map((s) => s.share));
  return {
    aggregationGain: bulk?.aggregationGain,
    goodput: bulk?.goodput,
    dataBytes: bulk?.bytes,
    minSubflowShare: minShare,
    failoverSeconds,
    recoverySeconds,
    failovers,
    reinjectedBytes,
    reinjections,
    spuriousReinjections: spurious,
    retransmissionRate: pathBytes > 0 ? retx / pathBytes : metrics.length > 0 ? 0 : undefined,
    maxPathRetransmissionRate: maxPathRetx,
    rttMedianSeconds: rttMedian,
    rttP95Seconds: rttP95,
    outOfOrderSegments: ooo,
  };
}

// ------------------------------------------------------------------------------------------- judging

const countText = (c: CountExpectation): string =>
  typeof c === 'number' ? String(c) : c.min !== undefined && c.max !== undefined ? `${c.min}..${c.max}` : c.min !== undefined ? `≥ ${c.min}` : `≤ ${c.max}`;
const inCount = (n: number, c: CountExpectation): boolean => (typeof c === 'number' ? n === c : (c.min === undefined || n >= c.min) && (c.max === undefined || n <= c.max));
const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(4));
const ruleList = (fs: GateFinding[]): string[] => [...new Set(fs.map((f) => f.id))].sort();

function judgeFindings(findings: Finding[], exp: Pick<Expectation, 'requiredRules' | 'forbiddenRules' | 'known'>, policy: Policy): { outcomes: Outcome[]; judged: GateFinding[]; staleKnown: string[] } {
  const outcomes: Outcome[] = [];
  const known: KnownFinding[] = exp.known ?? [];
  const required = exp.requiredRules ?? [];
  const usedKnown = new Set<number>();
  const judged: GateFinding[] = findings.map((f) => {
    const g: GateFinding = { id: f.id, severity: f.severity, group: f.group, action: actionFor(f, policy), frames: f.frames, message: f.message };
    if (f.connection !== undefined) g.connection = f.connection;
    if (required.some((r) => matchesRule(f, r))) g.accepted = 'required';
    const k = known.findIndex((x) => matchesRule(f, x.rule));
    if (k >= 0) {
      usedKnown.add(k);
      if (g.accepted === undefined) {
        g.accepted = 'known';
        g.reason = known[k]!.reason;
      }
    }
    return g;
  });
  for (const r of required) {
    const hits = judged.filter((f) => matchesRule(f, r));
    outcomes.push({
      name: `requiredRules ${r}`,
      passed: hits.length > 0,
      expected: `at least one ${r} finding`,
      actual: hits.length,
      message: hits.length > 0 ? `${hits.length} ${r} finding(s), first: frame ${hits[0]!.frames[0] ?? '-'}: ${hits[0]!.message}` : `no ${r} finding (required)`,
      ...(hits.length > 0 ? {} : { rules: [r] }),
    });
  }
  for (const r of exp.forbiddenRules ?? []) {
    const hits = judged.filter((f) => matchesRule(f, r));
    outcomes.push({
      name: `forbiddenRules ${r}`,
      passed: hits.length === 0,
      expected: `no ${r} finding`,
      actual: hits.length,
      message: hits.length === 0 ? `no ${r} finding` : `${hits.length} forbidden finding(s): ${hits.slice(0, 3).map((h) => `${h.id} frame ${h.frames[0] ?? '-'}: ${h.message}`).join('; ')}`,
      ...(hits.length === 0 ? {} : { rules: ruleList(hits) }),
    });
  }
  const failing = judged.filter((f) => f.action === 'error' && f.accepted === undefined);
  const accepted = judged.filter((f) => f.action === 'error' && f.accepted !== undefined);
  outcomes.push({
    name: 'policy',
    passed: failing.length === 0,
    expected: 'no finding with action error (other than required or known ones)',
    actual: failing.length,
    message:
      failing.length === 0
        ? `no failing finding${accepted.length > 0 ? ` (${accepted.length} error finding(s) expected: ${ruleList(accepted).join(', ')})` : ''}`
        : `${failing.length} finding(s) fail the policy: ${failing.slice(0, 5).map((f) => `${f.id} frame ${f.frames[0] ?? '-'}: ${f.message}`).join('; ')}`,
    ...(failing.length === 0 ? {} : { rules: ruleList(failing) }),
  });
  const staleKnown = known.filter((_, i) => !usedKnown.has(i)).map((k) => k.rule);
  return { outcomes, judged, staleKnown };
}

function finishItem<T extends JudgedItem>(item: T): T {
  item.failing = item.outcomes.filter((o) => !o.passed).map((o) => o.name);
  item.failingRules = [...new Set(item.outcomes.filter((o) => !o.passed).flatMap((o) => o.rules ?? []))].sort();
  item.passed = item.error === undefined && item.failing.length === 0;
  return item;
}

/** Judge one analysed capture against its (merged) expectation. Pure. */
export function judgeCapture(full: FullResult, exp: Expectation, policy: Policy, file: string, path = file, seconds = 0): CaptureVerdict {
  const a = full.check.analysis;
  const outcomes: Outcome[] = [];
  const conns = a.connections.length;
  const subflows = a.connections.reduce((n, c) => n + c.subflows.length, 0);
  const count = (name: string, c: CountExpectation | undefined, n: number, what: string): void => {
    if (c === undefined) return;
    const ok = inCount(n, c);
    outcomes.push({ name, passed: ok, expected: c, actual: n, message: `${n} ${what}${ok ? '' : `, expected ${countText(c)}`}` });
  };
  count('mptcpConnections', exp.mptcpConnections, conns, 'MPTCP connection(s)');
  count('subflows', exp.subflows, subflows, 'subflow(s)');
  count('tcpConnections', exp.tcpConnections, a.tcpConnections.length, 'plain TCP connection(s)');
  if (exp.fallback !== undefined) {
    const fb = a.connections.filter((c) => c.fallback !== null);
    const reasons = fb.map((c) => `connection ${c.id}: ${c.fallback!.reason} (frame ${c.fallback!.frame})`);
    let ok: boolean;
    if (exp.fallback === false) ok = fb.length === 0;
    else if (exp.fallback === true) ok = fb.length > 0;
    else ok = fb.some((c) => c.fallback!.reason === exp.fallback);
    outcomes.push({
      name: 'fallback',
      passed: ok,
      expected: exp.fallback,
      actual: fb.map((c) => c.fallback!.reason),
      message: fb.length === 0 ? `no fallback${ok ? '' : `, expected ${exp.fallback === true ? 'a fallback' : exp.fallback}`}` : `${reasons.join('; ')}${ok ? '' : `, expected ${exp.fallback === false ? 'no fallback' : exp.fallback}`}`,
    });
  }
  const values = captureMetrics(full.metrics);
  const metricOutcomes: Outcome[] = [];
  for (const [name, b] of Object.entries(exp.metrics ?? {}) as Array<[MetricName, { min?: number; max?: number }]>) {
    const v = values[name];
    const bound = b.min !== undefined && b.max !== undefined ? `${b.min}..${b.max}` : b.min !== undefined ? `≥ ${b.min}` : `≤ ${b.max}`;
    const ok = v !== undefined && (b.min === undefined || v >= b.min) && (b.max === undefined || v <= b.max);
    metricOutcomes.push({
      name: `metrics.${name}`,
      passed: ok,
      expected: b,
      actual: v ?? null,
      message: v === undefined ? `${name} not measurable in this capture, expected ${bound}` : `${name} = ${fmt(v)}${ok ? ` (${bound})` : `, expected ${bound}`}`,
    });
  }
  const { outcomes: ruleOutcomes, judged, staleKnown } = judgeFindings(full.check.findings, exp, policy);
  // order: counts, fallback, rules, metrics, policy last
  const policyOutcome = ruleOutcomes.pop()!;
  outcomes.push(...ruleOutcomes, ...metricOutcomes, policyOutcome);
  const metrics: CaptureVerdict['metrics'] = {};
  for (const n of METRIC_NAMES) metrics[n] = values[n] ?? null;
  return finishItem({ file, path, passed: false, outcomes, failing: [], failingRules: [], findings: judged, staleKnown, seconds, metrics });
}

// ------------------------------------------------------------------------------------------- running

const CAPTURE_FILE = /\.(pcap|pcapng|cap)(\.gz)?$/;

async function readableCapture(path: string): Promise<{ full?: FullResult; error?: string; seconds: number }> {
  const t0 = performance.now();
  try {
    const full = await analyzeFull(path);
    const a = full.check.analysis;
    const seconds = (performance.now() - t0) / 1000;
    if (a.frames === 0 && a.errorCount > 0) {
      const first = a.errors[0];
      return { error: `${path}: not a readable capture${first ? `: ${formatIssue(first)}` : ''}`, seconds };
    }
    return { full, seconds };
  } catch (e) {
    return { error: `${path}: ${e instanceof Error ? e.message : String(e)}`, seconds: (performance.now() - t0) / 1000 };
  }
}

function emptyItem(): JudgedItem {
  return { passed: false, outcomes: [], failing: [], failingRules: [], findings: [], staleKnown: [], seconds: 0 };
}

/**
 * Policy of a fixture: its own entries (inline object or a policy file relative to the expect.json) over
 * the base policy (CLI --policy, itself over the default). @throws Error when the policy is unreadable or invalid
 */
export async function fixturePolicy(spec: ExpectFile, dir: string, base: Policy = DEFAULT_POLICY): Promise<Policy> {
  if (spec.policy === undefined) return base;
  let raw: unknown = spec.policy;
  if (typeof spec.policy === 'string') {
    const p = resolve(dir, spec.policy);
    const text = await readFile(p, 'utf8');
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new Error(`${p}: not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  parsePolicy(raw); // validates (throws with the JSON paths)
  const own = raw as Policy;
  return { rules: { ...base.rules, ...own.rules }, severity: { ...base.severity, ...own.severity } };
}

/** Judge one capture file against an expectation (reads it once with analyzeFull). */
export async function checkCapture(path: string, exp: Expectation, policy: Policy, file = basename(path)): Promise<CaptureVerdict> {
  const r = await readableCapture(path);
  if (r.full === undefined) {
    const v: CaptureVerdict = { ...emptyItem(), file, path, metrics: {}, seconds: r.seconds, error: r.error! };
    v.outcomes.push({ name: 'readable', passed: false, expected: 'a readable capture', actual: null, message: r.error! });
    return finishItem(v);
  }
  return judgeCapture(r.full, exp, policy, file, path, r.seconds);
}

/** Run `diff` over a diff entry's captures and judge its MBX findings. */
export async function checkDiff(dir: string, spec: DiffSpec, policy: Policy): Promise<DiffVerdict> {
  const name = `${spec.before} → ${spec.after}`;
  const t0 = performance.now();
  try {
    const r = await diffCaptures(resolve(dir, spec.before), resolve(dir, spec.after));
    const { outcomes, judged, staleKnown } = judgeFindings(diffFindings(r), spec, policy);
    return finishItem({ before: spec.before, after: spec.after, name, passed: false, outcomes, failing: [], failingRules: [], findings: judged, staleKnown, seconds: (performance.now() - t0) / 1000 });
  } catch (e) {
    const msg = `${name}: ${e instanceof Error ? e.message : String(e)}`;
    const v: DiffVerdict = { ...emptyItem(), before: spec.before, after: spec.after, name, error: msg, seconds: (performance.now() - t0) / 1000 };
    v.outcomes.push({ name: 'readable', passed: false, expected: 'two readable captures', actual: null, message: msg });
    return finishItem(v);
  }
}

/** Check every capture and diff of one expect.json. Never throws: problems land in `error`. */
export async function runFixture(expectPath: string, opts: GateOptions & { suiteDir?: string } = {}): Promise<FixtureVerdict> {
  const dir = dirname(resolve(expectPath));
  const name = opts.suiteDir !== undefined ? relative(resolve(opts.suiteDir), dir) || basename(dir) : dir;
  const v: FixtureVerdict = { name, expectFile: expectPath, passed: false, captures: [], diffs: [], unlisted: [] };
  let spec: ExpectFile;
  let policy: Policy;
  try {
    spec = await loadExpect(expectPath);
    v.purpose = spec.purpose;
  } catch (e) {
    v.error = e instanceof ExpectError ? e.message : `${expectPath}: ${e instanceof Error ? e.message : String(e)}`;
    return v;
  }
  try {
    policy = await fixturePolicy(spec, dir, opts.policy ?? DEFAULT_POLICY);
  } catch (e) {
    v.error = `${expectPath}: $.policy: ${e instanceof Error ? e.message : String(e)}`;
    return v;
  }
  for (const c of spec.captures) {
    const exp = mergeExpectation(spec.defaults, c);
    v.captures.push(await checkCapture(resolve(dir, c.file), exp, policy, c.file));
  }
  for (const d of spec.diffs ?? []) v.diffs.push(await checkDiff(dir, d, policy));
  try {
    const named = new Set<string>([...spec.captures.map((c: CaptureSpec) => resolve(dir, c.file)), ...(spec.diffs ?? []).flatMap((d) => [resolve(dir, d.before), resolve(dir, d.after)])]);
    v.unlisted = (await readdir(dir)).filter((f) => CAPTURE_FILE.test(f) && !named.has(resolve(dir, f))).sort();
  } catch {
    // the folder listing is informational only
  }
  v.passed = v.captures.every((c) => c.passed) && v.diffs.every((d) => d.passed);
  return v;
}

/** Every expect.json under `dir` (recursively, sorted, symlinks not followed). */
export async function findExpectFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name === 'expect.json') out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/** Exit code of a set of fixtures: 2 if anything could not be judged, else 1 if anything failed, else 0. */
export function gateExitCode(fixtures: FixtureVerdict[]): 0 | 1 | 2 {
  const bad = fixtures.some((f) => f.error !== undefined || f.captures.some((c) => c.error !== undefined) || f.diffs.some((d) => d.error !== undefined));
  if (bad) return 2;
  return fixtures.every((f) => f.passed) ? 0 : 1;
}

/**
 * Judge every fixture (folder with an expect.json) under `suiteDir`.
 * Resolves with exit code 2 and a fixture `error` when `suiteDir` is missing or holds no expect.json.
 */
export async function gateSuite(suiteDir: string, opts: GateOptions = {}): Promise<GateResult> {
  const t0 = performance.now();
  let files: string[];
  try {
    const st = await stat(suiteDir);
    files = st.isFile() ? [suiteDir] : await findExpectFiles(suiteDir);
  } catch (e) {
    return { exitCode: 2, fixtures: [{ name: suiteDir, expectFile: suiteDir, passed: false, error: `${suiteDir}: ${e instanceof Error ? e.message : String(e)}`, captures: [], diffs: [], unlisted: [] }], seconds: 0 };
  }
  if (files.length === 0) {
    return { exitCode: 2, fixtures: [{ name: suiteDir, expectFile: suiteDir, passed: false, error: `${suiteDir}: no expect.json found (a fixture is a folder with an expect.json)`, captures: [], diffs: [], unlisted: [] }], seconds: 0 };
  }
  const base = statDir(suiteDir, files);
  const fixtures: FixtureVerdict[] = [];
  for (const f of files) fixtures.push(await runFixture(f, { ...opts, suiteDir: base }));
  return { exitCode: gateExitCode(fixtures), fixtures, seconds: (performance.now() - t0) / 1000 };
}

const statDir = (suiteDir: string, files: string[]): string => (files.length === 1 && files[0] === suiteDir ? dirname(suiteDir) : suiteDir);
