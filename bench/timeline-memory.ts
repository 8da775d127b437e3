/**
 * Memory the sequence timelines keep per finished connection (issue 3 "Scale").
 *
 * Writes a synthetic `many` capture (bench/synth.ts: N short 2-subflow MPTCP connections tiled from
 * 01-basic's tail), analyses it twice in this process — model only, then model + TimelineObserver —
 * and prints the retained heap (after a forced GC, with the analysis result still referenced) of each
 * run, the difference per connection, and the observer's peak live state.
 *
 *   npm run build && node --expose-gc dist/bench/timeline-memory.js [--connections 20000] [--keep FILE]
 *
 * Numbers are bytes of V8 heap (process.memoryUsage().heapUsed); nothing here is asserted by a test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile } from '../analyzer/analyze.js';
import { TimelineObserver } from '../analyzer/timeline/observer.js';
import { writeSyntheticCapture } from './synth.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

function heap(): number {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc');
  g();
  g();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const n = Number.parseInt(arg('--connections', '20000'), 10);
  const dir = mkdtempSync(join(tmpdir(), 'tl-mem-'));
  const path = join(dir, 'many.pcap');
  try {
    const syn = await writeSyntheticCapture({ path, shape: 'many', frames: 0, connections: n });
    const base = heap();
    const a0 = await analyzeFile(path);
    const h0 = heap();
    const conns0 = a0.connections.length;
    const obs = new TimelineObserver();
    const a1 = await analyzeFile(path, { observers: [obs] });
    const h1 = heap();
    const r = obs.result({ connections: a1.connections, tcpConnections: a1.tcpConnections });
    const model = h0 - base;
    const withTl = h1 - h0;
    const out = {
      connections: syn.connections,
      frames: syn.frames,
      modelConnections: conns0,
      timelineConnections: r.connections.length,
      heapModelOnlyMB: +(model / 2 ** 20).toFixed(1),
      heapModelPlusTimelineMB: +(withTl / 2 ** 20).toFixed(1),
      timelineBytesPerConnection: Math.round((withTl - model) / syn.connections),
      peakLiveState: r.peakLiveState,
      liveStateAtEnd: obs.liveState,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    if (a0.frames === 0) process.exitCode = 1;
  } finally {
    if (process.argv.includes('--keep')) process.stderr.write(`kept ${path}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

void main();
