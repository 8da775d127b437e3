/**
 * MPTCP option decoder, byte level: accept tables per subtype (hex → expected Repr, with the tcpdump
 * line or capture frame the bytes come from), reject tables (hex → MALFORMED + issue field/offset),
 * every DSS flag combination, round trips through the test encoder, and form dispatch on SYN/ACK.
 * Spec: ../shared/spec/mptcp-rules.md §1.
 */
import { describe, expect, it } from 'vitest';
import { decodeMptcpOption } from '../../analyzer/wire/mptcp/decode.js';
import { DssFlag, dssExpectedLength } from '../../analyzer/wire/mptcp/dss.js';
import type { MptcpDecodeContext, MptcpOption } from '../../analyzer/wire/mptcp/types.js';
import { encodeMptcp, fromHex, toHex } from '../helpers/packet-builder.js';

type Seg = 'syn' | 'synack' | 'ack';
const ctxOf = (seg: Seg, version?: 0 | 1): MptcpDecodeContext => ({ syn: seg !== 'ack', ack: seg !== 'syn', version, payloadLength: 0 });

interface Accept {
  name: string;
  /** Where the bytes come from: tcpdump .out line or capture frame. */
  src?: string;
  hex: string;
  seg: Seg;
  version?: 0 | 1;
  expect: Record<string, unknown>;
  /** Reserved bits are non-zero: the encoder cannot reproduce the bytes. */
  noRoundTrip?: boolean;
}

/** Decode `hex` placed at offset 7 of a larger buffer (offsets must be kept as frame offsets). */
function decodeAt(hex: string, seg: Seg, version?: 0 | 1): ReturnType<typeof decodeMptcpOption> {
  const opt = fromHex(hex);
  const buf = new Uint8Array(7 + opt.length + 5).fill(0xee);
  buf.set(opt, 7);
  return decodeMptcpOption(buf, 7, opt.length, ctxOf(seg, version));
}

const MPC = { type: 'MP_CAPABLE', extensibility: false, noJoinToSourceAddress: false };

