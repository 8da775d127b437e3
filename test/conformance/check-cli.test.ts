/**
 * `mptcpscope check` (cli/check.ts through cli/main.ts): exit 0 on a clean capture, 1 when an
 * error-severity finding remains (15b server: DSS-002), 0 for the same file when a policy downgrades
 * DSS-002, 2 for a missing file / a file that is not a capture / an invalid policy; --json carries
 * findings with id and severity; --junit writes one testcase per rule and connection with the failure.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { xmlEscape } from '../../conformance/report/junit.js';
import { fx, tmp } from './helpers.js';

let out = '';
beforeEach(() => {
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

const run = (...args: string[]) => main(['node', 'mptcpscope', 'check', ...args]);
const BAD = fx('shared-linux/15b-csum-corrupt-2sf.server.pcap');
const CLEAN = fx('shared-linux/01-basic.client.pcap');

describe('mptcpscope check', () => {
  it('exit 0 and no finding on a clean capture', async () => {
    expect(await run(CLEAN)).toBe(0);
    expect(out).toMatch(/0 finding\(s\)/);
  });

  it('exit 1 with the DSS-002 error grouped under its connection', async () => {
    expect(await run(BAD)).toBe(1);
    expect(out).toMatch(/connection 0 .*\n(.*\n)*\s+ERROR DSS-002\s+frame 819/);
  });

  it('--json: findings with id, severity, frames, connection', async () => {
    expect(await run('--json', BAD)).toBe(1);
    const j = JSON.parse(out) as { findings: Array<{ id: string; severity: string; action: string; connection: number; frames: number[] }>; summary: { failing: number }; pendingTimeline: string[] };
    const e = j.findings.filter((x) => x.severity === 'error');
    expect(e.map((x) => [x.id, x.action, x.connection, x.frames[0]])).toEqual([
      ['DSS-002', 'error', 0, 819],
      // The same flipped byte makes the reinjected copy of that DSN range differ (conformance/rules/sequence.ts).
      ['DSS-006', 'error', 0, 864],
    ]);
    expect(j.summary.failing).toBe(2);
    expect(j.pendingTimeline).toEqual([]);
  });

  it('--policy downgrading DSS-002 and DSS-006 passes the gate; an invalid policy is exit 2', async () => {
    const d = tmp();
    writeFileSync(join(d, 'p.json'), JSON.stringify({ rules: { 'DSS-002': 'warn', 'DSS-006': 'warn' } }));
    expect(await run('--policy', join(d, 'p.json'), BAD)).toBe(0);
    writeFileSync(join(d, 'bad.json'), JSON.stringify({ rules: { 'DSS-002': 'maybe' } }));
    expect(await run('--policy', join(d, 'bad.json'), BAD)).toBe(2);
  });

  it('exit 2 for a missing file or a non-capture', async () => {
    expect(await run(join(tmp(), 'missing.pcap'))).toBe(2);
    const d = tmp();
    writeFileSync(join(d, 'x.pcap'), 'this is not a capture file at all, just text\n');
    expect(await run(join(d, 'x.pcap'))).toBe(2);
  });

  it('--junit: one testcase per rule and connection, the failure on DSS-002', async () => {
    const x = join(tmp(), 'j.xml');
    expect(await run('--junit', x, BAD, CLEAN)).toBe(1);
    const xml = readFileSync(x, 'utf8');
    const cases = xml.match(/<testcase /g) ?? [];
    const suites = [...xml.matchAll(/<testsuite name="([^"]+)" tests="(\d+)" failures="(\d+)"/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
    expect(suites.map((s) => s[2])).toEqual([2, 0]);
    expect(cases.length).toBe(suites.reduce((n, s) => n + (s[1] as number), 0));
    expect(xml).toMatch(/name="DSS-002"><failure type="error"/);
  });

  it('xmlEscape escapes markup and drops characters XML 1.0 forbids', () => {
    expect(xmlEscape(`a<b>&"c'\u0001`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;\uFFFD');
  });
});
