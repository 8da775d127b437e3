/**
 * `mptcpscope lab`: real Linux-kernel MPTCP traffic through a device under test (DUT), judged by the gate.
 *
 * For each DUT profile (a shell file with a `dut_setup` hook, docs/lab.md) and scenario it runs
 * fixtures/lab/lab.sh, which builds client — DUT — server network namespaces with two paths, lets the
 * profile configure the DUT namespace, moves data with the kernel's MPTCP, captures on both hosts and
 * writes one fixture folder per run (OUT/PROFILE/SCENARIO: captures + expect.json in the gate's format,
 * diffs[] before/after the DUT). Then the gate (conformance/gate.ts) judges every fixture with the lab's
 * policy (fixtures/lab/policy.json: group `middlebox` fails), and each verdict is compared with the
 * profile's expected verdict (PROFILE.expect.json next to the .sh; without it: pass).
 *
 * Exit: 0 every run gave its expected verdict; 1 at least one did not (e.g. your DUT fails the gate);
 * 2 bad usage, a bad profile, not root, no MPTCP, or a run that could not be completed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import AjvModule from 'ajv';
import type { Command } from 'commander';
import type { FixtureVerdict } from '../conformance/gate.js';
import { gateToJunit, xmlEscape } from '../conformance/report/junit.js';
import { runGate } from './gate.js';
import { ExitCode } from './exit-codes.js';

/** Scenario names of fixtures/lab/lab.sh, in its order. */
export const LAB_SCENARIOS = ['bulk', 'add-addr', 'remove-addr', 'backup-prio', 'checksum', 'path-failure'] as const;
export type LabScenario = (typeof LAB_SCENARIOS)[number];

/** Bundled DUT profiles (fixtures/lab/profiles/NAME.sh), run when no --profile is given. */
export const BUNDLED_PROFILES = ['transparent', 'option-stripper', 'data-option-stripper', 'nat', 'payload-rewriter', 'lossy'] as const;

/** What a profile's run must give (PROFILE.expect.json `expected` entry). */
export interface ExpectedVerdict {
  verdict: 'pass' | 'fail';
  /** Rule IDs or families that must be among the rules that failed the gate. */
  rules?: string[];
  /** Outcome names (`fallback`, `mptcpConnections`, `metrics.retransmissionRate`, …) that must have failed. */
  expectations?: string[];
}

/** PROFILE.expect.json: the profile's expected verdicts (for the project's own CI). */
export interface ProfileExpect {
  purpose?: string;
  /** Scenarios run when no --scenario is given (default: all). */
  scenarios?: LabScenario[];
  /** Scenario name or `*` → expected verdict (default: pass). */
  expected?: Record<string, ExpectedVerdict>;
}

/** A resolved profile. */
export interface LabProfile {
  name: string;
  /** Absolute path of the .sh file. */
  path: string;
  expect: ProfileExpect | null;
}

const VERDICT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['verdict'],
  properties: {
    verdict: { enum: ['pass', 'fail'] },
    rules: { type: 'array', items: { type: 'string', pattern: '^([A-Z]+(-[0-9]{3})?|malformed|protocol|sequence|checksum|middlebox|capture)$' } },
    expectations: { type: 'array', items: { type: 'string', minLength: 1 } },
  },
} as const;

/** JSON Schema (draft-07) of PROFILE.expect.json. */
export const PROFILE_EXPECT_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    purpose: { type: 'string' },
    scenarios: { type: 'array', minItems: 1, items: { enum: [...LAB_SCENARIOS] } },
    expected: {
      type: 'object',
      propertyNames: { enum: ['*', ...LAB_SCENARIOS] },
      additionalProperties: VERDICT_SCHEMA,
    },
  },
} as const;

