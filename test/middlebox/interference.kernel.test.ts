/**
 * Fresh real-kernel interference through the fixture generator: the router masquerades path 2 (k12) and
 * strips MP_CAPABLE from the SYN/ACK (k10). The detectors and `diff` must name what the router did, checked
 * against the router's own iptables counters and the kernel MIB counters in scenario.json.
 * Needs root and an MPTCP kernel; skipped (reason in the suite name) otherwise.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCaptures } from '../../analyzer/middlebox/diff.js';
import { middleboxDetector } from '../../analyzer/middlebox/detectors.js';
import { checkFile } from '../../conformance/engine.js';
import { kernelSkipReason } from '../helpers/kernel-env.js';

const REPO = resolve(import.meta.dirname, '../..');
const GENERATE = join(REPO, 'fixtures/generator/generate.sh');
const RUN_ID = `mb${process.pid}`;

const SKIP = kernelSkipReason();

describe.skipIf(SKIP !== null)(`middlebox interference, fresh kernel run (${SKIP === null ? 'root + MPTCP kernel' : `SKIPPED: ${SKIP}`})`, () => {
  let out = '';
  let status: number | null = null;
  let stderr = '';
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'mps-mbx-kernel-'));
    const r = spawnSync('bash', [GENERATE, '--out', out, '--no-reference', 'k12-nat-path2', 'k10-strip-synack'], {
      env: { ...process.env, MPS_RUN_ID: RUN_ID },
      encoding: 'utf8',
      timeout: 55_000,
    });
    status = r.status;
    stderr = `${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  }, 60_000);
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });
  const sc = (name: string): { router_iptables_after: string; mib: Record<'client' | 'server', { diff: Record<string, number> }> } =>
    JSON.parse(readFileSync(join(out, name, 'scenario.json'), 'utf8'));

  it('generate.sh exits 0', () => {
    expect(status, stderr.slice(-2000)).toBe(0);
  });

  it('k12: MASQUERADE hit the join; MBX-006 at the server only; diff names the translation', async () => {
    expect(sc('k12-nat-path2').router_iptables_after).toMatch(/\[1:\d+\] -A POSTROUTING -s 10\.0\.2\.0\/24 -o rs0 -j MASQUERADE/);
    expect(sc('k12-nat-path2').mib.server.diff.MPTcpExtMPJoinAckRx).toBe(1);
    const b = join(out, 'k12-nat-path2', 'k12-nat-path2.client.pcap');
    const a = join(out, 'k12-nat-path2', 'k12-nat-path2.server.pcap');
    const srv = (await checkFile(a, { detectors: [middleboxDetector] })).findings;
    expect(srv.map((f) => f.id)).toEqual(['MBX-006']);
    expect(srv[0]!.evidence).toMatchObject({ seen: '10.0.3.254', expected: '10.0.2.1', addressId: 2 });
    expect((await checkFile(b, { detectors: [middleboxDetector] })).findings).toEqual([]);
    const r = await diffCaptures(b, a);
    const t = r.translations.map((x) => x.what.replace(/:\d+/g, ':P')).sort();
    expect(t).toEqual(['destination 10.0.3.254:P → 10.0.2.1:P (after→before)', 'source 10.0.2.1:P → 10.0.3.254:P (before→after)']);
    expect(r.optionsRemoved).toEqual([]);
    expect(r.dropped).toEqual([]);
  });

  it('k10: the SYN/ACK stripping rule hit once; MBX-001 at both ends; diff: MP_CAPABLE removed from the SYN/ACK', async () => {
    expect(sc('k10-strip-synack').router_iptables_after).toMatch(/\[1:\d+\] -A FORWARD -p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK -j TCPOPTSTRIP/);
    expect(sc('k10-strip-synack').mib.client.diff.MPTcpExtMPCapableFallbackSYNACK).toBe(1);
    const b = join(out, 'k10-strip-synack', 'k10-strip-synack.client.pcap');
    const a = join(out, 'k10-strip-synack', 'k10-strip-synack.server.pcap');
    for (const f of [b, a]) expect((await checkFile(f, { detectors: [middleboxDetector] })).findings.map((x) => x.id)).toEqual(['MBX-001']);
    const r = await diffCaptures(b, a);
    expect(r.optionsRemoved.map((c) => [c.what, c.count])).toEqual([['MP_CAPABLE on SYN/ACK (after→before)', 1]]);
  });
});
