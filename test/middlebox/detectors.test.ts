/**
 * Middlebox detectors (analyzer/middlebox/detectors.ts) on real captures with injected interference,
 * on clean real captures (no middlebox finding allowed), and on real captures altered in a known way
 * (crafted: sequence rewriting, capture loss, TSO-like super-segments).
 *
 * Ground truth: the interference each fixture's generator applied (scenario.json / manifest.json:
 * iptables rules and counters, kernel MIB counters), not our own output.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCapture } from '../../analyzer/capture/open.js';
import type { Frame } from '../../analyzer/capture/types.js';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import { middleboxDetector } from '../../analyzer/middlebox/detectors.js';
import { decodePacket } from '../../analyzer/wire/packet.js';
import type { TcpSegment } from '../../analyzer/wire/types.js';
import { checkFile } from '../../conformance/engine.js';
import type { Finding } from '../../conformance/finding.js';
import { FIXTURES } from '../helpers/fixtures.js';

async function mbx(rel: string): Promise<Finding[]> {
  const path = rel.startsWith('/') ? rel : join(FIXTURES, rel);
  const r = await checkFile(path, { detectors: [middleboxDetector] });
  return r.findings;
}

interface Scenario {
  router_iptables_after: string | null;
  mib: Record<'client' | 'server', { diff: Record<string, number> }>;
}
const scenario = (name: string): Scenario => JSON.parse(readFileSync(join(FIXTURES, 'kernel', name, 'scenario.json'), 'utf8')) as Scenario;
const manifestScenario = (name: string): { kernel_view: { client_mib: Record<string, number>; server_mib: Record<string, number> } } => {
  const m = JSON.parse(readFileSync(join(FIXTURES, 'shared-linux', 'manifest.json'), 'utf8')) as { scenarios: Array<{ name: string; kernel_view: { client_mib: Record<string, number>; server_mib: Record<string, number> } }> };
  const s = m.scenarios.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no scenario ${name} in manifest`);
  return s;
};

describe('middlebox detectors on real interference', () => {
  it('MBX-001: MP_CAPABLE stripped from the SYN/ACK, seen at the client (k10, 07a): NOP bytes where the option was', async () => {
    // k10: the router rule is TCPOPTSTRIP on SYN,ACK; the client kernel counted MPCapableFallbackSYNACK.
    expect(scenario('k10-strip-synack').router_iptables_after).toContain('--tcp-flags SYN,ACK SYN,ACK -j TCPOPTSTRIP --strip-options 30');
    expect(scenario('k10-strip-synack').mib.client.diff.MPTcpExtMPCapableFallbackSYNACK).toBe(1);
    expect(manifestScenario('07a-mbox-strip-synack').kernel_view.client_mib.MPTcpExtMPCapableFallbackSYNACK).toBe(1);
    for (const rel of ['kernel/k10-strip-synack/k10-strip-synack.client.pcap', 'shared-linux/07a-mbox-strip-synack.client.pcap']) {
      const f = (await mbx(rel)).filter((x) => x.id === 'MBX-001');
      expect(f, rel).toHaveLength(1);
      expect(f[0]!.group).toBe('middlebox');
      // the stripped MP_CAPABLE of a SYN/ACK is 12 bytes (v1, RFC 8684 §3.1): 12 NOPs remain
      expect(f[0]!.evidence?.synAckNopRun).toBe(12);
    }
  });

  it('MBX-001 at the server vantage (k10, 07a server and router): MP_CAPABLE sent in the SYN/ACK, the third ACK is plain', async () => {
    expect(scenario('k10-strip-synack').mib.server.diff.MPTcpExtMPCapableFallbackACK).toBe(1);
    for (const rel of ['kernel/k10-strip-synack/k10-strip-synack.server.pcap', 'shared-linux/07a-mbox-strip-synack.server.pcap', 'shared-linux/07a-mbox-strip-synack.router.pcapng']) {
      const f = await mbx(rel);
      expect(f.map((x) => x.id), rel).toEqual(['MBX-001']);
    }
  });

  it('MBX-002: options stripped from non-SYN segments (k11, 08a), with the NOP run at the server vantage', async () => {
    // k11: the rule hit every non-SYN segment (1019 TCP segments in the capture minus the SYN and SYN/ACK).
    expect(scenario('k11-strip-nonsyn').router_iptables_after).toMatch(/\[1017:\d+\] -A FORWARD -p tcp -m tcp --tcp-flags SYN NONE -j TCPOPTSTRIP --strip-options 30/);
    for (const rel of ['kernel/k11-strip-nonsyn/k11-strip-nonsyn.server.pcap', 'shared-linux/08a-mbox-strip-nonsyn.server.pcap']) {
      const f = (await mbx(rel)).filter((x) => x.id === 'MBX-002');
      expect(f.length, rel).toBeGreaterThanOrEqual(1);
      // the client's third ACK: MP_CAPABLE ACK form (20 bytes, RFC 8684 §3.1) replaced by NOPs
      const fromClient = f.find((x) => x.frames[0] === 3 || (x.evidence?.nopRun as number) >= 20);
      expect(fromClient, rel).toBeDefined();
      expect(fromClient!.evidence?.nopRun).toBeGreaterThanOrEqual(20);
      expect(fromClient!.severity).toBe('warning');
    }
    for (const rel of ['kernel/k11-strip-nonsyn/k11-strip-nonsyn.client.pcap', 'shared-linux/08a-mbox-strip-nonsyn.client.pcap']) {
      const ids = (await mbx(rel)).map((x) => x.id);
      expect(ids, rel).toContain('MBX-002');
      expect(ids, rel).not.toContain('MBX-001');
    }
  });

  it('MBX-004: DSS checksum failure answered by MP_FAIL and MP_TCPRST 0x06, and the reinjected range with different bytes (15b)', async () => {
    const k = manifestScenario('15b-csum-corrupt-2sf').kernel_view;
    expect(k.server_mib.MPTcpExtDataCsumErr).toBe(1);
    expect(k.server_mib.MPTcpExtMPFailTx).toBe(1);
    for (const rel of ['shared-linux/15b-csum-corrupt-2sf.client.pcap', 'shared-linux/15b-csum-corrupt-2sf.server.pcap']) {
      const f = await mbx(rel);
      expect(new Set(f.map((x) => x.id)), rel).toEqual(new Set(['MBX-004']));
      const fail = f.filter((x) => x.message.startsWith('MP_FAIL'));
      expect(fail).toHaveLength(k.server_mib.MPTcpExtMPFailTx!);
      expect(fail[0]!.evidence?.related).toBe('DSS-002');
      expect(f.some((x) => x.evidence?.reason === 6)).toBe(true);
    }
    // At the server (downstream of the flipper), the flipped segment and its reinjection on the other subflow
    // carry the same DSN range with different bytes; the kernel counted the duplicate (MPTcpExtDuplicateData).
    expect(k.server_mib.MPTcpExtDuplicateData).toBe(1);
    const srv = await mbx('shared-linux/15b-csum-corrupt-2sf.server.pcap');
    const re = srv.filter((x) => x.message.includes('different bytes'));
    expect(re).toHaveLength(1);
    const cli = await mbx('shared-linux/15b-csum-corrupt-2sf.client.pcap');
    expect(cli.filter((x) => x.message.includes('different bytes'))).toHaveLength(0); // upstream: the bytes are the same
  });

  it('MBX-006: MP_JOIN source translated by MASQUERADE vs the announced address (k12 server vantage only)', async () => {
    expect(scenario('k12-nat-path2').router_iptables_after).toContain('-A POSTROUTING -s 10.0.2.0/24 -o rs0 -j MASQUERADE');
    const srv = await mbx('kernel/k12-nat-path2/k12-nat-path2.server.pcap');
    expect(srv.map((x) => x.id)).toEqual(['MBX-006']);
    expect(srv[0]!.evidence).toMatchObject({ seen: '10.0.3.254', expected: '10.0.2.1', addressId: 2 });
    // the client's own capture is upstream of the NAT: the join leaves from the announced address
    expect(await mbx('kernel/k12-nat-path2/k12-nat-path2.client.pcap')).toEqual([]);
  });
});

describe('no middlebox finding on clean captures', () => {
  const clean: string[] = [];
  for (const f of readdirSync(join(FIXTURES, 'shared-linux'))) {
    if (/\.pcap(ng)?$/.test(f) && !/^(07a|08a|15b)-/.test(f)) clean.push(`shared-linux/${f}`);
  }
  for (const d of readdirSync(join(FIXTURES, 'kernel'))) {
    if (!/^k0[1-9]-/.test(d)) continue;
    for (const f of readdirSync(join(FIXTURES, 'kernel', d))) if (/\.pcap(ng)?$/.test(f)) clean.push(`kernel/${d}/${f}`);
  }
  it('lists the clean captures', () => {
    expect(clean.length).toBeGreaterThanOrEqual(27);
  });
  for (const rel of clean) {
    it(rel, async () => {
      const f = await mbx(rel);
      expect(f.filter((x) => x.group === 'middlebox')).toEqual([]);
    });
  }
});

// ---------------------------------------------------------------- crafted from real captures
const tmp = mkdtempSync(join(tmpdir(), 'mbx-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Edit = (seg: TcpSegment, data: Uint8Array, frame: Frame) => Uint8Array | null | undefined;

/** Rewrite a real capture frame by frame (null drops the frame, undefined keeps it); IPv4 only. */
async function rewrite(rel: string, out: string, edit: Edit): Promise<string> {
  const path = join(tmp, out);
  const src = openCapture(join(FIXTURES, rel));
  const frames: Array<{ tsSec: number; tsNsec: number; data: Uint8Array; originalLength: number }> = [];
  let linkType = 1;
  const summary = await src.run({
    frame: (f) => {
      linkType = Number(f.linkType);
      const d = decodePacket(f, rel, []);
      let data: Uint8Array | null | undefined = f.data.slice();
      let orig = f.originalLength;
      if (d.kind === 'tcp') {
        const r = edit(d.segment, data, f);
        if (r === null) return;
        if (r !== undefined) {
          orig += r.length - data.length;
          data = r;
          // keep the frame's original length consistent with an edited IPv4 total length
          const ipAt = ipStart(d.segment);
          const total = (data[ipAt + 2]! << 8) | data[ipAt + 3]!;
          orig = Math.max(orig, ipAt + total);
        }
      }
      frames.push({ tsSec: f.tsSec, tsNsec: f.tsNsec, data, originalLength: orig });
    },
  });
  expect(summary.frames).toBeGreaterThan(0);
  const w = new PcapWriter({ path, linkType, snaplen: 262144 });
  for (const f of frames) w.write(f);
  w.close();
  return path;
}

