/**
 * The kernel fixture generator (fixtures/generator/generate.sh) run for real: it builds network
 * namespaces, moves data over Linux MPTCP and captures it. Needs root and an MPTCP kernel; skipped
 * (with the reason in the suite name) otherwise. CI has both, so there it runs.
 *
 * Facts are checked from the output files alone: the apps' own report in scenario.json (the
 * kernel's TCP_IS_MPTCP / MPTCP_INFO), the MIB counter deltas, and the first frames of the pcaps
 * (link type, snaplen, MP_CAPABLE / MP_JOIN in the SYNs, MP_CAPABLE missing from the SYN/ACK).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkAgainstKernel } from '../helpers/kernel-truth.js';
import { kernelSkipReason } from '../helpers/kernel-env.js';

const REPO = resolve(import.meta.dirname, '../..');
const GENERATE = join(REPO, 'fixtures/generator/generate.sh');
const RUN_ID = `vt${process.pid}`;
const NS_PREFIX = `mps-${RUN_ID}-`;

const SKIP = kernelSkipReason();

/** One TCP segment as seen in a capture: just what these checks need. */
interface Seg {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  syn: boolean;
  ack: boolean;
  payload: number;
  /** MPTCP option subtypes present (kind 30), e.g. [0] for MP_CAPABLE */
  mptcp: number[];
}

interface Pcap {
  linkType: number;
  snaplen: number;
  segs: Seg[];
}

const ip4 = (b: Buffer, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** Minimal classic-pcap reader (little-endian, µs), IPv4/TCP over Ethernet or LINUX_SLL2. */
function readPcap(path: string): Pcap {
  const b = readFileSync(path);
  expect(b.length).toBeGreaterThanOrEqual(24);
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4);
  const snaplen = b.readUInt32LE(16);
  const linkType = b.readUInt32LE(20);
  const l2 = linkType === 1 ? 14 : linkType === 276 ? 20 : -1;
  expect(l2).toBeGreaterThan(0);
  const segs: Seg[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const incl = b.readUInt32LE(off + 8);
    const f = off + 16;
    off = f + incl;
    const etherType = linkType === 1 ? b.readUInt16BE(f + 12) : b.readUInt16BE(f);
    const ip = f + l2;
    if (etherType !== 0x0800 || incl < l2 + 20 || b[ip + 9] !== 6) continue;
    const ihl = ((b[ip] ?? 0) & 0x0f) * 4;
    const tcp = ip + ihl;
    if (tcp + 20 > f + incl) continue;
    const doff = ((b[tcp + 12] ?? 0) >> 4) * 4;
    const flags = b[tcp + 13] ?? 0;
    const mptcp: number[] = [];
    const end = Math.min(tcp + doff, f + incl);
    for (let i = tcp + 20; i < end; ) {
      const kind = b[i] ?? 0;
      if (kind === 0) break;
      if (kind === 1) {
        i += 1;
        continue;
      }
      const len = b[i + 1] ?? 0;
      if (len < 2) break;
      if (kind === 30 && i + 2 < end) mptcp.push((b[i + 2] ?? 0) >> 4);
      i += len;
    }
    segs.push({
      src: ip4(b, ip + 12),
      dst: ip4(b, ip + 16),
      srcPort: b.readUInt16BE(tcp),
      dstPort: b.readUInt16BE(tcp + 2),
      syn: (flags & 0x02) !== 0,
      ack: (flags & 0x10) !== 0,
      payload: b.readUInt16BE(ip + 2) - ihl - doff,
      mptcp,
    });
  }
  return { linkType, snaplen, segs };
}

type Json = any;

