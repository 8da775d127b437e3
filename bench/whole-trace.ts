/**
 * Whole-trace benchmark (issue 2 "Speed", issue 7): on one large capture, in one run, measures
 *   - `mptcpscope analyze --json FILE > /dev/null`,
 *   - `tshark -r FILE -o mptcp.analyze_mappings:TRUE -o mptcp.intersubflows_retransmission:TRUE -q -z conv,mptcp`,
 *   - `tcpdump -n -r FILE > /dev/null`,
 *   - the bare record walk: `openCapture(FILE).run` with an empty sink (the project's reader, no decoding),
 *   - the same walk through the npm pcap-parser reader (`openCapture(FILE, { reader: 'pcap-parser' })`),
 * each as its own child process: wall seconds, frames/s, MB/s, peak RSS (the child's ru_maxrss from
 * wait4(2), taken by a tiny python3 wrapper), and time relative to mptcpscope. Then a memory
 * flatness check (analyze at 1 M and 4 M frames of the same shape) and a `node --cpu-prof` profile
 * of analyze, summarised by self time. Results: a table on stdout and JSON in bench/out/.
 *
 * Input: a synthetic capture written by bench/synth.ts (shapes `long` and `many`), or `--kernel`:
 * a real long 2-subflow transfer captured in network namespaces by bench/kernel-capture.sh (root).
 *
 * Usage (after `npm run build`):  npm run bench -- [options]   (see --help, and bench/README.md)
 * Timings are printed, never asserted.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Table from 'cli-table3';
import { Command } from 'commander';
import { openCapture } from '../analyzer/capture/open.js';
import { analyzeFull } from '../conformance/full.js';
import { formatCpuProfileSummary, summarizeCpuProfileFile, type CpuProfileSummary } from './cpuprofile.js';
import { type Shape, type SynthResult, writeSyntheticCapture } from './synth.js';
import { Writable } from 'node:stream';
import { bigintAsString, writeJson } from '../cli/json-out.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SELF = fileURLToPath(import.meta.url);
const CLI = join(REPO, 'bin', 'mptcpscope.js');

/** Python wrapper: fork, redirect stdout to argv[1], exec argv[2:], wait4 → JSON on stdout. */
const MEASURE_PY = `
import json, os, sys, time
out = sys.argv[1]
t = time.monotonic()
pid = os.fork()
if pid == 0:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
print(json.dumps({"seconds": time.monotonic() - t, "maxrss_kb": ru.ru_maxrss, "exit": os.waitstatus_to_exitcode(status),
                  "user": ru.ru_utime, "sys": ru.ru_stime}))
`;

/** What one measured child run gave. */
interface Measured {
  seconds: number;
  maxrssKb: number;
  exit: number;
  userSeconds: number;
  sysSeconds: number;
}

/** One row of the result table. */
export interface BenchRow {
  tool: string;
  command: string;
  frames: number;
  seconds: number;
  framesPerSecond: number;
  mbPerSecond: number;
  peakRssMb: number;
  /** This tool's seconds / mptcpscope's seconds (above 1: slower than mptcpscope). */
  timeVsMptcpscope: number | null;
  exit: number;
  /** User + system CPU seconds of the child. */
  cpuSeconds: number;
  /** 1-minute load average when the row started (wall times are only comparable on a quiet machine). */
  loadAverage: number;
  note?: string;
}

/** Runs `argv` with stdout to `stdoutPath` (stderr to `stderrPath`) and measures it. */
function measure(argv: string[], stdoutPath: string, stderrPath: string): Measured {
  const r = spawnSync('python3', ['-c', MEASURE_PY, stdoutPath, ...argv], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 26,
  });
  writeFileSync(stderrPath, r.stderr ?? '');
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let j: { seconds: number; maxrss_kb: number; exit: number; user: number; sys: number };
  try {
    j = JSON.parse(last);
  } catch {
    throw new Error(`measure ${argv.join(' ')}: wrapper failed: ${r.stderr ?? ''}${r.error?.message ?? ''}`);
  }
  return { seconds: j.seconds, maxrssKb: j.maxrss_kb, exit: j.exit, userSeconds: j.user, sysSeconds: j.sys };
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function toolVersion(argv: string[]): string {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim() !== '')?.trim() ?? '?';
}

