/**
 * DSS checksums verified on real Linux captures with full payload (../shared/captures/linux):
 * mappings are reassembled from the segments of their subflow (a mapping spans several segments;
 * Linux copies one DSS onto every GSO piece), the pseudo-header uses the 64-bit DSN, and the
 * MP_CAPABLE-with-data form uses DSN = IDSN_A + 1, SSN 1 (spec §1.13).
 * - 05-checksum.server: every mapping verifies (kernel: no DataCsumErr).
 * - 15b-csum-corrupt-2sf: the router flipped one payload byte on path 1. The client (before the
 *   router) sees only good mappings; the server (after it) sees exactly one bad mapping, matching the
 *   server's MPTcpExtDataCsumErr = 1 in manifest.json, and its DSN is the one the server's MP_FAIL carries.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyIdsn, verifyDssChecksum } from '../../analyzer/crypto/index.js';
import { decodePacket } from '../../analyzer/wire/packet.js';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { readClassicPcap } from '../helpers/pcap-walker.js';

interface Mapping {
  flow: string;
  dsn: bigint;
  ssn: number;
  dll: number;
  checksum: number;
  dataFin: boolean;
}

function verifyCapture(name: string): { verified: number; failed: Mapping[]; incomplete: number } {
  const { frames } = readClassicPcap(join(REPO_ROOT, '..', 'shared', 'captures', 'linux', name));
  const isn = new Map<string, number>();
  const chunks = new Map<string, Map<number, Uint8Array>>();
  const mappings = new Map<string, Mapping>();
  for (const fr of frames) {
    const r = decodePacket(fr, name, []);
    if (r.kind !== 'tcp') continue;
    const s = r.segment;
    const flow = `${s.src}:${s.srcPort}>${s.dst}:${s.dstPort}`;
    if ((s.flags & TcpFlag.SYN) !== 0) isn.set(flow, s.seq);
    const base = isn.get(flow);
    if (base === undefined) continue;
    if (s.capturedPayloadLength > 0) {
      let m = chunks.get(flow);
      if (m === undefined) chunks.set(flow, (m = new Map()));
      const rel = (s.seq - base) >>> 0;
      if (!m.has(rel)) m.set(rel, fr.data.slice(s.payloadOffset, s.payloadOffset + s.capturedPayloadLength));
    }
    for (const o of s.options.mptcp) {
      let mp: Mapping | undefined;
      if (o.type === 'DSS' && o.checksum !== undefined && o.dataLevelLength !== 0) {
        mp = { flow, dsn: o.dataSequenceNumber!, ssn: o.subflowSequenceNumber!, dll: o.dataLevelLength!, checksum: o.checksum, dataFin: o.dataFin };
      } else if (o.type === 'MP_CAPABLE' && o.form === 'ack-data' && o.checksum !== undefined) {
        mp = { flow, dsn: keyIdsn(o.sendersKey!, 1) + 1n, ssn: 1, dll: o.dataLevelLength!, checksum: o.checksum, dataFin: false };
      }
      if (mp !== undefined) mappings.set(`${flow}|${mp.dsn}|${mp.ssn}|${mp.dll}|${mp.checksum}`, mp);
    }
  }
  let verified = 0;
  let incomplete = 0;
  const failed: Mapping[] = [];
  for (const mp of mappings.values()) {
    const n = mp.dataFin ? mp.dll - 1 : mp.dll;
    const buf = new Uint8Array(n);
    let covered = 0;
    const m = chunks.get(mp.flow);
    if (n > 0 && m !== undefined) {
      const have = new Uint8Array(n);
      for (const [rel, bytes] of m) {
        const from = Math.max(rel, mp.ssn);
        const to = Math.min(rel + bytes.length, mp.ssn + n);
        for (let q = from; q < to; q++) {
          if (have[q - mp.ssn] === 0) {
            have[q - mp.ssn] = 1;
            buf[q - mp.ssn] = bytes[q - rel]!;
            covered++;
          }
        }
      }
    }
    if (covered < n) {
      incomplete++;
      continue;
    }
    if (verifyDssChecksum(mp.dsn, mp.ssn, mp.dll, mp.checksum, buf)) verified++;
    else failed.push(mp);
  }
  return { verified, failed, incomplete };
}

describe('DSS checksums on real captures', () => {
  it('05-checksum.server.pcap: every complete mapping verifies', () => {
    const r = verifyCapture('05-checksum.server.pcap');
    expect(r.verified).toBeGreaterThan(100);
    expect(r.failed).toEqual([]);
  });

  it('15b-csum-corrupt-2sf.client.pcap: before the corrupting router, every mapping verifies', () => {
    const r = verifyCapture('15b-csum-corrupt-2sf.client.pcap');
    expect(r.verified).toBeGreaterThan(100);
    expect(r.failed).toEqual([]);
  });

  it('15b-csum-corrupt-2sf.server.pcap: after it, exactly one mapping fails (kernel DataCsumErr = 1)', () => {
    const r = verifyCapture('15b-csum-corrupt-2sf.server.pcap');
    expect(r.verified).toBeGreaterThan(100);
    expect(r.failed.length).toBe(1);
    // …and it is the mapping the server then reported with MP_FAIL (client capture frame 865:
    // "mptcp 12 fail seq 12450098881694947887"), on subflow 1 (path 1, where the router flips a byte).
    expect(r.failed[0]).toMatchObject({ flow: '10.0.1.1:33506>10.0.3.1:5201', dsn: 12450098881694947887n, dll: 16384 });
  });
});
