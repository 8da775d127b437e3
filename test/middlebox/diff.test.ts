/**
 * `mptcpscope diff BEFORE AFTER` (analyzer/middlebox/diff.ts, cli/diff.ts) over real before/after capture
 * pairs taken on both sides of a router that interfered for real. Ground truth: the router's iptables rule
 * and hit counters (scenario.json), the kernel MIB counters (manifest.json), the tcpdump/tshark sidecars,
 * and the raw frames read back independently of the diff code.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { openCapture } from '../../analyzer/capture/open.js';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import { type DiffResult, diffCaptures } from '../../analyzer/middlebox/diff.js';
import type { MptcpOption } from '../../analyzer/wire/mptcp/types.js';
import { decodePacket } from '../../analyzer/wire/packet.js';
import { main } from '../../cli/main.js';
import { FIXTURES, readSidecar, tcpdumpLines } from '../helpers/fixtures.js';
import { type TcpSpec, tcp4Frame } from '../helpers/packet-builder.js';

const fx = (rel: string): string => join(FIXTURES, rel);
const pair = (base: string, a = 'client', b = 'server', ext = 'pcap'): [string, string] => [fx(`${base}.${a}.pcap`), fx(`${base}.${b}.${ext}`)];
const iptables = (name: string): string => (JSON.parse(readFileSync(fx(`kernel/${name}/scenario.json`), 'utf8')) as { router_iptables_after: string }).router_iptables_after;

/** The `tcpdump -#` line of frame `n`. */
const tcpdumpFrame = (rel: string, n: number): string | undefined => tcpdumpLines(rel).find((l) => Number.parseInt(l.trim(), 10) === n);

/** Everything the device changed besides TTL and delay. */
const changes = (r: DiffResult) => ({
  optionsRemoved: r.optionsRemoved.length,
  optionsAdded: r.optionsAdded.length,
  translations: r.translations.length,
  seqOffsets: r.seqOffsets.length,
  ackOffsets: r.ackOffsets.length,
  resegmented: r.resegmented.length,
  payload: r.payloadChangedSegments,
  dropped: r.dropped.length,
  added: r.added.length,
});
const NONE = { optionsRemoved: 0, optionsAdded: 0, translations: 0, seqOffsets: 0, ackOffsets: 0, resegmented: 0, payload: 0, dropped: 0, added: 0 };