interface RunContext {
  file: string;
  frames: number;
  bytes: number;
  out: string;
  /** Runs per row (best wall time kept). */
  runs: number;
}

function row(ctx: RunContext, tool: string, argv: string[], stdoutPath = '/dev/null', note?: string): BenchRow {
  const errPath = join(ctx.out, `${tool.replace(/[^a-z0-9]+/gi, '-')}.stderr.txt`);
  let m: Measured | undefined;
  const loadAverage = loadavg()[0] ?? 0;
  // best (least wall time) of ctx.runs runs; peak RSS is the largest seen
  for (let i = 0; i < ctx.runs; i++) {
    process.stderr.write(`  running ${tool}${ctx.runs > 1 ? ` (${i + 1}/${ctx.runs})` : ''}: ${argv.join(' ')}\n`);
    const r = measure(argv, stdoutPath, errPath);
    if (m === undefined) m = r;
    else m = { ...(r.seconds < m.seconds ? r : m), maxrssKb: Math.max(m.maxrssKb, r.maxrssKb) };
    if (r.exit !== 0) break;
  }
  if (m === undefined) throw new Error('no run');
  let frames = ctx.frames;
  let n = note;
  if (stdoutPath !== '/dev/null' && tool.startsWith('walk')) {
    try {
      frames = (JSON.parse(readFileSync(stdoutPath, 'utf8')) as { frames: number }).frames;
    } catch {
      n = `${n ?? ''} (no frame count from the child)`.trim();
    }
  }
  if (m.exit !== 0) n = `${n ? `${n}; ` : ''}exit ${m.exit}: ${readFileSync(errPath, 'utf8').trim().split('\n').slice(-1)[0] ?? ''}`;
  return {
    tool,
    command: argv.join(' '),
    frames,
    seconds: m.seconds,
    framesPerSecond: frames / m.seconds,
    mbPerSecond: ctx.bytes / 1e6 / m.seconds,
    peakRssMb: m.maxrssKb / 1024,
    timeVsMptcpscope: null,
    exit: m.exit,
    cpuSeconds: m.userSeconds + m.sysSeconds,
    loadAverage,
    ...(n ? { note: n } : {}),
  };
}

/** The rows of one file: mptcpscope (plain and everything on), tshark, tcpdump, walks, several files. */
function runRows(ctx: RunContext, opts: { tshark: boolean; tcpdump: boolean; multi: number }): BenchRow[] {
  const rows: BenchRow[] = [];
  rows.push(row(ctx, 'mptcpscope analyze', ['node', CLI, 'analyze', '--json', '--no-progress', ctx.file]));
  // Everything on (issue 7): models, timelines + metrics, every rule with HMAC and DSS checksum checks, via the API.
  // Files of 32 MiB or more are read by two threads (CheckOptions.split); the one-thread figure is the row after.
  rows.push(row(ctx, 'mptcpscope everything on', ['node', SELF, '--full', ctx.file]));
  rows.push(row(ctx, 'mptcpscope everything on, one thread', ['node', SELF, '--full', '--single-thread', ctx.file]));
  if (opts.tshark && have('tshark')) {
    rows.push(
      row(
        ctx,
        'tshark conv,mptcp',
        ['tshark', '-r', ctx.file, '-o', 'mptcp.analyze_mappings:TRUE', '-o', 'mptcp.intersubflows_retransmission:TRUE', '-q', '-z', 'conv,mptcp'],
        join(ctx.out, 'tshark-conv-mptcp.txt'),
      ),
    );
  }
  if (opts.tcpdump && have('tcpdump')) rows.push(row(ctx, 'tcpdump -r', ['tcpdump', '-n', '-r', ctx.file]));
  rows.push(row(ctx, 'walk (fast reader)', ['node', SELF, '--walk', 'fast', ctx.file], join(ctx.out, 'walk-fast.json')));
  rows.push(row(ctx, 'walk (pcap-parser)', ['node', SELF, '--walk', 'pcap-parser', ctx.file], join(ctx.out, 'walk-pcap-parser.json')));
  if (opts.multi > 1) {
    // Several files (here the same file n times): one by one, then in worker threads (analyze A B C…).
    const many = Array.from({ length: opts.multi }, () => ctx.file);
    const mctx = { ...ctx, frames: ctx.frames * opts.multi, bytes: ctx.bytes * opts.multi };
    rows.push(row(mctx, `mptcpscope analyze ${opts.multi} files, --jobs 1`, ['node', CLI, 'analyze', '--json', '--no-progress', '--jobs', '1', ...many]));
    rows.push(row(mctx, `mptcpscope analyze ${opts.multi} files, workers`, ['node', CLI, 'analyze', '--json', '--no-progress', ...many]));
  }
  const ref = rows[0] as BenchRow;
  for (const r of rows) r.timeVsMptcpscope = r.seconds / ref.seconds;
  return rows;
}

