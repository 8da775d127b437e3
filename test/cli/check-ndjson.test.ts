/**
 * `mptcpscope check --ndjson`: each MPTCP connection's findings, not-evaluable notes and passes streamed as a
 * JSON line once the connection is final (CheckOptions.onConnection), checked against `check --json` of the same
 * file — per connection (matched through `analyze --json`'s ids and initial tcp.streams) and for the capture-wide
 * rest and summary — on real captures tiled 100 s apart (fallbacks, stripped options, checksum failures, loss) and
 * on synthetic connections; and MPC-011 key reuse across a connection already streamed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCapture } from '../../bench/synth.js';
import type { CaptureAnalysis } from '../../analyzer/analyze.js';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import type { MptcpOption } from '../../analyzer/wire/mptcp/types.js';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { type StreamedCheck, checkFile } from '../../conformance/engine.js';
import { FIXTURES, REPO_ROOT } from '../helpers/fixtures.js';
import { concat, encodeMptcp, tcp4Frame } from '../helpers/packet-builder.js';
import { tileFixtures } from '../helpers/tile.js';
import { tempDir } from '../helpers/tmp.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface CheckJson {
  summary: Record<string, number>;
  findings: Array<{ connection?: number; id: string }>;
  notEvaluable: Array<{ connection?: number; id: string }>;
  passes: Array<{ connection?: number; id: string; count: number }>;
  pendingTimeline: string[];
  decodeErrors: number;
  frames: number;
  connections: number;
}

interface Line {
  record: 'connection' | 'capture';
  connection?: { subflows: { tcpStream: number }[] };
  findings: Array<Record<string, unknown>>;
  notEvaluable: Array<Record<string, unknown>>;
  passes: Array<Record<string, unknown>>;
  summary?: Record<string, number>;
  streamed?: { connections: number };
  [k: string]: unknown;
}

const inputs: { name: string; path: string }[] = [];
let reuse: string;
beforeAll(async () => {
  const dir = tempDir('mptcpscope-check-ndjson-');
  for (const linkType of [276, 1]) {
    const path = join(dir, `tiled-${linkType}.pcap`);
    await tileFixtures(path, linkType);
    inputs.push({ name: `shared-linux tiled, link type ${linkType}`, path });
  }
  const many = join(dir, 'many.pcap');
  await writeSyntheticCapture({ path: many, shape: 'many', frames: 0, connections: 3000, template: join(FIXTURES, 'shared-linux', '01-basic.client.pcap') });
  inputs.push({ name: 'synthetic, 3 000 connections', path: many });
  reuse = join(dir, 'reuse.pcap');
  writeKeyReuse(reuse);
}, 120_000);

const without = <T extends { connection?: number }>(x: T): Omit<T, 'connection'> => {
  const { connection: _c, ...rest } = x;
  return rest;
};

describe('check --ndjson', () => {
  it('gives check --json per connection and for the rest; the summary and exit code are the same', () => {
    let streamedTotal = 0;
    let lateTotal = 0;
    for (const { name, path } of inputs) {
      const a = run('analyze', '--json', path);
      const j = run('check', '--json', path);
      const n = run('check', '--ndjson', path);
      expect(j.code, name).toBe(n.code);
      const ids = (JSON.parse(a.stdout) as CaptureAnalysis).connections.map((c) => c.subflows[0]!.tcpStream);
      const want = JSON.parse(j.stdout) as CheckJson;
      const lines = n.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
      const cap = lines.pop()!;
      expect(cap.record, name).toBe('capture');
      const byStream = new Map(lines.map((l) => [l.connection!.subflows[0]!.tcpStream, l]));
      expect(byStream.size, name).toBe(ids.length);
      const analysis = JSON.parse(a.stdout) as CaptureAnalysis;
      // Findings reported at the end on a connection already streamed (rules across connections) are in the
      // capture line with its tcp.stream: they belong to that connection, without a subflow index.
      const late = cap.findings.filter((f) => f.tcpStream !== undefined);
      ids.forEach((stream, id) => {
        const l = byStream.get(stream)!;
        expect(l, `${name}: connection ${id}`).toBeDefined();
        const streams = new Set(analysis.connections[id]!.subflows.map((s) => s.tcpStream));
        const mine = late.filter((f) => streams.has(f.tcpStream as number)).map(({ tcpStream: _t, ...f }) => f);
        const strip = (f: Record<string, unknown>): Record<string, unknown> => {
          const { subflow: _s, ...rest } = f;
          return rest;
        };
        const wantHere = want.findings.filter((f) => f.connection === id).map(without) as Array<Record<string, unknown>>;
        // Streamed findings first (in their order), then the late ones; compared without the order between the two.
        const got = [...l.findings, ...mine];
        expect(got.length, `${name}: connection ${id}`).toBe(wantHere.length);
        const key = (f: Record<string, unknown>): string => JSON.stringify(strip(f));
        expect(got.map(key).sort(), `${name}: connection ${id}`).toEqual(wantHere.map(key).sort());
        expect(l.findings, `${name}: connection ${id}`).toEqual(wantHere.filter((f) => l.findings.some((g) => key(g) === key(f))));
        expect(l.notEvaluable, `${name}: connection ${id}`).toEqual(want.notEvaluable.filter((f) => f.connection === id).map(without));
        expect(l.passes, `${name}: connection ${id}`).toEqual(want.passes.filter((f) => f.connection === id).map(without));
      });
      expect(cap.summary, name).toEqual(want.summary);
      expect(cap.findings.filter((f) => f.tcpStream === undefined), name).toEqual(want.findings.filter((f) => f.connection === undefined));
      lateTotal += late.length;
      expect(cap.notEvaluable, name).toEqual(want.notEvaluable.filter((f) => f.connection === undefined));
      expect(cap.passes, name).toEqual(want.passes.filter((f) => f.connection === undefined));
      expect([cap.frames, cap.decodeErrors, cap.pendingTimeline], name).toEqual([want.frames, want.decodeErrors, want.pendingTimeline]);
      expect(cap.streamed, name).toEqual({ connections: want.connections });
      // Not vacuous: findings and passes on connections.
      expect(want.passes.filter((p) => p.connection !== undefined).length, name).toBeGreaterThan(0);
      streamedTotal += want.findings.filter((f) => f.connection !== undefined).length;
    }
    expect(streamedTotal).toBeGreaterThan(5);
    // The late path ran (MBX-001 is decided at the end from every connection's fallback).
    expect(lateTotal).toBeGreaterThan(0);
  });

  it('streams while reading: connections handed over before the end are not in the result', async () => {
    const { path } = inputs[2]!;
    const got: StreamedCheck[] = [];
    const r = await checkFile(path, { onConnection: (c) => got.push(c) });
    expect(got.length).toBeGreaterThan(1000);
    expect(r.analysis.connections.length + got.length).toBe(3000);
    expect(got.every((c) => c.connection.id === -1 && c.findings.every((f) => f.connection === undefined))).toBe(true);
    expect(got.every((c) => c.passes.length > 0)).toBe(true);
    // Findings in the result only for connections still held (or none).
    expect(r.findings.every((f) => f.connection === undefined || f.connection < r.analysis.connections.length)).toBe(true);
  });

  it('MPC-011: a key reused by a later connection, after the first one was streamed, names it by tcp.stream', () => {
    const j = run('check', '--json', reuse);
    const n = run('check', '--ndjson', reuse);
    const want = (JSON.parse(j.stdout) as CheckJson).findings.filter((f) => f.id === 'MPC-011');
    expect(want.map((f) => (f as unknown as { message: string }).message)).toEqual([expect.stringMatching(/also used by connection 0$/)]);
    const lines = n.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
    const all = lines.flatMap((l) => l.findings).filter((f) => f.id === 'MPC-011');
    // Connection 0 was streamed long before the end: the finding, on the second connection (still held at the end,
    // so in its own line), names the first by its tcp.stream.
    expect(all).toHaveLength(1);
    expect(all[0]!.message).toMatch(/also used by the connection of tcp\.stream 0$/);
    expect(all[0]!.evidence).toMatchObject({ otherConnection: null, otherTcpStream: 0 });
    const second = lines.find((l) => l.record === 'connection' && l.connection!.subflows[0]!.tcpStream === 1)!;
    expect(second.findings.map((f) => f.id)).toContain('MPC-011');
    expect(lines[0]!.connection!.subflows[0]!.tcpStream).toBe(0);
  });

  it('--timeline: every line is check --ndjson\'s with analyze --ndjson --timeline\'s metrics on the connection', () => {
    let withData = 0;
    for (const { name, path } of inputs) {
      const n = run('check', '--ndjson', path);
      const t = run('check', '--ndjson', '--timeline', path);
      const a = run('analyze', '--ndjson', '--timeline', path);
      expect(t.code, name).toBe(n.code);
      const tl = t.stdout.trim().split('\n').map((s) => JSON.parse(s) as Line);
      const nl = n.stdout.trim().split('\n').map((s) => JSON.parse(s) as Line);
      // analyze's lines of MPTCP connections, by initial tcp.stream (the order of the two streams can differ).
      const metrics = new Map<number, unknown>();
      for (const s of a.stdout.trim().split('\n')) {
        const l = JSON.parse(s) as { record: string; connection?: { subflows: { tcpStream: number }[]; metrics: unknown } };
        if (l.record === 'connection') metrics.set(l.connection!.subflows[0]!.tcpStream, l.connection!.metrics);
      }
      expect(tl.length, name).toBe(nl.length);
      expect(tl.filter((l) => l.record === 'connection').length, name).toBe(metrics.size);
      for (let i = 0; i < tl.length; i++) {
        const { metrics: m, ...model } = (tl[i]!.connection ?? {}) as { metrics?: { directions: unknown[] } };
        expect({ ...tl[i], connection: tl[i]!.connection === undefined ? undefined : model }, `${name} line ${i}`).toEqual(nl[i]);
        if (tl[i]!.record !== 'connection') continue;
        expect(m, `${name} line ${i}`).toEqual(metrics.get(tl[i]!.connection!.subflows[0]!.tcpStream));
        if ((m?.directions.length ?? 0) > 0) withData++;
      }
    }
    expect(withData).toBeGreaterThan(100);
  }, 120_000);

  it('refuses --timeline without --ndjson', () => {
    const r = run('check', '--timeline', join(FIXTURES, 'shared-linux', '01-basic.client.pcap'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--timeline goes with --ndjson only');
  });

  it('refuses --json, --junit and --expect with it', () => {
    for (const other of [['--json'], ['--junit', '/tmp/x.xml'], ['--expect', '/tmp/none.json']]) {
      const r = run('check', '--ndjson', ...other, join(FIXTURES, 'shared-linux', '01-basic.client.pcap'));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--ndjson and ${other[0]} do not go together`);
    }
  });
});

/** Two MPTCP connections with the same keys, 200 s apart (the first is retired and final long before the second). */
function writeKeyReuse(path: string): void {
  const KEY_A = 0x0102030405060708n;
  const KEY_B = 0x1112131415161718n;
  const { SYN, ACK, FIN } = TcpFlag;
  const w = new PcapWriter({ path, linkType: 1, snaplen: 262144 });
  let n = 0;
  const add = (t: number, from: 'c' | 's', port: number, flags: number, opts: Array<Partial<MptcpOption> & { type: string }> = []): void => {
    const c: [string, number] = ['10.0.1.1', port];
    const s: [string, number] = ['10.0.3.1', 5201];
    const [src, dst] = from === 'c' ? [c, s] : [s, c];
    const options = concat(...opts.map((o) => encodeMptcp({ offset: 0, length: 0, ...o } as MptcpOption)));
    const f = tcp4Frame({ srcPort: src[1], dstPort: dst[1], flags, seq: from === 'c' ? 101 : 901, options }, { src: src[0], dst: dst[0] }, { number: ++n });
    w.write({ tsSec: 1_700_000_000 + Math.floor(t), tsNsec: 0, data: f.data, originalLength: f.data.length });
  };
  for (const [t0, port] of [
    [0, 40000],
    [200, 40001],
  ] as const) {
    add(t0, 'c', port, SYN, [{ type: 'MP_CAPABLE', version: 1, flags: 0x01 }]);
    add(t0 + 1, 's', port, SYN | ACK, [{ type: 'MP_CAPABLE', version: 1, flags: 0x01, sendersKey: KEY_B }]);
    add(t0 + 2, 'c', port, ACK, [{ type: 'MP_CAPABLE', version: 1, flags: 0x01, sendersKey: KEY_A, receiversKey: KEY_B }]);
    add(t0 + 3, 'c', port, ACK, [{ type: 'DSS', flags: 0x15, dataAck: 1n, dataAck64: false, dataSequenceNumber: 1n, dsn64: false, subflowSequenceNumber: 0, dataLevelLength: 1 }]);
    add(t0 + 4, 's', port, ACK, [{ type: 'DSS', flags: 0x15, dataAck: 2n, dataAck64: false, dataSequenceNumber: 1n, dsn64: false, subflowSequenceNumber: 0, dataLevelLength: 1 }]);
    add(t0 + 5, 'c', port, FIN | ACK);
    add(t0 + 6, 's', port, FIN | ACK);
  }
  w.close();
}
