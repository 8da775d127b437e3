/**
 * `mptcpscope live`: watch MPTCP connections as they happen.
 *
 *   live -i IFACE [-f BPF] [-w FILE.pcapng]   capture with libpcap (root or CAP_NET_RAW)
 *   live -r FILE [--speed N]                  replay a capture in (scaled) real time
 *
 * On a terminal it shows the ink TUI (cli/ui/App.tsx); otherwise (stdout not a TTY, or --ndjson) it prints
 * one JSON object per line: connection-opened, subflow-added, subflow-closed, add-addr, remove-addr,
 * mp-prio, fallback, connection-closed, finding (streamed from the conformance detectors), problem (a frame that
 * could not be decoded), capture (the interface was lost / reopened), and a periodic `stats` line (see
 * cli/ui/state.ts LiveEvent).
 * Snapshots of the model are taken at most 10 times a second. Ctrl-C / SIGTERM / q stop cleanly and flush `-w`.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createElement } from 'react';
import { FramePipeline } from '../analyzer/analyze.js';
import { DEFAULT_SPOOL_BYTES, LiveCaptureError, LiveCaptureSource, ReplayCaptureSource } from '../analyzer/capture/live.js';
import type { CaptureSource, Frame } from '../analyzer/capture/types.js';
import { PcapngWriter } from '../analyzer/capture/writer.js';
import { ExitCode } from './exit-codes.js';
import { type FindingsSource, LiveState, type TimelineSource } from './ui/state.js';
import { TimelineObserver } from '../analyzer/timeline/observer.js';
import { attachFindings } from './ui/findings-source.js';
import { attachTimeline } from './ui/timeline-source.js';

interface LiveCliOptions {
  interface?: string;
  filter: string;
  write?: string;
  read?: string;
  speed: string;
  ndjson?: boolean;
  statsInterval: string;
  bufferSize: string;
  spoolSize: string;
  timeline: boolean;
  findings: boolean;
}

/** Minimum time between two model snapshots / redraws, ms (≤ 10 per second). */
export const TICK_MS = 100;

export function registerLive(program: Command, setExit: (code: number) => void): void {
  program
    .command('live')
    .description('live view of MPTCP connections: capture an interface (-i) or replay a capture file (-r)')
    .option('-i, --interface <iface>', 'capture on this interface (libpcap; needs root or CAP_NET_RAW); "any" for all')
    .option('-f, --filter <bpf>', 'BPF capture filter (pcap-filter(7))', 'tcp')
    .option('-w, --write <file>', 'also write the captured frames to this pcapng file (with -i)')
    .option('-r, --read <file>', 'replay this capture file in real time instead of capturing')
    .option('--speed <n>', 'replay speed factor for -r ("max" = as fast as possible)', '1')
    .option('--ndjson', 'print NDJSON events even on a terminal')
    .option('--stats-interval <seconds>', 'NDJSON: seconds between stats lines', '1')
    .option('--no-timeline', 'no RTT / retransmission / data-level columns (the sequence timelines cost CPU per packet)')
    .option('--no-findings', 'no conformance findings feed (the detectors cost CPU per packet)')
    .option('--buffer-size <bytes>', 'kernel capture buffer size for -i', String(128 * 1024 * 1024))
    .option('--spool-size <bytes>', 'with -i: when the analysis falls behind, captured frames wait in memory (256 MiB), then in a temporary file (in $TMPDIR, unlinked) up to this size, and nothing is lost; 0 = drop once the memory queue is full', String(DEFAULT_SPOOL_BYTES))
    .addHelpText(
      'after',
      `
Keys (terminal UI): ↑/↓ select connection, Enter details, p pause, / filter, q quit.
Without a terminal on stdout the output is NDJSON, one event per line.
Exit codes: 0 stopped normally; 2 bad usage, unreadable file, or the capture could not be started
(no permission, unknown interface, bad filter).`,
    )
    .action(async (opts: LiveCliOptions) => {
      setExit(await runLive(opts));
    });
}

/**
 * Optional sources: timelines default to analyzer/timeline (cli/ui/timeline-source.ts), findings to the streaming
 * conformance engine (cli/ui/findings-source.ts); `finish` (if any) runs once at the end of the capture.
 */
export interface LiveExtensions {
  timeline?: (pipe: FramePipeline) => TimelineSource;
  findings?: (pipe: FramePipeline, name: string, timeline?: TimelineObserver) => FindingsSource & { finish?(): void };
}

/** Extensions registered by other modules before `main` runs (kept empty until they exist). */
export const liveExtensions: LiveExtensions = {};

function fail(msg: string): number {
  process.stderr.write(`mptcpscope live: ${msg}\n`);
  return ExitCode.BAD_INPUT;
}