function renderTable(rows: BenchRow[]): string {
  const t = new Table({
    head: ['tool', 'frames', 'seconds', 'frames/s', 'MB/s', 'peak RSS MB', 'time ÷ mptcpscope', 'cpu s', 'exit'],
    style: { head: [], border: [] },
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  });
  for (const r of rows)
    t.push([
      r.tool,
      r.frames.toLocaleString('en-US'),
      r.seconds.toFixed(2),
      Math.round(r.framesPerSecond).toLocaleString('en-US'),
      r.mbPerSecond.toFixed(1),
      r.peakRssMb.toFixed(0),
      r.timeVsMptcpscope === null ? '' : `${r.timeVsMptcpscope.toFixed(2)}×`,
      r.cpuSeconds.toFixed(2),
      String(r.exit),
    ]);
  return t.toString();
}

/**
 * Child mode: everything on (conformance/full.ts analyzeFull: models, timelines and metrics, every
 * detector with HMAC and DSS checksum verification), the result serialised as JSON like `analyze --json`
 * does; prints {frames, findings, passes, jsonBytes} as JSON.
 */
/**
 * Live heap over an everything-on run (child mode `--full --live-heap --single-thread`: one isolate holds all the
 * state; needs node --expose-gc): a full GC every 0.5 s while the capture is read, then heapUsed: what the analysis keeps, apart from garbage V8 has not collected
 * yet (peak RSS also follows V8's heap sizing, which grows over a run's first seconds whatever is retained).
 * `resultMb`: the same once analyzeFull has returned (its result included: per-bin series grow with duration).
 */
type LiveHeap = { samples: number; firstMb: number; lastMb: number; maxMb: number; resultMb: number };

function liveHeapSampler(): () => LiveHeap {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('--live-heap needs node --expose-gc');
  const mb: number[] = [];
  const used = (): number => {
    gc();
    return process.memoryUsage().heapUsed / 1048576;
  };
  const t = setInterval(() => mb.push(used()), 500);
  return () => {
    clearInterval(t);
    const resultMb = used();
    if (mb.length === 0) mb.push(resultMb);
    return { samples: mb.length, firstMb: mb[0]!, lastMb: mb[mb.length - 1]!, maxMb: Math.max(...mb), resultMb };
  };
}

