/**
 * DSS checksum (spec §1.13): every vector, incremental feeding across segment boundaries (odd splits),
 * verification, and the ones'-complement summer against a naive reference.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dssChecksum, dssPseudoHeaderSum, OnesComplementSum, verifyDssChecksum } from '../../analyzer/crypto/index.js';

const DSN = 0xf5a101d3d29d6f73n; // IDSN(0x0102030405060708, v1) + 1
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Naive RFC 1071 reference: concatenate, pad, sum words, fold. */
function naive(bytes: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) | (i + 1 < bytes.length ? bytes[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

describe('dssChecksum vectors (spec §1.13)', () => {
  it('DSN f5a101d3d29d6f73, SSN 1, DLL 4, "abcd" → 0x01ae', () => {
    expect(dssChecksum(DSN, 1, 4, enc('abcd'))).toBe(0x01ae);
    expect(verifyDssChecksum(DSN, 1, 4, 0x01ae, enc('abcd'))).toBe(true);
  });
  it('odd length: "abcde", DLL 5 → 0x9cac (padded with one zero byte)', () => {
    expect(dssChecksum(DSN, 1, 5, enc('abcde'))).toBe(0x9cac);
    expect(verifyDssChecksum(DSN, 1, 5, 0x9cac, enc('abcde'))).toBe(true);
  });
  it('DATA_FIN-only mapping: DSN+4, SSN 0, DLL 1, no payload → 0xc674', () => {
    expect(dssChecksum(DSN + 4n, 0, 1, new Uint8Array(0))).toBe(0xc674);
    expect(dssChecksum(DSN + 4n, 0, 1, [])).toBe(0xc674);
    expect(verifyDssChecksum(DSN + 4n, 0, 1, 0xc674, [])).toBe(true);
  });
  it('a flipped payload byte or a wrong pseudo-header field fails verification', () => {
    expect(verifyDssChecksum(DSN, 1, 4, 0x01ae, enc('abce'))).toBe(false);
    expect(verifyDssChecksum(DSN + 1n, 1, 4, 0x01ae, enc('abcd'))).toBe(false);
    expect(verifyDssChecksum(DSN, 2, 4, 0x01ae, enc('abcd'))).toBe(false);
    expect(verifyDssChecksum(DSN, 1, 5, 0x01ae, enc('abcd'))).toBe(false);
  });
  it('a mapping spanning several segments, split at odd offsets, gives the same checksum', () => {
    const whole = enc('abcde');
    expect(dssChecksum(DSN, 1, 5, [whole.subarray(0, 1), whole.subarray(1, 4), whole.subarray(4)])).toBe(0x9cac);
    expect(dssChecksum(DSN, 1, 5, [whole.subarray(0, 3), new Uint8Array(0), whole.subarray(3)])).toBe(0x9cac);
  });
});

describe('OnesComplementSum', () => {
  it('chunked feeding equals one buffer, for any split (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 6 }), (bytes, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const s = new OnesComplementSum();
        let prev = 0;
        for (const c of [...points, bytes.length]) {
          s.add(bytes, prev, c);
          prev = c;
        }
        expect(s.folded()).toBe(naive(bytes));
      }),
    );
  });
  it('views at any byte offset of a larger buffer sum like a copy (property: the word loop reads through the ArrayBuffer)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(9), fc.nat(9), (bytes, pre, post) => {
        const host = new Uint8Array(pre + bytes.length + post).fill(0x5a);
        host.set(bytes, pre);
        const v = host.subarray(pre, pre + bytes.length);
        expect(new OnesComplementSum().add(v).folded()).toBe(naive(bytes));
        expect(new OnesComplementSum().add(host, pre, pre + bytes.length).folded()).toBe(naive(bytes));
      }),
    );
  });
  it('a 9 MiB payload of 0xff (sums beyond 2^40, folded between word blocks) equals the reference', () => {
    const big = new Uint8Array(9 * 1024 * 1024 + 3).fill(0xff);
    big[5] = 0x12;
    expect(new OnesComplementSum().add(big).folded()).toBe(naive(big));
    // and split in three odd chunks
    const s = new OnesComplementSum().add(big, 0, 1_000_001).add(big, 1_000_001, 7_777_777).add(big, 7_777_777);
    expect(s.folded()).toBe(naive(big));
  });
  it('pseudo-header words equal the 16 serialized bytes', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(0xffffffff), fc.nat(0xffff), fc.nat(0xffff), (dsn, ssn, dll, ck) => {
        const b = Buffer.alloc(16);
        b.writeBigUInt64BE(dsn, 0);
        b.writeUInt32BE(ssn, 8);
        b.writeUInt16BE(dll, 12);
        b.writeUInt16BE(ck, 14);
        expect(dssPseudoHeaderSum(dsn, ssn, dll, ck).folded()).toBe(naive(b));
      }),
    );
  });
  it('checksum then verify round-trips (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(0xffffffff), fc.uint8Array({ maxLength: 200 }), (dsn, ssn, payload) => {
        const ck = dssChecksum(dsn, ssn, payload.length, payload);
        expect(verifyDssChecksum(dsn, ssn, payload.length, ck, payload)).toBe(true);
      }),
    );
  });
  it('large inputs stay exact (no float overflow)', () => {
    const big = new Uint8Array(1 << 20).fill(0xff);
    expect(new OnesComplementSum().add(big).folded()).toBe(naive(big));
  });
});
