/**
 * Informational rules counted against the kernels' MIB counters (fixtures/shared-linux/manifest.json):
 * - 02-add-addr: server AddAddrTx = 1 and client EchoAddTx = 1 → the announcement is echoed (no ADDR-002).
 * - 03-remove-addr: client RmAddrTx = 1 → one REMOVE_ADDR reported as unauthenticated (ADDR-005).
 * - 04-backup-prio: client MPPrioTx = 2 → two MP_PRIO changes (PRIO-002); server MPJoinSynBackupRx = 1 →
 *   one backup MP_JOIN SYN (JOIN-009).
 * - 15b server: MPFailTx = 1 → one MP_FAIL (FAIL-001, info: checksums were negotiated); MPRstTx = 1 → the
 *   MP_TCPRST it sent carries reason 6 "middlebox interference" (RST-002), as tcpdump shows at frame 863.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../conformance/finding.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { checkFixture } from './helpers.js';

type Mib = Record<string, number>;
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'shared-linux', 'manifest.json'), 'utf8')) as {
  scenarios: Array<{ name: string; kernel_view: { client_mib: Mib; server_mib: Mib } }>;
};
const mib = (name: string) => manifest.scenarios.find((s) => s.name === name)!.kernel_view;
const occ = (fs: Finding[]): number => fs.reduce((n, f) => n + (typeof f.evidence?.occurrences === 'number' ? f.evidence.occurrences : 1), 0);

describe('informational rules vs kernel MIB counters', () => {
  it('02-add-addr: announcement echoed', async () => {
    const k = mib('02-add-addr');
    expect([k.server_mib.MPTcpExtAddAddrTx, k.client_mib.MPTcpExtEchoAddTx]).toEqual([1, 1]);
    for (const c of ['02-add-addr.client.pcap', '02-add-addr.server.pcap']) {
      const r = await checkFixture(`shared-linux/${c}`);
      expect(r.findings.filter((f) => f.id === 'ADDR-002')).toEqual([]);
      expect(r.analysis.connections[0]!.addAddr.filter((a) => !a.echo).length).toBe(1);
    }
  });

  it('03-remove-addr: one unauthenticated REMOVE_ADDR', async () => {
    const n = mib('03-remove-addr').client_mib.MPTcpExtRmAddrTx!;
    const r = await checkFixture('shared-linux/03-remove-addr.client.pcap');
    const f = r.findings.filter((x) => x.id === 'ADDR-005');
    expect(f.length).toBe(1);
    expect(f[0]!.evidence?.count).toBe(n);
  });

  it('04-backup-prio: MP_PRIO changes and the backup join', async () => {
    const k = mib('04-backup-prio');
    const r = await checkFixture('shared-linux/04-backup-prio.client.pcap');
    expect(occ(r.findings.filter((x) => x.id === 'PRIO-002'))).toBe(k.client_mib.MPTcpExtMPPrioTx);
    expect(r.findings.filter((x) => x.id === 'JOIN-009').length).toBe(k.server_mib.MPTcpExtMPJoinSynBackupRx);
  });

  it('15b server: MP_FAIL and MP_TCPRST reason 6', async () => {
    const k = mib('15b-csum-corrupt-2sf').server_mib;
    const r = await checkFixture('shared-linux/15b-csum-corrupt-2sf.server.pcap');
    const fail = r.findings.filter((x) => x.id === 'FAIL-001');
    expect(fail.length).toBe(k.MPTcpExtMPFailTx);
    expect(fail[0]!.severity).toBe('info');
    const rst = r.findings.filter((x) => x.id === 'RST-002');
    expect(rst.length).toBe(k.MPTcpExtMPRstTx);
    expect([rst[0]!.frames[0], rst[0]!.evidence?.reason]).toEqual([863, 6]);
  });
});