describe.skipIf(SKIP !== null)(
  `kernel fixture generator (${SKIP === null ? 'root + MPTCP kernel' : `SKIPPED: ${SKIP}`})`,
  () => {
    let out = '';
    let run: { status: number | null; stderr: string } = { status: null, stderr: '' };

    beforeAll(() => {
      out = mkdtempSync(join(tmpdir(), 'mps-gen-test-'));
      const r = spawnSync(
        'bash',
        [GENERATE, '--out', out, '--no-reference', 'k01-two-subflows', 'k03-fallback'],
        { env: { ...process.env, MPS_RUN_ID: RUN_ID }, encoding: 'utf8', timeout: 170_000 },
      );
      run = { status: r.status, stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
    }, 180_000);

    afterAll(() => {
      if (out) rmSync(out, { recursive: true, force: true });
    });

    const scenario = (name: string): Json =>
      JSON.parse(readFileSync(join(out, name, 'scenario.json'), 'utf8'));

    it('generate.sh exits 0', () => {
      expect(run.status, run.stderr).toBe(0);
    });

    it('leaves no network namespace behind', () => {
      const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const left = r.stdout.split('\n').filter((l) => l.startsWith(NS_PREFIX));
      expect(left).toEqual([]);
    });

    it('k01-two-subflows: one MPTCP connection with two subflows that both carry data', () => {
      const sc = scenario('k01-two-subflows');
      expect(sc.scenario).toBe('k01-two-subflows');
      expect(sc.environment.kernel).toMatch(/\S/);
      expect(sc.apps.client.event).toBe('done');
      expect(sc.apps.client.is_mptcp).toBe(true);
      expect(sc.apps.server.is_mptcp).toBe(true);
      expect(sc.apps.client.bytes_tx).toBe(4_000_000);
      expect(sc.apps.client.server_count).toBe(4_000_000);
      expect(sc.apps.client.max_subflows_seen).toBe(2);
      expect(sc.mib.client.diff.MPTcpExtMPCapableSYNACKRX).toBe(1);
      expect(sc.mib.client.diff.MPTcpExtMPJoinSynTx).toBe(1);
      expect(sc.mib.server.diff.MPTcpExtMPJoinAckRx).toBe(1);
      expect(sc.path_manager.client.endpoints_before).toContain('10.0.2.1 id 2 subflow');

      const file = join(out, 'k01-two-subflows', 'k01-two-subflows.client.pcap');
      expect(statSync(file).size).toBeGreaterThan(100_000);
      const cap = readPcap(file);
      expect(cap.linkType).toBe(276); // LINUX_SLL2 (-i any)
      expect(cap.snaplen).toBe(200);
      const syns = cap.segs.filter((s) => s.syn && !s.ack);
      expect(syns.find((s) => s.src === '10.0.1.1' && s.mptcp.includes(0))).toBeDefined(); // MP_CAPABLE
      expect(syns.find((s) => s.src === '10.0.2.1' && s.mptcp.includes(1))).toBeDefined(); // MP_JOIN
      const dataBySubflow = new Map<string, number>();
      for (const s of cap.segs) {
        if (s.dstPort !== 5201 || s.payload <= 0) continue;
        const k = `${s.src}:${s.srcPort}`;
        dataBySubflow.set(k, (dataBySubflow.get(k) ?? 0) + s.payload);
      }
      expect(dataBySubflow.size).toBe(2);
      for (const bytes of dataBySubflow.values()) expect(bytes).toBeGreaterThan(400_000);

      const server = readPcap(join(out, 'k01-two-subflows', 'k01-two-subflows.server.pcap'));
      expect(server.linkType).toBe(1); // Ethernet (s0)
      expect(server.segs.some((s) => s.mptcp.includes(2))).toBe(true); // DSS
    });

    it('mptcpscope analyze on the fresh captures agrees with the kernel (tokens, IDSNs, fallback, subflows)', async () => {
      // Fresh keys every run: the model is checked against this run's MPTCP_INFO, not a recorded file.
      expect(await checkAgainstKernel(join(out, 'k01-two-subflows'), 'k01-two-subflows')).toBeGreaterThanOrEqual(5);
      expect(await checkAgainstKernel(join(out, 'k03-fallback'), 'k03-fallback')).toBeGreaterThanOrEqual(1);
    });

    it('k03-fallback: MP_CAPABLE SYN, SYN/ACK without it, plain TCP afterwards', () => {
      const sc = scenario('k03-fallback');
      expect(sc.apps.client.event).toBe('done');
      expect(sc.apps.client.is_mptcp).toBe(false);
      expect(sc.apps.server.is_mptcp).toBe(false);
      expect(sc.apps.server.proto).toBe('tcp');
      expect(sc.mib.client.diff.MPTcpExtMPCapableFallbackSYNACK).toBe(1);

      const cap = readPcap(join(out, 'k03-fallback', 'k03-fallback.client.pcap'));
      expect(cap.segs.length).toBeGreaterThan(100);
      const syn = cap.segs.find((s) => s.syn && !s.ack);
      const synAck = cap.segs.find((s) => s.syn && s.ack);
      expect(syn?.mptcp).toEqual([0]);
      expect(synAck).toBeDefined();
      expect(synAck?.mptcp).toEqual([]);
      expect(cap.segs.filter((s) => !s.syn && s.mptcp.length > 0)).toEqual([]);
      expect(new Set(cap.segs.map((s) => `${s.src}:${s.srcPort}`)).size).toBe(2); // one connection
    });
  },
);
