/**
 * `mptcpscope gate SUITE_DIR` (every fixture = folder with an expect.json under SUITE_DIR) and
 * `mptcpscope check --expect FILE CAPTURE...` (captures judged against one expect.json). Formats: text,
 * `--json`, `--junit FILE`; `--policy FILE` is the base policy (a fixture's own policy entries win).
 * Exit: 0 every fixture passed; 1 an expectation or the policy failed; 2 bad usage, an invalid
 * expect.json / policy (file and JSON path on stderr), or an unreadable capture.
 * Format and semantics: docs/expect.md; CI examples: docs/ci-gate.md.
 */
import { writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { SPLIT_MIN_BYTES, SPLIT_QUIET_MS, setSplitDefault } from '../conformance/engine.js';
import { ExpectError, loadExpect, mergeExpectation } from '../conformance/expect.js';
import {
  type CaptureVerdict,
  type DiffVerdict,
  type FixtureVerdict,
  type GateResult,
  checkCapture,
  checkDiff,
  fixturePolicy,
  gateExitCode,
  gateSuite,
} from '../conformance/gate.js';
import { DEFAULT_POLICY, type Policy, loadPolicy, parsePolicy } from '../conformance/policy.js';
import { gateToJunit } from '../conformance/report/junit.js';
import { ExitCode } from './exit-codes.js';

/** The `--single-thread` option of `check` and `gate` (CheckOptions.split). */
export const SINGLE_THREAD_HELP = `read each capture in this thread only (default: a capture of ${SPLIT_MIN_BYTES / 1048576} MiB or more, not modified for ${SPLIT_QUIET_MS / 1000} s, is read by two threads at once, the timeline rules here and the others in a worker; same result)`;

export type { CaptureVerdict, DiffVerdict, FixtureVerdict, GateResult } from '../conformance/gate.js';

export interface GateCliOptions {
  /** Policy file path or a policy object (base policy for every fixture). */
  policy?: string | Policy;
  /** Print the JSON result on stdout instead of text. */
  json?: boolean;
  /** Also write JUnit XML to this file. */
  junit?: string;
  /** Print nothing on stdout (programmatic use); errors still go to stderr. */
  silent?: boolean;
}

const line = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

function itemLines(label: string, it: CaptureVerdict | DiffVerdict, verbose: boolean): string[] {
  const out: string[] = [];
  const n = it.outcomes.length;
  if (it.error !== undefined) {
    out.push(`  ERROR ${label}: ${it.error}`);
    return out;
  }
  out.push(`  ${it.passed ? 'ok  ' : 'FAIL'} ${label} (${n} expectation${n === 1 ? '' : 's'}, ${it.seconds.toFixed(2)} s)`);
  for (const o of it.outcomes) if (!o.passed || verbose) out.push(`       ${o.passed ? 'ok  ' : 'FAIL'} ${o.name}: ${o.message}`);
  for (const k of it.staleKnown) out.push(`       note: known entry ${k} matched no finding (stale: remove it)`);
  return out;
}

/** Text report of a gate run. */
export function formatGateText(r: { fixtures: FixtureVerdict[]; exitCode: number; seconds?: number }): string {
  const out: string[] = [];
  let caps = 0;
  let expectations = 0;
  for (const f of r.fixtures) {
    if (f.error !== undefined) {
      out.push(`ERROR ${f.name}: ${f.error}`);
      continue;
    }
    out.push(`${f.passed ? 'PASS' : 'FAIL'} ${f.name}${f.purpose !== undefined ? ` — ${f.purpose}` : ''}`);
    for (const c of f.captures) out.push(...itemLines(c.file, c, false));
    for (const d of f.diffs) out.push(...itemLines(`diff ${d.name}`, d, false));
    if (f.unlisted.length > 0) out.push(`  note: capture(s) in the folder without expectations: ${f.unlisted.join(', ')}`);
    caps += f.captures.length + f.diffs.length;
    expectations += [...f.captures, ...f.diffs].reduce((n, x) => n + x.outcomes.length, 0);
  }
  const passed = r.fixtures.filter((f) => f.passed).length;
  out.push(
    `${r.exitCode === 0 ? 'gate passed' : r.exitCode === 1 ? 'gate FAILED' : 'gate ERROR (bad input)'}: ${passed}/${r.fixtures.length} fixture(s) passed, ${caps} capture(s)/diff(s), ${expectations} expectation(s)${r.seconds !== undefined ? `, ${r.seconds.toFixed(1)} s` : ''}`,
  );
  return out.join('\n');
}

async function resolvePolicy(p: string | Policy | undefined, who: string): Promise<Policy | undefined> {
  if (p === undefined) return DEFAULT_POLICY;
  try {
    return typeof p === 'string' ? await loadPolicy(p) : parsePolicy(p);
  } catch (e) {
    process.stderr.write(`mptcpscope ${who}: --policy ${typeof p === 'string' ? p : '(object)'}: ${e instanceof Error ? e.message : String(e)}\n`);
    return undefined;
  }
}

async function output(r: GateResult, opts: GateCliOptions, who: string): Promise<number> {
  for (const f of r.fixtures) {
    if (f.error !== undefined) process.stderr.write(`mptcpscope ${who}: ${f.error}\n`);
    for (const x of [...f.captures, ...f.diffs]) if (x.error !== undefined) process.stderr.write(`mptcpscope ${who}: ${x.error}\n`);
  }
  if (opts.silent !== true) {
    if (opts.json === true) line(JSON.stringify(r, null, 2));
    else line(formatGateText(r));
  }
  if (opts.junit !== undefined) {
    try {
      await writeFile(opts.junit, gateToJunit(r.fixtures));
    } catch (e) {
      process.stderr.write(`mptcpscope ${who}: --junit ${opts.junit}: ${e instanceof Error ? e.message : String(e)}\n`);
      return ExitCode.BAD_INPUT;
    }
  }
  return r.exitCode;
}

/**
 * Programmatic gate (used by `mptcpscope lab`): judge every fixture under `suiteDir`, print/write the
 * requested outputs, and resolve with the exit code and the verdicts. Never rejects.
 */
export async function runGate(suiteDir: string, opts: GateCliOptions = {}): Promise<GateResult> {
  const policy = await resolvePolicy(opts.policy, 'gate');
  if (policy === undefined) return { exitCode: ExitCode.BAD_INPUT, fixtures: [], seconds: 0 };
  const r = await gateSuite(suiteDir, { policy });
  const code = await output(r, opts, 'gate');
  return { ...r, exitCode: code as 0 | 1 | 2 };
}

/**
 * `check --expect FILE CAPTURE...`: each capture is judged against the captures[] entry with the same file
 * basename (any capture when the expect.json has a single entry); diffs[] entries whose two files are both
 * given run too. Resolves with the exit code.
 */
export async function runCheckExpect(expectPath: string, files: string[], opts: GateCliOptions = {}): Promise<GateResult> {
  const bad = (msg: string): GateResult => {
    process.stderr.write(`mptcpscope check: ${msg}\n`);
    return { exitCode: ExitCode.BAD_INPUT, fixtures: [], seconds: 0 };
  };
  const t0 = performance.now();
  const base = await resolvePolicy(opts.policy, 'check');
  if (base === undefined) return { exitCode: ExitCode.BAD_INPUT, fixtures: [], seconds: 0 };
  let spec;
  try {
    spec = await loadExpect(expectPath);
  } catch (e) {
    return bad(e instanceof ExpectError ? e.message : String(e));
  }
  const dir = dirname(resolve(expectPath));
  let policy: Policy;
  try {
    policy = await fixturePolicy(spec, dir, base);
  } catch (e) {
    return bad(`${expectPath}: $.policy: ${e instanceof Error ? e.message : String(e)}`);
  }
  const fx: FixtureVerdict = { name: basename(dir), expectFile: expectPath, purpose: spec.purpose, passed: false, captures: [], diffs: [], unlisted: [] };
  const byName = new Map<string, string>();
  for (const f of files) {
    const entry = spec.captures.length === 1 ? spec.captures[0]! : spec.captures.find((c) => basename(c.file) === basename(f));
    if (entry === undefined) return bad(`${f}: no captures[] entry of ${expectPath} has the file name ${basename(f)} (entries: ${spec.captures.map((c) => c.file).join(', ')})`);
    fx.captures.push(await checkCapture(f, mergeExpectation(spec.defaults, entry), policy, f));
    byName.set(basename(f), f);
  }
  for (const d of spec.diffs ?? []) {
    const b = byName.get(basename(d.before));
    const a = byName.get(basename(d.after));
    if (b !== undefined && a !== undefined) fx.diffs.push(await checkDiff(process.cwd(), { ...d, before: resolve(b), after: resolve(a) }, policy));
  }
  fx.passed = fx.captures.every((c) => c.passed) && fx.diffs.every((d) => d.passed);
  const r: GateResult = { exitCode: gateExitCode([fx]), fixtures: [fx], seconds: (performance.now() - t0) / 1000 };
  const code = await output(r, opts, 'check');
  return { ...r, exitCode: code as 0 | 1 | 2 };
}

export function registerGate(program: Command, setExit: (code: number) => void): void {
  program
    .command('gate')
    .description('CI gate: judge every fixture (folder with an expect.json) under SUITE_DIR against its expectations')
    .argument('<suite-dir>', 'folder searched recursively for expect.json files (or one expect.json)')
    .option('--json', 'JSON output: {exitCode, fixtures: [...], seconds}')
    .option('--junit <file>', 'also write JUnit XML (one testsuite per fixture, one testcase per capture and expectation)')
    .option('--policy <file>', 'base policy JSON (rule ID / family / group → error | warn | ignore); a fixture\'s own "policy" entries win')
    .option('--single-thread', SINGLE_THREAD_HELP)
    .addHelpText(
      'after',
      `
Format of expect.json: docs/expect.md (schema docs/expect.schema.json). CI examples: docs/ci-gate.md.
Exit codes: 0 every fixture passed; 1 a fixture failed (an expectation, a forbidden/required rule, or a
finding failing the policy); 2 bad usage, invalid expect.json or policy, or an unreadable capture.`,
    )
    .action(async (suite: string, opts: { json?: boolean; junit?: string; policy?: string; singleThread?: boolean }) => {
      if (opts.singleThread === true) setSplitDefault(false);
      const o: GateCliOptions = {};
      if (opts.json === true) o.json = true;
      if (opts.junit !== undefined) o.junit = opts.junit;
      if (opts.policy !== undefined) o.policy = opts.policy;
      setExit((await runGate(suite, o)).exitCode);
    });
}
