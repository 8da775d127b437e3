/**
 * Does `mptcpscope live -i` keep up with a saturating MPTCP transfer over veth?
 *
 *   node dist/bench/live-keepup.js [--seconds 5] [--offload on|off] [--subflows 1|2] [--rate BYTES_PER_S] [--no-tcpdump] [--buffer-size BYTES] [--spool-size BYTES] [--no-timeline] [--no-findings] [--write FILE] [--cpu-prof DIR]
 *
 * Root only. Builds two network namespaces joined by two veth pairs, runs an unpaced upload with
 * fixtures/generator/mptcp_xfer.py (Linux MPTCP, one or two subflows), and runs the live TUI inside the
 * client namespace in a private tmux server (a real pty) with MPTCPSCOPE_LIVE_METRICS set. Prints one JSON
 * line: packets the client interfaces counted (tx+rx, /sys/class/net statistics), frames live captured,
 * kernel drops (PACKET_STATISTICS tp_drops, as pcap_stats), the same for a tcpdump run alongside (unless
 * --no-tcpdump), packets/s, and the redraw rate (model snapshots and terminal
 * writes per second), and the largest backlog of the capture child (frames waiting for the analysing process)
 * and how long after the transfer live had caught up. `--offload off` turns GSO/GRO/TSO off so every segment is
 * MSS-sized (more packets/s).
 * Everything is created in namespaces of its own and removed at exit.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO, 'bin', 'mptcpscope.js');
const XFER = join(REPO, 'fixtures', 'generator', 'mptcp_xfer.py');
const OFFLOAD = join(REPO, 'fixtures', 'generator', 'netdev_offload.py');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const SECONDS = Number(arg('seconds', '5'));
const OFFLOADS = arg('offload', 'on');
const SUBFLOWS = Number(arg('subflows', '2'));
/** Pace the upload at this many bytes/s (0 = saturating). */
const RATE = Number(arg('rate', '0'));
const TCPDUMP = !process.argv.includes('--no-tcpdump');
/** live --buffer-size (bytes); default live's own. */
const BUFFER = arg('buffer-size', '');
/** live --spool-size (bytes; 0 = drop when the pipe buffer is full, as before the spool); default live's own. */
const SPOOL = arg('spool-size', '');
/** Pass --no-timeline to live (no sequence timelines: less CPU per packet). */
const NO_TIMELINE = process.argv.includes('--no-timeline');
/** live -w FILE: keep what was captured (e.g. to profile `live -r FILE --speed max` on it). */
const WRITE = arg('write', '');
/** Profile the live (analysing) process: node --cpu-prof into this folder (summarise with dist/bench/cpuprofile.js). */
const CPU_PROF = arg('cpu-prof', '');
/** Pass --no-findings to live (no conformance detectors). */
const NO_FINDINGS = process.argv.includes('--no-findings');

