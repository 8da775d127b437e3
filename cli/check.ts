/**
 * `mptcpscope check FILE...`: conformance findings (rule catalogue ../shared/spec/mptcp-rules.md §2)
 * grouped by connection; `--json`, `--junit FILE`, `--policy FILE`.
 * Exit: 0 no finding fails the policy; 1 some finding has action `error`; 2 unusable input or policy.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { formatIssue } from '../analyzer/issue.js';
import type { Connection } from '../analyzer/model/types.js';
import { TimelineObserver } from '../analyzer/timeline/observer.js';
import { type CheckResult, type RulePass, checkFile, setSplitDefault } from '../conformance/engine.js';
import type { Finding, NotEvaluable } from '../conformance/finding.js';
import { DEFAULT_POLICY, type Policy, loadPolicy } from '../conformance/policy.js';
import { type JudgedFinding, type JudgedResult, judge, judgeFindings, pendingTimelineRules } from '../conformance/report/apply.js';
import { CHECK_SCHEMA_VERSION, toJson } from '../conformance/report/json.js';
import { toJunit } from '../conformance/report/junit.js';
import { formatText } from '../conformance/report/text.js';
import { ExitCode } from './exit-codes.js';
import { type GateCliOptions, SINGLE_THREAD_HELP, runCheckExpect } from './gate.js';
import { NdjsonWriter, writeJson } from './json-out.js';
import { StreamedMetrics } from './stream-metrics.js';

interface CheckCliOptions {
  expect?: string;
  json?: boolean;
  ndjson?: boolean;
  junit?: string;
  policy?: string;
  singleThread?: boolean;
  timeline?: boolean;
}

export function registerCheck(program: Command, setExit: (code: number) => void): void {
  program
    .command('check')
    .description('check captures against the MPTCP rule catalogue (RFC 8684 / RFC 6824): HMACs, DSS checksums, handshake, fallback, …')
    .argument('<file...>', 'capture files')
    .option('--json', 'JSON output (one object per file; an array when several files)')
    .option('--ndjson', "JSON lines, streamed: a 'connection' line per MPTCP connection (model without id, its findings, not-evaluable notes, passes) as soon as it is over and final, then the ones still open at the end, then a 'capture' line (summary, findings without a connection); memory does not follow the number of connections. Not with --json, --junit, --expect")
    .option('--junit <file>', 'also write JUnit XML (one testcase per rule and connection)')
    .option('--policy <file>', 'policy JSON: {"rules": {"DSS-002": "warn", "FB": "error", "middlebox": "ignore"}, "severity": {"warning": "error"}}')
    .option('--expect <file>', 'judge the captures against a fixture\'s expect.json (docs/expect.md): counts, fallback, required/forbidden rules, metric bounds')
    .option('--timeline', "with --ndjson: each connection line also has the connection's timeline metrics (connection.metrics, as analyze --ndjson --timeline): models, metrics and findings in one streamed pass")
    .option('--single-thread', SINGLE_THREAD_HELP)
    .addHelpText(
      'after',
      `
Exit codes: 0 no finding fails the policy (default: error-severity findings fail); 1 at least one does;
2 a file could not be read or the policy file is invalid.
With --expect: 0 every expectation holds and no unexpected finding fails the policy; 1 otherwise;
2 invalid expect.json (file and JSON path), or no captures[] entry for a capture's file name.`,
    )
    .action(async (files: string[], opts: CheckCliOptions) => {
      if (opts.singleThread === true) setSplitDefault(false);
      if (opts.ndjson === true) {
        const other = opts.json === true ? '--json' : opts.junit !== undefined ? '--junit' : opts.expect !== undefined ? '--expect' : undefined;
        if (other !== undefined) {
          process.stderr.write(`mptcpscope check: --ndjson and ${other} do not go together\n`);
          setExit(ExitCode.BAD_INPUT);
          return;
        }
        setExit(await runCheckNdjson(files, opts.policy, opts.timeline === true));
        return;
      }
      if (opts.timeline === true) {
        process.stderr.write('mptcpscope check: --timeline goes with --ndjson only\n');
        setExit(ExitCode.BAD_INPUT);
        return;
      }
      if (opts.expect !== undefined) {
        const o: GateCliOptions = {};
        if (opts.json === true) o.json = true;
        if (opts.junit !== undefined) o.junit = opts.junit;
        if (opts.policy !== undefined) o.policy = opts.policy;
        setExit((await runCheckExpect(opts.expect, files, o)).exitCode);
        return;
      }
      setExit(await runCheck(files, opts));
    });
}

/** The policy of `--policy FILE` (the default without one); undefined, after saying why on stderr, when it is invalid. */
async function policyOrReport(file: string | undefined): Promise<Policy | undefined> {
  if (file === undefined) return DEFAULT_POLICY;
  try {
    return await loadPolicy(file);
  } catch (e) {
    process.stderr.write(`mptcpscope check: --policy ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return undefined;
  }
}

/** False, after saying so on stderr, when no frame of `file` could be read; warns when the capture is cut off. */
function usable(file: string, r: CheckResult): boolean {
  if (r.analysis.frames === 0 && r.analysis.errorCount > 0) {
    const first = r.analysis.errors[0];
    process.stderr.write(`mptcpscope check: ${file}: not a readable capture${first ? `: ${formatIssue(first)}` : ''}\n`);
    return false;
  }
  if (r.analysis.capture.incomplete) process.stderr.write(`mptcpscope check: ${file}: capture cut off or corrupt; checked up to the cut\n`);
  return true;
}

/** Run `check`; returns the exit code. */
export async function runCheck(files: string[], opts: CheckCliOptions): Promise<number> {
  const policy = await policyOrReport(opts.policy);
  if (policy === undefined) return ExitCode.BAD_INPUT;
  const judged: JudgedResult[] = [];
  let bad = false;
  for (const file of files) {
    let r: CheckResult;
    try {
      r = await checkFile(file);
    } catch (e) {
      process.stderr.write(`mptcpscope check: ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
      bad = true;
      continue;
    }
    if (!usable(file, r)) {
      bad = true;
      continue;
    }
    judged.push(judge(r, policy));
  }
  if (opts.json === true) {
    const objs = judged.map(toJson);
    await writeJson(process.stdout, files.length === 1 ? (objs[0] ?? null) : objs, 2);
  } else {
    for (const j of judged) process.stdout.write(`${formatText(j)}\n`);
  }
  if (opts.junit !== undefined) {
    try {
      await writeFile(opts.junit, toJunit(judged));
    } catch (e) {
      process.stderr.write(`mptcpscope check: --junit ${opts.junit}: ${e instanceof Error ? e.message : String(e)}\n`);
      return ExitCode.BAD_INPUT;
    }
  }
  if (bad) return ExitCode.BAD_INPUT;
  return judged.some((j) => j.failing > 0) ? ExitCode.FAILED : ExitCode.OK;
}

