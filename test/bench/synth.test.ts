/**
 * The benchmark's synthetic capture generator (bench/synth.ts): the files it writes read back with
 * the frame count it reports, hold the intended number of MPTCP connections (joins linked by the
 * rewritten tokens), and keep valid TCP checksums (recomputed here in full, independently of the
 * generator's incremental update) on every frame captured whole. No timing is measured.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../../analyzer/analyze.js';
import { openCapture, openCaptureBytes } from '../../analyzer/capture/open.js';
import { writeSyntheticCapture } from '../../bench/synth.js';
import { checkFile } from '../../conformance/engine.js';
import { FIXTURES } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'mps-synth-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TEMPLATE = join(FIXTURES, 'shared-linux', '01-basic.client.pcap');

async function countFrames(path: string): Promise<number> {
  const s = await openCapture(path).run({ frame() {} });
  return s.frames;
}

/** Full TCP checksum check (RFC 793 pseudo-header) of every whole IPv4/TCP frame on LINUX_SLL2. */
async function badTcpChecksums(path: string): Promise<{ checked: number; bad: number }> {
  let checked = 0;
  let bad = 0;
  await openCaptureBytes(readFileSync(path)).run({
    frame(f) {
      const d = f.data;
      if (f.capturedLength !== f.originalLength || f.linkType !== 276) return;
      if (((d[0] ?? 0) << 8 | (d[1] ?? 0)) !== 0x0800) return;
      const ip = 20;
      const ihl = ((d[ip] ?? 0) & 15) * 4;
      const total = ((d[ip + 2] ?? 0) << 8) | (d[ip + 3] ?? 0);
      if (d[ip + 9] !== 6) return;
      const tcpLen = total - ihl;
      let s = 6 + tcpLen;
      for (let i = ip + 12; i < ip + 20; i += 2) s += ((d[i] ?? 0) << 8) | (d[i + 1] ?? 0);
      const t = ip + ihl;
      for (let i = 0; i < tcpLen; i += 2) s += ((d[t + i] ?? 0) << 8) | (i + 1 < tcpLen ? (d[t + i + 1] ?? 0) : 0);
      while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
      checked++;
      if (s !== 0xffff) bad++;
    },
  });
  return { checked, bad };
}

describe('bench synthetic captures', () => {
  it("shape 'long': one MPTCP connection, two subflows, frame count as reported", async () => {
    const path = join(dir, 'long.pcap');
    const r = await writeSyntheticCapture({ path, shape: 'long', frames: 30_000, template: TEMPLATE });
    expect(r.frames).toBeGreaterThanOrEqual(30_000);
    expect(r.pieces.copies).toBeGreaterThan(1);
    expect(r.frames).toBe(r.pieces.prefix + r.pieces.copies * r.pieces.middle + r.pieces.suffix);
    expect(await countFrames(path)).toBe(r.frames);
    const a = await analyzeFile(path);
    expect(a.frames).toBe(r.frames);
    expect(a.connections).toHaveLength(1);
    const c = a.connections[0];
    expect(c?.subflows).toHaveLength(2);
    expect(c?.handshake).toBe('complete');
    // the template's keys are kept (tshark sidecar of the template)
    const side = readFileSync(`${TEMPLATE}.tshark.json`, 'utf8');
    expect(c?.client.key).toMatch(/^[0-9a-f]{16}$/);
    expect(side).toContain(`"${c?.client.key}"`);
    expect(side).toContain(`"${c?.server.key}"`);
    // every subflow packet of every copy is attributed to the connection
    expect(c?.subflows.reduce((n, s) => n + s.packets, 0)).toBe(r.frames);
    const ck = await badTcpChecksums(path);
    expect(ck.checked).toBeGreaterThan(1000);
    expect(ck.bad).toBe(0);
  });

  it("shape 'many': the intended number of connections, fresh keys, joins linked by token", async () => {
    const path = join(dir, 'many.pcap');
    const r = await writeSyntheticCapture({ path, shape: 'many', frames: 0, connections: 60, template: TEMPLATE });
    expect(r.connections).toBe(60);
    expect(r.frames).toBe(60 * (r.pieces.prefix + r.pieces.tail));
    expect(await countFrames(path)).toBe(r.frames);
    const a = await analyzeFile(path);
    expect(a.connections).toHaveLength(60);
    expect(a.tcpConnections).toHaveLength(0);
    for (const c of a.connections) expect(c.subflows).toHaveLength(2);
    const keys = new Set(a.connections.flatMap((c) => [c.client.key, c.server.key]));
    expect(keys.size).toBe(120);
    expect(a.connections.reduce((n, c) => n + c.subflows.reduce((m, s) => m + s.packets, 0), 0)).toBe(r.frames);
    const ck = await badTcpChecksums(path);
    expect(ck.checked).toBeGreaterThan(500);
    expect(ck.bad).toBe(0);
    // A coherent trace: the rules find nothing (HMACs recomputed, the join's fourth ACK before its data: JOIN-005),
    // and the MP_JOIN HMACs of every connection were verified.
    const chk = await checkFile(path, { split: false });
    expect(chk.findings.map((f) => `${f.id}: ${f.message}`)).toEqual([]);
    expect(chk.passes.filter((p) => p.id === 'JOIN-002')).toHaveLength(60);
  });
});
