/**
 * `mptcpscope analyze --ndjson`: connections streamed as JSON lines while the capture is read
 * (TrackerOptions.onFinal), checked against `analyze --json` of the same file — the same connection models
 * (but `id`), plain TCP conversations and capture facts — on real captures tiled 100 s apart and on a
 * synthetic capture of 3 000 connections; that models really leave before the end of the file, once final;
 * and the writer's backpressure (a slow consumer makes reading wait instead of buffering). Late segments
 * counted before a streamed model is final: test/model/retirement.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCapture } from '../../bench/synth.js';
import { analyzeFile, type CaptureAnalysis } from '../../analyzer/analyze.js';
import { openCapture } from '../../analyzer/capture/open.js';
import type { CaptureSource, Frame } from '../../analyzer/capture/types.js';
import type { FinalModel } from '../../analyzer/model/tracker.js';
import { NDJSON_BATCH, NdjsonWriter } from '../../cli/json-out.js';
import { FIXTURES, REPO_ROOT } from '../helpers/fixtures.js';
import { tileFixtures } from '../helpers/tile.js';
import { tempDir } from '../helpers/tmp.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface Line {
  record: 'connection' | 'tcpConnection' | 'capture';
  file: string;
  connection?: CaptureAnalysis['connections'][number];
  tcpConnection?: CaptureAnalysis['tcpConnections'][number];
  streamed?: { connections: number; tcpConnections: number };
  [k: string]: unknown;
}

/** `continuous`: traffic without long pauses, so each retirement and tombstone end happens on time. */
const inputs: { name: string; path: string; continuous: boolean }[] = [];
beforeAll(async () => {
  const dir = tempDir('mptcpscope-ndjson-');
  for (const linkType of [276, 1]) {
    const path = join(dir, `tiled-${linkType}.pcap`);
    await tileFixtures(path, linkType);
    inputs.push({ name: `shared-linux tiled, link type ${linkType}`, path, continuous: false });
  }
  const many = join(dir, 'many.pcap');
  await writeSyntheticCapture({ path: many, shape: 'many', frames: 0, connections: 3000, template: join(FIXTURES, 'shared-linux', '01-basic.client.pcap') });
  inputs.push({ name: 'synthetic, 3 000 connections', path: many, continuous: true });
}, 120_000);

/** The file's capture source, calling `seen` with each frame before the analysis gets it. */
function watched(path: string, seen: (f: Frame) => void): CaptureSource {
  const base = openCapture(path);
  return {
    name: base.name,
    run: (sink) =>
      base.run({
        ...sink,
        frame: (f) => {
          seen(f);
          sink.frame(f);
        },
      }),
  };
}

const firstStream = (c: { subflows: { tcpStream: number }[] }): number => c.subflows[0]?.tcpStream ?? -1;