/**
 * `check --ndjson`: each file read once; a 'connection' line per MPTCP connection as soon as it is final
 * (CheckOptions.onConnection: its model without `id`, its findings judged by the policy (`action`; ignored ones
 * left out) with `subflow`, not-evaluable notes and passes), then the connections still open at the end, then a
 * 'capture' line: `summary` over the whole file as in --json, the findings / notes / passes without a connection,
 * `pendingTimeline`, `decodeErrors`, `streamed`. Exit codes as for --json. With `timeline` (--timeline) each line's
 * connection also has `metrics` (cli/stream-metrics.ts), from the timeline the rules share.
 */
async function runCheckNdjson(files: string[], policyFile: string | undefined, timeline: boolean): Promise<number> {
  const policy = await policyOrReport(policyFile);
  if (policy === undefined) return ExitCode.BAD_INPUT;
  const out = new NdjsonWriter(process.stdout);
  let bad = false;
  let failing = false;
  for (const file of files) {
    const summary = { findings: 0, error: 0, warning: 0, info: 0, failing: 0, ignored: 0 };
    let connections = 0;
    const judged = (fs: Finding[]): JudgedFinding[] => {
      const j = judgeFindings(fs, policy);
      summary.ignored += j.ignored;
      summary.failing += j.failing;
      summary.findings += j.findings.length;
      for (const f of j.findings) summary[f.severity]++;
      return j.findings;
    };
    // --timeline: the rules' timeline is this one, and each line gets the connection's metrics from it.
    const obs = timeline ? new TimelineObserver() : undefined;
    const metrics = obs !== undefined ? new StreamedMetrics(obs) : undefined;
    const line = (c: Connection, findings: Finding[], notEvaluable: NotEvaluable[], passes: RulePass[]): void => {
      const { id: _id, ...model } = c;
      const connection = metrics !== undefined ? { ...model, metrics: metrics.of(c) } : model;
      out.record({ record: 'connection', file, connection, findings: judged(findings), notEvaluable, passes });
      connections++;
    };
    let r: CheckResult;
    try {
      r = await checkFile(file, { onConnection: (c) => line(c.connection, c.findings, c.notEvaluable, c.passes), drain: () => out.drain(), ...(obs !== undefined ? { timelineObserver: obs } : {}) });
    } catch (e) {
      await out.end();
      process.stderr.write(`mptcpscope check: ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
      bad = true;
      continue;
    }
    if (!usable(file, r)) {
      await out.end();
      bad = true;
      continue;
    }
    // Connections still held at the end: their parts of the result, by id.
    const byId = <T extends { connection?: number }>(xs: T[]): Map<number, Array<Omit<T, 'connection'>>> => {
      const m = new Map<number, Array<Omit<T, 'connection'>>>();
      for (const x of xs) {
        if (x.connection === undefined) continue;
        const { connection, ...rest } = x;
        (m.get(connection) ?? m.set(connection, []).get(connection)!).push(rest);
      }
      return m;
    };
    metrics?.end(r.analysis);
    const fById = byId(r.findings);
    const nById = byId(r.notEvaluable);
    const pById = byId(r.passes);
    for (const c of r.analysis.connections) line(c, (fById.get(c.id) ?? []) as Finding[], (nById.get(c.id) ?? []) as NotEvaluable[], (pById.get(c.id) ?? []) as RulePass[]);
    const rest = judged(r.findings.filter((f) => f.connection === undefined));
    out.record({
      record: 'capture',
      schemaVersion: CHECK_SCHEMA_VERSION,
      file,
      frames: r.analysis.frames,
      summary,
      findings: rest,
      notEvaluable: r.notEvaluable.filter((n) => n.connection === undefined),
      passes: r.passes.filter((p) => p.connection === undefined),
      pendingTimeline: pendingTimelineRules(),
      decodeErrors: r.analysis.errorCount,
      streamed: { connections },
    });
    await out.end();
    if (summary.failing > 0) failing = true;
  }
  if (bad) return ExitCode.BAD_INPUT;
  return failing ? ExitCode.FAILED : ExitCode.OK;
}