const ACCEPT: Accept[] = [
  // ---- MP_CAPABLE (spec §1.1) ----
  { name: 'v1 SYN, 4 bytes', src: 'mptcp-v1.out #1: mptcp 4 capable v1 flags [H]', hex: '1e040101', seg: 'syn',
    expect: { ...MPC, version: 1, flags: 0x01, checksumRequired: false, hmacAlgorithm: true, form: 'syn' } },
  { name: 'v1 SYN with A (checksum required)', src: '05-checksum.server.pcap frame 3', hex: '1e040181', seg: 'syn',
    expect: { ...MPC, version: 1, flags: 0x81, checksumRequired: true, hmacAlgorithm: true, form: 'syn' } },
  { name: 'v1 SYN/ACK, responder key', src: 'mptcp-v1.out #2: mptcp 12 capable v1 flags [H] {0x29a6c86981ad933c}', hex: '1e0c010129a6c86981ad933c', seg: 'synack',
    expect: { ...MPC, version: 1, flags: 0x01, checksumRequired: false, hmacAlgorithm: true, form: 'syn-ack', sendersKey: 0x29a6c86981ad933cn } },
  { name: 'v1 third ACK, Key-A + Key-B', src: 'mptcp-v1.out #3: mptcp 20 capable v1 flags [H] {0x1fdb5df328bc3def,0x29a6c86981ad933c}',
    hex: '1e1401011fdb5df328bc3def29a6c86981ad933c', seg: 'ack',
    expect: { ...MPC, version: 1, flags: 0x01, checksumRequired: false, hmacAlgorithm: true, form: 'ack', sendersKey: 0x1fdb5df328bc3defn, receiversKey: 0x29a6c86981ad933cn } },
  { name: 'v1 ACK + data, 22 bytes', src: 'mptcp-v1.out #4: mptcp 22 capable v1 flags [H] {0x1fdb5df328bc3def,0x29a6c86981ad933c,data_len=8192}',
    hex: '1e1601011fdb5df328bc3def29a6c86981ad933c2000', seg: 'ack',
    expect: { ...MPC, version: 1, flags: 0x01, checksumRequired: false, hmacAlgorithm: true, form: 'ack-data', sendersKey: 0x1fdb5df328bc3defn, receiversKey: 0x29a6c86981ad933cn, dataLevelLength: 8192 } },
  { name: 'v1 ACK + data + checksum, 24 bytes', src: '05-checksum.server.pcap frame 6 (tcpdump 4.99.3 prints "capable[bad opt]")',
    hex: '1e180181758d937e2052368b4f6aa9b6103f6d8d400027fb', seg: 'ack',
    expect: { ...MPC, version: 1, flags: 0x81, checksumRequired: true, hmacAlgorithm: true, form: 'ack-data', sendersKey: 0x758d937e2052368bn, receiversKey: 0x4f6aa9b6103f6d8dn, dataLevelLength: 0x4000, checksum: 0x27fb } },
  { name: 'v0 SYN carries the sender key (12 bytes)', src: 'mptcp-v0.out #1: mptcp 12 capable v0 flags [AH] csum {0x9c9eabd1e46a33b2}', hex: '1e0c00819c9eabd1e46a33b2', seg: 'syn',
    expect: { ...MPC, version: 0, flags: 0x81, checksumRequired: true, hmacAlgorithm: true, form: 'syn', sendersKey: 0x9c9eabd1e46a33b2n } },
  { name: 'v0 SYN/ACK', src: 'mptcp-v0.out #2: mptcp 12 capable v0 flags [AH] csum {0x967d2770b6960552}', hex: '1e0c0081967d2770b6960552', seg: 'synack',
    expect: { ...MPC, version: 0, flags: 0x81, checksumRequired: true, hmacAlgorithm: true, form: 'syn-ack', sendersKey: 0x967d2770b6960552n } },
  { name: 'v0 ACK', src: 'mptcp-v0.out #3: mptcp 20 capable v0 flags [AH] csum {0x9c9eabd1e46a33b2,0x967d2770b6960552}',
    hex: '1e1400819c9eabd1e46a33b2967d2770b6960552', seg: 'ack',
    expect: { ...MPC, version: 0, flags: 0x81, checksumRequired: true, hmacAlgorithm: true, form: 'ack', sendersKey: 0x9c9eabd1e46a33b2n, receiversKey: 0x967d2770b6960552n } },
  { name: 'v1 C flag = do not join to this address (SYN/ACK)', hex: '1e0c01a1000000000000002a', seg: 'synack',
    expect: { ...MPC, version: 1, flags: 0xa1, checksumRequired: true, noJoinToSourceAddress: true, hmacAlgorithm: true, form: 'syn-ack', sendersKey: 42n } },
  { name: 'v0: C is a crypto bit, not "no join"', hex: '1e0c0021000000000000002a', seg: 'synack',
    expect: { ...MPC, version: 0, flags: 0x21, checksumRequired: false, noJoinToSourceAddress: false, hmacAlgorithm: true, form: 'syn-ack', sendersKey: 42n } },
  { name: 'B (extensibility) reported, not rejected', hex: '1e040141', seg: 'syn',
    expect: { ...MPC, version: 1, flags: 0x41, extensibility: true, checksumRequired: false, hmacAlgorithm: true, form: 'syn' } },
  { name: 'a 4-byte SYN with a future version decodes (Linux tolerates it)', hex: '1e040201', seg: 'syn',
    expect: { ...MPC, version: 2, flags: 0x01, checksumRequired: false, hmacAlgorithm: true, form: 'syn' } },
  { name: 'v1 SYN carrying a key (12) decodes as form syn with sendersKey (MPC-001 flags it)', hex: '1e0c0101000000000000002a', seg: 'syn',
    expect: { ...MPC, version: 1, flags: 0x01, checksumRequired: false, hmacAlgorithm: true, form: 'syn', sendersKey: 42n } },

  // ---- MP_JOIN (spec §1.2) ----
  { name: 'SYN', src: 'mptcp-v0.out #8: mptcp 12 join id 0 token 0xe47f0142 nonce 0x1b665a18', hex: '1e0c1000e47f01421b665a18', seg: 'syn',
    expect: { type: 'MP_JOIN', form: 'syn', backup: false, addressId: 0, receiversToken: 0xe47f0142, sendersRandom: 0x1b665a18 } },
  { name: 'SYN, backup', src: '04-backup-prio.client.pcap #28: mptcp 12 join backup id 2 token 0x8724cd9c nonce 0xc95ea882', hex: '1e0c11028724cd9cc95ea882', seg: 'syn',
    expect: { type: 'MP_JOIN', form: 'syn', backup: true, addressId: 2, receiversToken: 0x8724cd9c, sendersRandom: 0xc95ea882 } },
  { name: 'SYN/ACK', src: 'mptcp-v0.out #9: mptcp 16 join id 1 hmac 0x5ab680c7884af03d nonce 0x33abe9d5', hex: '1e1010015ab680c7884af03d33abe9d5', seg: 'synack',
    expect: { type: 'MP_JOIN', form: 'syn-ack', backup: false, addressId: 1, truncatedHmac: 0x5ab680c7884af03dn, sendersRandom: 0x33abe9d5 } },
  { name: 'third ACK', src: 'mptcp-v0.out #10: mptcp 24 join hmac 0xcb7b87f5e5f0502f43b535fb70ef6607df2e6c7a', hex: '1e181000cb7b87f5e5f0502f43b535fb70ef6607df2e6c7a', seg: 'ack',
    expect: { type: 'MP_JOIN', form: 'ack', hmac: fromHex('cb7b87f5e5f0502f43b535fb70ef6607df2e6c7a') } },

  // ---- DSS (spec §1.3) ----
  { name: '32-bit Data ACK only', src: 'mptcp-v0.out #5: mptcp 8 dss ack 3518592185', hex: '1e082001d1b974b9', seg: 'ack',
    expect: { type: 'DSS', flags: 0x01, dataFin: false, dataAck: 3518592185n, dataAck64: false, dsn64: false } },
  { name: '64-bit Data ACK only', src: 'mptcp-v1.out #5: mptcp 12 dss ack 14413541604287230030', hex: '1e0c2003c8072fb90edab04e', seg: 'ack',
    expect: { type: 'DSS', flags: 0x03, dataFin: false, dataAck: 14413541604287230030n, dataAck64: true, dsn64: false } },
  { name: 'ACK64 + MAP64, 26 bytes (Linux)', src: 'mptcp-v1.out #7: mptcp 26 dss ack 14413541604287230030 seq 11713449205243392242 subseq 1 len 8192',
    hex: '1e1a200fc8072fb90edab04ea28e87fddd1d30f2000000012000', seg: 'ack',
    expect: { type: 'DSS', flags: 0x0f, dataFin: false, dataAck: 14413541604287230030n, dataAck64: true, dataSequenceNumber: 11713449205243392242n, dsn64: true, subflowSequenceNumber: 1, dataLevelLength: 8192 } },
  { name: 'ACK32 + MAP32 + checksum (v0)', src: 'mptcp-v0.out #4: mptcp 20 dss ack 3576348362 seq 3518592144 subseq 1 len 41 csum 0x82f',
    hex: '1e142005d52abecad1b97490000000010029082f', seg: 'ack',
    expect: { type: 'DSS', flags: 0x05, dataFin: false, dataAck: 3576348362n, dataAck64: false, dataSequenceNumber: 3518592144n, dsn64: false, subflowSequenceNumber: 1, dataLevelLength: 41, checksum: 0x082f } },
  { name: 'ACK32 + MAP64 (the 22-byte form Wireshark mixes up)', src: '02-add-addr.client.pcap frame 16',
    hex: '1e16200d1ca4b9db2d1110abac068ad5000000014000', seg: 'ack',
    expect: { type: 'DSS', flags: 0x0d, dataFin: false, dataAck: 0x1ca4b9dbn, dataAck64: false, dataSequenceNumber: 0x2d1110abac068ad5n, dsn64: true, subflowSequenceNumber: 1, dataLevelLength: 0x4000 } },
  { name: 'ACK64 + MAP32 is also 22 bytes: widths come from a/m, not the length', hex: '1e162007000000000000000a0000000b0000000c000d', seg: 'ack',
    expect: { type: 'DSS', flags: 0x07, dataFin: false, dataAck: 10n, dataAck64: true, dataSequenceNumber: 11n, dsn64: false, subflowSequenceNumber: 12, dataLevelLength: 13 } },
  { name: 'DATA_FIN-only mapping (SSN 0, DLL 1)', src: 'mptcp-aa-v1.out #22: mptcp 26 dss fin ack … seq … subseq 0 len 1',
    hex: '1e1a201fa896f3fe7a8dc05eee83a616c38765f5000000000001', seg: 'ack',
    expect: { type: 'DSS', flags: 0x1f, dataFin: true, dataAck: 0xa896f3fe7a8dc05en, dataAck64: true, dataSequenceNumber: 0xee83a616c38765f5n, dsn64: true, subflowSequenceNumber: 0, dataLevelLength: 1 } },
  { name: 'ACK64 + MAP64 + checksum, 28 bytes, DATA_FIN', src: '05-checksum.server.pcap frame 5477',
    hex: '1e1c201f5862a0a268ac3f903c23f469e9eba2e100000000000142a4', seg: 'ack',
    expect: { type: 'DSS', flags: 0x1f, dataFin: true, dataAck: 0x5862a0a268ac3f90n, dataAck64: true, dataSequenceNumber: 0x3c23f469e9eba2e1n, dsn64: true, subflowSequenceNumber: 0, dataLevelLength: 1, checksum: 0x42a4 } },
  { name: 'a without A is ignored: 4 bytes, no Data ACK', hex: '1e042002', seg: 'ack',
    expect: { type: 'DSS', flags: 0x02, dataFin: false, dataAck64: false, dsn64: false } },
  { name: 'm without M is ignored: ACK32 only', hex: '1e082009000000ff', seg: 'ack',
    expect: { type: 'DSS', flags: 0x09, dataFin: false, dataAck: 255n, dataAck64: false, dsn64: false } },
  { name: 'infinite mapping (DLL 0)', hex: '1e0e200400000001000000020000', seg: 'ack',
    expect: { type: 'DSS', flags: 0x04, dataFin: false, dataAck64: false, dataSequenceNumber: 1n, dsn64: false, subflowSequenceNumber: 2, dataLevelLength: 0 } },

  // ---- ADD_ADDR (spec §1.4) ----
  { name: 'v1 IPv4 with HMAC', src: 'mptcp-aa-v1.out #13: mptcp 16 add-addr v1 id 1 192.168.136.225 hmac 0x669928744366716c',
    hex: '1e103001c0a888e1669928744366716c', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 1, echo: false, ipVersion: 4, addressId: 1, address: '192.168.136.225', truncatedHmac: 0x669928744366716cn } },
  { name: 'v1 IPv4 echo', src: 'mptcp-aa-echo.out #2: mptcp 8 add-addr v1-echo id 1 10.0.2.1', hex: '1e0831010a000201', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 1, echo: true, ipVersion: 4, addressId: 1, address: '10.0.2.1' } },
  { name: 'v1 IPv4 + port with HMAC (18)', hex: '1e123005c00002071f90ad15a4eff00ae221', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 1, echo: false, ipVersion: 4, addressId: 5, address: '192.0.2.7', port: 8080, truncatedHmac: 0xad15a4eff00ae221n } },
  { name: 'v1 IPv4 + port echo (10)', hex: '1e0a3105c00002071f90', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 1, echo: true, ipVersion: 4, addressId: 5, address: '192.0.2.7', port: 8080 } },
  { name: 'v1 IPv6 with HMAC (28)', hex: '1e1c300720010db80000000000000000000000010102030405060708', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 1, echo: false, ipVersion: 6, addressId: 7, address: '2001:db8::1', truncatedHmac: 0x0102030405060708n } },
  { name: 'v1 IPv6 + port with HMAC (30)', hex: '1e1e300720010db800000000000000000000000101bb0102030405060708', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 1, echo: false, ipVersion: 6, addressId: 7, address: '2001:db8::1', port: 443, truncatedHmac: 0x0102030405060708n } },
  { name: 'v1 IPv6 echo (20)', hex: '1e14310720010db8000000000000000000000001', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 1, echo: true, ipVersion: 6, addressId: 7, address: '2001:db8::1' } },
  { name: 'v1 IPv6 + port echo (22)', hex: '1e16310720010db800000000000000000000000101bb', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 1, echo: true, ipVersion: 6, addressId: 7, address: '2001:db8::1', port: 443 } },
  { name: 'v0 IPv4 (IPVer 4)', src: 'mptcp-v0.out #4: mptcp 8 add-addr v0-ip4 id 1 10.1.2.2', hex: '1e0834010a010202', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 0, echo: false, ipVersion: 4, addressId: 1, address: '10.1.2.2' } },
  { name: 'v0 IPv4 + port', hex: '1e0a34010a0102021f90', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 0, echo: false, ipVersion: 4, addressId: 1, address: '10.1.2.2', port: 8080 } },
  { name: 'v0 IPv6 (IPVer 6)', hex: '1e14360220010db8000000000000000000000002', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 0, echo: false, ipVersion: 6, addressId: 2, address: '2001:db8::2' } },
  { name: 'v0 IPv6 + port', hex: '1e16360220010db80000000000000000000000021f90', seg: 'ack',
    expect: { type: 'ADD_ADDR', version: 0, echo: false, ipVersion: 6, addressId: 2, address: '2001:db8::2', port: 8080 } },
  { name: 'ctx.version 1 overrides the nibble: 0x31 echo stays v1', hex: '1e0831010a000201', seg: 'ack', version: 1,
    expect: { type: 'ADD_ADDR', version: 1, echo: true, ipVersion: 4, addressId: 1, address: '10.0.2.1' } },
  { name: 'ctx.version 0 overrides the nibble: IPVer 4 decoded as v0', hex: '1e0834010a010202', seg: 'ack', version: 0,
    expect: { type: 'ADD_ADDR', version: 0, echo: false, ipVersion: 4, addressId: 1, address: '10.1.2.2' } },
  { name: 'nibble 4 with a v1-only length (16) is v1 with reserved bits set', hex: '1e1034010a0102020000000000000001', seg: 'ack', noRoundTrip: true,
    expect: { type: 'ADD_ADDR', version: 1, echo: false, ipVersion: 4, addressId: 1, address: '10.1.2.2', truncatedHmac: 1n } },

  // ---- REMOVE_ADDR, MP_PRIO, MP_FAIL, MP_FASTCLOSE, MP_TCPRST (spec §1.5–1.10) ----
  { name: 'REMOVE_ADDR one ID', src: 'mptcp-v0.out #210: mptcp 4 rem-addr id 0', hex: '1e044000', seg: 'ack', expect: { type: 'REMOVE_ADDR', addressIds: [0] } },
  { name: 'REMOVE_ADDR (Linux)', src: '03-remove-addr.client.pcap frame 3404', hex: '1e044002', seg: 'ack', expect: { type: 'REMOVE_ADDR', addressIds: [2] } },
  { name: 'REMOVE_ADDR three IDs', hex: '1e06400103ff', seg: 'ack', expect: { type: 'REMOVE_ADDR', addressIds: [1, 3, 255] } },
  { name: 'MP_PRIO non-backup', src: '04-backup-prio.client.pcap #1320: mptcp 3 prio non-backup', hex: '1e0350', seg: 'ack', expect: { type: 'MP_PRIO', backup: false } },
  { name: 'MP_PRIO backup', src: '04-backup-prio.client.pcap frame 5242', hex: '1e0351', seg: 'ack', expect: { type: 'MP_PRIO', backup: true } },
  { name: 'MP_PRIO v0 with address ID', hex: '1e045103', seg: 'ack', expect: { type: 'MP_PRIO', backup: true, addressId: 3 } },
  { name: 'MP_FAIL', src: '15b-csum-corrupt-2sf.client.pcap #865: mptcp 12 fail seq 12450098881694947887', hex: '1e0c6000acc7a2f82dea5a2f', seg: 'ack',
    expect: { type: 'MP_FAIL', dataSequenceNumber: 12450098881694947887n } },
  { name: 'MP_FASTCLOSE', src: 'mptcp-fclose.out #10: mptcp 12 fast-close key 0xd005b1ab34bad344', hex: '1e0c7000d005b1ab34bad344', seg: 'ack',
    expect: { type: 'MP_FASTCLOSE', receiversKey: 0xd005b1ab34bad344n } },
  { name: 'MP_TCPRST unspecified', src: 'mptcp-tcprst.out #1: mptcp 4 tcprst flags [none] reason Unspecified error', hex: '1e048000', seg: 'ack',
    expect: { type: 'MP_TCPRST', flags: 0, transient: false, reason: 0 } },
  { name: 'MP_TCPRST transient, MPTCP-specific', src: 'mptcp-tcprst.out #2: mptcp 4 tcprst flags [T] reason MPTCP-specific error', hex: '1e048101', seg: 'ack',
    expect: { type: 'MP_TCPRST', flags: 1, transient: true, reason: 1 } },
  { name: 'MP_TCPRST middlebox interference', src: '15b-csum-corrupt-2sf.client.pcap frame 865', hex: '1e048006', seg: 'ack',
    expect: { type: 'MP_TCPRST', flags: 0, transient: false, reason: 6 } },
  { name: 'MP_EXPERIMENTAL (0xF) kept raw', hex: '1e05f0abcd', seg: 'ack', expect: { type: 'MP_EXPERIMENTAL', subtype: 15, data: fromHex('f0abcd') } },
  { name: 'unassigned subtype 0x9 kept raw', hex: '1e0390', seg: 'ack', expect: { type: 'UNKNOWN', subtype: 9, data: fromHex('90') } },
  { name: 'unassigned subtype 0xE kept raw', hex: '1e06e1020304', seg: 'synack', expect: { type: 'UNKNOWN', subtype: 14, data: fromHex('e1020304') } },
];