const ID = `mpsb${process.pid}`;
const C = `${ID}-c`;
const S = `${ID}-s`;
const TMUX = ['-L', `${ID}-tmux`];
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cleanup(): void {
  spawnSync('ip', ['netns', 'exec', C, 'tmux', ...TMUX, 'kill-server']);
  for (const ns of [C, S]) {
    if (!existsSync(`/run/netns/${ns}`)) continue;
    for (const p of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter((x) => x !== '')) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** CPU seconds (user + system) used so far by the `node` processes in the client namespace: live and its capture child (analyzer/capture/live-worker.ts), apart. */
function liveCpuSeconds(): { live: number; child: number } {
  const ticks = { live: 0, child: 0 };
  for (const p of spawnSync('ip', ['netns', 'pids', C], { encoding: 'utf8' }).stdout.split('\n')) {
    if (p === '') continue;
    try {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() !== 'node') continue;
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const child = readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('live-worker');
      ticks[child ? 'child' : 'live'] += Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
    } catch {
      /* gone */
    }
  }
  return { live: ticks.live / 100, child: ticks.child / 100 }; // USER_HZ
}

function ifPackets(): number {
  let n = 0;
  for (const d of ['c0', 'c1']) {
    for (const k of ['tx_packets', 'rx_packets']) n += Number(sh('ip', ['netns', 'exec', C, 'cat', `/sys/class/net/${d}/statistics/${k}`]).trim());
  }
  return n;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  const dir = mkdtempSync(join(tmpdir(), 'mps-bench-live-'));
  const metricsFile = join(dir, 'metrics.json');
  process.on('exit', cleanup);
  try {
    for (const ns of [C, S]) {
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh('ip', ['-n', C, 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 's0', 'netns', S]);
    sh('ip', ['-n', C, 'link', 'add', 'c1', 'type', 'veth', 'peer', 'name', 's1', 'netns', S]);
    sh('ip', ['-n', C, 'addr', 'add', '10.56.1.1/24', 'dev', 'c0']);
    sh('ip', ['-n', C, 'addr', 'add', '10.56.2.1/24', 'dev', 'c1']);
    sh('ip', ['-n', S, 'addr', 'add', '10.56.1.2/24', 'dev', 's0']);
    sh('ip', ['-n', S, 'addr', 'add', '10.56.2.2/24', 'dev', 's1']);
    for (const d of ['c0', 'c1']) sh('ip', ['-n', C, 'link', 'set', d, 'up']);
    for (const d of ['s0', 's1']) sh('ip', ['-n', S, 'link', 'set', d, 'up']);
    if (OFFLOADS === 'off') {
      sh('ip', ['netns', 'exec', C, 'python3', OFFLOAD, 'off', 'c0', 'c1']);
      sh('ip', ['netns', 'exec', S, 'python3', OFFLOAD, 'off', 's0', 's1']);
    }
    sh('ip', ['-n', C, 'rule', 'add', 'from', '10.56.2.1', 'table', '2']);
    sh('ip', ['-n', C, 'route', 'add', '10.56.1.0/24', 'via', '10.56.2.2', 'dev', 'c1', 'table', '2']);
    sh('ip', ['-n', C, 'mptcp', 'limits', 'set', 'subflow', '2']);
    sh('ip', ['-n', S, 'mptcp', 'limits', 'set', 'subflow', '2']);
    if (SUBFLOWS > 1) sh('ip', ['-n', C, 'mptcp', 'endpoint', 'add', '10.56.2.1', 'dev', 'c1', 'id', '2', 'subflow']);

    const ready = join(dir, 'ready');
    spawn('ip', ['netns', 'exec', S, 'python3', XFER, 'server', '--bind', '10.56.1.2', '--port', '5201', '--ready-file', ready, '--timeout', String(SECONDS + 30)], { stdio: 'ignore' });
    const cmd = `MPTCPSCOPE_LIVE_METRICS=${metricsFile} ${process.execPath}${CPU_PROF !== '' ? ` --cpu-prof --cpu-prof-dir=${resolve(CPU_PROF)}` : ''} ${CLI} live -i any${BUFFER !== '' ? ` --buffer-size ${BUFFER}` : ''}${SPOOL !== '' ? ` --spool-size ${SPOOL}` : ''}${NO_TIMELINE ? ' --no-timeline' : ''}${NO_FINDINGS ? ' --no-findings' : ''}${WRITE !== '' ? ` -w ${WRITE}` : ''} 2>${join(dir, 'stderr.txt')}`;
    sh('ip', ['netns', 'exec', C, 'tmux', ...TMUX, 'new-session', '-d', '-x', '120', '-y', '35', cmd]);
    for (let i = 0; i < 100 && !existsSync(ready); i++) await wait(50);
    await wait(1500); // live up and drawing

    // Reference: tcpdump on the same interface and filter, started and stopped around the transfer.
    const td = spawn('ip', TCPDUMP ? ['netns', 'exec', C, 'tcpdump', '-i', 'any', '-n', '-B', '32768', '--immediate-mode', '-w', '/dev/null', 'tcp'] : ['-V'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let tdErr = '';
    td.stderr!.on('data', (d: Buffer) => (tdErr += d.toString('utf8')));
    const tdExit = new Promise<void>((r) => td.on('exit', () => r()));
    await wait(1000);
    const before = ifPackets();
    const cpu0 = liveCpuSeconds();
    const t0 = Date.now();
    const client = spawnSync(
      'ip',
      ['netns', 'exec', C, 'python3', XFER, 'client', '--connect', '10.56.1.2', '--bind', '10.56.1.1', '--port', '5201', '--bytes', String(100e9), '--duration', String(SECONDS), ...(RATE > 0 ? ['--rate', String(RATE)] : []), '--timeout', String(SECONDS + 20)],
      { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 },
    );
    const secs = (Date.now() - t0) / 1000;
    const ifp = ifPackets() - before;
    const report = JSON.parse(client.stdout.trim().split('\n').pop() ?? '{}') as { bytes?: number; bytes_tx?: number; is_mptcp?: boolean; max_subflows_seen?: number };
    if (report.bytes === undefined && report.bytes_tx !== undefined) report.bytes = report.bytes_tx;
    // Let live drain its queue: at least 1 s, and while its status bar says it runs behind (frames waiting in the
    // capture child's spool), up to 60 s more.
    const tEnd = Date.now();
    await wait(1000);
    for (let i = 0; i < 300 && / behind \d/.test(sh('ip', ['netns', 'exec', C, 'tmux', ...TMUX, 'capture-pane', '-p'])); i++) await wait(200);
    const drainSeconds = (Date.now() - tEnd) / 1000;
    const cpu1 = liveCpuSeconds();
    const cpuMain = cpu1.live - cpu0.live;
    const cpuChild = cpu1.child - cpu0.child;
    const cpu = cpuMain + cpuChild;
    // tcpdump runs in the namespace as a child of `ip netns exec`: signal the tcpdump process itself.
    for (const p of spawnSync('ip', ['netns', 'pids', C], { encoding: 'utf8' }).stdout.split('\n')) {
      if (p !== '' && readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'tcpdump') process.kill(Number(p), 'SIGINT');
    }
    await tdExit;
    const tdCaptured = Number(/(\d+) packets captured/.exec(tdErr)?.[1] ?? Number.NaN);
    const tdDropped = Number(/(\d+) packets dropped by kernel/.exec(tdErr)?.[1] ?? Number.NaN);
    const pane = sh('ip', ['netns', 'exec', C, 'tmux', ...TMUX, 'capture-pane', '-p']);
    sh('ip', ['netns', 'exec', C, 'tmux', ...TMUX, 'send-keys', 'q']);
    for (let i = 0; i < 100 && !existsSync(metricsFile); i++) await wait(100);
    if (!existsSync(metricsFile)) throw new Error(`live wrote no metrics; pane:\n${pane}\nstderr: ${readFileSync(join(dir, 'stderr.txt'), 'utf8')}`);
    // The profile is written when live exits (after the metrics): wait for it before the namespaces are torn down.
    for (let i = 0; CPU_PROF !== '' && i < 100 && !(existsSync(CPU_PROF) && readdirSync(CPU_PROF).some((f) => f.endsWith('.cpuprofile'))); i++) await wait(100);
    const m = JSON.parse(readFileSync(metricsFile, 'utf8')) as { wallSeconds: number; snapshots: number; renders: number; stdoutWrites: number; frames: number; dropped: number | null; capture: { dropped: number | null; userspaceDropped: number; unreadAtStop: number; maxBacklogBytes?: number } | null };
    const out = {
      offloads: OFFLOADS,
      subflowsConfigured: SUBFLOWS,
      subflowsSeen: report.max_subflows_seen ?? null,
      pacedRate: RATE > 0 ? RATE : 'unpaced',
      bufferSize: BUFFER !== '' ? Number(BUFFER) : 'default',
      spoolSize: SPOOL !== '' ? Number(SPOOL) : 'default',
      timeline: !NO_TIMELINE,
      findings: !NO_FINDINGS,
      transferSeconds: Math.round(secs * 100) / 100,
      payloadBytes: report.bytes ?? null,
      goodputMbit: report.bytes !== undefined ? Math.round(((report.bytes * 8) / secs / 1e6) * 10) / 10 : null,
      isMptcp: report.is_mptcp ?? null,
      interfacePackets: ifp,
      interfacePacketsPerSecond: Math.round(ifp / secs),
      liveFrames: m.frames,
      tcpdumpCaptured: tdCaptured,
      tcpdumpKernelDrops: tdDropped,
      /** Frames live lost, all causes (what its status bar shows), then by cause: the kernel ring (PACKET_STATISTICS tp_drops), the capture child's bounded buffer (the analysing process read too slowly), still in the pipe when live stopped. */
      liveDrops: m.dropped,
      kernelDrops: m.capture?.dropped ?? null,
      userspaceDrops: m.capture?.userspaceDropped ?? null,
      unreadAtStop: m.capture?.unreadAtStop ?? null,
      /** The most the analysis ran behind the capture (bytes waiting in the capture child's pipe buffer and spool), and how long after the transfer's end live had caught up (≥ 1 s: the wait before reading the counters). */
      maxBacklogMB: m.capture?.maxBacklogBytes !== undefined ? Math.round(m.capture.maxBacklogBytes / 1e5) / 10 : null,
      drainSeconds: Math.round(drainSeconds * 10) / 10,
      liveWallSeconds: m.wallSeconds,
      /** CPU seconds live (both processes) used from the transfer's start to drainSeconds after its end, and as a share of one core. */
      liveCpuSeconds: Math.round(cpu * 100) / 100,
      liveCpuShare: Math.round((cpu / (secs + drainSeconds)) * 100) / 100,
      /** The same for the analysing process (TUI) and the capture child apart, shares of one core. */
      liveMainCpuShare: Math.round((cpuMain / (secs + drainSeconds)) * 100) / 100,
      captureChildCpuShare: Math.round((cpuChild / (secs + drainSeconds)) * 100) / 100,
      loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      snapshotsPerSecond: Math.round((m.snapshots / m.wallSeconds) * 10) / 10,
      rendersPerSecond: Math.round((m.renders / m.wallSeconds) * 10) / 10,
      terminalWritesPerSecond: Math.round((m.stdoutWrites / m.wallSeconds) * 10) / 10,
      stderr: readFileSync(join(dir, 'stderr.txt'), 'utf8').trim(),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    if (process.argv.includes('--show-pane')) process.stdout.write(pane);
  } finally {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`live-keepup: ${e instanceof Error ? e.message : String(e)}\n`);
  cleanup();
  process.exitCode = 1;
});
