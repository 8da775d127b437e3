/**
 * `mptcpscope lab` without the kernel: profile resolution and validation, the profile expectation files,
 * the verdict comparison, the JUnit writer, and the refusals (not root, no MPTCP, bad profile, unknown
 * scenario) through the built CLI and through fixtures/lab/lab.sh itself. The real runs are in
 * lab.kernel.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLED_PROFILES,
  LAB_SCENARIOS,
  type LabRun,
  compareVerdict,
  expectedFor,
  labEnvironmentProblem,
  labJunit,
  parseProfileExpect,
  resolveProfiles,
} from '../../cli/lab.js';
import { parseExpect } from '../../conformance/expect.js';
import { parsePolicy } from '../../conformance/policy.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');
const LAB_SH = join(REPO_ROOT, 'fixtures/lab/lab.sh');

function run(cmd: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args]);

let tmp: string;
beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'lab.js'))) {
    const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
  }
  tmp = tempDir('mptcpscope-lab-');
  writeFileSync(join(tmp, 'no-hook.sh'), '# a profile without dut_setup\nsetup() { :; }\n');
  writeFileSync(join(tmp, 'syntax.sh'), 'dut_setup() {\n  if then\n}\n');
  writeFileSync(join(tmp, 'good.sh'), 'dut_setup() { dut iptables -A FORWARD -j ACCEPT; }\n');
  writeFileSync(join(tmp, 'bad-expect.sh'), 'dut_setup() { :; }\n');
  writeFileSync(join(tmp, 'bad-expect.expect.json'), JSON.stringify({ scenarios: ['bulk', 'warp'], expected: { bulk: { verdict: 'maybe' } } }));
});

describe('bundled profiles and scenario expectations', () => {
  it('every bundled profile resolves, has a valid PROFILE.expect.json, and fault profiles expect a failure with rule IDs', () => {
    const ps = resolveProfiles([], REPO_ROOT);
    expect(ps.map((p) => p.name)).toEqual([...BUNDLED_PROFILES]);
    for (const p of ps) {
      expect(p.expect, p.name).not.toBeNull();
      expect(p.expect?.scenarios?.length, p.name).toBeGreaterThan(0);
      for (const s of p.expect?.scenarios ?? []) {
        const e = expectedFor(p, s);
        if (p.name === 'transparent') expect(e).toEqual({ verdict: 'pass' });
        else {
          expect(e.verdict, `${p.name}/${s}`).toBe('fail');
          expect(e.rules?.length, `${p.name}/${s}`).toBeGreaterThan(0);
        }
      }
    }
    // the transparent router runs every scenario; every profile runs bulk
    expect(ps.find((p) => p.name === 'transparent')?.expect?.scenarios).toEqual([...LAB_SCENARIOS]);
    for (const p of ps) expect(p.expect?.scenarios, p.name).toContain('bulk');
  });

  it('every scenario has an expect.json template the gate accepts, naming the two captures and their diff', () => {
    const dir = join(REPO_ROOT, 'fixtures/lab/expect');
    expect(readdirSync(dir).sort()).toEqual(LAB_SCENARIOS.map((s) => `${s}.expect.json`).sort());
    for (const s of LAB_SCENARIOS) {
      const text = readFileSync(join(dir, `${s}.expect.json`), 'utf8').replaceAll('@SCENARIO@', s);
      const spec = parseExpect(JSON.parse(text), `${s}.expect.json`);
      expect(spec.captures.map((c) => c.file)).toEqual([`${s}.client.pcap`, `${s}.server.pcap`]);
      expect(spec.diffs).toEqual([expect.objectContaining({ before: `${s}.client.pcap`, after: `${s}.server.pcap` })]);
      expect(spec.policy).toBe('../../policy.json');
    }
  });

  it('the lab policy makes group middlebox fail', () => {
    const p = parsePolicy(JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures/lab/policy.json'), 'utf8')));
    expect(p.rules?.middlebox).toBe('error');
  });
});

describe('profile resolution errors', () => {
  it('an unknown name, a missing file, a non-.sh path and invalid expectations are named', () => {
    expect(() => resolveProfiles(['no-such-profile'], REPO_ROOT)).toThrow(/unknown profile no-such-profile \(bundled: transparent/);
    expect(() => resolveProfiles([join(tmp, 'missing.sh')], REPO_ROOT)).toThrow(/missing\.sh: no such file/);
    writeFileSync(join(tmp, 'profile.txt'), 'x');
    expect(() => resolveProfiles([join(tmp, 'profile.txt')], REPO_ROOT)).toThrow(/ending in \.sh/);
    expect(() => resolveProfiles([join(tmp, 'bad-expect.sh')], REPO_ROOT)).toThrow(/bad-expect\.expect\.json: invalid profile expectations: .*\/scenarios\/1.*\/expected\/bulk\/verdict/);
    expect(() => resolveProfiles(['nat', 'nat'], REPO_ROOT)).toThrow(/given twice/);
  });

  it('a profile without PROFILE.expect.json is expected to pass everything', () => {
    const [p] = resolveProfiles([join(tmp, 'good.sh')], REPO_ROOT);
    expect(p?.expect).toBeNull();
    expect(expectedFor(p!, 'checksum')).toEqual({ verdict: 'pass' });
  });

  it('parseProfileExpect rejects unknown keys', () => {
    expect(() => parseProfileExpect({ verdict: 'pass' }, 'x.json')).toThrow(/x\.json: invalid profile expectations: \/: must NOT have additional properties/);
  });
});

describe('verdict comparison', () => {
  it('pass expected: a failing gate is a problem', () => {
    expect(compareVerdict('pass', [], [], { verdict: 'pass' })).toEqual([]);
    expect(compareVerdict('fail', ['MBX-006'], ['a → b: policy'], { verdict: 'pass' })).toEqual(['expected pass, the gate says fail']);
  });
  it('fail expected: the rules (ID or family) and outcome names must be among the failures', () => {
    const exp = { verdict: 'fail' as const, rules: ['MBX-001'], expectations: ['fallback'] };
    expect(compareVerdict('fail', ['MBX-001'], ['c.pcap: fallback', 'c.pcap: policy'], exp)).toEqual([]);
    expect(compareVerdict('fail', ['MBX-002'], ['c.pcap: policy'], exp)).toEqual([
      'rule MBX-001 expected among the failing rules (got: MBX-002)',
      'expectation fallback expected to fail',
    ]);
    expect(compareVerdict('fail', ['MBX-004'], [], { verdict: 'fail', rules: ['MBX'] })).toEqual([]);
    expect(compareVerdict('pass', [], [], exp)[0]).toBe('expected fail, the gate says pass');
    expect(compareVerdict('error', [], [], exp)).toEqual(['the run could not be completed or judged']);
  });
});

describe('JUnit report', () => {
  it('one testsuite per profile, one testcase per scenario; failure when not as expected, error when not run', () => {
    const base = { profilePath: '/p.sh', fixture: '/out/x', failingRules: [], failing: [], details: [], labSeconds: 2.5, gate: null };
    const runs: LabRun[] = [
      { ...base, profile: 'transparent', scenario: 'bulk', verdict: 'pass', expected: { verdict: 'pass' }, asExpected: true, problems: [] },
      { ...base, profile: 'nat', scenario: 'bulk', verdict: 'pass', expected: { verdict: 'fail', rules: ['MBX-006'] }, asExpected: false, problems: ['expected fail, the gate says pass', 'rule MBX-006 <missing> & "so"'] },
      { ...base, profile: 'nat', scenario: 'checksum', verdict: 'error', expected: { verdict: 'pass' }, asExpected: false, problems: ['dut_setup failed'], labSeconds: null },
    ];
    const x = labJunit(runs, 12);
    expect(x).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="mptcpscope lab" tests="3" failures="1" errors="1" time="12.000">/);
    expect(x).toContain('<testsuite name="lab.transparent" tests="1" failures="0" errors="0">');
    expect(x).toContain('<testsuite name="lab.nat" tests="2" failures="1" errors="1">');
    expect(x).toContain('<testcase classname="lab.transparent" name="bulk" time="2.500"><system-out>');
    expect(x).toContain('<failure message="expected fail, the gate says pass; rule MBX-006 &lt;missing&gt; &amp; &quot;so&quot;">');
    expect(x).toContain('<testcase classname="lab.nat" name="checksum"><error message="dut_setup failed">');
  });
});

describe('refusals', () => {
  it('labEnvironmentProblem names what is missing', () => {
    expect(labEnvironmentProblem({ platform: 'darwin', uid: 0, mptcpEnabled: '1' })).toMatch(/needs Linux/);
    expect(labEnvironmentProblem({ platform: 'linux', uid: 1000, mptcpEnabled: '1' })).toMatch(/needs root/);
    expect(labEnvironmentProblem({ platform: 'linux', uid: 0, mptcpEnabled: null })).toMatch(/no MPTCP \(\/proc\/sys\/net\/mptcp\/enabled is missing/);
    expect(labEnvironmentProblem({ platform: 'linux', uid: 0, mptcpEnabled: '0\n' })).toMatch(/net\.mptcp\.enabled=0/);
    expect(labEnvironmentProblem({ platform: 'linux', uid: 0, mptcpEnabled: '1\n' })).toBeNull();
  });

  it('not root: exit 2 with a clear message, nothing created', () => {
    // as root (CI), drop to nobody for this one run; otherwise we already are not root
    const asRoot = process.getuid?.() === 0;
    const r = asRoot
      ? run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'lab', '--profile', 'transparent', '--scenario', 'bulk'])
      : cli('lab', '--profile', 'transparent', '--scenario', 'bulk');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^mptcpscope lab: the lab needs root: it creates network namespaces/);
    expect(r.stdout).toBe('');
    const sh = asRoot
      ? run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', LAB_SH, '--profile', join(REPO_ROOT, 'fixtures/lab/profiles/nat.sh'), '--out', '/nonexistent/x'])
      : run('bash', [LAB_SH, '--profile', join(REPO_ROOT, 'fixtures/lab/profiles/nat.sh'), '--out', '/nonexistent/x']);
    expect(sh.code).toBe(2);
    expect(sh.stderr).toMatch(/error: the lab needs root/);
  });

  it('a profile without dut_setup, with a syntax error, or missing: exit 2 naming the profile (before any root check)', () => {
    const noHook = cli('lab', '--profile', join(tmp, 'no-hook.sh'));
    expect(noHook.code).toBe(2);
    expect(noHook.stderr).toContain(`mptcpscope lab: profile ${join(tmp, 'no-hook.sh')} defines no dut_setup function (see docs/lab.md)`);
    const syntax = cli('lab', '--profile', join(tmp, 'syntax.sh'));
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/syntax\.sh: shell syntax error: .*syntax error/);
    const missing = cli('lab', '--profile', join(tmp, 'nope.sh'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.sh: no such file');
    const sh = run('bash', [LAB_SH, '--check', '--profile', join(tmp, 'no-hook.sh')]);
    expect(sh.code).toBe(2);
    expect(sh.stderr).toContain('defines no dut_setup function');
    expect(run('bash', [LAB_SH, '--check', '--profile', join(tmp, 'good.sh')]).code).toBe(0);
  });

  it('an unknown scenario or option: exit 2', () => {
    const r = cli('lab', '--scenario', 'warp-drive');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown scenario warp-drive (scenarios: bulk, add-addr, remove-addr, backup-prio, checksum, path-failure)');
    const sh = run('bash', [LAB_SH, '--scenario', 'warp-drive']);
    expect(sh.code).toBe(2);
    expect(sh.stderr).toContain('unknown scenario warp-drive');
    expect(run('bash', [LAB_SH, '--frobnicate']).code).toBe(2);
  });

  it('lab.sh --list names every scenario the CLI knows', () => {
    const r = run('bash', [LAB_SH, '--list']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual([...LAB_SCENARIOS]);
  });
});