describe('accept table', () => {
  for (const a of ACCEPT) {
    it(`${a.expect.type as string}: ${a.name}`, () => {
      expect(fromHex(a.hex)[1], 'length byte = hex length').toBe(a.hex.length / 2);
      const r = decodeAt(a.hex, a.seg, a.version);
      expect(r.issue).toBeUndefined();
      expect(r.option).toEqual({ ...a.expect, offset: 7, length: a.hex.length / 2 });
    });
  }
  it('round trip: encode(decode(bytes)) = bytes', () => {
    for (const a of ACCEPT.filter((x) => !x.noRoundTrip)) {
      const r = decodeAt(a.hex, a.seg, a.version);
      expect(toHex(encodeMptcp(r.option)), a.name).toBe(a.hex);
    }
  });
});

interface Reject {
  name: string;
  src?: string;
  hex: string;
  seg: Seg;
  version?: 0 | 1;
  subtype: number;
  field: string;
  /** Substring of the message. */
  message: string;
}

const REJECT: Reject[] = [
  { name: 'MPTCP option of length 2 (no subtype byte)', hex: '1e02', seg: 'ack', subtype: -1, field: 'option length', message: 'length 2 leaves no room' },
  { name: 'MP_CAPABLE 3 bytes', hex: '1e0301', seg: 'syn', subtype: 0, field: 'MP_CAPABLE length', message: 'length 3 is shorter than 4' },
  { name: 'MP_CAPABLE 4 on a SYN/ACK (a SYN/ACK must carry the key)', hex: '1e040101', seg: 'synack', subtype: 0, field: 'MP_CAPABLE length', message: 'seen on a SYN/ACK' },
  { name: 'MP_CAPABLE 4 on a non-SYN', hex: '1e040101', seg: 'ack', subtype: 0, field: 'MP_CAPABLE length', message: 'valid only on a SYN without ACK' },
  { name: 'MP_CAPABLE 12 on a non-SYN (OPT-002)', hex: '1e0c0101000000000000002a', seg: 'ack', subtype: 0, field: 'MP_CAPABLE length', message: 'length 12 (one key) is valid only on a SYN or SYN/ACK' },
  { name: 'MP_CAPABLE 20 on a SYN', hex: '1e1401011fdb5df328bc3def29a6c86981ad933c', seg: 'syn', subtype: 0, field: 'MP_CAPABLE length', message: 'length 20 (both keys) is valid only on a non-SYN' },
  { name: 'MP_CAPABLE 22 on a SYN/ACK', hex: '1e1601011fdb5df328bc3def29a6c86981ad933c2000', seg: 'synack', subtype: 0, field: 'MP_CAPABLE length', message: 'valid only on a non-SYN' },
  { name: 'MP_CAPABLE v0 has no 22-byte form', hex: '1e1600811fdb5df328bc3def29a6c86981ad933c2000', seg: 'ack', subtype: 0, field: 'MP_CAPABLE length', message: 'v0 has no data-carrying form' },
  { name: 'MP_CAPABLE 16', hex: '1e100101000000000000000000000000', seg: 'ack', subtype: 0, field: 'MP_CAPABLE length', message: 'length 16 is not one of 4, 12, 20, 22, 24' },
  { name: 'MP_JOIN 12 on a SYN/ACK', hex: '1e0c1000e47f01421b665a18', seg: 'synack', subtype: 1, field: 'MP_JOIN length', message: 'length 12 (SYN form) seen on a SYN/ACK' },
  { name: 'MP_JOIN 12 on a non-SYN', hex: '1e0c1000e47f01421b665a18', seg: 'ack', subtype: 1, field: 'MP_JOIN length', message: 'seen on a non-SYN segment' },
  { name: 'MP_JOIN 16 on a SYN', hex: '1e1010015ab680c7884af03d33abe9d5', seg: 'syn', subtype: 1, field: 'MP_JOIN length', message: 'length 16 (SYN/ACK form) seen on a SYN' },
  { name: 'MP_JOIN 24 on a SYN (OPT-002 example)', hex: '1e181000cb7b87f5e5f0502f43b535fb70ef6607df2e6c7a', seg: 'syn', subtype: 1, field: 'MP_JOIN length', message: 'length 24 (third-ACK form) seen on a SYN' },
  { name: 'MP_JOIN 20', hex: '1e14100000000000000000000000000000000000', seg: 'ack', subtype: 1, field: 'MP_JOIN length', message: 'length 20 is not one of 12' },
  { name: 'DSS 3 bytes', src: 'mptcp-dss-oobr.out: mptcp 3 dss[bad opt]', hex: '1e0320', seg: 'syn', subtype: 2, field: 'DSS length', message: 'DSS length 3 is shorter than 4' },
  { name: 'DSS A+a with 4-byte ack (length 8, expected 12)', hex: '1e082003d1b974b9', seg: 'ack', subtype: 2, field: 'DSS length', message: 'DSS length 8 does not match flags 0x03: expected 12' },
  { name: 'DSS A with 8 bytes (a clear)', hex: '1e0c2001c8072fb90edab04e', seg: 'ack', subtype: 2, field: 'DSS length', message: 'expected 8' },
  { name: 'DSS M+m, length 16 (expected 18 or 20)', hex: '1e10200c000000000000000100000001', seg: 'ack', subtype: 2, field: 'DSS length', message: 'DSS length 16 does not match flags 0x0c: expected 18 or 20 with checksum' },
  { name: 'DSS checksum length +2 only with M: A only, length 10', hex: '1e0a2001d1b974b90000', seg: 'ack', subtype: 2, field: 'DSS length', message: 'expected 8' },
  { name: 'DSS M, length 15 (odd)', hex: '1e0f20040000000100000001000100', seg: 'ack', subtype: 2, field: 'DSS length', message: 'expected 14 or 16' },
  { name: 'ADD_ADDR v1 E=0 length 8 (needs HMAC)', hex: '1e0830010a000201', seg: 'ack', subtype: 3, field: 'ADD_ADDR length', message: 'ADD_ADDR v1 length 8 with E=0' },
  { name: 'ADD_ADDR v1 E=1 length 16 (OPT-004 example)', hex: '1e1031010a0002010000000000000000', seg: 'ack', subtype: 3, field: 'ADD_ADDR length', message: 'with E=1, expected 8, 10, 20 or 22' },
  { name: 'ADD_ADDR v1 length 12', hex: '1e0c31010a00020100000000', seg: 'ack', subtype: 3, field: 'ADD_ADDR length', message: 'ADD_ADDR v1 length 12' },
  { name: 'ADD_ADDR v0 IPVer 6 with an IPv4 length', hex: '1e0836010a010202', seg: 'ack', subtype: 3, field: 'ADD_ADDR length', message: 'IPVer 6 length 8, expected 20 or 22' },
  { name: 'ADD_ADDR v0 IPVer 4 length 20', hex: '1e14340220010db8000000000000000000000002', seg: 'ack', subtype: 3, field: 'ADD_ADDR length', message: 'IPVer 4 length 20, expected 8 or 10' },
  { name: 'ADD_ADDR v0 (ctx) IPVer 5 (OPT-004 example)', hex: '1e0835010a010202', seg: 'ack', version: 0, subtype: 3, field: 'ADD_ADDR IPVer', message: 'IPVer 5 is neither 4 nor 6' },
  { name: 'ADD_ADDR ctx v1: nibble 4 means E=0, length 8 has no HMAC', hex: '1e0834010a010202', seg: 'ack', version: 1, subtype: 3, field: 'ADD_ADDR length', message: 'with E=0' },
  { name: 'ADD_ADDR 3 bytes', hex: '1e0330', seg: 'ack', subtype: 3, field: 'ADD_ADDR length', message: 'shorter than 4' },
  { name: 'REMOVE_ADDR without an ID', hex: '1e0340', seg: 'ack', subtype: 4, field: 'REMOVE_ADDR length', message: 'length 3 carries no address ID' },
  { name: 'MP_PRIO length 5', hex: '1e05510000', seg: 'ack', subtype: 5, field: 'MP_PRIO length', message: 'MP_PRIO length 5' },
  { name: 'MP_FAIL length 8', hex: '1e0860000000002a', seg: 'ack', subtype: 6, field: 'MP_FAIL length', message: 'MP_FAIL length 8, expected 12' },
  { name: 'MP_FASTCLOSE length 16', hex: '1e1070000000000000000000002a0000', seg: 'ack', subtype: 7, field: 'MP_FASTCLOSE length', message: 'expected 12' },
  { name: 'MP_TCPRST length 3', hex: '1e0380', seg: 'ack', subtype: 8, field: 'MP_TCPRST length', message: 'MP_TCPRST length 3, expected 4' },
];

