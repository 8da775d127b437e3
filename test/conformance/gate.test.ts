/**
 * The CI gate (conformance/gate.ts, cli/gate.ts) over the project's own fixtures and over mutated copies:
 * every fixture folder has an expect.json whose expectations all hold (exit 0); a mutated expectation, a
 * capture that violates another fixture's expectations (k01's on k10's capture) and an unexpected error
 * finding fail with exit 1 naming the expectation and rule; invalid JSON / schema errors / unreadable
 * captures / a missing suite are exit 2 with the file and JSON path; the JUnit XML is well-formed with one
 * testcase per expectation. The expectations themselves come from scenario.json / manifest.json (kernel
 * MIB counters, iptables hit counts, shaping) and the tshark sidecars, see each expect.json's notes.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type GateResult, runCheckExpect, runGate } from '../../cli/gate.js';
import { main } from '../../cli/main.js';
import { EXPECT_SCHEMA, type ExpectFile, loadExpect } from '../../conformance/expect.js';
import { FIXTURES, REPO_ROOT } from '../helpers/fixtures.js';
import { tmp } from './helpers.js';

let err = '';
beforeEach(() => {
  err = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

const CAPTURE = /\.(pcap|pcapng)(\.gz)?$/;
const readJson = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;

/** A copy of fixture folder `rel` in a temp dir: expect.json (optionally edited), captures symlinked. */
function fixtureCopy(rel: string, edit?: (e: ExpectFile) => void, captures?: Record<string, string>): string {
  const src = join(FIXTURES, rel);
  const dst = join(tmp(), basename(rel));
  mkdirSync(dst);
  const e = readJson<ExpectFile>(join(src, 'expect.json'));
  edit?.(e);
  writeFileSync(join(dst, 'expect.json'), JSON.stringify(e, null, 2));
  for (const f of readdirSync(src)) if (CAPTURE.test(f)) symlinkSync(captures?.[f] ?? join(src, f), join(dst, f));
  return dst;
}

