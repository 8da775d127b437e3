import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedNumberTable, NumQueue } from '../../analyzer/timeline/queue.js';

describe('NumQueue (typed-array FIFO of the RTT matchers)', () => {
  it('behaves like an array of records under any sequence of push / shift / set / clear', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('push' as const), a: fc.double({ noNaN: true }), b: fc.double({ noNaN: true }), c: fc.integer() }),
      fc.record({ k: fc.constant('shift' as const), n: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ k: fc.constant('set' as const), i: fc.integer({ min: -2, max: 60 }), v: fc.integer() }),
      fc.record({ k: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 1, max: 4 }), (ops, initial) => {
        const q = new NumQueue(3, initial);
        const model: number[][] = [];
        for (const o of ops) {
          if (o.k === 'push') {
            // Bursts, so that storage both grows and compacts.
            for (let j = 0; j < 7; j++) {
              q.push(o.a, o.b + j, o.c);
              model.push([o.a, o.b + j, o.c]);
            }
          } else if (o.k === 'shift') {
            for (let j = 0; j < o.n; j++) {
              q.shift();
              model.shift();
            }
          } else if (o.k === 'set') {
            q.set(o.i, 2, o.v);
            if (o.i >= 0 && o.i < model.length) model[o.i]![2] = o.v;
          } else {
            q.clear();
            model.length = 0;
          }
          expect(q.length).toBe(model.length);
        }
        for (let i = 0; i < model.length; i++) for (let f = 0; f < 3; f++) expect(q.get(i, f)).toBe(model[i]![f]);
        expect(q.get(model.length, 0)).toBeNaN();
        expect(q.get(-1, 0)).toBeNaN();
      }),
      { numRuns: 300 },
    );
  });

  it('a width-2 record stores two numbers', () => {
    const q = new NumQueue(2, 1);
    for (let i = 0; i < 1000; i++) q.push(i, -i);
    for (let i = 0; i < 500; i++) q.shift();
    expect(q.length).toBe(500);
    expect([q.get(0, 0), q.get(0, 1), q.get(499, 0), q.get(499, 1)]).toEqual([500, -500, 999, -999]);
  });
});

describe('BoundedNumberTable (MBX-004 / DSS-006 first-transmission tables)', () => {
  it('keeps the most recently inserted `limit` keys with their records (property, against a Map model)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        // Keys as DSNs are: small, near 2^32 and beyond it (the hash mixes the high word).
        fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }).map((k) => 2 ** 32 * k + 7), fc.integer({ min: 0, max: 60 }).map((k) => 2 ** 32 - 1 - k)), fc.integer()), { maxLength: 300 }),
        (limit, ops) => {
          const m = new BoundedNumberTable(limit, 2);
          const model = new Map<number, [number, number]>();
          for (const [k, v] of ops) {
            if (m.find(k) >= 0) {
              expect(model.has(k)).toBe(true);
              continue;
            }
            expect(model.has(k)).toBe(false);
            const r = m.insert(k);
            expect([m.value(r, 0), m.value(r, 1)]).toEqual([0, 0]);
            m.setValue(r, 0, v);
            m.setValue(r, 1, -v);
            if (model.size >= limit) model.delete(model.keys().next().value!);
            model.set(k, [v, -v]);
            expect(m.size).toBe(model.size);
          }
          for (const [k] of ops) {
            const r = m.find(k);
            const want = model.get(k);
            expect(r >= 0 ? [m.value(r, 0), m.value(r, 1)] : undefined).toEqual(want);
          }
          for (const k of [61, 2 ** 32 * 61 + 7, 2 ** 53 - 1]) expect(m.find(k)).toBe(-1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('allocates rows as entries arrive, not the limit up front (20 000 connections × 2 tables of 8192 slots were 2.6 GB)', () => {
    const m = new BoundedNumberTable(8192, 3);
    for (let i = 0; i < 3; i++) m.setValue(m.insert(i), 0, i);
    expect(m.capacity).toBeLessThanOrEqual(8);
    for (let i = 3; i < 20_000; i++) m.setValue(m.insert(i), 0, i);
    expect([m.size, m.capacity]).toEqual([8192, 8192]);
    const at = (k: number): number | undefined => {
      const r = m.find(k);
      return r < 0 ? undefined : m.value(r, 0);
    };
    expect([at(20_000 - 8192 - 1), at(20_000 - 8192), at(19_999)]).toEqual([undefined, 20_000 - 8192, 19_999]);
  });
});