describe('reject table', () => {
  for (const r of REJECT) {
    it(`${r.field}: ${r.name}`, () => {
      expect(fromHex(r.hex)[1], 'length byte = hex length').toBe(r.hex.length / 2);
      const { option, issue } = decodeAt(r.hex, r.seg, r.version);
      expect(option.type).toBe('MALFORMED');
      if (option.type !== 'MALFORMED') return;
      expect(option.subtype).toBe(r.subtype);
      expect(option.offset).toBe(7);
      expect(option.length).toBe(r.hex.length / 2);
      expect(toHex(option.data)).toBe(r.hex.slice(4));
      expect(issue).toEqual({ layer: 'mptcp', kind: 'malformed', field: r.field, message: option.reason, offset: 7 });
      expect(option.reason).toContain(r.message);
    });
  }
});

describe('DSS: every flag combination (F m M a A = 32 values) × checksum', () => {
  for (let flags = 0; flags < 32; flags++) {
    const hasA = (flags & DssFlag.A) !== 0;
    const hasM = (flags & DssFlag.M) !== 0;
    const ack64 = hasA && (flags & DssFlag.a) !== 0;
    const dsn64 = hasM && (flags & DssFlag.m) !== 0;
    for (const csum of hasM ? [false, true] : [false]) {
      it(`flags 0x${flags.toString(16).padStart(2, '0')}${csum ? ' + checksum' : ''}`, () => {
        const bytes: number[] = [0x1e, 0, 0x20, flags];
        const ackV = ack64 ? 0x0102030405060708n : 0x0a0b0c0dn;
        const dsnV = dsn64 ? 0x1112131415161718n : 0x1a1b1c1dn;
        const push = (v: bigint, n: number): void => {
          for (let i = n - 1; i >= 0; i--) bytes.push(Number((v >> BigInt(8 * i)) & 0xffn));
        };
        if (hasA) push(ackV, ack64 ? 8 : 4);
        if (hasM) {
          push(dsnV, dsn64 ? 8 : 4);
          push(0x21222324n, 4);
          push(0x3132n, 2);
          if (csum) push(0x4142n, 2);
        }
        bytes[1] = bytes.length;
        expect(bytes.length).toBe(dssExpectedLength(flags) + (csum ? 2 : 0));
        const hex = toHex(bytes);
        const r = decodeAt(hex, 'ack');
        expect(r.issue).toBeUndefined();
        expect(r.option).toEqual({
          type: 'DSS',
          offset: 7,
          length: bytes.length,
          flags,
          dataFin: (flags & DssFlag.F) !== 0,
          dataAck: hasA ? ackV : undefined,
          dataAck64: ack64,
          dataSequenceNumber: hasM ? dsnV : undefined,
          dsn64,
          subflowSequenceNumber: hasM ? 0x21222324 : undefined,
          dataLevelLength: hasM ? 0x3132 : undefined,
          checksum: csum ? 0x4142 : undefined,
        });
        expect(toHex(encodeMptcp(r.option))).toBe(hex);
        // Every other length from 3 to 40 is rejected for these flags.
        const valid = new Set([dssExpectedLength(flags), ...(hasM ? [dssExpectedLength(flags) + 2] : [])]);
        for (let len = 3; len <= 40; len++) {
          if (valid.has(len)) continue;
          const b = new Uint8Array(len).fill(0);
          b.set([0x1e, len, 0x20, flags].slice(0, len));
          const bad = decodeMptcpOption(b, 0, len, ctxOf('ack'));
          expect(bad.option.type, `length ${len}`).toBe('MALFORMED');
          expect(bad.issue?.field).toBe('DSS length');
        }
      });
    }
  }
});

