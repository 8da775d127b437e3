/**
 * diff changes → MBX findings (analyzer/middlebox/diff-findings.ts) on the real before/after pairs taken on
 * both sides of a router that interfered for real. Ground truth: the router's iptables rule and hit
 * counters (scenario.json), the tshark/tcpdump sidecars; severities from the rule catalogue.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffFindings } from '../../analyzer/middlebox/diff-findings.js';
import { type DiffResult, diffCaptures } from '../../analyzer/middlebox/diff.js';
import { ruleInfo } from '../../conformance/catalogue.js';
import { FIXTURES, readSidecar, tcpdumpLines } from '../helpers/fixtures.js';

const fx = (rel: string): string => join(FIXTURES, rel);
const pair = (base: string, b = 'server.pcap'): Promise<DiffResult> => diffCaptures(fx(`${base}.client.pcap`), fx(`${base}.${b}`));
const hits = (name: string, re: RegExp): number =>
  Number(re.exec((JSON.parse(readFileSync(fx(`kernel/${name}/scenario.json`), 'utf8')) as { router_iptables_after: string }).router_iptables_after)![1]);
const frameLine = (rel: string, n: number): string | undefined => tcpdumpLines(rel).find((l) => Number.parseInt(l.trim(), 10) === n);
const ids = (fs: ReturnType<typeof diffFindings>): string[] => fs.map((f) => f.id);
const total = (fs: ReturnType<typeof diffFindings>): number => fs.reduce((n, f) => n + (f.evidence!.count as number), 0);

describe('diffFindings on real pairs', () => {
  it('k01 (router forwards only): no finding (TTL and delay are not middlebox interference)', async () => {
    const r = await pair('kernel/k01-two-subflows/k01-two-subflows');
    expect(r.ttl.length).toBeGreaterThan(0);
    expect(diffFindings(r)).toEqual([]);
  });

  for (const [base, name] of [
    ['kernel/k10-strip-synack/k10-strip-synack', 'k10-strip-synack'],
    ['shared-linux/07a-mbox-strip-synack', undefined],
  ] as const) {
    it(`${base}: one MBX-001 (MP_CAPABLE removed from the SYN/ACK), frame = the client's SYN/ACK`, async () => {
      const fs = diffFindings(await pair(base));
      expect(ids(fs)).toEqual(['MBX-001']);
      const f = fs[0]!;
      expect(f).toMatchObject({ severity: ruleInfo('MBX-001')!.severity, group: 'middlebox', rfc: ruleInfo('MBX-001')!.rfc });
      expect(f.evidence).toMatchObject({ count: 1, option: 'MP_CAPABLE', segment: 'SYN/ACK', action: 'removed' });
      if (name !== undefined) expect(f.evidence!.count).toBe(hits(name, /\[(\d+):\d+\] -A FORWARD .*SYN,ACK SYN,ACK -j TCPOPTSTRIP/));
      expect(frameLine(`${base}.client.pcap`, f.frames[0]!)).toMatch(/Flags \[S\.\]/);
      expect(frameLine(`${base}.client.pcap`, f.frames[0]!)).not.toContain('mptcp');
    });
  }

  for (const base of ['kernel/k11-strip-nonsyn/k11-strip-nonsyn', 'shared-linux/08a-mbox-strip-nonsyn']) {
    it(`${base}: only MBX-002 (options removed from non-SYN segments), one per segment that carried one`, async () => {
      const fs = diffFindings(await pair(base));
      expect(new Set(ids(fs))).toEqual(new Set(['MBX-002']));
      expect(fs.every((f) => f.severity === 'warning' && f.evidence!.segment === 'non-SYN' && f.evidence!.action === 'removed')).toBe(true);
      const withOpt = tcpdumpLines(`${base}.client.pcap`).filter((l) => !/Flags \[S/.test(l) && l.includes('mptcp'));
      expect(total(fs)).toBe(withOpt.length);
    });
  }

  it('15b: one MBX-004 for the one flipped payload byte, with its offset and values', async () => {
    const r = await pair('shared-linux/15b-csum-corrupt-2sf');
    const fs = diffFindings(r);
    expect(ids(fs)).toEqual(['MBX-004']);
    const p = r.payload[0]!;
    expect(fs[0]!.frames).toEqual([p.beforeFrame]);
    expect(fs[0]!.evidence).toMatchObject({ count: 1, examples: `${p.beforeFrame}→${p.afterFrame}` });
    const b = p.bytes[0]!;
    expect(fs[0]!.evidence!.firstBytes).toBe(`@${b.offset} 0x${b.before.toString(16).padStart(2, '0')}→0x${b.after.toString(16).padStart(2, '0')}`);
  });

  it('k12 (MASQUERADE path 2): MBX-006 both ways, as many segments as the server saw on the join subflow', async () => {
    const fs = diffFindings(await pair('kernel/k12-nat-path2/k12-nat-path2'));
    expect(ids(fs)).toEqual(['MBX-006', 'MBX-006']);
    const srv = readSidecar('kernel/k12-nat-path2/k12-nat-path2.server.pcap').tcpStreams.find((s) => s.synKind === 'mp_join')!;
    expect(total(fs)).toBe(srv.packets);
    expect(fs.map((f) => f.evidence!.change as string).every((w) => w.includes('10.0.3.254'))).toBe(true);
  });

  it('k07 (random DROP on path 2): one MBX-007 counting exactly the DROP rule’s hits', async () => {
    const fs = diffFindings(await pair('kernel/k07-loss/k07-loss'));
    expect(ids(fs)).toEqual(['MBX-007']);
    expect(total(fs)).toBe(hits('k07-loss', /\[(\d+):\d+\] -A FORWARD -i rc1 -p tcp -m statistic/));
  });
});

describe('diffFindings mapping (each kind of change)', () => {
  const empty: DiffResult = {
    before: { file: 'b', frames: 0, tcp: 0 },
    after: { file: 'a', frames: 0, tcp: 0 },
    matched: 0,
    matchedBySeqRewrite: 0,
    matchedByResegment: 0,
    dropped: [],
    added: [],
    optionsRemoved: [],
    optionsAdded: [],
    translations: [],
    seqOffsets: [],
    ackOffsets: [],
    resegmented: [],
    payload: [],
    payloadChangedSegments: 0,
    ttl: [{ what: 'TTL 64 → 63 (before→after)', count: 9, examples: [[1, 1]] }],
    delayForward: null,
    delayBackward: null,
    clockOffset: 0,
    windowSeconds: 5,
    evictedByCap: 0,
    peakPending: 0,
    decodeErrors: 0,
  };
  const c = (what: string, count = 1): DiffResult['dropped'][number] => ({ what, count, examples: [[3, 4]] });

  it('non-MPTCP option changes (MSS clamping) and TTL are not findings', () => {
    expect(diffFindings({ ...empty, optionsRemoved: [c('mss altered on SYN (before→after)'), c('sackOK on SYN/ACK (after→before)')] })).toEqual([]);
  });

  it('handshake → MBX-001; DSS altered → MBX-003; ADD_ADDR altered → MBX-006; other non-SYN → MBX-002', () => {
    const fs = diffFindings({
      ...empty,
      optionsRemoved: [c('MP_JOIN on SYN (before→after)'), c('DSS altered on non-SYN (before→after)'), c('ADD_ADDR altered on non-SYN (after→before)'), c('MP_TCPRST on RST (before→after)')],
      optionsAdded: [c('MP_CAPABLE on SYN/ACK (after→before)'), c('MP_PRIO on non-SYN (before→after)')],
    });
    expect(fs.map((f) => [f.id, f.evidence!.option, f.evidence!.action])).toEqual([
      ['MBX-001', 'MP_JOIN', 'removed'],
      ['MBX-001', 'MP_CAPABLE', 'added'],
      ['MBX-002', 'MP_TCPRST', 'removed'],
      ['MBX-002', 'MP_PRIO', 'added'],
      ['MBX-003', 'DSS', 'altered'],
      ['MBX-006', 'ADD_ADDR', 'altered'],
    ]);
  });

  it('offsets → MBX-003, resegmentation → MBX-005, translation → MBX-006, dropped → MBX-007, added → MBX-008', () => {
    const fs = diffFindings({
      ...empty,
      seqOffsets: [c('x: seq +100', 5)],
      ackOffsets: [c('x: ack -100', 4)],
      resegmented: [c('x: split (1448 → 724 bytes)', 2)],
      translations: [c('source 10.0.2.1:1 → 10.0.3.254:1 (before→after)', 7)],
      dropped: [c('10.0.2.1:1 > 10.0.3.1:5201 non-SYN data', 3)],
      added: [{ what: '10.0.3.1:5201 > 10.0.2.1:1 RST', count: 1, examples: [[0, 9]] }],
    });
    expect(fs.map((f) => [f.id, f.evidence!.count])).toEqual([
      ['MBX-003', 5],
      ['MBX-003', 4],
      ['MBX-005', 2],
      ['MBX-006', 7],
      ['MBX-007', 3],
      ['MBX-008', 1],
    ]);
    // a segment absent BEFORE is named by its AFTER frame
    expect(fs.at(-1)!.frames).toEqual([9]);
    for (const f of fs) expect(f.severity).toBe(ruleInfo(f.id)!.severity);
  });
});
