/**
 * `mptcpscope live -i` survives hostile conditions on a real interface (issue 8, live part), in two network
 * namespaces joined by one veth pair (ra ↔ rb). `live -i ra -w FILE` runs in NDJSON mode in namespace A;
 * frames are injected from namespace B with a raw AF_PACKET socket (python3) on rb:
 *  1. malformed frames (IPv4 IHL 3, TCP data offset past the frame, an MPTCP option running past the TCP
 *     header, a DSS with a bad length) between valid ones: each is a `problem` event with its frame number,
 *     and the valid frames after them are still decoded;
 *  2. the interface goes down and comes back (`ip link set ra down/up`): a `capture` lost / reopened pair,
 *     frames sent after it are captured, -w holds every frame live counted;
 *  3. a burst (N frames as fast as python can send): no crash; every injected frame is either delivered
 *     or in the drop counter (kernel ring + capture child), checked against the injector's count.
 * Everything lives in namespaces created here and deleted afterwards.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../../analyzer/analyze.js';
import type { LiveEvent } from '../../cli/ui/state.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { deleteNamespaces, namespaceSkipReason } from '../helpers/kernel-env.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');

const SKIP = namespaceSkipReason();
const ID = `mpsr${process.pid}`;
const NS_A = `${ID}-a`;
const NS_B = `${ID}-b`;

/**
 * Injector: python3 - KIND [N] on rb. Prints the number of frames sent. Ethernet/IPv4/TCP built by hand
 * (checksums 0: the analyzer does not judge IP/TCP checksums), 10.66.0.2:40000 → 10.66.0.1:5201.
 */
const INJECT_PY = String.raw`
import socket, struct, sys
kind = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 1
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('rb', 0))
eth = b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x02' + b'\x08\x00'
def ip(payload, ihl=5, total=None):
    t = total if total is not None else 20 + len(payload)
    return struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, t, 1, 0, 64, 6, 0, socket.inet_aton('10.66.0.2'), socket.inet_aton('10.66.0.1')) + payload
def tcp(seq, flags=0x10, opts=b'', doff=None, payload=b''):
    while len(opts) % 4: opts += b'\x01'
    d = doff if doff is not None else 5 + len(opts) // 4
    return struct.pack('!HHIIBBHHH', 40000, 5201, seq, 1, d << 4, flags, 65535, 0, 0) + opts + payload
good = lambda i: eth + ip(tcp(1000 + i * 10, payload=b'x' * 10))
sent = 0
if kind == 'malformed':
    frames = [
        good(0),
        eth + ip(tcp(1), ihl=3),                                   # IPv4 IHL 3 (< 5)
        eth + ip(tcp(2, doff=15)),                                  # TCP data offset 60 > 20 bytes there
        eth + ip(tcp(3, opts=b'\x1e\x28\x20\x01')),                 # MPTCP option length 40 past the header
        eth + ip(tcp(4, opts=b'\x1e\x09\x20\x01\x00\x00\x00\x00\x00')),  # DSS with length 9
        good(1), good(2),
    ]
    for f in frames: s.send(f); sent += 1
else:
    for i in range(n): s.send(good(i)); sent += 1
print(sent)
`;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
}
const inject = (kind: string, n = 1): number => Number(sh('ip', ['netns', 'exec', NS_B, 'python3', '-c', INJECT_PY, kind, String(n)]).trim());

