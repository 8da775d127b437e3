/**
 * Cross-check against tcpdump: for every MPTCP option in the tcpdump test-suite captures
 * (../shared/captures/public/tcpdump/*.pcap), our decoded Repr equals, field by field, what tcpdump
 * printed in the matching `.out` line (`tcpdump -# -n -r FILE`, frames numbered from 1). Frames are
 * matched both ways: no option missing, none extra.
 *
 * Where tcpdump prints something differently, the comparison says so explicitly (see notes inline):
 * - tcpdump prints 64-bit values with %PRIx64 (no leading zeros) and 32-bit DSS values unextended;
 *   we compare numerically.
 * - tcpdump does not print the DSS width bits (a, m): only values are compared. Its DSS decoder
 *   reads `a`/`m` only under A/M, as we do, so the values agree.
 * - tcpdump's ADD_ADDR "v1"/"v1-echo"/"v0-ip4" label comes from the b2 low nibble (its table), which
 *   is exactly our version + echo decision for these frames.
 * - `[bad opt]` means tcpdump refused the option; we must have produced MALFORMED for it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DecodeIssue } from '../../analyzer/issue.js';
import type { MptcpOption } from '../../analyzer/wire/mptcp/types.js';
import { decodePacket } from '../../analyzer/wire/packet.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { toHex } from '../helpers/packet-builder.js';
import { readClassicPcap } from '../helpers/pcap-walker.js';
import type { TcpdumpMptcp } from '../helpers/tcpdump-mptcp.js';
import { parseTcpdumpOut, reasonCode } from '../helpers/tcpdump-mptcp.js';

const DIR = join(REPO_ROOT, '..', 'shared', 'captures', 'public', 'tcpdump');
const NAMES: Record<string, string> = {
  MP_CAPABLE: 'capable',
  MP_JOIN: 'join',
  DSS: 'dss',
  ADD_ADDR: 'add-addr',
  REMOVE_ADDR: 'rem-addr',
  MP_PRIO: 'prio',
  MP_FAIL: 'fail',
  MP_FASTCLOSE: 'fast-close',
  MP_TCPRST: 'tcprst',
  MP_EXPERIMENTAL: 'unknown',
  UNKNOWN: 'unknown',
};
const SUBTYPE_TCPDUMP = ['capable', 'join', 'dss', 'add-addr', 'rem-addr', 'prio', 'fail', 'fast-close'];

function letters(flags: number, names: string, topBit: number): string {
  let s = '';
  for (let i = 0; i < names.length; i++) if ((flags & (topBit >> i)) !== 0) s += names[i];
  return s;
}

/** Field-by-field differences between our Repr and tcpdump's print; [] when they agree. */
function diffAgainstTcpdump(o: MptcpOption, t: TcpdumpMptcp): string[] {
  const d: string[] = [];
  const eq = (field: string, ours: unknown, theirs: unknown): void => {
    if (ours !== theirs) d.push(`${field}: ours ${String(ours)}, tcpdump ${String(theirs)}`);
  };
  eq('length', o.length, t.length);
  if (o.type === 'MALFORMED') {
    eq('tcpdump [bad opt]', true, t.bad);
    eq('subtype', SUBTYPE_TCPDUMP[o.subtype] ?? 'unknown', t.name);
    return d;
  }
  eq('tcpdump [bad opt]', false, t.bad);
  eq('subtype', NAMES[o.type], t.name);
  switch (o.type) {
    case 'MP_CAPABLE':
      eq('version', o.version, t.version);
      eq('flags', letters(o.flags, 'ABCDEFGH', 0x80), t.flagLetters);
      eq('checksumRequired (csum)', o.checksumRequired, t.csum);
      eq('sendersKey', o.sendersKey, t.keys?.[0]);
      eq('receiversKey', o.receiversKey, t.keys?.[1]);
      eq('dataLevelLength', o.dataLevelLength, t.dataLen);
      break;
    case 'MP_JOIN':
      if (o.form === 'ack') {
        eq('hmac', o.hmac !== undefined ? toHex(o.hmac) : undefined, t.hmacHex);
      } else {
        eq('backup', o.backup, t.backup);
        eq('addressId', o.addressId, t.id);
        eq('sendersRandom (nonce)', o.sendersRandom, t.nonce);
        if (o.form === 'syn') eq('receiversToken', o.receiversToken, t.token);
        else eq('truncatedHmac', o.truncatedHmac, t.hmacHex !== undefined ? BigInt(`0x${t.hmacHex}`) : undefined);
      }
      break;
    case 'DSS':
      eq('dataFin', o.dataFin, t.fin);
      eq('dataAck', o.dataAck, t.ack);
      eq('dataSequenceNumber', o.dataSequenceNumber, t.seq);
      eq('subflowSequenceNumber', o.subflowSequenceNumber, t.subseq);
      eq('dataLevelLength', o.dataLevelLength, t.len);
      eq('checksum', o.checksum, t.checksum);
      break;
    case 'ADD_ADDR': {
      const variant = o.version === 0 ? `v0-ip${o.ipVersion}` : o.echo ? 'v1-echo' : 'v1';
      eq('version/echo', variant, t.variant);
      eq('addressId', o.addressId, t.id);
      eq('address', o.address, t.address);
      eq('port', o.port, t.port);
      eq('truncatedHmac', o.truncatedHmac?.toString(16).padStart(16, '0'), t.hmacHex);
      break;
    }
    case 'REMOVE_ADDR':
      eq('addressIds', o.addressIds.join(' '), t.ids?.join(' '));
      break;
    case 'MP_PRIO':
      eq('backup', o.backup, t.backup);
      eq('addressId', o.addressId, t.id);
      break;
    case 'MP_FAIL':
      eq('dataSequenceNumber', o.dataSequenceNumber, t.seq);
      break;
    case 'MP_FASTCLOSE':
      eq('receiversKey', o.receiversKey, t.key);
      break;
    case 'MP_TCPRST':
      eq('flags', letters(o.flags, 'UVWT', 0x8), t.rstFlags);
      eq('reason', o.reason, t.reason !== undefined ? reasonCode(t.reason) : undefined);
      break;
    default:
      break;
  }
  return d;
}