/** Offsets in a decoded IPv4/TCP frame. */
const tcpStart = (s: TcpSegment): number => s.payloadOffset - s.headerLength;
const ipStart = (s: TcpSegment): number => tcpStart(s) - 20;

describe('middlebox detectors on real captures altered in a known way', () => {
  const K01 = 'kernel/k01-two-subflows/k01-two-subflows.client.pcap';

  it('MBX-003: a constant shift of the TCP sequence numbers of one direction (ISN kept) is a sequence-number rewrite', async () => {
    const SHIFT = 100000;
    let clientPort = 0;
    const path = await rewrite(K01, 'k01-seqshift.pcap', (s, data) => {
      if ((s.flags & 0x02) !== 0 && (s.flags & 0x10) === 0 && clientPort === 0) clientPort = s.srcPort; // first SYN: initial subflow
      if (s.srcPort !== clientPort || (s.flags & 0x02) !== 0) return undefined;
      const dv = new DataView(data.buffer, data.byteOffset);
      dv.setUint32(tcpStart(s) + 4, (s.seq + SHIFT) >>> 0);
      return data;
    });
    const f = (await mbx(path)).filter((x) => x.id === 'MBX-003');
    expect(f).toHaveLength(1);
    expect(f[0]!.evidence).toMatchObject({ shift: SHIFT, constant: true });
    expect(f[0]!.subflow).toBe(0);
  });

  it('MBX-007 (capture): a data segment removed from the capture but acknowledged by the peer is capture loss, not a middlebox', async () => {
    let n = 0;
    let removedSeq = -1;
    const path = await rewrite(K01, 'k01-caploss.pcap', (s) => {
      if (s.payloadLength > 1000 && s.dstPort === 5201) {
        n++;
        if (n === 500) {
          removedSeq = s.seq;
          return null;
        }
      }
      return undefined;
    });
    expect(removedSeq).toBeGreaterThanOrEqual(0);
    const f = await mbx(path);
    expect(f.filter((x) => x.group === 'middlebox')).toEqual([]);
    const loss = f.filter((x) => x.id === 'MBX-007');
    expect(loss).toHaveLength(1);
    expect(loss[0]!.group).toBe('capture');
    expect(loss[0]!.evidence?.holes).toBe(1);
  });

  it('MBX-008 (capture): the peer acknowledges data the capture never saw (client data cut after a point)', async () => {
    let cutFrom = -1;
    let n = 0;
    const path = await rewrite(K01, 'k01-cut.pcap', (s) => {
      if ((s.payloadLength > 0 || (s.flags & 0x01) !== 0) && s.dstPort === 5201) {
        n++;
        if (n === 800) cutFrom = s.frame;
        if (cutFrom >= 0) return null; // every later client data segment and FIN is missing
      }
      return undefined;
    });
    const f = await mbx(path);
    expect(f.filter((x) => x.group === 'middlebox')).toEqual([]);
    expect(f.filter((x) => x.id === 'MBX-008').length).toBeGreaterThanOrEqual(1);
    expect(f.filter((x) => x.id === 'MBX-008').every((x) => x.group === 'capture')).toBe(true);
  });

  it('MBX-005 (capture): two consecutive segments merged into one above the MSS, one DSS, are a TSO/GRO artefact, never a middlebox', async () => {
    // Merge the payload length of each client data segment's successor into it (IP total length), as a TSO
    // super-segment captured at the sender looks: one header, one DSS mapping, more than the MSS.
    let merged = 0;
    const path = await rewrite(K01, 'k01-tso.pcap', (s, data) => {
      if (s.dstPort !== 5201 || s.payloadLength !== 1424 || merged >= 5) return undefined;
      const dss = s.options.mptcp.find((o) => o.type === 'DSS' && o.dataLevelLength !== undefined);
      if (dss === undefined || dss.type !== 'DSS') return undefined;
      const dv = new DataView(data.buffer, data.byteOffset);
      // payload doubled inside the same mapping (Linux maps up to 16 KiB per DSS, repeated on each segment)
      dv.setUint16(ipStart(s) + 2, dv.getUint16(ipStart(s) + 2) + 1424);
      merged++;
      return data;
    });
    const f = await mbx(path);
    expect(f.filter((x) => x.group === 'middlebox')).toEqual([]);
    const tso = f.filter((x) => x.id === 'MBX-005');
    expect(tso).toHaveLength(1);
    expect(tso[0]!).toMatchObject({ group: 'capture', severity: 'info' });
    expect(tso[0]!.evidence).toMatchObject({ segments: 5, maxPayload: 2848, mss: 1460 });
  });
});

