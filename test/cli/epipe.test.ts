/** `mptcpscope … | head`: the reader closes the pipe early; the command stops quietly (no EPIPE stack trace). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, REPO_ROOT } from '../helpers/fixtures.js';

const BIN = join(REPO_ROOT, 'bin', 'mptcpscope.js');

function piped(args: string[]): { status: number; stderr: string; stdout: string } {
  // bash reports the CLI's exit status in PIPESTATUS[0]; `head -c 1` closes the pipe after one byte.
  const cmd = `node ${BIN} ${args.map((a) => `'${a}'`).join(' ')} | head -c 1 >/dev/null; echo "status=\${PIPESTATUS[0]}"`;
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, NODE_ENV: 'test' } });
  const m = /status=(\d+)/.exec(r.stdout);
  return { status: m ? Number(m[1]) : -1, stderr: r.stderr, stdout: r.stdout };
}

describe('output to a pipe closed early', () => {
  it.each([
    [['live', '--help']],
    [['analyze', '--tcp', join(FIXTURES, 'shared-linux', '01-basic.client.pcap'), join(FIXTURES, 'shared-linux', '09-loss.client.pcap'), join(FIXTURES, 'shared-linux', '04-backup-prio.client.pcap')]],
    [['check', '--json', join(FIXTURES, 'shared-linux', '15b-csum-corrupt-2sf.client.pcap'), join(FIXTURES, 'shared-linux', '01-basic.client.pcap')]],
  ])('%j: no stack trace, exit status unchanged', (args) => {
    const r = piped(args);
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|at .*\(node:/);
    expect(r.status).toBe(0);
  }, 60_000);
});
