/**
 * Key → token / IDSN against every vector of spec §1.11 (v1 SHA-256, v0 SHA-1).
 */
import { describe, expect, it } from 'vitest';
import { deriveKey, keyIdsn, keyToken } from '../../analyzer/crypto/index.js';

// spec §1.11 vector table: key, v1 token, v1 IDSN, v0 token, v0 IDSN.
const VECTORS: Array<[bigint, string, string, string, string]> = [
  [0x0102030405060708n, '66840dda', 'f5a101d3d29d6f72', 'dd5783bc', '3a95ed6e4ebb4ad5'],
  [0x1112131415161718n, 'ccad45ac', '535beea38e087c8e', '3383d918', '9e1ae42f702627a9'],
];

describe('keyToken / keyIdsn (spec §1.11)', () => {
  for (const [key, t1, i1, t0, i0] of VECTORS) {
    it(`key 0x${key.toString(16).padStart(16, '0')}`, () => {
      expect(keyToken(key, 1).toString(16).padStart(8, '0')).toBe(t1);
      expect(keyIdsn(key, 1).toString(16).padStart(16, '0')).toBe(i1);
      expect(keyToken(key, 0).toString(16).padStart(8, '0')).toBe(t0);
      expect(keyIdsn(key, 0).toString(16).padStart(16, '0')).toBe(i0);
      expect(deriveKey(key, 1)).toEqual({ token: keyToken(key, 1), idsn: keyIdsn(key, 1) });
      expect(deriveKey(key, 0)).toEqual({ token: keyToken(key, 0), idsn: keyIdsn(key, 0) });
    });
  }

  it('tokens are unsigned 32-bit numbers and IDSNs fit 64 bits', () => {
    for (const key of [0n, 0xffffffffffffffffn, 0x8000000000000000n, 1n]) {
      for (const v of [0, 1] as const) {
        const t = keyToken(key, v);
        expect(Number.isInteger(t) && t >= 0 && t <= 0xffffffff).toBe(true);
        const i = keyIdsn(key, v);
        expect(i >= 0n && i < 1n << 64n).toBe(true);
      }
    }
  });

  it('real capture: tcpdump mptcp-v1.pcap client key → Data ACK = IDSN + 1', () => {
    // mptcp-v1.out frame 3: "mptcp 20 capable v1 flags [H] {0x1fdb5df328bc3def,0x29a6c86981ad933c}"
    // frame 5 (server → client): "mptcp 12 dss ack 14413541604287230030" acknowledges the client's
    // first mapping end; frame 7 (server data): "seq 11713449205243392242" = server IDSN + 1.
    expect(keyIdsn(0x29a6c86981ad933cn, 1) + 1n).toBe(11713449205243392242n);
    // Frame 5 acknowledges nothing yet at data level: Data ACK = client IDSN + 1. The client's next
    // mapping (frame 9: "seq 14413541604287238222") follows the 8192-byte MP_CAPABLE data mapping
    // (frame 4: data_len=8192).
    expect(keyIdsn(0x1fdb5df328bc3defn, 1) + 1n).toBe(14413541604287230030n);
    expect(keyIdsn(0x1fdb5df328bc3defn, 1) + 1n + 8192n).toBe(14413541604287238222n);
  });
});