async function full(file: string, liveHeap = false, singleThread = false): Promise<void> {
  const stopSampler = liveHeap ? liveHeapSampler() : undefined;
  // Two threads unless told otherwise, whatever the file's age ('auto' leaves a file written < 5 s ago to one thread).
  const r = await analyzeFull(file, { split: !singleThread });
  if (stopSampler !== undefined) {
    // Sampled before the result is serialised (the JSON string is output, not state).
    process.stdout.write(`${JSON.stringify({ liveHeap: stopSampler() })}\n`);
    return;
  }
  // Serialised as the CLI's --json does (cli/json-out.ts: chunked past V8's string limit), counted, not kept.
  let jsonBytes = 0;
  const counter = new Writable({
    decodeStrings: false,
    write(chunk: string, _enc, cb) {
      jsonBytes += chunk.length;
      cb();
    },
  });
  await writeJson(counter, r, undefined, bigintAsString);
  const passes = r.check.passes.reduce((n, p) => n + p.count, 0);
  process.stdout.write(`${JSON.stringify({ frames: r.check.analysis.frames, connections: r.check.analysis.connections.length, findings: r.check.findings.length, passes, jsonBytes: jsonBytes - 1 })}\n`);
}

/** One many-connection capture's runs (seconds, peak RSS MB) per mode. */
interface ScalingRun {
  connections: number;
  frames: number;
  modes: Record<string, { seconds: number; peakRssMb: number; exit: number }>;
}

/**
 * Many-connection scaling (issue 7 "100 000 short connections … without super-linear slowdown"): for each count,
 * a synthetic 'many' capture (47 frames per connection), analysed in each mode; prints seconds and peak RSS per
 * mode and the time ratio of the largest to the smallest count next to the connection ratio.
 */
async function scaling(counts: number[], dir: string, out: string, keep: boolean, made: string[]): Promise<ScalingRun[]> {
  const modes: Array<[string, string[]]> = [
    ['analyze --json', ['node', CLI, 'analyze', '--json', '--no-progress']],
    ['analyze --ndjson', ['node', CLI, 'analyze', '--ndjson']],
    ['analyze --json --timeline', ['node', CLI, 'analyze', '--json', '--timeline', '--no-progress']],
    ['analyze --ndjson --timeline', ['node', CLI, 'analyze', '--ndjson', '--timeline']],
    ['check --json', ['node', CLI, 'check', '--json']],
    ['check --ndjson', ['node', CLI, 'check', '--ndjson']],
    ['check --ndjson --timeline (everything on, streamed)', ['node', CLI, 'check', '--ndjson', '--timeline']],
    ['everything on (--full)', ['node', SELF, '--full']],
  ];
  const runs: ScalingRun[] = [];
  for (const n of counts) {
    const f = await makeInput('synthetic', 'many', 0, n, dir, `scaling-${n}`);
    made.push(f.path);
    const ctx = { file: f.path, frames: f.frames, bytes: f.bytes, out, runs: 1 };
    const r: ScalingRun = { connections: n, frames: f.frames, modes: {} };
    for (const [name, argv] of modes) {
      const b = row(ctx, `${name} ${n}`, [...argv, f.path]);
      r.modes[name] = { seconds: b.seconds, peakRssMb: b.peakRssMb, exit: b.exit };
    }
    runs.push(r);
    if (!keep) {
      rmSync(f.path, { force: true });
      made.pop();
    }
  }
  const t = new Table({ head: ['mode', ...runs.map((r) => `${r.connections.toLocaleString('en-US')} conn.: s / MB`), 'time ratio'], style: { head: [], border: [] } });
  const lo = runs[0];
  const hi = runs[runs.length - 1];
  for (const [name] of modes) {
    const ratio = lo && hi && lo !== hi ? (hi.modes[name]!.seconds / lo.modes[name]!.seconds).toFixed(2) : '';
    t.push([name, ...runs.map((r) => `${r.modes[name]!.seconds.toFixed(2)} / ${r.modes[name]!.peakRssMb.toFixed(0)}${r.modes[name]!.exit !== 0 ? ` (exit ${r.modes[name]!.exit})` : ''}`), ratio]);
  }
  process.stdout.write(`\nmany-connection scaling (shape many, 47 frames per connection${lo && hi && lo !== hi ? `; connection ratio ${(hi.connections / lo.connections).toFixed(2)}` : ''}):\n${t.toString()}\n`);
  return runs;
}

