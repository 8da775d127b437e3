/**
 * Fallback rules against the kernel's own view (MIB counters in fixtures/shared-linux/manifest.json and
 * fixtures/kernel/<scenario>/scenario.json):
 * - MPTcpExtMPCapableFallbackSYNACK (client fell back at a SYN/ACK without MP_CAPABLE) → FB-001 in the
 *   captures where that SYN/ACK is seen without MP_CAPABLE (06 client: plain server; 07a/k10 client:
 *   stripped on the way; k03 both sides: plain server).
 * - MPTcpExtMPCapableFallbackACK (server fell back at a third ACK without MP_CAPABLE) → FB-002 in the
 *   server captures of 07a, 08a, k10, k11 (the SYN/ACK left with MP_CAPABLE, the third ACK arrived without).
 * - MPTcpExtMPCapableDataFallback (client fell back at first data: plain ACKs from the server) → FB-003
 *   in the client captures of 08a and k11.
 * All are info (a fallback is legal); none of them may come with an error. Captures whose kernels
 * counted no fallback have no FB finding at all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/fixtures.js';
import { checkFixture } from './helpers.js';

type Mib = Record<string, number>;
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'shared-linux', 'manifest.json'), 'utf8')) as {
  scenarios: Array<{ name: string; kernel_view: { client_mib: Mib; server_mib: Mib } }>;
};
function mib(scenario: string, side: 'client' | 'server'): Mib {
  if (scenario.startsWith('k')) {
    const s = JSON.parse(readFileSync(join(FIXTURES, 'kernel', scenario, 'scenario.json'), 'utf8')) as { mib: Record<string, { diff: Mib }> };
    return s.mib[side]!.diff;
  }
  const sc = manifest.scenarios.find((x) => x.name === scenario)!;
  return side === 'client' ? sc.kernel_view.client_mib : sc.kernel_view.server_mib;
}

const CASES: Array<{ capture: string; scenario: string; side: 'client' | 'server'; counter: string; rule: string }> = [
  { capture: 'shared-linux/06-fallback-plain-server.client.pcap', scenario: '06-fallback-plain-server', side: 'client', counter: 'MPTcpExtMPCapableFallbackSYNACK', rule: 'FB-001' },
  { capture: 'shared-linux/07a-mbox-strip-synack.client.pcap', scenario: '07a-mbox-strip-synack', side: 'client', counter: 'MPTcpExtMPCapableFallbackSYNACK', rule: 'FB-001' },
  { capture: 'shared-linux/07a-mbox-strip-synack.server.pcap', scenario: '07a-mbox-strip-synack', side: 'server', counter: 'MPTcpExtMPCapableFallbackACK', rule: 'FB-002' },
  { capture: 'shared-linux/08a-mbox-strip-nonsyn.server.pcap', scenario: '08a-mbox-strip-nonsyn', side: 'server', counter: 'MPTcpExtMPCapableFallbackACK', rule: 'FB-002' },
  { capture: 'shared-linux/08a-mbox-strip-nonsyn.client.pcap', scenario: '08a-mbox-strip-nonsyn', side: 'client', counter: 'MPTcpExtMPCapableDataFallback', rule: 'FB-003' },
  { capture: 'kernel/k03-fallback/k03-fallback.client.pcap', scenario: 'k03-fallback', side: 'client', counter: 'MPTcpExtMPCapableFallbackSYNACK', rule: 'FB-001' },
  { capture: 'kernel/k03-fallback/k03-fallback.server.pcap', scenario: 'k03-fallback', side: 'client', counter: 'MPTcpExtMPCapableFallbackSYNACK', rule: 'FB-001' },
  { capture: 'kernel/k10-strip-synack/k10-strip-synack.client.pcap', scenario: 'k10-strip-synack', side: 'client', counter: 'MPTcpExtMPCapableFallbackSYNACK', rule: 'FB-001' },
  { capture: 'kernel/k10-strip-synack/k10-strip-synack.server.pcap', scenario: 'k10-strip-synack', side: 'server', counter: 'MPTcpExtMPCapableFallbackACK', rule: 'FB-002' },
  { capture: 'kernel/k11-strip-nonsyn/k11-strip-nonsyn.client.pcap', scenario: 'k11-strip-nonsyn', side: 'client', counter: 'MPTcpExtMPCapableDataFallback', rule: 'FB-003' },
  { capture: 'kernel/k11-strip-nonsyn/k11-strip-nonsyn.server.pcap', scenario: 'k11-strip-nonsyn', side: 'server', counter: 'MPTcpExtMPCapableFallbackACK', rule: 'FB-002' },
];

describe('fallback rules follow the kernel MIB counters', () => {
  it.each(CASES)('$capture: $counter = 1 → $rule', async ({ capture, scenario, side, counter, rule }) => {
    expect(mib(scenario, side)[counter]).toBe(1);
    const r = await checkFixture(capture);
    const fb = r.findings.filter((f) => f.id.startsWith('FB-'));
    expect(fb.filter((f) => f.id === rule).length).toBeGreaterThanOrEqual(1);
    // One kind of fallback per capture, and it is not an error.
    expect([...new Set(fb.map((f) => f.id))]).toEqual([rule]);
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('07a router capture (both sides of the stripping router): one fallback finding, no error', async () => {
    const r = await checkFixture('shared-linux/07a-mbox-strip-synack.router.pcapng');
    expect(r.findings.filter((f) => f.id.startsWith('FB-')).length).toBe(1);
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it.each(['01-basic', '02-add-addr', '05-checksum', '09-loss', '15b-csum-corrupt-2sf'])('%s: no fallback counted by either kernel, no FB finding', async (name) => {
    for (const side of ['client', 'server'] as const) {
      const m = mib(name, side);
      for (const c of ['MPTcpExtMPCapableFallbackSYNACK', 'MPTcpExtMPCapableFallbackACK', 'MPTcpExtMPCapableDataFallback']) expect(m[c] ?? 0).toBe(0);
    }
    const caps = manifest.scenarios.find((s) => s.name === name) as unknown as { captures: Array<{ file: string }> };
    for (const c of caps.captures) {
      const r = await checkFixture(`shared-linux/${c.file}`);
      expect(r.findings.filter((f) => f.id.startsWith('FB-'))).toEqual([]);
    }
  });
});