describe('analyze --ndjson', () => {
  it('gives the --json result as lines: every connection model (but its id), every TCP conversation, the capture facts', () => {
    for (const { name, path } of inputs) {
      const j = run('analyze', '--json', path);
      const n = run('analyze', '--ndjson', path);
      expect([j.code, n.code], `${name}: ${j.stderr}${n.stderr}`).toEqual([0, 0]);
      const want = JSON.parse(j.stdout) as CaptureAnalysis;
      const lines = n.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
      const last = lines.pop()!;
      expect(last.record, name).toBe('capture');
      expect(lines.every((l) => l.record === 'connection' || l.record === 'tcpConnection'), name).toBe(true);
      expect(lines.every((l) => l.file === path), name).toBe(true);
      const conns = lines.filter((l) => l.record === 'connection').map((l) => l.connection!);
      expect(conns.length, name).toBe(want.connections.length);
      expect(conns.length, name).toBeGreaterThan(3);
      conns.sort((a, b) => firstStream(a) - firstStream(b));
      expect(conns, name).toEqual(want.connections.map(({ id: _id, ...c }) => c));
      const tcp = lines.filter((l) => l.record === 'tcpConnection').map((l) => l.tcpConnection!);
      tcp.sort((a, b) => a.tcpStream - b.tcpStream);
      expect(tcp, name).toEqual(want.tcpConnections);
      const { record: _r, file: _f, streamed, ...facts } = last;
      const { connections: _c, tcpConnections: _t, ...wantFacts } = want;
      expect(facts, name).toEqual(wantFacts);
      expect(streamed, name).toEqual({ connections: want.connections.length, tcpConnections: want.tcpConnections.length });
    }
  });

  it('with --timeline: each connection line carries the metrics `analyze --json --timeline` gives it', () => {
    for (const { name, path } of inputs) {
      const j = run('analyze', '--json', '--timeline', path);
      const n = run('analyze', '--ndjson', '--timeline', path);
      expect([j.code, n.code], `${name}: ${j.stderr}${n.stderr}`).toEqual([0, 0]);
      const want = (JSON.parse(j.stdout) as CaptureAnalysis).connections as Array<CaptureAnalysis['connections'][number] & { metrics: { connection?: number; directions: unknown[] } }>;
      const got = n.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Line)
        .filter((l) => l.record === 'connection')
        .map((l) => l.connection!);
      got.sort((a, b) => firstStream(a) - firstStream(b));
      expect(got, name).toEqual(want.map(({ id: _id, metrics: { connection: _c, ...m }, ...c }) => ({ ...c, metrics: m })));
      // Not vacuous: metrics with data directions, retired connections among them.
      expect(want.filter((c) => c.metrics.directions.length > 0).length, name).toBeGreaterThan(1);
    }
  });

  it('hands each model over once final, while the file is read, and keeps none of them (onFinal)', async () => {
    for (const { name, path, continuous } of inputs) {
      let read = 0;
      let now = 0;
      const counting = watched(path, (f) => {
        read++;
        now = f.tsSec + f.tsNsec / 1e9;
      });
      const handed: { at: number; now: number; m: FinalModel }[] = [];
      const a = await analyzeFile(path, { source: counting, onFinal: (m) => handed.push({ at: read, now, m }) });
      const end = now;
      const conns = handed.filter((h) => h.m.connection !== undefined);
      expect(conns.length, name).toBe(a.retirement.connections);
      for (const h of handed) {
        const m = (h.m.connection ?? h.m.tcpConnection)!;
        expect(h.m.connection?.id ?? -1, name).toBe(-1);
        // Final: not before its tombstones ended (retired ≥ RETIRE_AFTER_SECONDS = 10 s after its last segment,
        // tombstones TOMBSTONE_SECONDS = 60 s more), so late segments were counted in it first …
        if (h.at < a.frames) expect(h.now - m.end, name).toBeGreaterThan(70);
        // … and not held longer: with continuous traffic (retirement and tombstone expiry run on the next segment),
        // anything that ended over 71 s before the capture did left during the read. (Tiled captures pause 100 s
        // between tiles: a connection retires at the next tile's first segment, and its tombstones run from there.)
        if (continuous && m.end + 71 < end) expect(h.at, name).toBeLessThan(a.frames);
      }
      expect(handed.filter((h) => h.at < a.frames).length, name).toBeGreaterThan(0);
      // Retired ones were not also kept for the result: it holds only those open at the end.
      expect(a.connections.length, name).toBeLessThan((conns.length + a.connections.length) / 2);
    }
  });

  it('refuses --json and --csv with it', () => {
    for (const other of ['--json', '--csv']) {
      const r = run('analyze', '--ndjson', other, join(FIXTURES, 'shared-linux', '01-basic.client.pcap'));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--ndjson and ${other} do not go together`);
    }
  });

  it('a file that is not a capture: a capture line with the error, exit 2; a missing file: exit 2, the next file still written', () => {
    const r = run('analyze', '--ndjson', join(FIXTURES, 'README.md'), '/nonexistent.pcap', join(FIXTURES, 'shared-linux', '01-basic.client.pcap'));
    expect(r.code).toBe(2);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
    const caps = lines.filter((l) => l.record === 'capture');
    expect(caps.map((l) => l.file)).toEqual([join(FIXTURES, 'README.md'), join(FIXTURES, 'shared-linux', '01-basic.client.pcap')]);
    expect((caps[0]!.errorCount as number) > 0 && caps[0]!.frames === 0).toBe(true);
    expect(r.stderr).toContain('/nonexistent.pcap');
    expect(lines.filter((l) => l.record === 'connection').length).toBe(1);
  });
});

describe('reader backpressure (FrameSink.drain)', () => {
  it('the file reader asks between chunks and delivers no frame while the returned promise is pending', async () => {
    const path = inputs[2]!.path; // several MB: many chunks
    let blocked = false;
    let framesWhileBlocked = 0;
    let frames = 0;
    const asked: number[] = [];
    const src = watched(path, () => {
      frames++;
      if (blocked) framesWhileBlocked++;
    });
    const a = await analyzeFile(path, {
      source: src,
      drain: () => {
        asked.push(frames);
        if (asked.length % 2 === 1) return undefined;
        blocked = true;
        return new Promise<void>((res) =>
          setTimeout(() => {
            blocked = false;
            res();
          }, 1),
        );
      },
    });
    expect(asked.length).toBeGreaterThan(2);
    expect(framesWhileBlocked).toBe(0);
    expect(asked.every((n, i) => i === 0 || n > asked[i - 1]!)).toBe(true);
    expect(a.frames).toBe(frames);
  });
});

describe('NdjsonWriter', () => {
  it('writes only full batches while reading, waits for a slow stream, and loses or reorders nothing', async () => {
    const chunks: string[] = [];
    let pending = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      decodeStrings: false,
      write(chunk: string, _enc, cb) {
        chunks.push(chunk);
        pending++;
        setTimeout(() => {
          pending--;
          cb();
        }, 5);
      },
    });
    const w = new NdjsonWriter(slow);
    let waited = 0;
    const n = 5000;
    for (let i = 0; i < n; i++) {
      w.record({ i, pad: 'x'.repeat(40) });
      const d = w.drain();
      if (d !== undefined) {
        waited++;
        await d;
        // Resolved on 'drain': the stream had written everything handed to it.
        expect(pending).toBe(0);
      }
    }
    await w.end();
    await new Promise<void>((res) => slow.end(res));
    // Batches of ≥ NDJSON_BATCH characters, except the last one.
    expect(chunks.slice(0, -1).every((c) => c.length >= NDJSON_BATCH)).toBe(true);
    expect(waited).toBeGreaterThan(0);
    const got = chunks.join('').trimEnd().split('\n').map((l) => (JSON.parse(l) as { i: number }).i);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});