function cleanup(): void {
  deleteNamespaces(NS_A, NS_B);
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(SKIP !== null)(`live -i under malformed frames, interface down/up and a burst (${SKIP === null ? 'root + netns' : `SKIPPED: ${SKIP}`})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mps-live-r-'));
  const pcapng = join(dir, 'live.pcapng');
  const events: LiveEvent[] = [];
  let stderr = '';
  let exit: number | null = null;
  let live: ChildProcess | undefined;
  const sent = { malformed: 0, afterUp: 0, burst: 0 };
  const framesAt = { malformed: 0, afterUp: 0 };

  const statsNow = (): Extract<LiveEvent, { type: 'stats' }> | undefined => events.filter((e) => e.type === 'stats').pop() as Extract<LiveEvent, { type: 'stats' }> | undefined;
  const until = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timeout waiting for ${what}; stderr: ${stderr}`);
      await wait(50);
    }
  };

  beforeAll(async () => {
    cleanup();
    try {
      for (const ns of [NS_A, NS_B]) sh('ip', ['netns', 'add', ns]);
      sh('ip', ['-n', NS_A, 'link', 'add', 'ra', 'type', 'veth', 'peer', 'name', 'rb', 'netns', NS_B]);
      sh('ip', ['-n', NS_A, 'addr', 'add', '10.66.0.1/24', 'dev', 'ra']);
      sh('ip', ['-n', NS_A, 'link', 'set', 'ra', 'up']);
      sh('ip', ['-n', NS_B, 'link', 'set', 'rb', 'up']);
      live = spawn('ip', ['netns', 'exec', NS_A, process.execPath, CLI, 'live', '-i', 'ra', '-w', pcapng, '--stats-interval', '0.2', '--no-timeline'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      live.stdout!.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)) as LiveEvent);
          buf = buf.slice(i + 1);
        }
      });
      live.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const exited = new Promise<void>((r) => live!.on('exit', (code) => ((exit = code), r())));
      await until(() => statsNow() !== undefined, 10_000, 'live capture running');
      await wait(300);

      // 1. Malformed frames between valid ones.
      sent.malformed = inject('malformed');
      await until(() => (statsNow()?.frames ?? 0) >= sent.malformed, 5000, 'malformed frames captured');
      framesAt.malformed = statsNow()!.frames;

      // 2. Interface down, then up; frames sent afterwards must be captured.
      sh('ip', ['-n', NS_A, 'link', 'set', 'ra', 'down']);
      await until(() => events.some((e) => e.type === 'capture' && e.kind === 'lost'), 5000, 'capture lost');
      await wait(1200);
      sh('ip', ['-n', NS_A, 'link', 'set', 'ra', 'up']);
      await until(() => events.some((e) => e.type === 'capture' && e.kind === 'reopened'), 8000, 'capture reopened');
      await wait(300);
      sent.afterUp = inject('good', 20);
      await until(() => (statsNow()?.frames ?? 0) >= framesAt.malformed + sent.afterUp, 5000, 'frames after reopen');
      framesAt.afterUp = statsNow()!.frames;

      // 3. Burst.
      sent.burst = inject('good', 30000);
      await wait(2500);
      live.kill('SIGINT');
      await Promise.race([exited, wait(10_000)]);
    } catch (e) {
      live?.kill('SIGKILL');
      cleanup();
      throw e;
    }
  }, 90_000);

  afterAll(() => {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('malformed frames are reported as problems with their frame numbers, and the frames after them are decoded', () => {
    const problems = events.filter((e) => e.type === 'problem') as Array<Extract<LiveEvent, { type: 'problem' }>>;
    const frames = new Set(problems.map((p) => p.frame));
    for (const f of [2, 3, 4, 5]) expect(frames.has(f)).toBe(true); // the 4 bad ones (frames 2–5)
    for (const f of [1, 6, 7]) expect(frames.has(f)).toBe(false); // the good ones around them
    expect(problems.find((p) => p.frame === 2)!.layer).toBe('ipv4');
    expect(problems.find((p) => p.frame === 3)!.layer).toBe('tcp');
    expect(framesAt.malformed).toBe(sent.malformed);
  });

  it('the interface going down is reported, the capture reopens, and frames sent after it are captured', () => {
    const cap = events.filter((e) => e.type === 'capture') as Array<Extract<LiveEvent, { type: 'capture' }>>;
    expect(cap[0]!.kind).toBe('lost');
    expect(cap[0]!.message).toMatch(/ra lost after frame 7: the interface went down/);
    expect(cap[cap.length - 1]!.kind).toBe('reopened');
    expect(framesAt.afterUp).toBe(sent.malformed + sent.afterUp);
  });

  it('a burst: no crash, clean exit on SIGINT, every frame delivered or counted as dropped; -w holds what live counted', async () => {
    expect(stderr).toBe('');
    expect(exit).toBe(0);
    const last = statsNow()!;
    expect(last.dropped).not.toBeNull();
    expect(last.frames + last.dropped!).toBe(sent.malformed + sent.afterUp + sent.burst);
    const a = await analyzeFile(pcapng);
    expect(a.frames).toBe(last.frames);
    expect(a.errorCount).toBe(last.problems);
  });
});