async function runLive(opts: LiveCliOptions): Promise<number> {
  if ((opts.interface === undefined) === (opts.read === undefined)) return fail('give exactly one of -i IFACE or -r FILE');
  if (opts.write !== undefined && opts.interface === undefined) return fail('-w only works with -i (a replay is already a file)');
  const speed = opts.speed === 'max' ? Number.POSITIVE_INFINITY : Number(opts.speed);
  if (!(speed > 0)) return fail(`bad --speed ${JSON.stringify(opts.speed)}: a positive number or "max"`);
  const spoolBytes = Number(opts.spoolSize);
  if (!(Number.isSafeInteger(spoolBytes) && spoolBytes >= 0)) return fail(`bad --spool-size ${JSON.stringify(opts.spoolSize)}: a number of bytes (0 = no spool)`);
  const statsInterval = Number(opts.statsInterval);
  if (!(statsInterval > 0)) return fail(`bad --stats-interval ${JSON.stringify(opts.statsInterval)}`);

  const stateRef: { state?: LiveState } = {};
  let source: CaptureSource;
  let live: LiveCaptureSource | undefined;
  let replay: ReplayCaptureSource | undefined;
  let writer: PcapngWriter | undefined;
  if (opts.interface !== undefined) {
    live = new LiveCaptureSource({
      device: opts.interface,
      filter: opts.filter,
      bufferSize: Number(opts.bufferSize),
      spoolBytes,
      onNotice: (n) => {
        writer?.flush(); // what was captured before the loss is on disk
        stateRef.state?.notice(n.kind, n.message);
      },
    });
    try {
      live.open();
    } catch (e) {
      return fail(e instanceof LiveCaptureError ? e.message : String(e));
    }
    if (opts.write !== undefined) {
      try {
        writer = new PcapngWriter({
          path: opts.write,
          interfaces: [{ linkType: Number(live.linkType), snaplen: 65535, name: opts.interface, tsresol: 9 }],
          comment: `mptcpscope live -i ${opts.interface} -f ${JSON.stringify(opts.filter)}`,
        });
      } catch (e) {
        live.stop();
        return fail(`cannot write ${opts.write}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    source = live;
  } else {
    replay = new ReplayCaptureSource(opts.read!, { speed });
    source = replay;
  }

  const pipe = new FramePipeline(source.name);
  // The timeline goes first in the pipeline: the conformance session's sequence rules read the same one.
  const timeline = opts.timeline ? (liveExtensions.timeline ?? attachTimeline)(pipe) : undefined;
  const shared = timeline !== undefined && 'observer' in timeline && timeline.observer instanceof TimelineObserver ? timeline.observer : undefined;
  const findings = opts.findings ? (liveExtensions.findings ?? attachFindings)(pipe, source.name, shared) : undefined;
  const state = new LiveState(pipe, {
    source: live !== undefined ? `${opts.interface} (${opts.filter})` : `${opts.read} ×${opts.speed}`,
    ...(timeline !== undefined ? { timeline } : {}),
    ...(findings !== undefined ? { findings } : {}),
  });
  stateRef.state = state;
  /** End of the capture: the detectors' end-of-capture pass, then the final picture is taken. */
  const onEnd = (): void => {
    state.ended = true;
    findings?.finish?.();
  };

  let lastFrameWall = Date.now();
  const sink = {
    frame: (f: Frame): void => {
      writer?.write(f);
      state.onFrame(f);
      lastFrameWall = Date.now();
    },
  };
  /** Capture clock: the last frame's time, moving on with the wall clock (× speed) while nothing arrives. */
  const clock = (): number => {
    if (live !== undefined) return Date.now() / 1000;
    const t = state.captureTime;
    if (Number.isNaN(t)) return t;
    return Number.isFinite(speed) ? t + ((Date.now() - lastFrameWall) / 1000) * speed : t;
  };

  /** Stop the source; a live capture's drop counter is read one last time while its socket still exists. */
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (live !== undefined) await live.refreshDrops().catch(() => {});
      live?.stop();
      replay?.stop();
    })();
    return stopping;
  };
  const quitRef = { quit: (): void => {} };
  const onSignal = (): void => {
    void stop();
    quitRef.quit();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const tty = process.stdout.isTTY === true && opts.ndjson !== true;
  let code: number = ExitCode.OK;
  try {
    if (tty) code = await runTui(source, sink, state, clock, stop, replay, quitRef, onEnd);
    else code = await runNdjson(source, sink, state, clock, statsInterval, live, onEnd);
  } catch (e) {
    code = fail(e instanceof LiveCaptureError ? e.message : e instanceof Error ? e.message : String(e));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stop();
    writer?.close();
  }
  return code;
}

async function runNdjson(
  source: CaptureSource,
  sink: { frame(f: Frame): void },
  state: LiveState,
  clock: () => number,
  statsInterval: number,
  live: LiveCaptureSource | undefined,
  onEnd: () => void,
): Promise<number> {
  let closed = false;
  // A reader that goes away (`| head`) ends the capture quietly instead of crashing on EPIPE.
  const onError = (): void => {
    closed = true;
    live?.stop();
    source instanceof ReplayCaptureSource && source.stop();
  };
  process.stdout.on('error', onError);
  const out = (o: unknown): void => {
    if (!closed) process.stdout.write(`${JSON.stringify(o)}\n`);
  };
  let lastStats = Date.now();
  let statsStarted = false;
  const tick = (): void => {
    if (live !== undefined) captureCounters(state, live);
    const { events } = state.sample(clock());
    for (const e of events) out(e);
    // The first stats line says the capture runs: not before the capture child has opened it.
    if (Date.now() - lastStats >= statsInterval * 1000 && (live === undefined || live.capturing || statsStarted)) {
      statsStarted = true;
      lastStats = Date.now();
      out(state.statsEvent(clock()));
    }
  };
  const timer = setInterval(tick, TICK_MS);
  try {
    await source.run(sink);
  } finally {
    clearInterval(timer);
  }
  if (live !== undefined) captureCounters(state, live); // read by stop() before the socket closed
  onEnd();
  const { events } = state.sample(clock());
  for (const e of events) out(e);
  out(state.statsEvent(clock()));
  return ExitCode.OK;
}

async function runTui(
  source: CaptureSource,
  sink: { frame(f: Frame): void },
  state: LiveState,
  clock: () => number,
  stop: () => Promise<void>,
  replay: ReplayCaptureSource | undefined,
  quitRef: { quit: () => void },
  onEnd: () => void,
): Promise<number> {
  const { render } = await import('ink');
  const { App, SimpleViewStore } = await import('./ui/App.js');
  const metrics = startMetrics(state, source);
  const store = new SimpleViewStore(state.sample(clock()).view);
  let quit: () => void = () => {};
  const quitP = new Promise<void>((r) => {
    quit = r;
  });
  quitRef.quit = quit;
  let paused = false;
  const app = render(
    createElement(App, {
      store,
      onQuit: () => quit(),
      onPause: (p: boolean) => {
        paused = p;
        state.paused = p;
        if (replay !== undefined) {
          if (p) replay.pause();
          else replay.resume();
        }
        store.set(state.sample(clock()).view);
      },
    }),
    { exitOnCtrlC: false, maxFps: 10, onRender: () => metrics.renders++ },
  );
  // Taken now: a promise asked for after unmount() has resolved the exit would never settle.
  const exited = app.waitUntilExit().catch(() => {});
  let lastFrames = -1;
  const live = source instanceof LiveCaptureSource ? source : undefined;
  const timer = setInterval(() => {
    if (paused) return;
    if (live !== undefined) captureCounters(state, live);
    // Redraw only when something moved (frames arrived or rates must decay); at most every TICK_MS.
    if (state.pipe.frames === lastFrames && replay !== undefined && state.ended) return;
    lastFrames = state.pipe.frames;
    store.set(state.sample(clock()).view);
    metrics.snapshots++;
  }, TICK_MS);
  const running = source.run(sink).then(() => {
    onEnd();
    store.set(state.sample(clock()).view);
  });
  try {
    // Live: until q / Ctrl-C / SIGINT. Replay: the last picture stays up until q.
    await Promise.race([quitP, running.then(() => quitP)]);
  } finally {
    await stop();
    // The child's last counts (its final `userspace-drops`, `sent`) arrive with its exit, which ends `running`.
    await Promise.race([running.catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    if (live !== undefined) captureCounters(state, live);
    store.set(state.sample(clock()).view);
    clearInterval(timer);
    app.unmount();
  }
  await running.catch(() => {});
  await exited;
  metrics.finish();
  return ExitCode.OK;
}

/**
 * With MPTCPSCOPE_LIVE_METRICS=FILE (used by bench/live-keepup.ts), the TUI counts model snapshots and
 * ink renders and terminal writes and, at exit, writes them as JSON to FILE: { wallSeconds, snapshots, renders, stdoutWrites,
 * frames, dropped, capture } (`capture`: a live source's LiveCaptureStats, drops by cause). Otherwise a no-op.
 */
function startMetrics(state: LiveState, source: CaptureSource): { snapshots: number; renders: number; finish(): void } {
  const path = process.env.MPTCPSCOPE_LIVE_METRICS;
  const m = { snapshots: 0, renders: 0, writes: 0, finish: (): void => {} };
  if (path === undefined || path === '') return Object.assign(m, { finish: () => {} });
  const start = Date.now();
  const orig = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    m.writes++;
    return (orig as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  m.finish = (): void => {
    process.stdout.write = orig;
    writeFileSync(
      path,
      `${JSON.stringify({ wallSeconds: (Date.now() - start) / 1000, snapshots: m.snapshots, renders: m.renders, stdoutWrites: m.writes, frames: state.pipe.frames, dropped: state.dropped, capture: source instanceof LiveCaptureSource ? source.stats : null })}\n`,
    );
  };
  return m;
}

/** The capture's counters into the state: drops (all causes), the backlog still to analyse, whether it has started. */
function captureCounters(state: LiveState, live: LiveCaptureSource): void {
  state.dropped = drops(live);
  state.backlogBytes = live.stats.backlogBytes;
  state.opening = !live.capturing && live.stats.received === 0 && !live.stopping;
}

/** Frames lost by the capture: the kernel ring's drops, the capture child's, and those left unread at stop (null while none is known). */
function drops(live: LiveCaptureSource): number | null {
  const k = live.stats.dropped;
  const u = live.stats.userspaceDropped + live.stats.unreadAtStop;
  return k === null && u === 0 ? null : (k ?? 0) + u;
}
