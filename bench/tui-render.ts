/**
 * Cost of one redraw of the live TUI (cli/ui/App.tsx through ink), apart from packet analysis.
 *
 *   NODE_ENV=production node dist/bench/tui-render.js CAPTURE [--renders 200] [--columns 120] [--rows 35]
 *
 * Feeds CAPTURE through FramePipeline + LiveState with the timeline and the findings attached (as `live`
 * does), then renders the resulting view `--renders` times into an in-memory terminal of the given size,
 * each time with a new view object (as the 10 Hz snapshot timer does), and prints one JSON line: ms per
 * model snapshot (`LiveState.sample`), ms per ink render, characters per frame, and React's build
 * (NODE_ENV). Only the rendering is timed; run it under both NODE_ENV values to compare React builds.
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { createElement } from 'react';
import { FramePipeline } from '../analyzer/analyze.js';
import { openCapture } from '../analyzer/capture/open.js';
import { LiveState } from '../cli/ui/state.js';
import { attachFindings } from '../cli/ui/findings-source.js';
import { attachTimeline } from '../cli/ui/timeline-source.js';
import { TimelineObserver } from '../analyzer/timeline/observer.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

class FakeTty extends Writable {
  isTTY = true;
  chars = 0;
  writes = 0;
  constructor(readonly columns: number, readonly rows: number) {
    super();
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.chars += chunk.length;
    this.writes++;
    cb();
  }
}

/** A terminal stdin that never types (useInput needs raw mode, as on a real terminal). */
class FakeStdin extends EventEmitter {
  isTTY = true;
  setRawMode(): this {
    return this;
  }
  setEncoding(): this {
    return this;
  }
  read(): null {
    return null;
  }
  resume(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined || file.startsWith('--')) throw new Error('usage: tui-render.js CAPTURE [--renders N] [--columns C] [--rows R]');
  const renders = Number(arg('renders', '200'));
  const columns = Number(arg('columns', '120'));
  const rows = Number(arg('rows', '35'));
  const pipe = new FramePipeline(file);
  const timeline = attachTimeline(pipe);
  const shared = 'observer' in timeline && timeline.observer instanceof TimelineObserver ? timeline.observer : undefined;
  const findings = attachFindings(pipe, file, shared);
  const state = new LiveState(pipe, { source: file, timeline, findings });
  await openCapture(file).run({ frame: (f) => state.onFrame(f) });

  const { render } = await import('ink');
  const { App, SimpleViewStore } = await import('../cli/ui/App.js');
  const t = state.captureTime;
  const store = new SimpleViewStore(state.sample(t).view);
  const out = new FakeTty(columns, rows);
  let done = 0;
  const app = render(createElement(App, { store }), {
    stdout: out as unknown as NodeJS.WriteStream,
    stdin: new FakeStdin() as unknown as NodeJS.ReadStream,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 1000,
    onRender: () => {
      done++;
    },
  });
  await new Promise((r) => setTimeout(r, 50));
  // CPU of the whole loop (process.cpuUsage) minus the snapshots' time = what ink/React spent; divided by the renders that happened.
  let sampleMs = 0;
  const chars0 = out.chars;
  const done0 = done;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < renders; i++) {
    const s0 = performance.now();
    const view = state.sample(t + i * 0.1).view;
    sampleMs += performance.now() - s0;
    store.set(view);
    await new Promise((r) => setTimeout(r, 5));
  }
  const cpu = process.cpuUsage(cpu0);
  const rendered = done - done0;
  const renderMs = (cpu.user + cpu.system) / 1000 - sampleMs;
  app.unmount();
  process.stdout.write(
    `${JSON.stringify({ file, frames: pipe.frames, connections: state.sample(t).view.connections.length, nodeEnv: process.env.NODE_ENV ?? null, renders, columns, rows, msPerSnapshot: +(sampleMs / renders).toFixed(3), rendered, msPerRender: +(renderMs / rendered).toFixed(3), charsPerRender: Math.round((out.chars - chars0) / rendered) })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`tui-render: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