/** Child mode: bare walk of a file, prints {frames, bytes} as JSON. */
async function walk(reader: 'fast' | 'pcap-parser', file: string): Promise<void> {
  let frames = 0;
  let bytes = 0;
  if (reader === 'fast') {
    const s = await openCapture(file).run({ frame() {} });
    frames = s.frames;
    bytes = s.bytes;
  } else {
    const s = await openCapture(file, { reader: 'pcap-parser' }).run({
      frame() {
        frames++;
      },
    });
    bytes = s.bytes;
  }
  process.stdout.write(`${JSON.stringify({ reader, frames, bytes })}\n`);
}

async function makeInput(kind: 'synthetic' | 'kernel', shape: Shape, frames: number, connections: number | undefined, dir: string, tag: string): Promise<SynthResult> {
  const path = join(dir, `${tag}.pcap`);
  if (kind === 'kernel') {
    const script = join(REPO, 'bench', 'kernel-capture.sh');
    process.stderr.write(`  capturing a real transfer in namespaces (${script}) …\n`);
    execFileSync('bash', [script, path, String(frames)], { stdio: ['ignore', 'inherit', 'inherit'] });
    const s = await openCapture(path).run({ frame() {} });
    return { path, shape: 'long', frames: s.frames, bytes: statSync(path).size, connections: 1, subflows: 2, pieces: { prefix: 0, middle: 0, suffix: 0, tail: 0, copies: 0 } };
  }
  const t0 = performance.now();
  const r = await writeSyntheticCapture({ path, shape, frames, ...(connections !== undefined ? { connections } : {}) });
  process.stderr.write(`  wrote ${r.frames.toLocaleString('en-US')} frames (${(r.bytes / 1e6).toFixed(0)} MB, ${r.connections} connection(s), shape ${shape}) in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${path}\n`);
  return r;
}

interface BenchOptions {
  frames: string;
  shape: Shape;
  connections?: string;
  kernel?: boolean;
  tshark: boolean;
  tcpdump: boolean;
  flatness: boolean;
  flatFrames: string;
  profile: boolean;
  keep?: boolean;
  dir?: string;
  walk?: string;
  full?: boolean;
  liveHeap?: boolean;
  singleThread?: boolean;
  multi: string;
  runs: string;
  scaling?: string;
}

