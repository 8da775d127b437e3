/**
 * Whole-pipeline fuzzing, short version of `npm run fuzz` (fuzz/run.ts): mutated real frames through
 * FramePipeline + ConnectionTracker.snapshot, mutated real files through analyzeFile, and fast-check
 * properties over crafted MPTCP packets and pcap files. The invariants (fuzz/engine.ts checkAnalysis):
 * nothing throws, every frame lands in exactly one count bucket, every issue has layer/kind/offset and
 * a frame number within the capture when frame-level, the output serialises and validates against
 * docs/analyze-json.schema.json. The decoder-level (test/wire/fuzz.test.ts) and reader-level
 * (test/capture/malformed.test.ts) cases are not repeated here.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CaptureAnalysis, FramePipeline, analyzeFile } from '../../analyzer/analyze.js';
import { openCaptureBytes } from '../../analyzer/capture/open.js';
import { LinkType } from '../../analyzer/capture/types.js';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import type { MptcpOption } from '../../analyzer/wire/mptcp/types.js';
import {
  FRAME_MUTATORS,
  Rng,
  type Seed,
  checkAnalysis,
  fixturesDir,
  framesToPcapng,
  lengthFields,
  loadSeeds,
  mapFrame,
  mutateFrame,
  runFileCase,
  runFrameBatch,
} from '../../fuzz/engine.js';
import { concat, encodeMptcp, ethernet, ipv4, tcp } from '../helpers/packet-builder.js';

let seeds: Seed[] = [];
beforeAll(async () => {
  seeds = await loadSeeds(fixturesDir(), { maxFrames: 200, maxFileBytes: 32768 });
}, 120_000);

describe('seeds', () => {
  it('come from every capture under fixtures/ and cover every MPTCP option subtype the fixtures hold', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(40);
    const subtypes = new Set<number>();
    for (const s of seeds) for (const f of s.frames) for (const o of mapFrame(f)?.options ?? []) subtypes.add(o.subtype);
    // MP_CAPABLE, MP_JOIN, DSS, ADD_ADDR, REMOVE_ADDR, MP_PRIO, MP_FASTCLOSE, MP_TCPRST are all in the real captures
    // (public-tcpdump has fclose/tcprst/prio; the kernel scenarios add/remove addresses).
    for (const st of [0, 1, 2, 3, 4, 5, 7, 8]) expect(subtypes, `subtype ${st}`).toContain(st);
  });

  it('length-field finder walks pcap records and pcapng blocks (offsets hold the real lengths)', () => {
    const pcap = seeds.find((s) => s.file.endsWith('01-basic.client.pcap'))!;
    const f = lengthFields(pcap.bytes);
    const dv = new DataView(pcap.bytes.buffer, pcap.bytes.byteOffset, pcap.bytes.byteLength);
    // First record: caplen at 24+8, len at 24+12; the caplen is the first frame's length.
    const second = 24 + 16 + dv.getUint32(32, true);
    expect(f.map((x) => x.offset)).toEqual(expect.arrayContaining([16, 20, 32, 36, second + 8, second + 12]));
    const ng = seeds.find((s) => s.file.endsWith('01-basic.server.pcapng'))!;
    const g = lengthFields(ng.bytes);
    const ndv = new DataView(ng.bytes.buffer, ng.bytes.byteOffset, ng.bytes.byteLength);
    // SHB total length at 4 equals its trailing copy.
    const shbLen = ndv.getUint32(4, true);
    expect(g.map((x) => x.offset)).toEqual(expect.arrayContaining([4, 8, shbLen - 4]));
    expect(ndv.getUint32(shbLen - 4, true)).toBe(shbLen);
  });
});

describe('the invariant checker catches broken output', () => {
  const base = (): CaptureAnalysis => {
    const pipe = new FramePipeline('<x>');
    return {
      schemaVersion: 1,
      capture: { file: 'x', format: 'pcap', gzip: false, byteOrder: 'little', linkTypes: [1], snaplen: 0, sections: 1, bytes: 24, incomplete: false },
      frames: 0,
      counts: { ...pipe.counts },
      connections: [],
      tcpConnections: [],
      errors: [],
      errorCount: 0,
      errorGroups: [],
      stateLimit: { ...pipe.tracker.evictions },
      retirement: { ...pipe.tracker.retirement },
    };
  };
  it('accepts an empty analysis', () => expect(checkAnalysis(base())).toEqual([]));
  it('frame not accounted for', () => expect(checkAnalysis({ ...base(), frames: 1 })[0]).toMatch(/frame accounting/));
  it('frame-level issue without frame number', () => {
    const a = base();
    a.errors.push({ layer: 'tcp', kind: 'malformed', message: 'm', offset: 3 });
    a.errorCount = 1;
    a.errorGroups.push({ layer: 'tcp', kind: 'malformed', capture: false, count: 1, example: 'm' });
    expect(checkAnalysis(a).join()).toMatch(/without frame/);
  });
  it('negative offset', () => {
    const a = base();
    a.errors.push({ layer: 'file', kind: 'malformed', message: 'm', offset: -1 });
    a.errorCount = 1;
    a.errorGroups.push({ layer: 'file', kind: 'malformed', capture: false, count: 1, example: 'm' });
    expect(checkAnalysis(a).join()).toMatch(/offset -1/);
  });
  it('a bigint left in the output (JSON.stringify throws)', () => {
    const a = base() as unknown as Record<string, unknown>;
    a.extra = 1n;
    expect(checkAnalysis(a as unknown as CaptureAnalysis).join()).toMatch(/JSON.stringify threw/);
  });
  it('schema violation (bad token)', () => {
    const a = base();
    a.tcpConnections.push({
      tcpStream: 0,
      client: { ip: '1.2.3.4', port: 70000 },
      server: { ip: '1.2.3.5', port: 1 },
      packets: 1,
      bytes: 0,
      firstFrame: 1,
      lastFrame: 1,
      start: 0,
      end: 0,
      ended: { how: 'capture-end' },
    });
    expect(checkAnalysis(a).join()).toMatch(/schema/);
  });
});

describe('mutation fuzzing of the real fixtures (short run; the long one is npm run fuzz)', () => {
  it('every frame mutator changes the frame and keeps the frame well-typed', () => {
    const rng = new Rng(7);
    const seen = new Map<string, number>();
    const mp = seeds.flatMap((s) => s.frames).filter((f) => (mapFrame(f)?.options.length ?? 0) > 0);
    for (let i = 0; i < 3000; i++) mutateFrame(rng, mp[rng.int(mp.length)]!, seen);
    for (const m of FRAME_MUTATORS) expect(seen.get(m) ?? 0, m).toBeGreaterThan(0);
  });

  it('60 000 mutated frames through FramePipeline + snapshot: no throw, invariants hold', () => {
    const rng = new Rng(0x5eed);
    const fails: string[] = [];
    let frames = 0;
    for (let b = 0; b < 120; b++) {
      const seed = seeds[rng.int(seeds.length)]!;
      if (seed.frames.length === 0) continue;
      const r = runFrameBatch(rng, seed, { batch: 500, rate: 0.5, maxFlows: b % 4 === 0 ? 4 : 512, schema: b % 10 === 0 }, framesToPcapng);
      frames += r.frames;
      if (r.failure) fails.push(`${r.failure.seed} ${r.failure.mutator}: ${r.failure.message}`);
    }
    expect(fails).toEqual([]);
    expect(frames).toBeGreaterThan(50_000);
  });

  it('finds a planted bug deep in the option space and saves a capture that replays it', async () => {
    // An observer that throws on an MP_JOIN SYN address ID ≥ 200: only mutated MP_JOIN options reach it.
    const planted = {
      onSegment(seg: { options: { mptcp: MptcpOption[] } }): void {
        for (const o of seg.options.mptcp) if (o.type === 'MP_JOIN' && o.form === 'syn' && (o.addressId ?? 0) >= 200) throw new Error('planted');
      },
    };
    const withJoin = seeds.filter((s) => s.frames.some((f) => mapFrame(f)?.options.some((o) => o.subtype === 1)));
    const rng = new Rng(99);
    let found: { message: string; input: Uint8Array } | undefined;
    for (let b = 0; b < 400 && found === undefined; b++) {
      const seed = withJoin[rng.int(withJoin.length)]!;
      const r = runFrameBatch(rng, seed, { batch: 300, rate: 0.9, schema: false, observers: [planted] }, framesToPcapng);
      if (r.failure) found = r.failure;
    }
    expect(found?.message).toMatch(/onFrame threw at frame \d+: planted/);
    // The saved capture replays it: read back, the last frame carries the offending option.
    await expect(analyzeFile('<replay>', { source: openCaptureBytes(found!.input, '<replay>'), observers: [planted] })).rejects.toThrow('planted');
  });

  it('400 mutated files (headers, length fields, cuts, byte order, gzip) through analyzeFile: no throw, invariants hold', async () => {
    const rng = new Rng(0xf11e);
    const fails: string[] = [];
    for (let i = 0; i < 400; i++) {
      const r = await runFileCase(rng, seeds[rng.int(seeds.length)]!, i % 10 === 0);
      if (r.failure) fails.push(`${r.failure.seed} ${r.failure.mutator}: ${r.failure.message}`);
    }
    expect(fails).toEqual([]);
  });
});

// ---------------------------------------------------------------- fast-check over crafted packets

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const optionArb: fc.Arbitrary<MptcpOption> = fc.oneof(
  fc.record({ type: fc.constant('MP_CAPABLE' as const), version: fc.integer({ min: 0, max: 1 }), flags: fc.integer({ min: 0, max: 255 }), sendersKey: fc.option(u64, { nil: undefined }), receiversKey: fc.option(u64, { nil: undefined }) }),
  fc.record({ type: fc.constant('MP_JOIN' as const), form: fc.constantFrom('syn' as const, 'syn-ack' as const, 'ack' as const), backup: fc.boolean(), addressId: fc.integer({ min: 0, max: 255 }), receiversToken: u32, sendersRandom: u32, truncatedHmac: u64 }),
  fc.record({
    type: fc.constant('DSS' as const),
    flags: fc.integer({ min: 0, max: 31 }),
    dataAck: fc.option(u64, { nil: undefined }),
    dataAck64: fc.boolean(),
    dataSequenceNumber: fc.option(u64, { nil: undefined }),
    dsn64: fc.boolean(),
    subflowSequenceNumber: u32,
    dataLevelLength: fc.integer({ min: 0, max: 0xffff }),
  }),
  fc.record({ type: fc.constant('ADD_ADDR' as const), version: fc.constant(1), ipVersion: fc.constant(4 as const), echo: fc.boolean(), addressId: fc.integer({ min: 0, max: 255 }), address: fc.ipV4(), port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }), truncatedHmac: fc.option(u64, { nil: undefined }) }),
  fc.record({ type: fc.constant('REMOVE_ADDR' as const), addressIds: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 30 }) }),
  fc.record({ type: fc.constant('MP_PRIO' as const), backup: fc.boolean(), addressId: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }) }),
  fc.record({ type: fc.constant('MP_FAIL' as const), dataSequenceNumber: u64 }),
  fc.record({ type: fc.constant('MP_FASTCLOSE' as const), receiversKey: u64 }),
  fc.record({ type: fc.constant('MP_TCPRST' as const), flags: fc.integer({ min: 0, max: 15 }), reason: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ type: fc.constant('MP_EXPERIMENTAL' as const), data: fc.uint8Array({ maxLength: 30 }) }),
).map((o) => ({ offset: 0, length: 0, ...o }) as unknown as MptcpOption);

const segArb = fc.record({
  c2s: fc.boolean(),
  flags: fc.integer({ min: 0, max: 0x1ff }),
  seq: u32,
  ack: u32,
  opts: fc.array(optionArb, { maxLength: 4 }),
  raw: fc.uint8Array({ maxLength: 8 }),
  payload: fc.integer({ min: 0, max: 100 }),
  clientPort: fc.constantFrom(40000, 40001, 40002),
  serverIp: fc.constantFrom('10.0.3.1', '10.0.4.1'),
  snap: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
});

type SegSpec = typeof segArb extends fc.Arbitrary<infer T> ? T : never;

function segFrame(s: SegSpec): { data: Uint8Array; orig: number } {
  // Up to 40 bytes of options (the TCP maximum): MPTCP options first, then the raw tail; cut to 40.
  let options = concat(...s.opts.map((o) => encodeMptcp(o)), s.raw);
  if (options.length > 40) options = options.slice(0, 40);
  const [sip, sport, dip, dport] = s.c2s ? ['10.0.1.1', s.clientPort, s.serverIp, 5201] : [s.serverIp, 5201, '10.0.1.1', s.clientPort];
  const full = ethernet(ipv4(tcp({ srcPort: sport, dstPort: dport, seq: s.seq, ack: s.ack, flags: s.flags, options, payload: s.payload }), { src: sip, dst: dip }), 0x0800);
  return { data: s.snap !== undefined && s.snap < full.length ? full.slice(0, s.snap) : full, orig: full.length };
}

describe('properties over crafted MPTCP conversations (fast-check)', () => {
  it('any sequence of segments with any MPTCP options (≤ 40 option bytes, any flags, cuts): invariants hold, every frame is TCP or reported', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(segArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 8 }), async (segs, maxFlows) => {
        const w = new PcapWriter({ linkType: LinkType.ETHERNET });
        segs.forEach((s, i) => {
          const { data, orig } = segFrame(s);
          w.write({ tsSec: 1_700_000_000 + i, tsNsec: 0, data, originalLength: orig });
        });
        w.close();
        const a = await analyzeFile('<prop>', { source: openCaptureBytes(w.toBuffer(), '<prop>'), maxFlows });
        expect(checkAnalysis(a)).toEqual([]);
        expect(a.frames).toBe(segs.length);
        // Every undecodable frame is named by an issue.
        const named = new Set(a.errors.filter((e) => e.frame !== undefined).map((e) => e.frame));
        expect(named.size).toBeGreaterThanOrEqual(a.counts.undecodable);
        // Every subflow / TCP connection counts only frames that exist.
        const pk = a.connections.reduce((n, c) => n + c.subflows.reduce((m, s) => m + s.packets, 0), 0) + a.tcpConnections.reduce((n, t) => n + t.packets, 0);
        expect(pk + a.stateLimit.packets).toBe(a.counts.tcp);
      }),
      { numRuns: 150, seed: 8 },
    );
  });
});