/** Minimal XML 1.0 well-formedness check for the JUnit writer's output (no DTD, no CDATA, no PIs but the declaration). */
function wellFormed(xml: string): { ok: boolean; why?: string; testcases: number } {
  let i = 0;
  const stack: string[] = [];
  let testcases = 0;
  if (!xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')) return { ok: false, why: 'declaration', testcases };
  i = xml.indexOf('?>') + 2;
  const text = (s: string): boolean => !/[<]/.test(s) && !/&(?!(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.test(s);
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const chunk = lt < 0 ? xml.slice(i) : xml.slice(i, lt);
    if (!text(chunk)) return { ok: false, why: `text at ${i}`, testcases };
    if (lt < 0) break;
    const gt = xml.indexOf('>', lt);
    if (gt < 0) return { ok: false, why: 'unclosed tag', testcases };
    const tag = xml.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      if (stack.pop() !== tag.slice(1)) return { ok: false, why: `mismatched </${tag.slice(1)}>`, testcases };
    } else {
      const m = /^([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)$/.exec(tag);
      if (m === null) return { ok: false, why: `bad tag <${tag.slice(0, 60)}>`, testcases };
      const attrs = [...m[2]!.matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)];
      if (new Set(attrs.map((a) => a[1])).size !== attrs.length) return { ok: false, why: 'duplicate attribute', testcases };
      if (!attrs.every((a) => text(a[2]!))) return { ok: false, why: 'attribute text', testcases };
      if (m[1] === 'testcase') testcases++;
      if (m[3] !== '/') stack.push(m[1]!);
    }
    i = gt + 1;
  }
  return stack.length === 0 ? { ok: true, testcases } : { ok: false, why: `unclosed ${stack.join('>')}`, testcases };
}

const outcomesOf = (r: GateResult): number => r.fixtures.reduce((n, f) => n + [...f.captures, ...f.diffs].reduce((m, x) => m + x.outcomes.length, 0), 0);

describe('mptcpscope gate fixtures (the project’s own fixture folder)', () => {
  let r: GateResult;
  let junit: string;
  beforeAll(async () => {
    const j = join(tmp(), 'gate.xml');
    r = await runGate(FIXTURES, { silent: true, junit: j });
    junit = readFileSync(j, 'utf8');
  }, 120_000);

  it('passes: exit 0, every fixture and every capture/diff passed', () => {
    const failing = r.fixtures.flatMap((f) => [f.error ?? [], ...[...f.captures, ...f.diffs].filter((x) => !x.passed).map((x) => `${f.name}: ${'file' in x ? x.file : x.name}: ${x.failing.join(', ')} ${x.error ?? ''}`)]).flat();
    expect(failing).toEqual([]);
    expect(r.exitCode).toBe(0);
  });

  it('every fixture folder (kernel k01..k12, shared-linux, public-tcpdump, variants) has an expect.json', () => {
    const names = r.fixtures.map((f) => f.name.split('\\').join('/')).sort();
    const kernel = readdirSync(join(FIXTURES, 'kernel')).filter((d) => statSync(join(FIXTURES, 'kernel', d)).isDirectory()).map((d) => `kernel/${d}`);
    expect(kernel).toHaveLength(12);
    expect(names).toEqual([...kernel, 'public-tcpdump', 'shared-linux', 'variants'].sort());
  });

  it('every capture under fixtures/ is judged by an expect.json (none unlisted) with expectations beyond the policy', () => {
    const all: string[] = [];
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (CAPTURE.test(n)) all.push(relative(FIXTURES, p));
      }
    };
    walk(FIXTURES);
    const judged = r.fixtures.flatMap((f) => f.captures.map((c) => relative(FIXTURES, c.path)));
    expect(judged.sort()).toEqual(all.sort());
    expect(r.fixtures.flatMap((f) => f.unlisted)).toEqual([]);
    for (const f of r.fixtures) {
      expect(f.purpose, f.name).toMatch(/^[^\n]{10,}$/);
      for (const c of f.captures) expect(c.outcomes.length, `${f.name}/${c.file}`).toBeGreaterThan(1); // policy + at least one stated fact
    }
  });

  it('the kernel pairs and the shared-linux middlebox pairs are judged as diffs too', () => {
    const diffs = r.fixtures.flatMap((f) => f.diffs.map((d) => d.before));
    for (const k of ['k01', 'k07', 'k10', 'k11', 'k12']) expect(diffs.some((b) => b.startsWith(k))).toBe(true);
    for (const s of ['07a', '08a', '15b']) expect(diffs.some((b) => b.startsWith(s))).toBe(true);
  });

  it('JUnit: well-formed, one testsuite per fixture, one testcase per expectation, none failing', () => {
    const wf = wellFormed(junit);
    expect(wf.why).toBeUndefined();
    expect(wf.testcases).toBe(outcomesOf(r));
    expect([...junit.matchAll(/<testsuite name=/g)]).toHaveLength(r.fixtures.length);
    expect(junit).toMatch(/<testsuites name="mptcpscope gate" tests="\d+" failures="0" errors="0"/);
    expect(junit).toContain('name="k10-strip-synack.client.pcap: requiredRules MBX-001"');
    expect(junit).toContain('name="k08-path-failure.client.pcap: metrics.failoverSeconds"');
    expect(junit).toContain('name="k01-two-subflows.client.pcap: policy"');
  });
});