describe('decodeMptcpOption never throws on nonsense arguments', () => {
  it('length beyond the buffer, negative or fractional offsets', () => {
    const b = fromHex('1e1a200f');
    for (const [off, len] of [
      [0, 26],
      [-1, 4],
      [2, 4],
      [0.5, 4],
      [0, -3],
      [10, 4],
      [Number.NaN, 4],
    ] as Array<[number, number]>) {
      const r = decodeMptcpOption(b, off, len, ctxOf('ack'));
      expect(r.option.type).toBe('MALFORMED');
      expect(r.issue).toBeDefined();
    }
  });

  it('MALFORMED data is a copy, Reprs do not alias the frame', () => {
    const b = fromHex('1e0320');
    const r = decodeMptcpOption(b, 0, 3, ctxOf('ack'));
    b[2] = 0;
    expect(toHex((r.option as Extract<MptcpOption, { type: 'MALFORMED' }>).data)).toBe('20');
    const j = fromHex('1e181000cb7b87f5e5f0502f43b535fb70ef6607df2e6c7a');
    const rj = decodeMptcpOption(j, 0, 24, ctxOf('ack'));
    j.fill(0);
    expect(toHex((rj.option as Extract<MptcpOption, { type: 'MP_JOIN' }>).hmac!)).toBe('cb7b87f5e5f0502f43b535fb70ef6607df2e6c7a');
  });
});
