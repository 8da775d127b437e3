/**
 * `mptcpscope live -i any` on real Linux MPTCP traffic inside network namespaces (root + MPTCP kernel).
 *
 * Two namespaces joined by two veth pairs (paths 10.55.1.0/24 and 10.55.2.0/24); the client's in-kernel
 * path manager opens a 2nd subflow from 10.55.2.1 (endpoint id 2, "subflow"). `live` runs inside the
 * client namespace in NDJSON mode (stdout is a pipe) with `-w`. Once it has reported 2 subflows, path 2
 * is taken down (endpoint 2 deleted, then c1 set down): the kernel sends REMOVE_ADDR and closes subflow 2.
 * Checked against the kernel itself: the server's MIB counters (MPTcpExtMPJoinAckRx = joins accepted,
 * MPTcpExtRmAddr = REMOVE_ADDR received), and the written pcapng re-read by the file analyzer.
 * Everything lives in namespaces created here and is deleted afterwards.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../../analyzer/analyze.js';
import type { LiveEvent } from '../../cli/ui/state.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { deleteNamespaces, namespaceSkipReason } from '../helpers/kernel-env.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');
const XFER = join(REPO_ROOT, 'fixtures', 'generator', 'mptcp_xfer.py');

const SKIP = namespaceSkipReason();

const ID = `mpsl${process.pid}`;
const NS_C = `${ID}-c`;
const NS_S = `${ID}-s`;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
}
const ipc = (...a: string[]): string => sh('ip', ['-n', NS_C, ...a]);
const ips = (...a: string[]): string => sh('ip', ['-n', NS_S, ...a]);

function nstat(ns: string): Record<string, number> {
  const out = sh('ip', ['netns', 'exec', ns, 'nstat', '-asz', '--json']);
  const j = JSON.parse(out) as Record<string, Record<string, number>>;
  return Object.assign({}, ...Object.values(j)) as Record<string, number>;
}

function cleanup(): void {
  deleteNamespaces(NS_C, NS_S);
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(SKIP !== null)(`live -i in network namespaces (${SKIP === null ? 'root + MPTCP kernel' : `SKIPPED: ${SKIP}`})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mps-live-k-'));
  const pcapng = join(dir, 'live.pcapng');
  const events: LiveEvent[] = [];
  let stderr = '';
  let liveExit: number | null = null;
  let server: ChildProcess | undefined;
  let client: { status: number | null; stdout: string } = { status: null, stdout: '' };
  let mibBefore: Record<string, number> = {};
  let mibAfter: Record<string, number> = {};

  beforeAll(async () => {
    cleanup();
    try {
      for (const ns of [NS_C, NS_S]) {
        sh('ip', ['netns', 'add', ns]);
        sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.mptcp.enabled=1']);
        sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      }
      ipc('link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 's0', 'netns', NS_S);
      ipc('link', 'add', 'c1', 'type', 'veth', 'peer', 'name', 's1', 'netns', NS_S);
      ipc('addr', 'add', '10.55.1.1/24', 'dev', 'c0');
      ipc('addr', 'add', '10.55.2.1/24', 'dev', 'c1');
      ips('addr', 'add', '10.55.1.2/24', 'dev', 's0');
      ips('addr', 'add', '10.55.2.2/24', 'dev', 's1');
      for (const d of ['c0', 'c1']) ipc('link', 'set', d, 'up');
      for (const d of ['s0', 's1']) ips('link', 'set', d, 'up');
      // Path 2: from 10.55.2.1 to the server's 10.55.1.2 over c1/s1.
      ipc('rule', 'add', 'from', '10.55.2.1', 'table', '2');
      ipc('route', 'add', '10.55.1.0/24', 'via', '10.55.2.2', 'dev', 'c1', 'table', '2');
      ipc('mptcp', 'limits', 'set', 'subflow', '2', 'add_addr_accepted', '2');
      ips('mptcp', 'limits', 'set', 'subflow', '2', 'add_addr_accepted', '2');
      ipc('mptcp', 'endpoint', 'add', '10.55.2.1', 'dev', 'c1', 'id', '2', 'subflow');
      mibBefore = nstat(NS_S);

      const ready = join(dir, 'ready');
      server = spawn('ip', ['netns', 'exec', NS_S, 'python3', XFER, 'server', '--bind', '10.55.1.2', '--port', '5201', '--ready-file', ready, '--timeout', '40'], { stdio: 'ignore' });
      const live = spawn('ip', ['netns', 'exec', NS_C, process.execPath, CLI, 'live', '-i', 'any', '-w', pcapng, '--stats-interval', '0.5'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      live.stdout!.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)) as LiveEvent);
          buf = buf.slice(i + 1);
        }
      });
      live.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
      });
      const exited = new Promise<void>((r) => live.on('exit', (code) => ((liveExit = code), r())));
      const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
        const end = Date.now() + ms;
        while (!cond()) {
          if (Date.now() > end) throw new Error(`timeout waiting for ${what}; stderr: ${stderr}`);
          await wait(50);
        }
      };
      await until(() => existsSync(ready), 10_000, 'server ready');
      await until(() => events.some((e) => e.type === 'stats'), 10_000, 'live capture running');

      // Upload paced at 2 MB/s for up to 8 s so the connection is alive while path 2 goes down.
      const cl = spawn('ip', ['netns', 'exec', NS_C, 'python3', XFER, 'client', '--connect', '10.55.1.2', '--bind', '10.55.1.1', '--port', '5201', '--bytes', '12000000', '--rate', '2000000', '--duration', '6', '--timeout', '30'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let clOut = '';
      cl.stdout!.on('data', (d: Buffer) => (clOut += d.toString('utf8')));
      const clDone = new Promise<void>((r) => cl.on('exit', (code) => ((client = { status: code, stdout: clOut }), r())));

      await until(() => events.filter((e) => e.type === 'subflow-added').length >= 2, 10_000, '2 subflows');
      await wait(1500);
      ipc('mptcp', 'endpoint', 'delete', 'id', '2');
      await wait(300);
      ipc('link', 'set', 'c1', 'down');
      await clDone;
      await wait(500);
      mibAfter = nstat(NS_S);
      live.kill('SIGINT');
      await Promise.race([exited, wait(10_000)]);
    } catch (e) {
      cleanup();
      throw e;
    }
  }, 60_000);

  afterAll(() => {
    server?.kill('SIGKILL');
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the transfer really was MPTCP (kernel) and live exited cleanly on SIGINT', () => {
    expect(client.status).toBe(0);
    const report = JSON.parse(client.stdout.trim().split('\n').pop()!) as { is_mptcp?: boolean };
    expect(report.is_mptcp).toBe(true);
    expect(stderr).toBe('');
    expect(liveExit).toBe(0);
  });

  it('reports the connection with 2 subflows; the joins match the server kernel MIB', () => {
    const opened = events.filter((e) => e.type === 'connection-opened');
    expect(opened).toHaveLength(1);
    expect(opened[0]!.type === 'connection-opened' && opened[0]!.client.startsWith('10.55.1.1:')).toBe(true);
    expect(opened[0]!.type === 'connection-opened' && opened[0]!.server).toBe('10.55.1.2:5201');
    const added = events.filter((e) => e.type === 'subflow-added');
    expect(added).toHaveLength(2);
    const joins = added.filter((e) => e.kind === 'mp_join');
    expect(joins.length).toBe((mibAfter.MPTcpExtMPJoinAckRx ?? 0) - (mibBefore.MPTcpExtMPJoinAckRx ?? 0));
    expect(joins[0]!.client.ip).toBe('10.55.2.1');
    expect(joins[0]!.client.addressId).toBe(2); // the endpoint id configured above
  });

  it('then the path goes down: REMOVE_ADDR id 2 (matches the server MIB) and subflow 2 closes', () => {
    const rm = events.filter((e) => e.type === 'remove-addr');
    expect(rm.length).toBe((mibAfter.MPTcpExtRmAddr ?? 0) - (mibBefore.MPTcpExtRmAddr ?? 0));
    expect(rm[0]!.type === 'remove-addr' && rm[0]!.addressIds).toEqual([2]);
    expect(rm[0]!.type === 'remove-addr' && rm[0]!.by).toBe('client');
    const join = events.find((e) => e.type === 'subflow-added' && e.kind === 'mp_join')!;
    const closed = events.filter((e) => e.type === 'subflow-closed' && join.type === 'subflow-added' && e.tcpStream === join.tcpStream);
    expect(closed).toHaveLength(1);
    // Reported after it was added, and the initial subflow was not closed before the transfer ended.
    expect(events.indexOf(closed[0]!)).toBeGreaterThan(events.indexOf(join));
  });

  it('stats lines report the capture, with the kernel drop counter; -w was flushed and holds what live saw', async () => {
    const stats = events.filter((e) => e.type === 'stats');
    expect(stats.length).toBeGreaterThan(1);
    const last = stats[stats.length - 1]!;
    if (last.type !== 'stats') throw new Error('unreachable');
    expect(last.dropped).not.toBeNull();
    const a = await analyzeFile(pcapng);
    expect(a.frames).toBe(last.frames);
    expect(a.connections).toHaveLength(1);
    expect(a.connections[0]!.subflows).toHaveLength(2);
    expect(a.connections[0]!.removeAddr.map((r) => r.addressIds)).toEqual([[2]]);
  });
});