describe('capture artefacts and damaged options in public captures', () => {
  const tcpdump = (rel: string): string => readFileSync(join(FIXTURES, `${rel}.tcpdump.txt`), 'utf8');

  it('MBX-005 (capture): tcpdump test capture mptcp-v1.pcap has loopback TSO super-segments above the MSS: capture group only', async () => {
    const rel = 'public-tcpdump/mptcp-v1.pcap';
    const lengths = [...tcpdump(rel).matchAll(/length (\d+)$/gm)].map((m) => Number(m[1]));
    const f = await mbx(rel);
    expect(f.filter((x) => x.group === 'middlebox')).toEqual([]);
    const tso = f.filter((x) => x.id === 'MBX-005');
    expect(tso.length).toBeGreaterThanOrEqual(1);
    for (const x of tso) expect(x.group).toBe('capture');
    expect(Math.max(...tso.map((x) => x.evidence?.maxPayload as number))).toBe(Math.max(...lengths));
  });

  it('MBX-009 (capture): options cut by a 64-byte snaplen are a capture fact, never a middlebox', async () => {
    const f = await mbx('variants/01-basic.server.snap64.pcap');
    expect(f.filter((x) => x.group === 'middlebox')).toEqual([]);
    expect(f.filter((x) => x.id === 'MBX-009').map((x) => x.group)).toEqual(['capture']);
  });

  it('MBX-009 (middlebox): a DSS option whose length runs past the header (tcpdump: "dss[bad opt]", bytes all captured)', async () => {
    const rel = 'public-tcpdump/mptcp-dss-oobr.pcap';
    expect(tcpdump(rel)).toContain('dss[bad opt]');
    const f = (await mbx(rel)).filter((x) => x.id === 'MBX-009');
    expect(f.map((x) => [x.group, x.severity])).toEqual([['middlebox', 'warning']]);
  });
});