/** Number of `mptcp N` items in each .out (grep -o 'mptcp [0-9]' FILE.out | wc -l): all must be compared. */
const ITEM_COUNTS: Record<string, number> = {
  'mptcp-aa-echo.pcap': 4,
  'mptcp-aa-v1.pcap': 23,
  'mptcp-dss-oobr.pcap': 1,
  'mptcp-fclose.pcap': 9,
  'mptcp-tcprst.pcap': 2,
  'mptcp-v0.pcap': 266,
  'mptcp-v1.pcap': 20,
};

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.pcap'))
  .sort();

describe('MPTCP options vs tcpdump .out (../shared/captures/public/tcpdump)', () => {
  it('finds the seven tcpdump captures', () => {
    expect(files).toEqual(Object.keys(ITEM_COUNTS).sort());
  });

  it('the comparison does catch a difference (self-test of the .out parser and differ)', () => {
    // mptcp-v1.out frame 7: "mptcp 26 dss ack 14413541604287230030 seq 11713449205243392242 subseq 1 len 8192"
    const { frames } = readClassicPcap(join(DIR, 'mptcp-v1.pcap'));
    const r = decodePacket(frames[6]!, 'x', []);
    if (r.kind !== 'tcp') throw new Error('frame 7 is TCP');
    const td = parseTcpdumpOut(join(DIR, 'mptcp-v1.out')).get(7)![0]!;
    expect(diffAgainstTcpdump(r.segment.options.mptcp[0]!, td)).toEqual([]);
    expect(diffAgainstTcpdump(r.segment.options.mptcp[0]!, { ...td, subseq: 2, ack: 1n })).toEqual([
      'dataAck: ours 14413541604287230030, tcpdump 1',
      'subflowSequenceNumber: ours 1, tcpdump 2',
    ]);
  });

  for (const f of files) {
    it(`${f}: every MPTCP option equals tcpdump's decoding, frame by frame`, () => {
      const { frames } = readClassicPcap(join(DIR, f));
      const expected = parseTcpdumpOut(join(DIR, f.replace(/\.pcap$/, '.out')));
      const issues: DecodeIssue[] = [];
      const ours = new Map<number, MptcpOption[]>();
      for (const fr of frames) {
        const r = decodePacket(fr, f, issues);
        if (r.kind === 'tcp' && r.segment.options.mptcp.length > 0) ours.set(fr.number, r.segment.options.mptcp);
      }
      expect([...ours.keys()]).toEqual([...expected.keys()]);
      let compared = 0;
      for (const [frame, tds] of expected) {
        const opts = ours.get(frame) ?? [];
        expect(opts.length, `frame ${frame}: option count`).toBe(tds.length);
        tds.forEach((td, i) => {
          expect(diffAgainstTcpdump(opts[i]!, td), `frame ${frame}: ${td.text}`).toEqual([]);
          compared++;
        });
      }
      expect(compared).toBe(ITEM_COUNTS[f]);
      // Only the deliberately malformed capture produces issues.
      if (f !== 'mptcp-dss-oobr.pcap') expect(issues).toEqual([]);
    });
  }

  it('mptcp-dss-oobr.pcap: the 3-byte DSS (tcpdump "mptcp 3 dss[bad opt]") is MALFORMED with an issue at its offset', () => {
    // tcpdump -v: "Flags [S], seq 1736820995, win 32792, options [mss 16396,sackOK,TS val 597120308 ecr 0,mptcp 3 dss[bad opt]]"
    const { frames } = readClassicPcap(join(DIR, 'mptcp-dss-oobr.pcap'));
    const issues: DecodeIssue[] = [];
    const r = decodePacket(frames[0]!, 'mptcp-dss-oobr.pcap', issues);
    expect(r.kind).toBe('tcp');
    if (r.kind !== 'tcp') return;
    expect(r.segment.headerTruncated).toBe(false);
    expect(r.segment.options.mss).toBe(16396);
    expect(r.segment.options.sackPermitted).toBe(true);
    expect(r.segment.options.tsVal).toBe(597120308);
    const o = r.segment.options.mptcp[0]!;
    expect(o).toMatchObject({ type: 'MALFORMED', subtype: 2, length: 3, offset: 70 });
    expect(issues).toEqual([
      {
        layer: 'mptcp',
        kind: 'malformed',
        field: 'DSS length',
        message: 'DSS length 3 is shorter than 4 bytes (kind, length, subtype, flags)',
        file: 'mptcp-dss-oobr.pcap',
        frame: 1,
        offset: 70, // 14 Ethernet + 20 IPv4 + 20 TCP + 16 bytes of options before it
      },
    ]);
  });
});
