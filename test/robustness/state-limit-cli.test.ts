/**
 * `analyze --max-flows`: the tracker's state limit from the command line. On tcpdump's mptcp-v0.pcap
 * (2 TCP conversations per tshark, one MPTCP connection), a limit of 1 flow keeps one flow and evicts the
 * other each time the first sends again, all of it counted in `stateLimit` and reported as a `model`/`limit` error — never silently dropped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CaptureAnalysis } from '../../analyzer/analyze.js';
import { checkAnalysis } from '../../fuzz/engine.js';
import { FIXTURES, REPO_ROOT, readSidecar } from '../helpers/fixtures.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');
const REL = 'public-tcpdump/mptcp-v0.pcap';
const run = (...a: string[]) => spawnSync(process.execPath, [CLI, 'analyze', '--no-progress', ...a], { encoding: 'utf8' });

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')) && spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT }).status !== 0) {
    throw new Error('build failed');
  }
}, 180_000);

describe('analyze --max-flows', () => {
  it('default: nothing evicted, limit reported as 250000', () => {
    const a = JSON.parse(run('--json', join(FIXTURES, REL)).stdout) as CaptureAnalysis;
    expect(a.stateLimit).toEqual({ maxFlows: 250_000, flows: 0, mptcpFlows: 0, closedFlows: 0, packets: 0, bytes: 0 });
  });
  it('limit 1 on a 2-conversation capture: one flow evicted, counted and reported; packets conserved', () => {
    const sc = readSidecar(REL);
    expect(sc.tcpStreams.length).toBe(2);
    const r = run('--json', '--max-flows', '1', join(FIXTURES, REL));
    expect(r.status).toBe(0);
    const a = JSON.parse(r.stdout) as CaptureAnalysis;
    expect(checkAnalysis(a)).toEqual([]);
    expect(a.stateLimit.maxFlows).toBe(1);
    // The two conversations interleave: each time the evicted one sends again it is a new flow, and the
    // other one is evicted in turn (thrashing, all of it counted).
    expect(a.stateLimit.flows).toBeGreaterThanOrEqual(1);
    const kept = [...a.connections.flatMap((c) => c.subflows.map((s) => s.packets)), ...a.tcpConnections.map((t) => t.packets)];
    expect(kept.length).toBe(1);
    expect(kept[0]! + a.stateLimit.packets).toBe(sc.frames);
    const e = a.errors.find((x) => x.layer === 'model')!;
    expect(e.kind).toBe('limit');
    expect(e.frame).toBe(a.stateLimit.firstFrame);
    // the text report shows it as a problem group
    expect(run('--max-flows', '1', join(FIXTURES, REL)).stdout).toMatch(/1 × model limit \[max flows\].*state limit of 1 flows reached/);
  });
  it('rejects a limit below 1 with exit 2', () => {
    const r = run('--max-flows', '0', join(FIXTURES, REL));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--max-flows must be a positive integer/);
  });
});
