/**
 * BinColumns (analyzer/timeline/stats.ts), the per-time-bin series of the timelines, against a Map
 * reference: any sequence of additions, in time order or not, gives the same bins in increasing order with
 * the same sums.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinColumns } from '../../analyzer/timeline/stats.js';

function reference(adds: Array<[number, number, number]>, width: number): Array<[number, number[]]> {
  const m = new Map<number, number[]>();
  for (const [b, col, v] of adds) {
    const row = m.get(b) ?? new Array<number>(width).fill(0);
    row[col % width]! += v;
    m.set(b, row);
  }
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

function contents(c: BinColumns): Array<[number, number[]]> {
  return Array.from({ length: c.length }, (_, r) => [c.binAt(r), Array.from({ length: c.width }, (_, k) => c.at(r, k))]);
}

describe('BinColumns', () => {
  it('matches a Map of bins for any order of additions (appends, repeats, bins before the last one; series past BIN_COLUMNS_TYPED_FROM rows move to typed arrays)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 150 }), fc.nat(2), fc.integer({ min: 1, max: 1500 })), { maxLength: 500 }),
        (width, adds) => {
          const c = new BinColumns(width);
          for (const [b, col, v] of adds) c.add(b, col % width, v);
          expect(contents(c)).toEqual(reference(adds, width));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a series in time order: one row per bin, rows kept across growth', () => {
    const c = new BinColumns(2);
    for (let b = 0; b < 1000; b++) {
      c.add(b, 0, b);
      c.add(b, 1, 2 * b);
      c.add(b, 0, 1);
    }
    expect(c.length).toBe(1000);
    expect(c.binAt(999)).toBe(999);
    expect(c.at(999, 0)).toBe(1000);
    expect(c.at(999, 1)).toBe(1998);
    expect(c.at(0, 0)).toBe(1);
    // A late segment for an old bin lands in that bin, not a new one.
    c.add(10, 0, 5);
    expect(c.length).toBe(1000);
    expect(c.at(10, 0)).toBe(16);
  });
});