describe('diff over real before/after pairs', () => {
  it('clean path (k01): every segment matched, nothing changed but the TTL (router hop)', async () => {
    const [b, a] = pair('kernel/k01-two-subflows/k01-two-subflows');
    const r = await diffCaptures(b, a);
    const frames = readSidecar('kernel/k01-two-subflows/k01-two-subflows.server.pcap').frames;
    expect(r.matched).toBe(frames);
    expect(changes(r)).toEqual(NONE);
    // one router hop: TTL 64 → 63 in both directions
    expect(r.ttl.map((t) => t.what).sort()).toEqual(['TTL 64 → 63 (after→before)', 'TTL 64 → 63 (before→after)']);
    expect(r.delayForward!.min).toBeGreaterThan(0);
    expect(r.delayForward!.min).toBeLessThanOrEqual(r.delayForward!.median);
    expect(r.delayForward!.median).toBeLessThanOrEqual(r.delayForward!.max);
  });

  for (const base of ['shared-linux/07a-mbox-strip-synack', 'kernel/k10-strip-synack/k10-strip-synack']) {
    it(`${base}: MP_CAPABLE removed from the SYN/ACK on its way from the server to the client, nothing else`, async () => {
      const [b, a] = pair(base);
      const r = await diffCaptures(b, a);
      expect(r.optionsRemoved).toEqual([{ what: 'MP_CAPABLE on SYN/ACK (after→before)', count: 1, examples: [expect.any(Array)] }]);
      expect({ ...changes(r), optionsRemoved: 0 }).toEqual(NONE);
      // the example frames are the SYN/ACKs in both files
      const [fb, fa] = r.optionsRemoved[0]!.examples[0]!;
      expect(tcpdumpFrame(`${base}.client.pcap`, fb)).toContain('Flags [S.]');
      expect(tcpdumpFrame(`${base}.server.pcap`, fa)).toMatch(/Flags \[S\.\].*mptcp 12 capable v1/);
    });
  }

  for (const base of ['shared-linux/08a-mbox-strip-nonsyn', 'kernel/k11-strip-nonsyn/k11-strip-nonsyn']) {
    it(`${base}: option 30 removed from non-SYN segments only, each one the client sent with an MPTCP option`, async () => {
      const [b, a] = pair(base);
      const r = await diffCaptures(b, a);
      expect(r.optionsRemoved.length).toBeGreaterThan(0);
      for (const c of r.optionsRemoved) expect(c.what).toMatch(/^(MP_CAPABLE|DSS|ADD_ADDR|MP_JOIN) on non-SYN \((before|after)→(after|before)\)$/);
      // tcpdump at the client: non-SYN segments that carry an MPTCP option (one option each in these captures)
      const withOpt = tcpdumpLines(`${base}.client.pcap`).filter((l) => !/Flags \[S/.test(l) && l.includes('mptcp'));
      expect(r.optionsRemoved.reduce((n, c) => n + c.count, 0)).toBe(withOpt.length);
      expect({ ...changes(r), optionsRemoved: 0 }).toEqual(NONE);
    });
  }
  it('k11: the TCPOPTSTRIP rule hit every non-SYN segment, and every one was matched', async () => {
    const [b, a] = pair('kernel/k11-strip-nonsyn/k11-strip-nonsyn');
    const r = await diffCaptures(b, a);
    const hits = Number(/\[(\d+):\d+\] -A FORWARD -p tcp -m tcp --tcp-flags SYN NONE -j TCPOPTSTRIP/.exec(iptables('k11-strip-nonsyn'))![1]);
    expect(r.matched).toBe(hits + 2); // + SYN and SYN/ACK
  });

  it('15b: exactly the one payload byte flipped on path 1, at its offset; the server answered that mapping with MP_FAIL', async () => {
    const [b, a] = pair('shared-linux/15b-csum-corrupt-2sf');
    const r = await diffCaptures(b, a);
    expect(r.payloadChangedSegments).toBe(1);
    expect({ ...changes(r), payload: 0 }).toEqual(NONE);
    const p = r.payload[0]!;
    expect(p.bytes).toHaveLength(1);
    expect(p.flow).toMatch(/^10\.0\.1\.1:\d+ > 10\.0\.3\.1:5201 \(before→after\)$/);
    // read both frames back without the diff code: the bytes at that payload offset differ, all others equal
    const payloadOf = async (file: string, frame: number): Promise<{ bytes: Uint8Array; opts: MptcpOption[] }> => {
      let out: { bytes: Uint8Array; opts: MptcpOption[] } | undefined;
      await openCapture(file).run({
        frame: (f) => {
          if (f.number !== frame) return;
          const d = decodePacket(f, file, []);
          if (d.kind === 'tcp') out = { bytes: f.data.slice(d.segment.payloadOffset, d.segment.payloadOffset + d.segment.capturedPayloadLength), opts: d.segment.options.mptcp };
        },
      });
      return out!;
    };
    const pb = await payloadOf(b, p.beforeFrame);
    const pa = await payloadOf(a, p.afterFrame);
    expect(pb.bytes.length).toBe(pa.bytes.length);
    const diffAt = [...pb.bytes.keys()].filter((i) => pb.bytes[i] !== pa.bytes[i]);
    expect(diffAt).toEqual([p.bytes[0]!.offset]);
    expect([pb.bytes[diffAt[0]!], pa.bytes[diffAt[0]!]]).toEqual([p.bytes[0]!.before, p.bytes[0]!.after]);
    // the MP_FAIL the server sent names the DSN of the mapping that carried the flipped byte
    const mapping = pa.opts.find((o) => o.type === 'DSS' && o.dataSequenceNumber !== undefined);
    const fails: bigint[] = [];
    await openCapture(a).run({
      frame: (f) => {
        const d = decodePacket(f, a, []);
        if (d.kind === 'tcp') for (const o of d.segment.options.mptcp) if (o.type === 'MP_FAIL') fails.push(o.dataSequenceNumber);
      },
    });
    expect(mapping?.type === 'DSS' ? mapping.dataSequenceNumber : undefined).toBe(fails[0]);
  });

  it('k12 (MASQUERADE on path 2): the join subflow source address translated, port kept; nothing else', async () => {
    const [b, a] = pair('kernel/k12-nat-path2/k12-nat-path2');
    const r = await diffCaptures(b, a);
    const srv = readSidecar('kernel/k12-nat-path2/k12-nat-path2.server.pcap').tcpStreams.find((s) => s.synKind === 'mp_join')!;
    const cli = readSidecar('kernel/k12-nat-path2/k12-nat-path2.client.pcap').tcpStreams.find((s) => s.synKind === 'mp_join')!;
    expect(cli.src).toBe('10.0.2.1');
    expect(srv.src).toBe('10.0.3.254');
    const t = r.translations.map((x) => [x.what, x.count]);
    const fwd = r.translations.find((x) => x.what.startsWith('source'))!;
    const back = r.translations.find((x) => x.what.startsWith('destination'))!;
    expect(t).toHaveLength(2);
    expect(fwd.what).toBe(`source 10.0.2.1:${cli.srcPort} → 10.0.3.254:${srv.srcPort} (before→after)`);
    expect(back.what).toBe(`destination 10.0.3.254:${srv.srcPort} → 10.0.2.1:${cli.srcPort} (after→before)`);
    expect(fwd.count + back.count).toBe(srv.packets);
    expect({ ...changes(r), translations: 0 }).toEqual(NONE);
  });

  it('k07 (random loss on path 2): the dropped segments, as many as the iptables DROP rule counted', async () => {
    const [b, a] = pair('kernel/k07-loss/k07-loss');
    const r = await diffCaptures(b, a);
    const hits = Number(/\[(\d+):\d+\] -A FORWARD -i rc1 -p tcp -m statistic/.exec(iptables('k07-loss'))![1]);
    expect(r.dropped.reduce((n, c) => n + c.count, 0)).toBe(hits);
    for (const c of r.dropped) expect(c.what).toMatch(/^10\.0\.2\.1:\d+ > 10\.0\.3\.1:5201 /);
    expect({ ...changes(r), dropped: 0 }).toEqual(NONE);
  });

  it('bounded memory: the records waiting for a counterpart stay a small fraction of the packets (sliding window)', async () => {
    const [b, a] = pair('shared-linux/01-basic', 'client', 'server', 'pcapng');
    const r = await diffCaptures(b, a);
    expect(r.matched).toBe(r.before.tcp);
    expect(r.evictedByCap).toBe(0);
    // both files are read at once: only the read-ahead imbalance between them waits, not the whole file
    expect(r.peakPending).toBeLessThan(r.before.tcp / 4);
  });

  it('a dropped segment is not paired with another subflow\'s segment sharing its IP ID, flags and length', async () => {
    // Two subflows A (10.0.1.1:40000) and B (10.0.2.1:40001) to 10.0.3.1:5201, both SYNs seen on both sides.
    // The device drops one A data segment. B later sends a segment with the same IP ID, flags and length but
    // its own sequence number; in AFTER it comes long before its BEFORE copy is read (a pure-ACK run of A sits
    // in between in BEFORE only), so while it waits the dropped A segment is the only key-2 candidate.
    // This is the shape that made the lab's lossy profile report MBX-003/004/006 on one CI run.
    const A = { src: '10.0.1.1', dst: '10.0.3.1' };
    const B = { src: '10.0.2.1', dst: '10.0.3.1' };
    const a = (t: TcpSpec): TcpSpec => ({ srcPort: 40000, dstPort: 5201, ...t });
    const bsf = (t: TcpSpec): TcpSpec => ({ srcPort: 40001, dstPort: 5201, ...t });
    let ms = 0;
    const at = (f: ReturnType<typeof tcp4Frame>) => ({ tsSec: f.tsSec, tsNsec: ms++ * 1_000_000, data: f.data });
    const synA = at(tcp4Frame(a({ flags: 0x02, seq: 100, ack: 0 }), { ...A, id: 1 }));
    const synB = at(tcp4Frame(bsf({ flags: 0x02, seq: 900, ack: 0 }), { ...B, id: 2 }));
    const lost = at(tcp4Frame(a({ flags: 0x18, seq: 101, payload: Array(100).fill(0xaa) }), { ...A, id: 0x4242 }));
    const acks = Array.from({ length: 300 }, (_, i) => at(tcp4Frame(a({ flags: 0x10, seq: 201, ack: 5000 + i }), { ...A, id: 10 + i })));
    const bData = at(tcp4Frame(bsf({ flags: 0x18, seq: 901, payload: Array(100).fill(0xbb) }), { ...B, id: 0x4242 }));
    const dir = mkdtempSync(join(tmpdir(), 'mptcpscope-diff-'));
    try {
      const before = join(dir, 'before.pcap');
      const after = join(dir, 'after.pcap');
      writeFileSync(before, PcapWriter.bytes([synA, synB, lost, ...acks, bData]));
      writeFileSync(after, PcapWriter.bytes([synA, synB, bData, ...acks]));
      const r = await diffCaptures(before, after, { chunkSize: 512 });
      expect(r.dropped).toEqual([{ what: '10.0.1.1:40000 > 10.0.3.1:5201 non-SYN data', count: 1, examples: [[3, 0]] }]);
      expect(r.matched).toBe(2 + acks.length + 1);
      expect({ ...changes(r), dropped: 0 }).toEqual(NONE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a pending cap finalises the oldest records early and counts them', async () => {
    const [b, a] = pair('kernel/k01-two-subflows/k01-two-subflows');
    const r = await diffCaptures(b, a, { maxPending: 8 });
    expect(r.evictedByCap).toBeGreaterThan(0);
    expect(r.matched + r.dropped.reduce((n, c) => n + c.count, 0)).toBe(r.before.tcp);
  });
});

describe('mptcpscope diff (CLI)', () => {
  const run = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      err += String(s);
      return true;
    });
    try {
      const code = await main(['node', 'mptcpscope', 'diff', ...args]);
      return { code, out, err };
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
  };

  it('text names the change (07a) and --json parses with the same facts', async () => {
    const [b, a] = pair('shared-linux/07a-mbox-strip-synack');
    const t = await run(b, a);
    expect(t.code).toBe(0);
    expect(t.out).toContain('options removed by the device:\n  MP_CAPABLE on SYN/ACK (after→before): 1 packet(s)');
    const j = await run('--json', b, a);
    expect(j.code).toBe(0);
    const r = JSON.parse(j.out) as DiffResult;
    expect(r.optionsRemoved.map((c) => c.what)).toEqual(['MP_CAPABLE on SYN/ACK (after→before)']);
  });

  it('exit 2 for a missing file', async () => {
    const r = await run(fx('does-not-exist.pcap'), fx('shared-linux/01-basic.client.pcap'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('does-not-exist.pcap');
  });
});