function parseCount(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (m === null) throw new Error(`not a count: '${s}' (use e.g. 2000000, 2M, 500k)`);
  const mult = m[2] === '' ? 1 : m[2]?.toLowerCase() === 'k' ? 1e3 : 1e6;
  return Math.round(Number(m[1]) * mult);
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('whole-trace')
    .description('whole-trace benchmark: mptcpscope analyze vs tshark, tcpdump and bare record walks on one large capture')
    .option('--frames <n>', 'frames of the synthetic capture (2M, 5M, 10M, …)', '2M')
    .option('--shape <shape>', "'long': one long 2-subflow connection; 'many': many short 2-subflow connections", 'long')
    .option('--connections <n>', "shape 'many': number of connections (instead of --frames)")
    .option('--kernel', 'capture a real long transfer in network namespaces instead (root; bench/kernel-capture.sh)')
    .option('--no-tshark', 'skip tshark')
    .option('--no-tcpdump', 'skip tcpdump')
    .option('--no-flatness', 'skip the memory flatness check')
    .option('--flat-frames <a,b>', 'frame counts of the flatness check', '1M,4M')
    .option('--no-profile', 'skip the --cpu-prof run')
    .option('--runs <n>', 'runs per tool; the best wall time is kept (shared machines are noisy)', '1')
    .option('--keep', 'keep the generated captures')
    .option('--dir <dir>', 'where the captures go (default: a new folder in the system temp dir)')
    .option('--scaling <a,b>', "also: many-connection scaling — 'many'-shape captures of a and b connections (e.g. 20k,100k), each analysed with analyze --json / --ndjson (with and without --timeline), check --json / --ndjson / --ndjson --timeline and everything on")
    .option('--multi <n>', 'also analyze n copies of the file as n files, one by one (--jobs 1) and in worker threads (0: skip)', '2')
    .option('--walk <reader>', '(internal) child mode: walk FILE with reader fast|pcap-parser and print the counts')
    .option('--full', '(internal) child mode: analyzeFull (everything on) over FILE and print the counts')
    .option('--single-thread', '(internal, with --full) analyzeFull with split: false (one thread; default split: true)')
    .option('--live-heap', '(internal, with --full, under node --expose-gc) print the live heap (forced GC every 2 s) instead')
    .argument('[file]', '(internal, with --walk) capture to walk; otherwise: benchmark this existing capture instead of generating one')
    .allowExcessArguments(false);
  program.parse(argv);
  const o = program.opts<BenchOptions>();
  const fileArg = program.args[0];
  if (o.full === true) {
    if (fileArg === undefined) throw new Error('--full FILE');
    await full(fileArg, o.liveHeap === true, o.singleThread === true);
    return 0;
  }
  if (o.walk !== undefined) {
    if (fileArg === undefined || (o.walk !== 'fast' && o.walk !== 'pcap-parser')) throw new Error('--walk fast|pcap-parser FILE');
    await walk(o.walk, fileArg);
    return 0;
  }
  if (o.shape !== 'long' && o.shape !== 'many') throw new Error(`--shape must be long or many, got '${o.shape}'`);
  const runs = Math.max(1, Number.parseInt(o.runs, 10) || 1);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = join(REPO, 'bench', 'out', stamp);
  mkdirSync(out, { recursive: true });
  const dir = o.dir !== undefined ? resolve(o.dir) : mkdtempSync(join(tmpdir(), 'mptcpscope-bench-'));
  mkdirSync(dir, { recursive: true });
  const made: string[] = [];
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    host: { node: process.version, cpus: cpus().length, kernel: release() },
    versions: {
      tshark: have('tshark') ? toolVersion(['tshark', '--version']) : null,
      tcpdump: have('tcpdump') ? toolVersion(['tcpdump', '--version']) : null,
    },
  };
  try {
    process.stderr.write('input:\n');
    let input: SynthResult;
    if (fileArg !== undefined) {
      const s = await openCapture(fileArg).run({ frame() {} });
      input = { path: resolve(fileArg), shape: o.shape, frames: s.frames, bytes: statSync(fileArg).size, connections: -1, subflows: -1, pieces: { prefix: 0, middle: 0, suffix: 0, tail: 0, copies: 0 } };
    } else {
      input = await makeInput(o.kernel === true ? 'kernel' : 'synthetic', o.shape, parseCount(o.frames), o.connections !== undefined ? parseCount(o.connections) : undefined, dir, `main-${o.shape}`);
      made.push(input.path);
    }
    report.input = { ...input, kind: fileArg !== undefined ? 'file' : o.kernel === true ? 'kernel' : 'synthetic' };
    process.stderr.write('whole-trace rows:\n');
    const rows = runRows({ file: input.path, frames: input.frames, bytes: input.bytes, out, runs }, { tshark: o.tshark, tcpdump: o.tcpdump, multi: Math.max(0, Number.parseInt(o.multi, 10) || 0) });
    report.rows = rows;
    const table = renderTable(rows);
    const walkRow = rows.find((r) => r.tool === 'walk (fast reader)');
    const tsharkRow = rows.find((r) => r.tool.startsWith('tshark'));
    const mps = rows[0] as BenchRow;
    const fullRow = rows.find((r) => r.tool === 'mptcpscope everything on');
    const fullOneRow = rows.find((r) => r.tool === 'mptcpscope everything on, one thread');
    const lines = [
      `input: ${input.path}: ${input.frames.toLocaleString('en-US')} frames, ${(input.bytes / 1e6).toFixed(1)} MB, shape ${input.shape}, ${input.connections} MPTCP connection(s)`,
      table,
    ];
    const loads = rows.map((r) => r.loadAverage.toFixed(1)).join(', ');
    for (const m of [mps, fullRow, fullOneRow]) {
      if (m === undefined) continue;
      if (tsharkRow)
        lines.push(
          `${m.tool} frames/s ÷ tshark frames/s: ${(m.framesPerSecond / tsharkRow.framesPerSecond).toFixed(1)}× by wall time, ${(tsharkRow.cpuSeconds / m.cpuSeconds).toFixed(1)}× by CPU time (issue 7 target ≥ 30×, everything on)`,
        );
      if (walkRow)
        lines.push(
          `${m.tool} frames/s ÷ bare walk frames/s: ${((100 * m.framesPerSecond) / walkRow.framesPerSecond).toFixed(1)} % by wall time, ${((100 * walkRow.cpuSeconds) / m.cpuSeconds).toFixed(1)} % by CPU time (issue 7 target ≥ 10 %)`,
        );
    }
    const seqRow = rows.find((r) => r.tool.endsWith('files, --jobs 1'));
    const parRow = rows.find((r) => r.tool.endsWith('files, workers'));
    if (seqRow && parRow) lines.push(`several files: workers ${(seqRow.seconds / parRow.seconds).toFixed(2)}× faster than one by one by wall time (on ${cpus().length} CPUs)`);
    lines.push(`1-minute load average at the start of each row: ${loads} (on ${cpus().length} CPUs; wall times are noise when it exceeds the CPU count)`);
    process.stdout.write(`${lines.join('\n')}\n`);

    if (o.flatness) {
      process.stderr.write('memory flatness:\n');
      const counts = o.flatFrames.split(',').map(parseCount);
      const flat: { frames: number; bytes: number; seconds: number; peakRssMb: number; exit: number; fullSeconds: number; fullPeakRssMb: number; fullExit: number; oneSeconds: number; onePeakRssMb: number; liveHeap: LiveHeap | null }[] = [];
      for (const n of counts) {
        const f = await makeInput('synthetic', o.shape, n, undefined, dir, `flat-${o.shape}-${n}`);
        made.push(f.path);
        const fctx = { file: f.path, frames: f.frames, bytes: f.bytes, out, runs: 1 };
        const r = row(fctx, `mptcpscope analyze ${n}`, ['node', CLI, 'analyze', '--json', '--no-progress', f.path]);
        const e = row(fctx, `mptcpscope everything on ${n}`, ['node', SELF, '--full', f.path]);
        const e1 = row(fctx, `mptcpscope everything on, one thread ${n}`, ['node', SELF, '--full', '--single-thread', f.path]);
        // Once more (not timed) with forced GCs: what stays live, apart from V8's heap sizing.
        let liveHeap: LiveHeap | null = null;
        const lh = spawnSync('node', ['--expose-gc', SELF, '--full', '--live-heap', '--single-thread', f.path], { encoding: 'utf8', maxBuffer: 1 << 20 });
        try {
          liveHeap = (JSON.parse(lh.stdout.trim().split('\n').pop() ?? '') as { liveHeap: LiveHeap }).liveHeap;
        } catch {
          process.stderr.write(`  live heap run failed: ${lh.stderr.trim().split('\n').pop() ?? lh.status}\n`);
        }
        flat.push({ frames: f.frames, bytes: f.bytes, seconds: r.seconds, peakRssMb: r.peakRssMb, exit: r.exit, fullSeconds: e.seconds, fullPeakRssMb: e.peakRssMb, fullExit: e.exit, oneSeconds: e1.seconds, onePeakRssMb: e1.peakRssMb, liveHeap });
        if (!o.keep) {
          rmSync(f.path, { force: true });
          made.pop();
        }
      }
      const lo = flat[0];
      const hi = flat[flat.length - 1];
      /** Growth in percent of one measure from the smallest file to the largest. */
      const growthOf = (mb: (f: (typeof flat)[number]) => number): number => (lo && hi ? (100 * (mb(hi) - mb(lo))) / mb(lo) : NaN);
      const growth = growthOf((f) => f.peakRssMb);
      const fullGrowth = growthOf((f) => f.fullPeakRssMb);
      const oneGrowth = growthOf((f) => f.onePeakRssMb);
      const liveGrowth = lo?.liveHeap && hi?.liveHeap ? (100 * (hi.liveHeap.maxMb - lo.liveHeap.maxMb)) / lo.liveHeap.maxMb : NaN;
      report.flatness = { shape: o.shape, runs: flat, rssGrowthPercent: growth, fullRssGrowthPercent: fullGrowth, oneThreadRssGrowthPercent: oneGrowth, fullLiveHeapGrowthPercent: liveGrowth };
      process.stdout.write(
        `\nmemory flatness (shape ${o.shape}; analyze --json, and everything on):\n${flat
          .map(
            (f) =>
              `  ${f.frames.toLocaleString('en-US').padStart(12)} frames: analyze peak RSS ${f.peakRssMb.toFixed(0)} MB, ${f.seconds.toFixed(2)} s, ${Math.round(f.frames / f.seconds).toLocaleString('en-US')} frames/s; everything on ${f.fullPeakRssMb.toFixed(0)} MB, ${f.fullSeconds.toFixed(2)} s, ${Math.round(f.frames / f.fullSeconds).toLocaleString('en-US')} frames/s; one thread ${f.onePeakRssMb.toFixed(0)} MB, ${f.oneSeconds.toFixed(2)} s` +
              (f.liveHeap !== null ? `; live heap while reading (GC every 0.5 s, ${f.liveHeap.samples} samples) ${f.liveHeap.firstMb.toFixed(1)} → ${f.liveHeap.lastMb.toFixed(1)} MB, max ${f.liveHeap.maxMb.toFixed(1)}, with the result ${f.liveHeap.resultMb.toFixed(1)} MB` : ''),
          )
          .join('\n')}\n  peak RSS growth: analyze ${growth.toFixed(1)} %, everything on ${fullGrowth.toFixed(1)} % (two threads), ${oneGrowth.toFixed(1)} % (one thread) (issue 7 target: within ±10 %, ≤ 300 MB)\n` +
          `  largest live heap while reading (everything on, after a full GC): growth ${liveGrowth.toFixed(1)} % (what the analysis retains; peak RSS also follows V8's heap sizing)\n`,
      );
    }

    if (o.scaling !== undefined) {
      process.stderr.write('many-connection scaling:\n');
      report.scaling = await scaling(o.scaling.split(',').map(parseCount), dir, out, o.keep === true, made);
    }

    if (o.profile) {
      process.stderr.write('profile:\n');
      const profDir = join(out, 'cpuprofile');
      mkdirSync(profDir, { recursive: true });
      measure(['node', '--cpu-prof', `--cpu-prof-dir=${profDir}`, SELF, '--full', '--single-thread', input.path], '/dev/null', join(out, 'profile.stderr.txt'));
      const prof = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (prof !== undefined) {
        const s: CpuProfileSummary = summarizeCpuProfileFile(join(profDir, prof), 25, REPO);
        report.profile = { file: join(profDir, prof), ...s };
        const text = formatCpuProfileSummary(s);
        writeFileSync(join(out, 'cpuprofile-summary.txt'), text);
        process.stdout.write(`\ncpu profile of mptcpscope everything on, one thread (self time; ${join(profDir, prof)}):\n${text}`);
      }
    }
  } finally {
    writeFileSync(join(out, 'whole-trace.json'), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\nresults: ${join(out, 'whole-trace.json')}\n`);
    if (o.keep !== true) {
      for (const f of made) rmSync(f, { force: true });
      if (o.dir === undefined) rmSync(dir, { recursive: true, force: true });
    } else if (made.length > 0) process.stdout.write(`captures kept: ${made.join(' ')}\n`);
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).then(
    (c) => {
      process.exitCode = c;
    },
    (e: unknown) => {
      process.stderr.write(`whole-trace: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
