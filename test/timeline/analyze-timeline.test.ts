/**
 * `mptcpscope analyze --timeline` through the built CLI: the per-connection multipath metrics in the text
 * and in --json (`connections[].metrics`, docs/analyze-json.md), validated by docs/analyze-json.schema.json
 * and equal to what `mptcpscope timeline --json` reports for the same capture.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { schemaValidator } from '../../fuzz/engine.js';
import type { ConnectionMetrics } from '../../analyzer/timeline/metrics.js';
import { FIXTURES, REPO_ROOT } from '../helpers/fixtures.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'analyze.js'))) {
    const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'analyze.js'))) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
  }
});

const K08 = join(FIXTURES, 'kernel', 'k08-path-failure', 'k08-path-failure.client.pcap');
const BASIC = join(FIXTURES, 'shared-linux', '01-basic.client.pcap');
const K04 = join(FIXTURES, 'kernel', 'k04-remove-addr', 'k04-remove-addr.client.pcap');

describe('analyze --timeline', () => {
  it('--json: connections[].metrics validates against the schema and equals timeline --json metrics', () => {
    for (const f of [K08, BASIC, K04]) {
      const a = cli('analyze', '--timeline', '--json', '--no-progress', f);
      expect(a.code, a.stderr).toBe(0);
      const out = JSON.parse(a.stdout) as { connections: Array<{ id: number; metrics?: ConnectionMetrics }> };
      expect(schemaValidator()(out), f).toBe(true);
      const t = cli('timeline', '--json', f);
      expect(t.code, t.stderr).toBe(0);
      const tl = JSON.parse(t.stdout) as { connections: Array<{ connection: number; metrics: ConnectionMetrics }> };
      expect(out.connections.length).toBeGreaterThan(0);
      for (const c of out.connections) expect(c.metrics, `${f} connection ${c.id}`).toEqual(tl.connections.find((x) => x.connection === c.id)!.metrics);
    }
  });

  it('without --timeline there is no metrics field', () => {
    const a = cli('analyze', '--json', '--no-progress', BASIC);
    expect(a.code, a.stderr).toBe(0);
    expect((JSON.parse(a.stdout) as { connections: Array<Record<string, unknown>> }).connections.every((c) => !('metrics' in c))).toBe(true);
  });

  it('text: aggregation gain, per-path lines and failover lines with the JSON numbers (k08: path 2 link down)', () => {
    const j = JSON.parse(cli('analyze', '--timeline', '--json', '--no-progress', K08).stdout) as { connections: Array<{ metrics: ConnectionMetrics }> };
    const m = j.connections[0]!.metrics;
    const txt = cli('analyze', '--timeline', '--no-progress', K08);
    expect(txt.code, txt.stderr).toBe(0);
    const d = m.directions.find((x) => x.dataDir === 0)!;
    expect(txt.stdout).toContain(`aggregation gain ${d.aggregationGain!.toFixed(2)}`);
    for (const p of m.paths) expect(txt.stdout).toContain(`path ${p.local} -> ${p.remote}`);
    const fo = m.failovers.find((f) => f.firstReinjection !== undefined)!;
    expect(txt.stdout).toMatch(new RegExp(`failover sf 1 client→server \\(stopped\\): .*reinjection after ${Math.round(fo.timeToReinjection! * 1000)} ms`));
    // k04: the removed subflow's episode is labelled remove-addr and has no reinjection.
    const k04 = cli('analyze', '--timeline', '--no-progress', K04).stdout;
    expect(k04).toMatch(/failover sf 1 client→server \(remove-addr\): last delivered at \+[0-9.]+ s, no reinjection/);
  });
});