type Validate = ((d: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null };
let validator: Validate | undefined;

/**
 * Parse and validate a PROFILE.expect.json document.
 * @throws Error naming the file and each schema violation with its JSON path
 */
export function parseProfileExpect(data: unknown, file: string): ProfileExpect {
  if (validator === undefined) {
    const Ajv = (AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule;
    const ajv = new (Ajv as unknown as new (o: object) => { compile(s: unknown): Validate })({ allErrors: true, strict: false });
    validator = ajv.compile(PROFILE_EXPECT_SCHEMA);
  }
  if (!validator(data)) {
    const msg = (validator.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`).join('; ');
    throw new Error(`${file}: invalid profile expectations: ${msg}`);
  }
  return data as ProfileExpect;
}

/** The repository folder holding fixtures/lab/lab.sh (from cli/ or dist/cli/). */
export function labRoot(): string {
  let d = import.meta.dirname;
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(d, 'fixtures/lab/lab.sh'))) return d;
    d = dirname(d);
  }
  throw new Error('fixtures/lab/lab.sh not found next to the mptcpscope installation');
}

/**
 * Resolve `--profile` arguments: a bundled NAME (fixtures/lab/profiles/NAME.sh) or a PATH ending in .sh.
 * Reads PROFILE.expect.json next to the file when it exists.
 * @throws Error for an unknown name, a missing file, or invalid expectations
 */
export function resolveProfiles(args: string[], root: string): LabProfile[] {
  const out: LabProfile[] = [];
  for (const a of args.length > 0 ? args : [...BUNDLED_PROFILES]) {
    let path: string;
    if (a.endsWith('.sh') || a.includes('/')) {
      path = resolve(a);
      if (!existsSync(path)) throw new Error(`profile ${a}: no such file`);
      if (!path.endsWith('.sh')) throw new Error(`profile ${a}: a profile is a shell file ending in .sh`);
    } else {
      path = join(root, 'fixtures/lab/profiles', `${a}.sh`);
      if (!existsSync(path)) throw new Error(`unknown profile ${a} (bundled: ${BUNDLED_PROFILES.join(', ')}; or give a PATH.sh)`);
    }
    const name = basename(path, '.sh');
    if (out.some((p) => p.name === name)) throw new Error(`profile ${name} given twice`);
    const ef = path.replace(/\.sh$/, '.expect.json');
    let expect: ProfileExpect | null = null;
    if (existsSync(ef)) {
      let data: unknown;
      try {
        data = JSON.parse(readFileSync(ef, 'utf8'));
      } catch (e) {
        throw new Error(`${ef}: not JSON: ${e instanceof Error ? e.message : String(e)}`);
      }
      expect = parseProfileExpect(data, ef);
    }
    out.push({ name, path, expect });
  }
  return out;
}

/** The expected verdict of a profile for a scenario: its own entry, then `*`, then pass. */
export function expectedFor(p: LabProfile, scenario: string): ExpectedVerdict {
  return p.expect?.expected?.[scenario] ?? p.expect?.expected?.['*'] ?? { verdict: 'pass' };
}

/**
 * Why the lab cannot run here (null: it can): not Linux, not root, no MPTCP in the kernel.
 * `env` is injectable for tests.
 */
export function labEnvironmentProblem(env: { platform?: string; uid?: number; mptcpEnabled?: string | null } = {}): string | null {
  const platform = env.platform ?? process.platform;
  const uid = env.uid ?? process.getuid?.() ?? -1;
  let enabled = env.mptcpEnabled;
  if (enabled === undefined) {
    try {
      enabled = readFileSync('/proc/sys/net/mptcp/enabled', 'utf8');
    } catch {
      enabled = null;
    }
  }
  if (platform !== 'linux') return `the lab needs Linux (network namespaces and the kernel's MPTCP); this is ${platform}`;
  if (uid !== 0) return 'the lab needs root: it creates network namespaces and veth pairs, captures with tcpdump and configures the DUT namespace (run it with sudo)';
  if (enabled === null) return 'this kernel has no MPTCP (/proc/sys/net/mptcp/enabled is missing; Linux >= 5.6 with CONFIG_MPTCP)';
  if (enabled.trim() !== '1') return 'MPTCP is disabled in this kernel (sysctl net.mptcp.enabled=0; set it to 1)';
  return null;
}

/** One profile × scenario run and its judgement. */
export interface LabRun {
  profile: string;
  profilePath: string;
  scenario: string;
  /** Fixture folder (OUT/PROFILE/SCENARIO). */
  fixture: string;
  /** The gate's verdict; `error`: the run could not be completed or judged. */
  verdict: 'pass' | 'fail' | 'error';
  expected: ExpectedVerdict;
  asExpected: boolean;
  /** Why the run is not as expected (empty when it is). */
  problems: string[];
  /** Rule IDs that failed the gate (captures and diffs). */
  failingRules: string[];
  /** `FILE: outcome` of every failing expectation. */
  failing: string[];
  /** `FILE: outcome: message` of every failing expectation (one line, with the numbers). */
  details: string[];
  /** Seconds the lab run took (namespaces, traffic, captures), from lab-run.json. */
  labSeconds: number | null;
  gate: FixtureVerdict | null;
  error?: string;
}

/** Union of the failing rule IDs and failing outcomes of a fixture verdict. */
function failures(v: FixtureVerdict): { rules: string[]; failing: string[]; details: string[] } {
  const rules = new Set<string>();
  const failing: string[] = [];
  const details: string[] = [];
  const items: Array<{ label: string; item: FixtureVerdict['captures'][number] | FixtureVerdict['diffs'][number] }> = [
    ...v.captures.map((c) => ({ label: c.file, item: c })),
    ...v.diffs.map((d) => ({ label: d.name, item: d })),
  ];
  for (const { label, item } of items) {
    for (const r of item.failingRules) rules.add(r);
    for (const f of item.failing) failing.push(`${label}: ${f}`);
    for (const o of item.outcomes) if (!o.passed) details.push(`${label}: ${o.name}: ${o.message}`);
    if (item.error !== undefined) details.push(`${label}: ${item.error}`);
  }
  return { rules: [...rules].sort(), failing, details };
}

const matches = (id: string, pattern: string): boolean => id === pattern || (!pattern.includes('-') && id.split('-')[0] === pattern);

/**
 * Compare a gate verdict with the expected one: the verdict itself, every expected rule among the
 * failing rules, every expected outcome name among the failing outcomes. Returns the problems.
 */
export function compareVerdict(got: 'pass' | 'fail' | 'error', rules: string[], failing: string[], exp: ExpectedVerdict): string[] {
  const problems: string[] = [];
  if (got === 'error') return ['the run could not be completed or judged'];
  if (got !== exp.verdict) problems.push(`expected ${exp.verdict}, the gate says ${got}`);
  if (exp.verdict === 'fail') {
    for (const r of exp.rules ?? []) {
      if (!rules.some((id) => matches(id, r))) problems.push(`rule ${r} expected among the failing rules (got: ${rules.join(', ') || 'none'})`);
    }
    for (const e of exp.expectations ?? []) {
      if (!failing.some((f) => f.endsWith(`: ${e}`) || f.includes(`: ${e} `))) problems.push(`expectation ${e} expected to fail`);
    }
  }
  return problems;
}

interface LabCliOptions {
  profile?: string[];
  scenario?: string[];
  out?: string;
  junit?: string;
  gateJunit?: string;
  json?: boolean;
  keep?: boolean;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function registerLab(program: Command, setExit: (code: number) => void): void {
  program
    .command('lab')
    .description('run real Linux MPTCP traffic through a device under test (a DUT profile) in network namespaces, capture both sides and gate the result (root)')
    .option('--profile <name|path.sh>', `DUT profile, repeatable: bundled ${BUNDLED_PROFILES.join(', ')} or your own PATH.sh (default: all bundled)`, collect)
    .option('--scenario <name>', `scenario, repeatable: ${LAB_SCENARIOS.join(', ')} (default: the profile's list, else all)`, collect)
    .option('--out <dir>', 'where the fixture folders go (OUT/PROFILE/SCENARIO; kept); default: a temporary folder, removed unless --keep')
    .option('--junit <file>', 'write JUnit XML: one testsuite per profile, one testcase per scenario')
    .option('--gate-junit <file>', "also write the gate's JUnit XML: one testsuite per fixture (PROFILE/SCENARIO), one testcase per expectation")
    .option('--json', 'JSON output')
    .option('--keep', 'keep the temporary output folder (and lab.sh\'s raw logs)')
    .addHelpText(
      'after',
      `
A profile is a shell file defining dut_setup (and optionally dut_teardown), run with the DUT namespace in
$DUT_NS and its interfaces in $DUT_IF_C1 $DUT_IF_C2 (client side) $DUT_IF_S1 $DUT_IF_S2 (server side);
PROFILE.expect.json next to it states the expected verdict (default: pass). See docs/lab.md.
Needs root and a kernel with MPTCP. Exit codes: 0 every run gave its expected verdict; 1 at least one did
not; 2 bad usage, a bad profile, not root / no MPTCP, or a run that could not be completed.`,
    )
    .action(async (opts: LabCliOptions) => {
      setExit(await runLab(opts));
    });
}

/** `lab.sh --check`: shell syntax and a dut_setup function in every profile (no root needed). Null when fine. */
function checkProfiles(root: string, profiles: LabProfile[]): Promise<string | null> {
  const args = [join(root, 'fixtures/lab/lab.sh'), '--check'];
  for (const p of profiles) args.push('--profile', p.path);
  return new Promise((res) => {
    const child = spawn('bash', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.on('error', (e) => res(`cannot run bash: ${e.message}`));
    child.on('close', (code) => res(code === 0 ? null : err.replace(/^\[lab [0-9:]+\] error: /gm, '').trim() || `lab.sh --check exit ${code}`));
  });
}

/** Run lab.sh for one profile; resolves with its exit code (130 when interrupted). */
function runLabScript(root: string, profile: LabProfile, scenarios: string[], out: string, keep: boolean): Promise<number> {
  const args = [join(root, 'fixtures/lab/lab.sh'), '--profile', profile.path, '--out', out];
  for (const s of scenarios) args.push('--scenario', s);
  if (keep) args.push('--keep-work');
  return new Promise((resolveRun) => {
    // the script's progress goes to our stderr; stdout stays free for --json
    const child = spawn('bash', args, { stdio: ['ignore', 2, 2] });
    let interrupted = false;
    const forward = (): void => {
      interrupted = true;
      child.kill('SIGTERM'); // lab.sh's trap tears its namespaces down, then it exits
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (e) => {
      process.stderr.write(`mptcpscope lab: cannot run bash: ${e.message}\n`);
    });
    child.on('close', (code) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolveRun(interrupted ? 130 : (code ?? 1));
    });
  });
}

function labSeconds(fixture: string): number | null {
  try {
    const r = JSON.parse(readFileSync(join(fixture, 'lab-run.json'), 'utf8')) as { seconds?: number };
    return typeof r.seconds === 'number' ? r.seconds : null;
  } catch {
    return null;
  }
}

/** Run `lab`; returns the exit code. */
export async function runLab(cliOpts: LabCliOptions): Promise<number> {
  const opts = { ...cliOpts, profile: cliOpts.profile ?? [], scenario: cliOpts.scenario ?? [] };
  const fail = (msg: string): number => {
    process.stderr.write(`mptcpscope lab: ${msg}\n`);
    return ExitCode.BAD_INPUT;
  };
  let root: string;
  let profiles: LabProfile[];
  try {
    root = labRoot();
    profiles = resolveProfiles(opts.profile, root);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  for (const s of opts.scenario) {
    if (!(LAB_SCENARIOS as readonly string[]).includes(s)) return fail(`unknown scenario ${s} (scenarios: ${LAB_SCENARIOS.join(', ')})`);
  }
  const check = await checkProfiles(root, profiles);
  if (check !== null) return fail(check);
  const problem = labEnvironmentProblem();
  if (problem !== null) return fail(problem);

  const t0 = Date.now();
  const tempOut = opts.out === undefined;
  const out = tempOut ? mkdtempSync(join(tmpdir(), 'mptcpscope-lab-')) : resolve(opts.out!);
  const runs: LabRun[] = [];
  let code: number = ExitCode.OK;
  try {
    for (const p of profiles) {
      const scenarios = opts.scenario.length > 0 ? opts.scenario : (p.expect?.scenarios ?? [...LAB_SCENARIOS]);
      const rc = await runLabScript(root, p, scenarios, out, opts.keep === true);
      if (rc === 130) {
        process.stderr.write('mptcpscope lab: interrupted (namespaces torn down)\n');
        return 130;
      }
      if (rc === 2) return fail(`fixtures/lab/lab.sh refused profile ${p.name} (see its message above)`);
      for (const s of scenarios) {
        const fixture = join(out, p.name, s);
        const expected = expectedFor(p, s);
        const run: LabRun = {
          profile: p.name, profilePath: p.path, scenario: s, fixture, verdict: 'error', expected,
          asExpected: false, problems: [], failingRules: [], failing: [], details: [], labSeconds: labSeconds(fixture), gate: null,
        };
        if (!existsSync(join(fixture, 'expect.json')) || !existsSync(join(fixture, 'lab-run.json'))) {
          run.error = `the lab run did not complete (lab.sh exit ${rc}; see its messages above)`;
        } else {
          try {
            const g = await runGate(fixture, { silent: true });
            const v = g.fixtures[0];
            if (v === undefined || v.error !== undefined) {
              run.error = v?.error ?? 'the gate found no fixture';
            } else {
              run.gate = v;
              const f = failures(v);
              run.failingRules = f.rules;
              run.failing = f.failing;
              run.details = f.details;
              run.verdict = v.captures.some((c) => c.error !== undefined) || v.diffs.some((d) => d.error !== undefined) ? 'error' : v.passed ? 'pass' : 'fail';
            }
          } catch (e) {
            run.error = e instanceof Error ? e.message : String(e);
          }
        }
        run.problems = run.error !== undefined ? [run.error] : compareVerdict(run.verdict, run.failingRules, run.failing, expected);
        run.asExpected = run.problems.length === 0;
        runs.push(run);
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    code = runs.some((r) => r.verdict === 'error') ? ExitCode.BAD_INPUT : runs.every((r) => r.asExpected) ? ExitCode.OK : ExitCode.FAILED;
    if (opts.junit !== undefined) await writeFile(opts.junit, labJunit(runs, seconds));
    if (opts.gateJunit !== undefined) {
      // fixture names relative to OUT, as `mptcpscope gate OUT` would name them
      const fixtures = runs.flatMap((r) => (r.gate !== null ? [{ ...r.gate, name: `${r.profile}/${r.scenario}` }] : []));
      await writeFile(opts.gateJunit, gateToJunit(fixtures));
    }
    const keptOut = !tempOut || opts.keep === true;
    process.stdout.write(
      opts.json === true
        ? `${JSON.stringify({ out: keptOut ? out : null, seconds, exitCode: code, runs }, null, 2)}\n`
        : formatLab(runs, profiles, keptOut ? out : null, seconds),
    );
  } finally {
    if (tempOut && opts.keep !== true) rmSync(out, { recursive: true, force: true });
  }
  return code;
}

/** Human-readable report: one block per profile, one line per scenario. */
export function formatLab(runs: LabRun[], profiles: LabProfile[], out: string | null, seconds: number): string {
  const lines: string[] = [];
  for (const p of profiles) {
    const rs = runs.filter((r) => r.profile === p.name);
    if (rs.length === 0) continue;
    lines.push(`profile ${p.name}${p.expect?.purpose !== undefined ? ` (${p.expect.purpose})` : ''}`);
    for (const r of rs) {
      const v = r.verdict.toUpperCase();
      const t = r.labSeconds !== null ? `${r.labSeconds.toFixed(1)} s` : '';
      lines.push(`  ${r.scenario.padEnd(13)} ${v.padEnd(5)} expected ${r.expected.verdict.padEnd(4)} ${r.asExpected ? 'ok' : 'NOT AS EXPECTED'}  ${t}`);
      if (r.failingRules.length > 0) lines.push(`      failing rules: ${r.failingRules.join(', ')}`);
      for (const f of r.details) lines.push(`      failed: ${f.length > 200 ? `${f.slice(0, 197)}...` : f}`);
      for (const pr of r.problems) lines.push(`      problem: ${pr}`);
    }
  }
  const bad = runs.filter((r) => !r.asExpected).length;
  lines.push(`${runs.length} run(s) in ${seconds.toFixed(1)} s: ${runs.length - bad} as expected, ${bad} not${out !== null ? `; fixtures in ${out}` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** JUnit XML: one <testsuite> per profile, one <testcase> per scenario, failing when not as expected. */
export function labJunit(runs: LabRun[], seconds: number): string {
  const byProfile = new Map<string, LabRun[]>();
  for (const r of runs) byProfile.set(r.profile, [...(byProfile.get(r.profile) ?? []), r]);
  const suites: string[] = [];
  let failures = 0;
  let errors = 0;
  for (const [profile, rs] of byProfile) {
    const cases: string[] = [];
    let f = 0;
    let e = 0;
    for (const r of rs) {
      const detail = [
        `gate verdict: ${r.verdict} (expected ${r.expected.verdict}${r.expected.rules !== undefined ? `, rules ${r.expected.rules.join(', ')}` : ''})`,
        ...(r.failingRules.length > 0 ? [`failing rules: ${r.failingRules.join(', ')}`] : []),
        ...r.details.map((x) => `failed: ${x}`),
        ...r.problems.map((x) => `problem: ${x}`),
        `fixture: ${r.fixture}`,
      ].join('\n');
      let body = `<system-out>${xmlEscape(detail)}</system-out>`;
      if (r.verdict === 'error') {
        e++;
        body = `<error message="${xmlEscape(r.problems[0] ?? 'error')}">${xmlEscape(detail)}</error>`;
      } else if (!r.asExpected) {
        f++;
        body = `<failure message="${xmlEscape(r.problems.join('; '))}">${xmlEscape(detail)}</failure>`;
      }
      const t = r.labSeconds !== null ? ` time="${r.labSeconds.toFixed(3)}"` : '';
      cases.push(`    <testcase classname="lab.${xmlEscape(profile)}" name="${xmlEscape(r.scenario)}"${t}>${body}</testcase>`);
    }
    failures += f;
    errors += e;
    suites.push(`  <testsuite name="lab.${xmlEscape(profile)}" tests="${rs.length}" failures="${f}" errors="${e}">\n${cases.join('\n')}\n  </testsuite>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="mptcpscope lab" tests="${runs.length}" failures="${failures}" errors="${errors}" time="${seconds.toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`;
}
