/**
 * The live capture child's record stream (analyzer/capture/live-worker.ts: u32 LE length, u32 LE seconds,
 * u32 LE nanoseconds, bytes) parsed by captureRecordParser after pipe reads cut it anywhere: every record comes
 * out once, in order, byte for byte, whatever the cuts (inside a header, inside the data, on a boundary,
 * one byte per read); records wholly inside one read are views of it, not copies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { captureRecordParser } from '../../analyzer/capture/live.js';

interface Rec {
  data: Uint8Array;
  sec: number;
  nsec: number;
}

const recArb = fc.record({
  data: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 1000, maxLength: 70_000 })),
  sec: fc.integer({ min: 0, max: 0xffffffff }),
  nsec: fc.integer({ min: 0, max: 999_999_999 }),
});

function encode(recs: Rec[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of recs) {
    const h = Buffer.alloc(12);
    h.writeUInt32LE(r.data.length, 0);
    h.writeUInt32LE(r.sec, 4);
    h.writeUInt32LE(r.nsec, 8);
    parts.push(h, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}

/** Feed `stream` cut at `cuts` (offsets, any order, duplicates allowed) as fresh buffers, like pipe reads. */
function feed(stream: Buffer, cuts: number[]): { out: Rec[]; views: number } {
  const out: Rec[] = [];
  let views = 0;
  const chunks: Buffer[] = [];
  const parse = captureRecordParser((data, sec, nsec) => {
    if (chunks.some((c) => c.buffer === data.buffer)) views++;
    out.push({ data: Uint8Array.from(data), sec, nsec });
  });
  const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const c of [...at, stream.length]) {
    if (c < prev) continue;
    const chunk = Buffer.alloc(c - prev); // an ArrayBuffer of its own (Buffer.from would share the pool), as each pipe read has
    stream.copy(chunk, 0, prev, c);
    chunks.push(chunk);
    parse(chunk);
    prev = c;
  }
  return { out, views };
}

describe('captureRecordParser', () => {
  it('delivers every record once, in order, whatever the read boundaries', () => {
    fc.assert(
      fc.property(fc.array(recArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 30 }), (recs, cuts) => {
        const { out } = feed(encode(recs), cuts);
        expect(out).toEqual(recs.map((r) => ({ data: Uint8Array.from(r.data), sec: r.sec, nsec: r.nsec })));
      }),
      { numRuns: 300 },
    );
  });

  it('handles reads of one byte (every cut inside a header)', () => {
    const recs: Rec[] = [
      { data: Uint8Array.of(1, 2, 3), sec: 7, nsec: 8 },
      { data: new Uint8Array(0), sec: 0xffffffff, nsec: 999_999_999 },
      { data: Uint8Array.from({ length: 300 }, (_, i) => i & 0xff), sec: 1, nsec: 2 },
    ];
    const s = encode(recs);
    const { out, views } = feed(s, Array.from({ length: s.length }, (_, i) => i));
    expect(out).toEqual(recs);
    // Only the empty record can be a view of a read (its header ended a read and its data is nothing).
    expect(views).toBeLessThanOrEqual(1);
  });

  it('does not copy records that lie wholly inside one read', () => {
    const recs: Rec[] = Array.from({ length: 5 }, (_, i) => ({ data: new Uint8Array(100).fill(i), sec: i, nsec: i }));
    const s = encode(recs);
    // One cut in the middle of record 2's data: records 0, 1, 3, 4 are views, record 2 is a copy.
    const { out, views } = feed(s, [2 * 112 + 50]);
    expect(out.map((r) => r.sec)).toEqual([0, 1, 2, 3, 4]);
    expect(views).toBe(4);
  });
});
