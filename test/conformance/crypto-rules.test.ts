/**
 * Crypto checks on real captures, each with a passing and a failing case:
 * - JOIN-002 / JOIN-003 (MP_JOIN SYN/ACK truncated HMAC, third-ACK HMAC; HMAC-SHA256 v1, HMAC-SHA1 v0):
 *   verify on every MP_JOIN subflow of the fixtures whose connection keys were captured (counted from
 *   the tshark sidecars: tcp streams with synKind mp_join in an mptcp stream with a captured key), and
 *   fail on a copy of 01-basic.client.pcap with one HMAC byte flipped.
 * - ADDR-001 (v1 ADD_ADDR truncated HMAC, rightmost 64 bits): verifies on 02-add-addr, fails when one
 *   HMAC byte is flipped; tcpdump's mptcp-aa-v1.pcap (2020 kernel, leftmost 64 bits) is an info "legacy".
 * - DSS-002 (DSS checksum over whole mappings): exactly once on 15b-csum-corrupt-2sf.server.pcap, matching
 *   the server's MPTcpExtDataCsumErr in manifest.json and the DSN of the MP_FAIL tcpdump shows at frame
 *   863; never on 05-checksum / k06-checksum / the 15b client (before the corrupting router); once on a
 *   copy of 05-checksum with one payload byte flipped; not evaluable (no finding) when the payload is cut
 *   by a 128-byte snaplen.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { checkFile } from '../../conformance/engine.js';
import { capturesWithSidecars, FIXTURES, readSidecar } from '../helpers/fixtures.js';
import { checkFixture, flipByte, fx, rewriteCapture, tmp } from './helpers.js';

const count = (r: Awaited<ReturnType<typeof checkFixture>>, id: string): number => r.passes.filter((p) => p.id === id).reduce((s, p) => s + p.count, 0);

describe('JOIN-002 / JOIN-003 HMACs', () => {
  const withJoins = capturesWithSidecars().filter((rel) => {
    const s = readSidecar(rel);
    return s.tcpStreams.some((t) => t.synKind === 'mp_join');
  });

  it('there are fixtures with joins (v1 and v0)', () => {
    expect(withJoins.length).toBeGreaterThan(20);
    expect(withJoins).toContain('public-tcpdump/mptcp-v0.pcap');
  });

  it.each(withJoins)('%s: every MP_JOIN of a keyed connection verifies', async (rel) => {
    const s = readSidecar(rel);
    const keyed = new Set(s.tcpStreams.filter((t) => t.sendKey !== null && t.mptcpStream !== null).map((t) => t.mptcpStream));
    const joins = s.tcpStreams.filter((t) => t.synKind === 'mp_join' && t.mptcpStream !== null && keyed.has(t.mptcpStream)).length;
    const r = await checkFixture(rel);
    expect(r.findings.filter((f) => f.id === 'JOIN-002' || f.id === 'JOIN-003').filter((f) => f.severity === 'error')).toEqual([]);
    expect(count(r, 'JOIN-002')).toBe(joins);
    expect(count(r, 'JOIN-003')).toBe(joins);
  });

  it('a flipped byte in the SYN/ACK truncated HMAC fails JOIN-002 (and only it)', async () => {
    const out = join(tmp(), 'synack-flip.pcap');
    let flipped = 0;
    await rewriteCapture(fx('shared-linux/01-basic.client.pcap'), out, (data, seg, n) => {
      const o = seg?.options.mptcp.find((x) => x.type === 'MP_JOIN' && x.form === 'syn-ack');
      if (o === undefined || flipped !== 0) return undefined;
      flipped = n;
      return flipByte(data, o.offset + 4);
    });
    expect(flipped).toBeGreaterThan(0);
    const r = await checkFile(out);
    const errs = r.findings.filter((f) => f.severity === 'error');
    expect(errs.map((f) => [f.id, f.frames[0]])).toEqual([['JOIN-002', flipped]]);
    expect(count(r as never, 'JOIN-003')).toBe(1);
  });

  it('a flipped byte in the third-ACK HMAC fails JOIN-003', async () => {
    const out = join(tmp(), 'ack-flip.pcap');
    let flipped = 0;
    await rewriteCapture(fx('shared-linux/01-basic.client.pcap'), out, (data, seg, n) => {
      const o = seg?.options.mptcp.find((x) => x.type === 'MP_JOIN' && x.form === 'ack');
      if (o === undefined || flipped !== 0) return undefined;
      flipped = n;
      return flipByte(data, o.offset + 4 + 19);
    });
    const r = await checkFile(out);
    expect(r.findings.filter((f) => f.severity === 'error').map((f) => [f.id, f.frames[0]])).toEqual([['JOIN-003', flipped]]);
    expect(count(r as never, 'JOIN-002')).toBe(1);
  });
});

describe('ADDR-001 ADD_ADDR HMAC', () => {
  it('02-add-addr (client and server captures): the announced address verifies', async () => {
    for (const rel of ['shared-linux/02-add-addr.client.pcap', 'shared-linux/02-add-addr.server.pcap']) {
      const r = await checkFixture(rel);
      expect(r.findings.filter((f) => f.id === 'ADDR-001')).toEqual([]);
      // manifest: server MPTcpExtAddAddrTx = 1 → one announcement (echoes carry no HMAC).
      expect(count(r, 'ADDR-001')).toBe(1);
    }
  });

  it('a flipped HMAC byte fails ADDR-001', async () => {
    const out = join(tmp(), 'addaddr-flip.pcap');
    let flipped = 0;
    await rewriteCapture(fx('shared-linux/02-add-addr.client.pcap'), out, (data, seg, n) => {
      const o = seg?.options.mptcp.find((x) => x.type === 'ADD_ADDR' && x.truncatedHmac !== undefined);
      if (o === undefined || flipped !== 0) return undefined;
      flipped = n;
      return flipByte(data, o.offset + o.length - 1);
    });
    const r = await checkFile(out);
    expect(r.findings.filter((f) => f.severity === 'error').map((f) => [f.id, f.frames[0]])).toEqual([['ADDR-001', flipped]]);
  });

  it('mptcp-aa-v1.pcap (2020 kernel) carries the leftmost 64 bits: info, not a failure', async () => {
    const r = await checkFixture('public-tcpdump/mptcp-aa-v1.pcap');
    const f = r.findings.filter((x) => x.id === 'ADDR-001');
    expect(f.map((x) => [x.severity, x.evidence?.legacy])).toEqual([['info', true]]);
  });
});

describe('DSS-002 DSS checksum', () => {
  const manifest = JSON.parse(readFileSync(join(FIXTURES, 'shared-linux', 'manifest.json'), 'utf8')) as {
    scenarios: Array<{ name: string; kernel_view: { server_mib: Record<string, number> } }>;
  };
  const csumErr = manifest.scenarios.find((s) => s.name === '15b-csum-corrupt-2sf')!.kernel_view.server_mib.MPTcpExtDataCsumErr;

  it('15b server: one failing mapping (= kernel DataCsumErr), at the DSN of the MP_FAIL (tcpdump frame 863)', async () => {
    expect(csumErr).toBe(1);
    const txt = (await import('node:zlib')).gunzipSync(readFileSync(fx('shared-linux/15b-csum-corrupt-2sf.server.pcap.tcpdump.txt.gz'))).toString();
    const failSeq = /^\s*863 .*mptcp 12 fail seq (\d+)/m.exec(txt)![1]!;
    const r = await checkFixture('shared-linux/15b-csum-corrupt-2sf.server.pcap');
    const f = r.findings.filter((x) => x.id === 'DSS-002');
    expect(f.length).toBe(csumErr);
    expect(f[0]!.severity).toBe('error');
    expect(f[0]!.evidence?.dsn).toBe(failSeq);
    expect(count(r, 'DSS-002')).toBeGreaterThan(100);
  });

  it.each([
    'shared-linux/05-checksum.server.pcap',
    'shared-linux/15b-csum-corrupt-2sf.client.pcap',
    'kernel/k06-checksum/k06-checksum.client.pcap',
    'kernel/k06-checksum/k06-checksum.server.pcap',
  ])('%s: every mapping verifies', async (rel) => {
    const r = await checkFixture(rel);
    expect(r.findings.filter((x) => x.id === 'DSS-002')).toEqual([]);
    expect(count(r, 'DSS-002')).toBeGreaterThan(100);
  });

  it('05-checksum with one payload byte flipped: exactly one DSS-002 error including that frame', async () => {
    const out = join(tmp(), 'payload-flip.pcap');
    let flipped = 0;
    let dataSegs = 0;
    await rewriteCapture(fx('shared-linux/05-checksum.server.pcap'), out, (data, seg, n) => {
      if (seg === undefined || seg.capturedPayloadLength < 100 || (seg.flags & TcpFlag.SYN) !== 0 || flipped !== 0) return undefined;
      if (++dataSegs !== 500) return undefined;
      flipped = n;
      return flipByte(data, seg.payloadOffset + 50);
    });
    const r = await checkFile(out);
    const f = r.findings.filter((x) => x.severity === 'error');
    expect(f.map((x) => x.id)).toEqual(['DSS-002']);
    // The mapping spans several segments: its frames are the first and the last segment seen.
    expect(f[0]!.frames[0]!).toBeLessThanOrEqual(flipped);
    expect(f[0]!.frames[f[0]!.frames.length - 1]!).toBeGreaterThanOrEqual(flipped);
  });

  it('05-checksum cut to a 128-byte snaplen: no checksum finding, DSS-002 not evaluable', async () => {
    const out = join(tmp(), 'snap128.pcap');
    await rewriteCapture(fx('shared-linux/05-checksum.server.pcap'), out, () => undefined, 128);
    const r = await checkFile(out);
    expect(r.findings.filter((x) => x.severity === 'error')).toEqual([]);
    expect(r.findings.filter((x) => x.id === 'DSS-002')).toEqual([]);
    expect(r.notEvaluable.some((n) => n.id === 'DSS-002')).toBe(true);
  });
});
