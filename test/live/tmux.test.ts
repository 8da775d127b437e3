/**
 * The TUI through a real terminal: `live -r` runs inside a detached tmux session (a real pty), the
 * pane is read with capture-pane as a user would see it, keys go in with send-keys, and `q` quits.
 * Expected values come from the 03-remove-addr tshark/tcpdump sidecars. Skipped when tmux is missing.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, REPO_ROOT, readSidecar } from '../helpers/fixtures.js';
import { tcpdumpFacts } from './helpers.js';

const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;
const SESSION = `mps-live-${process.pid}`;
const REL = 'shared-linux/03-remove-addr.client.pcap';
const tmux = (...a: string[]): string => spawnSync('tmux', a, { encoding: 'utf8' }).stdout;
const pane = (): string => tmux('capture-pane', '-p', '-t', SESSION);
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: (p: string) => boolean, ms: number): Promise<string> {
  const end = Date.now() + ms;
  let p = pane();
  while (!cond(p) && Date.now() < end) {
    await wait(100);
    p = pane();
  }
  return p;
}

describe.runIf(HAVE_TMUX)('live TUI in a real terminal (tmux)', () => {
  afterAll(() => {
    spawnSync('tmux', ['kill-session', '-t', SESSION]);
  });

  it('renders the replay as a user sees it, and q quits with status 0', async () => {
    const sc = readSidecar(REL);
    const facts = tcpdumpFacts(REL);
    const rmFrame = [...facts].find(([, it]) => it.some((i) => i.name === 'rem-addr'))![0];
    // ink renders only the last frame when it thinks it runs in CI (is-in-ci: CI / CONTINUOUS_INTEGRATION);
    // a person at a terminal has neither, so the child runs without them.
    const cmd = `env -u CI -u CONTINUOUS_INTEGRATION ${process.execPath} ${join(REPO_ROOT, 'bin', 'mptcpscope.js')} live -r ${join(FIXTURES, REL)} --speed 4; echo LIVE-EXITED:$?; sleep 30`;
    const r = spawnSync('tmux', ['new-session', '-d', '-s', SESSION, '-x', '130', '-y', '32', cmd]);
    expect(r.status).toBe(0);
    // Wait until the replay has reached its end ("end of capture" in the status bar).
    const p = await until((s) => s.includes('(end of capture)'), 20_000);
    expect(p).toContain('↑/↓ select');
    expect(p).toContain('q quit');
    for (const s of sc.tcpStreams) expect(p).toContain(`${s.src}:${s.srcPort}`);
    expect(p).toContain(`frame ${rmFrame}: REMOVE_ADDR id 2 by client`);
    expect(p).toMatch(new RegExp(`${sc.frames} frames`));
    // Enter: details with the keys from the sidecar.
    tmux('send-keys', '-t', SESSION, 'Enter');
    const d = await until((s) => s.includes('key '), 5_000);
    const s0 = sc.tcpStreams.find((s) => s.synKind === 'mp_capable')!;
    expect(d).toContain(`key ${s0.sendKey}`);
    tmux('send-keys', '-t', SESSION, 'q');
    const q = await until((s) => s.includes('LIVE-EXITED:'), 5_000);
    expect(q).toContain('LIVE-EXITED:0');
  }, 40_000);
});
