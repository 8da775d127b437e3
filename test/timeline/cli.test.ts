/**
 * `mptcpscope timeline` end to end through the built CLI (dist/): CSV/JSON lines events with selectors,
 * JSON timelines + metrics, plots (SVG and PNG files), bad options. Expected values from tshark sidecars.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { TIMELINE_CSV_COLUMNS, type TimelineJson } from '../../cli/timeline.js';
import { FIXTURES, REPO_ROOT, readSidecar } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');
const REL = 'shared-linux/15b-csum-corrupt-2sf.client.pcap';

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'timeline', ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'timeline.js'))) {
    const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'timeline.js'))) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
  }
});

describe('timeline CLI', () => {
  it('--csv: documented columns; reinjection rows are the tshark reinjection frames; --subflow keeps only that subflow', () => {
    const r = run(join(FIXTURES, REL), '--csv', '--connection', '0');
    expect(r.code, r.stderr).toBe(0);
    const rows = parse(r.stdout, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0]!)).toEqual([...TIMELINE_CSV_COLUMNS]);
    const reinj = rows.filter((x) => x.event === 'reinjection').map((x) => Number(x.frame));
    expect(reinj).toEqual(readSidecar(REL).reinjections!.map((x) => x.frame));
    const side = readSidecar(REL);
    const dataFrames = new Set(rows.filter((x) => x.event === 'data' || x.event === 'retransmission').map((x) => x.tcp_stream));
    expect([...dataFrames].sort()).toEqual(side.tcpStreams.map((s) => String(s.tcpStream)).sort());

    const one = run(join(FIXTURES, REL), '--ndjson', '--connection', '0', '--subflow', '1');
    expect(one.code, one.stderr).toBe(0);
    const ev = one.stdout.trim().split('\n').map((l) => JSON.parse(l) as { subflow: number; tcp_stream: number; event: string; len: number | null });
    expect(ev.length).toBeGreaterThan(0);
    expect(new Set(ev.map((e) => e.subflow))).toEqual(new Set([1]));
    // Payload bytes of subflow 1's data events = tshark's tcp.len sum on its tcp.stream (client → server only carries data).
    const bytes = ev.filter((e) => e.event === 'data' || e.event === 'retransmission').reduce((a, e) => a + (e.len ?? 0), 0);
    expect(bytes).toBe(side.tcpStreams.find((s) => s.tcpStream === ev[0]!.tcp_stream)!.payloadBytes);
  });

  it('--json: timelines and metrics per connection', () => {
    const r = run(join(FIXTURES, REL), '--json', '--no-bins');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as TimelineJson;
    expect(j.connections).toHaveLength(1);
    const c = j.connections[0]!;
    expect(c.connection).toBe(0);
    expect(c.timeline.reinjections.map((x) => x.frame)).toEqual(readSidecar(REL).reinjections!.map((x) => x.frame));
    expect(c.metrics.directions[0]!.bytes).toBe(4_000_000);
    expect(c.timeline.subflows[0]!.dirs[0].bins).toEqual([]);
  });

  it('--plot --png: SVG and PNG files per connection direction', () => {
    const dir = tempDir('mptcpscope-plot-');
    const r = run(join(FIXTURES, REL), '--plot', dir, '--png');
    expect(r.code, r.stderr).toBe(0);
    for (const n of ['connection-0-c2s-sequence', 'connection-0-c2s-throughput']) {
      expect(readFileSync(join(dir, `${n}.svg`), 'utf8')).toMatch(/^<svg/);
      expect(readFileSync(join(dir, `${n}.png`)).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    }
    // No data flowed server → client (only the DATA_FIN): no plot for it.
    expect(existsSync(join(dir, 'connection-0-s2c-sequence.svg'))).toBe(false);
  });

  it('bad options and unreadable input exit with 2', () => {
    expect(run(join(FIXTURES, REL), '--interval', '0').code).toBe(2);
    expect(run(join(FIXTURES, 'does-not-exist.pcap')).code).toBe(2);
  });
});