describe('the gate fails (exit 1) with the expectation and the rule named', () => {
  it('k01’s expectations applied to k10’s capture (option stripped from the SYN/ACK: fallback, one subflow)', async () => {
    const k10 = join(FIXTURES, 'kernel/k10-strip-synack/k10-strip-synack.client.pcap');
    const d = fixtureCopy('kernel/k01-two-subflows', (e) => {
      e.diffs = [];
    }, { 'k01-two-subflows.client.pcap': k10 });
    const r = await runGate(d, { silent: true });
    expect(r.exitCode).toBe(1);
    const c = r.fixtures[0]!.captures.find((x) => x.file === 'k01-two-subflows.client.pcap')!;
    expect(c.passed).toBe(false);
    expect(c.failing).toEqual(expect.arrayContaining(['subflows', 'fallback', 'forbiddenRules MBX', 'metrics.aggregationGain', 'metrics.dataBytes']));
    expect(c.failingRules).toContain('MBX-001');
    expect(c.outcomes.find((o) => o.name === 'fallback')!.actual).toEqual(['syn-ack-without-mp-capable']);
    // the untouched server capture still passes
    expect(r.fixtures[0]!.captures.find((x) => x.file === 'k01-two-subflows.server.pcap')!.passed).toBe(true);
  });

  it.each([
    ['mptcpConnections', (e: ExpectFile) => (e.captures[0]!.mptcpConnections = 2), 'mptcpConnections', undefined],
    ['subflows bound', (e: ExpectFile) => (e.captures[0]!.subflows = { min: 3 }), 'subflows', undefined],
    ['fallback', (e: ExpectFile) => (e.captures[0]!.fallback = false), 'fallback', undefined],
    ['fallback reason', (e: ExpectFile) => (e.captures[0]!.fallback = 'ack-without-mp-capable'), 'fallback', undefined],
    ['required rule', (e: ExpectFile) => (e.captures[0]!.requiredRules = ['FB-001', 'MBX-001', 'MBX-004']), 'requiredRules MBX-004', 'MBX-004'],
    ['forbidden rule', (e: ExpectFile) => Object.assign(e.captures[0]!, { requiredRules: ['FB-001'], forbiddenRules: ['MBX-001'] }), 'forbiddenRules MBX-001', 'MBX-001'],
    ['forbidden group', (e: ExpectFile) => Object.assign(e.captures[0]!, { requiredRules: ['FB-001'], forbiddenRules: ['middlebox'] }), 'forbiddenRules middlebox', 'MBX-001'],
  ])('k10 client, mutated %s', async (_n, edit, name, rule) => {
    const d = fixtureCopy('kernel/k10-strip-synack', (e) => {
      e.diffs = [];
      edit(e);
    });
    const r = await runGate(d, { silent: true });
    expect(r.exitCode).toBe(1);
    const c = r.fixtures[0]!.captures[0]!;
    expect(c.failing).toEqual([name]);
    if (rule !== undefined) expect(c.failingRules).toEqual([rule]);
  });

  it('k08 metric bound: failover faster than the 200 ms RTO floor is not what the capture shows', async () => {
    const d = fixtureCopy('kernel/k08-path-failure', (e) => {
      e.diffs = [];
      e.captures[1]!.metrics = { failoverSeconds: { max: 0.1 } };
    });
    const r = await runGate(d, { silent: true });
    expect(r.exitCode).toBe(1);
    const c = r.fixtures[0]!.captures[1]!;
    expect(c.failing).toEqual(['metrics.failoverSeconds']);
    const o = c.outcomes.find((x) => x.name === 'metrics.failoverSeconds')!;
    // the defaults' bound (0.18..0.6) was replaced by the capture's own; the measured value is still reported
    expect(o.actual as number).toBeGreaterThan(0.18);
    expect(o.message).toMatch(/failoverSeconds = 0\.\d+, expected ≤ 0\.1/);
  });

  it('15b server: the DSS-002 checksum error fails the policy unless required or known', async () => {
    const drop = (e: ExpectFile): void => {
      e.diffs = [];
      const c = e.captures.find((x) => x.file === '15b-csum-corrupt-2sf.server.pcap')!;
      c.requiredRules = c.requiredRules!.filter((x) => x !== 'DSS-002');
      e.captures = [c];
    };
    const r = await runGate(fixtureCopy('shared-linux', drop), { silent: true });
    expect(r.exitCode).toBe(1);
    expect(r.fixtures[0]!.captures[0]!.failing).toEqual(['policy']);
    expect(r.fixtures[0]!.captures[0]!.failingRules).toEqual(['DSS-002']);
    const known = await runGate(
      fixtureCopy('shared-linux', (e) => {
        drop(e);
        e.captures[0]!.known = [{ rule: 'DSS-002', reason: 'the router flipped a payload byte on purpose (NFQUEUE)' }];
      }),
      { silent: true },
    );
    expect(known.exitCode).toBe(0);
    expect(known.fixtures[0]!.captures[0]!.findings.find((f) => f.id === 'DSS-002')).toMatchObject({ action: 'error', accepted: 'known' });
    // a base policy (--policy) downgrading it passes too; a fixture policy making warnings fail fails on MBX-004
    const p = join(tmp(), 'p.json');
    writeFileSync(p, JSON.stringify({ rules: { 'DSS-002': 'warn' } }));
    expect((await runGate(fixtureCopy('shared-linux', drop), { silent: true, policy: p })).exitCode).toBe(0);
    const strict = await runGate(
      fixtureCopy('shared-linux', (e) => {
        drop(e);
        e.policy = { rules: { 'DSS-002': 'warn' }, severity: { warning: 'error' } };
        e.captures[0]!.requiredRules = ['FAIL-001', 'RST-002'];
      }),
      { silent: true },
    );
    expect(strict.exitCode).toBe(1);
    expect(strict.fixtures[0]!.captures[0]!.failingRules).toEqual(['DSS-006', 'MBX-004']) // DSS-006: the reinjected copy of the flipped range differs (a real error);
  });

  it('diff entry: k11’s pair does not show MBX-001 (the SYN/ACK passed untouched); requiring it fails', async () => {
    const d = fixtureCopy('kernel/k11-strip-nonsyn', (e) => {
      e.diffs![0]!.requiredRules = ['MBX-001'];
      e.diffs![0]!.forbiddenRules = ['MBX-002'];
    });
    const r = await runGate(d, { silent: true });
    expect(r.exitCode).toBe(1);
    const x = r.fixtures[0]!.diffs[0]!;
    expect(x.failing).toEqual(['requiredRules MBX-001', 'forbiddenRules MBX-002']);
    expect(x.failingRules).toEqual(['MBX-001', 'MBX-002']);
    expect(r.fixtures[0]!.captures.every((c) => c.passed)).toBe(true);
  });

  it('JUnit of a failing run: <failure> on exactly the failing testcases, still well-formed', async () => {
    const d = fixtureCopy('kernel/k10-strip-synack', (e) => {
      e.captures[0]!.mptcpConnections = 3;
      e.captures[0]!.requiredRules = ['FB-001'];
      e.captures[0]!.forbiddenRules = ['MBX-001'];
    });
    const j = join(tmp(), 'f.xml');
    const r = await runGate(d, { silent: true, junit: j });
    const xml = readFileSync(j, 'utf8');
    const wf = wellFormed(xml);
    expect(wf.why).toBeUndefined();
    expect(wf.testcases).toBe(outcomesOf(r));
    const failed = [...xml.matchAll(/<testcase classname="[^"]*" name="([^"]+)"[^>]*><failure/g)].map((m) => m[1]);
    expect(failed).toEqual(['k10-strip-synack.client.pcap: mptcpConnections', 'k10-strip-synack.client.pcap: forbiddenRules MBX-001']);
    expect(xml).toMatch(/<testsuites name="mptcpscope gate" tests="\d+" failures="2" errors="0"/);
  });
});

describe('bad input is exit 2, with the file and the JSON path', () => {
  it('invalid JSON: file, line and column', async () => {
    const d = fixtureCopy('kernel/k03-fallback');
    writeFileSync(join(d, 'expect.json'), '{\n  "purpose": "x",\n  "captures": [ { "file": "a.pcap", } ]\n}\n');
    const r = await runGate(d, { silent: true });
    expect(r.exitCode).toBe(2);
    expect(r.fixtures[0]!.error).toMatch(/expect\.json: invalid expect\.json:\n {2}not JSON \(line 3, column \d+\)/);
    expect(err).toContain(join(d, 'expect.json'));
  });

  it('schema errors: every problem with its JSON path; unknown rule IDs and metric names are rejected', async () => {
    const d = fixtureCopy('kernel/k03-fallback', (e) => {
      const c = e.captures[0] as unknown as Record<string, unknown>;
      c.fallback = 'stripped';
      c.subflows = -1;
      c.requiredRules = ['MBX-099'];
      c.metrics = { failoverTime: { max: 1 } };
      (e as unknown as Record<string, unknown>).purpose = undefined;
    });
    const r = await runGate(d, { silent: true });
    expect(r.exitCode).toBe(2);
    const msg = r.fixtures[0]!.error!;
    expect(msg).toContain("$: must have required property 'purpose'");
    expect(msg).toContain('$.captures[0].fallback: must be equal to one of the allowed values');
    expect(msg).toContain('$.captures[0].subflows: must be >= 0');
    expect(msg).toContain('$.captures[0].metrics: unknown name "failoverTime"');
    await expect(loadExpect(join(FIXTURES, 'kernel/k03-fallback/expect.json'))).resolves.toBeDefined();
    const d2 = fixtureCopy('kernel/k03-fallback', (e) => {
      e.captures[0]!.requiredRules = ['MBX-099'];
    });
    const r2 = await runGate(d2, { silent: true });
    expect(r2.exitCode).toBe(2);
    expect(r2.fixtures[0]!.error).toContain('$.captures[0].requiredRules[0]: "MBX-099" is not a rule ID');
  });

  it('unreadable capture (missing, or not a capture) and an invalid policy', async () => {
    const d = fixtureCopy('kernel/k03-fallback', (e) => {
      e.diffs = [];
      e.captures.push({ file: 'missing.pcap' }, { file: 'text.pcap' });
    });
    writeFileSync(join(d, 'text.pcap'), 'not a capture at all, only text\n');
    const r = await runGate(d, { silent: true });
    expect(r.exitCode).toBe(2);
    const bad = r.fixtures[0]!.captures.filter((c) => c.error !== undefined).map((c) => c.file);
    expect(bad).toEqual(['missing.pcap', 'text.pcap']);
    expect(err).toContain('missing.pcap');
    const j = join(tmp(), 'e.xml');
    await runGate(d, { silent: true, junit: j });
    const xml = readFileSync(j, 'utf8');
    expect(wellFormed(xml).why).toBeUndefined();
    expect(xml).toMatch(/name="missing\.pcap: readable"[^>]*><error type="unreadable"/);
    const p = fixtureCopy('kernel/k03-fallback', (e) => {
      e.policy = 'nope.json';
    });
    const rp = await runGate(p, { silent: true });
    expect(rp.exitCode).toBe(2);
    expect(rp.fixtures[0]!.error).toContain('$.policy');
    const p2 = fixtureCopy('kernel/k03-fallback', (e) => {
      e.policy = { rules: { 'FB-001': 'maybe' } } as unknown as ExpectFile['policy'];
    });
    expect((await runGate(p2, { silent: true })).exitCode).toBe(2);
  });

  it('a suite folder without expect.json, or missing, is exit 2', async () => {
    expect((await runGate(tmp(), { silent: true })).exitCode).toBe(2);
    expect((await runGate(join(tmp(), 'nope'), { silent: true })).exitCode).toBe(2);
  });
});

describe('CLI: gate and check --expect', () => {
  let out = '';
  beforeEach(() => {
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
  });
  const run = (...args: string[]) => main(['node', 'mptcpscope', ...args]);

  it('gate DIR --json: the verdicts; text names failing expectations', async () => {
    expect(await run('gate', '--json', join(FIXTURES, 'kernel/k10-strip-synack'))).toBe(0);
    const j = JSON.parse(out) as GateResult;
    expect(j.exitCode).toBe(0);
    expect(j.fixtures[0]!.captures.map((c) => [c.file, c.passed])).toEqual([
      ['k10-strip-synack.client.pcap', true],
      ['k10-strip-synack.server.pcap', true],
    ]);
    out = '';
    const d = fixtureCopy('kernel/k10-strip-synack', (e) => {
      e.captures[1]!.subflows = 2;
    });
    expect(await run('gate', d)).toBe(1);
    expect(out).toMatch(/FAIL k10-strip-synack.server.pcap .*\n\s+FAIL subflows: 1 subflow\(s\), expected 2/);
    expect(out).toMatch(/gate FAILED: 0\/1 fixture\(s\) passed/);
  });

  it('check --expect FILE CAPTURE: matched by file name; the single-entry case applies to any capture; no match is exit 2', async () => {
    const e = join(FIXTURES, 'kernel/k10-strip-synack/expect.json');
    expect(await run('check', '--expect', e, join(FIXTURES, 'kernel/k10-strip-synack/k10-strip-synack.server.pcap'))).toBe(0);
    expect(await run('check', '--expect', e, join(FIXTURES, 'kernel/k01-two-subflows/k01-two-subflows.client.pcap'))).toBe(2);
    expect(err).toContain('no captures[] entry');
    const one = join(tmp(), 'expect.json');
    writeFileSync(one, JSON.stringify({ purpose: 'any two-subflow upload without fallback', captures: [{ file: 'x.pcap', subflows: 2, fallback: false }] }));
    expect(await run('check', '--expect', one, join(FIXTURES, 'kernel/k01-two-subflows/k01-two-subflows.client.pcap'))).toBe(0);
    expect(await run('check', '--expect', one, join(FIXTURES, 'kernel/k10-strip-synack/k10-strip-synack.client.pcap'))).toBe(1);
    const r = await runCheckExpect(e, [join(FIXTURES, 'kernel/k10-strip-synack/k10-strip-synack.client.pcap'), join(FIXTURES, 'kernel/k10-strip-synack/k10-strip-synack.server.pcap')], { silent: true });
    expect(r.exitCode).toBe(0);
    // both files of the diff entry were given: the diff runs too
    expect(r.fixtures[0]!.diffs.map((d) => d.passed)).toEqual([true]);
  });
});

describe('docs', () => {
  it('docs/expect.schema.json is the schema the gate validates with', () => {
    expect(readJson(join(REPO_ROOT, 'docs/expect.schema.json'))).toEqual(JSON.parse(JSON.stringify(EXPECT_SCHEMA)));
  });
  it('every expect.json names the schema file, and that path exists', () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (n === 'expect.json') files.push(p);
      }
    };
    walk(FIXTURES);
    for (const f of files) {
      const s = readJson<{ $schema?: string }>(f).$schema;
      expect(s, f).toBeDefined();
      expect(existsSync(join(f, '..', s!)), f).toBe(true);
    }
  });
});

