import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OnesComplementSum } from '../../analyzer/crypto/checksum.js';
import { payloadHash, segmentPayloadDigest } from '../../analyzer/middlebox/option-space.js';
import type { TcpSegment } from '../../analyzer/wire/types.js';

/** The documented definition, written plainly: four FNV-1a lanes over the big-endian words of each 16-byte block, folded, then the rest word by word and byte by byte. */
function reference(bytes: Uint8Array): number {
  const step = (h: number, x: number): number => Math.imul(h ^ x, 0x01000193);
  const word = (i: number): number => ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) | 0;
  const lanes = [0, 1, 2, 3].map((k) => (0x811c9dc5 ^ bytes.length ^ k) | 0);
  let i = 0;
  for (; i + 16 <= bytes.length; i += 16) for (let k = 0; k < 4; k++) lanes[k] = step(lanes[k]!, word(i + 4 * k));
  let h = step(step(step(lanes[0]! ^ lanes[1]!, 0) ^ lanes[2]!, 0) ^ lanes[3]!, 0);
  for (; i + 4 <= bytes.length; i += 4) h = step(h, word(i));
  for (; i < bytes.length; i++) h = step(h, bytes[i]!);
  return h >>> 0;
}

describe('payloadHash (MBX-004 reinjection comparison, diff matching)', () => {
  it('depends only on the bytes: same value at any offset of any buffer, equal to the documented definition', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), fc.nat(5), (payload, pre, post) => {
        const host = new Uint8Array(pre + payload.length + post).fill(0xa5);
        host.set(payload, pre);
        const h = payloadHash(host, pre, payload.length);
        expect(h).toBe(reference(payload));
        // A subarray whose byteOffset is not 0, as frames are views into the reader's buffer.
        if (pre > 0) expect(payloadHash(new Uint8Array(host.buffer, 1, host.length - 1), pre - 1, payload.length)).toBe(h);
        expect(payloadHash(new Uint8Array(payload), 0, payload.length)).toBe(h);
      }),
      { numRuns: 500 },
    );
  });

  it('a payload changed in one byte never hashes the same (each step is a bijection of its lane)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (payload, at, xor) => {
        const i = at % payload.length;
        const changed = new Uint8Array(payload);
        changed[i] = changed[i]! ^ xor;
        expect(payloadHash(changed, 0, changed.length)).not.toBe(payloadHash(payload, 0, payload.length));
      }),
      { numRuns: 500 },
    );
  });

  it('segmentPayloadDigest gives payloadHash and the folded ones\' complement sum of the payload, in one pass, per segment', () => {
    // RFC 1071 written plainly: 16-bit big-endian words, an odd last byte padded with zero, end-around carry.
    const rfc1071 = (b: Uint8Array): number => {
      let s = 0;
      for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), fc.nat(5), (payload, pre, post) => {
        const host = new Uint8Array(pre + payload.length + post).fill(0xa5);
        host.set(payload, pre);
        const seg = { payloadOffset: pre, payloadLength: payload.length } as TcpSegment;
        const d = segmentPayloadDigest(seg, host);
        expect(d.hash).toBe(reference(payload));
        expect(d.sum).toBe(rfc1071(payload));
        expect(d.sum).toBe(new OnesComplementSum().add(payload).folded());
      }),
      { numRuns: 500 },
    );
    // Cached per segment object: the same object returns the first answer; another segment is computed anew.
    const a = new Uint8Array([1, 2, 3, 4, 5]);
    const segA = { payloadOffset: 0, payloadLength: 5 } as TcpSegment;
    const first = { ...segmentPayloadDigest(segA, a) };
    a[0] = 9;
    expect(segmentPayloadDigest(segA, a)).toEqual(first);
    const segB = { payloadOffset: 0, payloadLength: 5 } as TcpSegment;
    expect(segmentPayloadDigest(segB, a).hash).toBe(reference(a));
    expect(segmentPayloadDigest(segB, a).hash).not.toBe(first.hash);
  });
});
