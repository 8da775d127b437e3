import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedNumberMap, NumQueue } from '../../analyzer/timeline/queue.js';

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

describe('BoundedNumberMap (MBX-004 / DSS-006 first-transmission tables)', () => {
  it('keeps the most recently inserted `limit` keys; updates keep their place (property, against a Map model)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer()), { maxLength: 300 }), (limit, ops) => {
        const m = new BoundedNumberMap<number>(limit);
        const model = new Map<number, number>();
        for (const [k, v] of ops) {
          m.set(k, v);
          if (!model.has(k) && model.size >= limit) model.delete(model.keys().next().value!);
          model.set(k, v);
          expect(m.size).toBe(model.size);
        }
        for (let k = 0; k <= 60; k++) expect(m.get(k)).toBe(model.get(k));
      }),
      { numRuns: 300 },
    );
  });

  it('allocates key slots as entries arrive, not the limit up front (20 000 connections × 2 tables of 8192 slots were 2.6 GB)', () => {
    const m = new BoundedNumberMap<number>(8192);
    for (let i = 0; i < 3; i++) m.set(i, i);
    expect(m.capacity).toBeLessThanOrEqual(8);
    for (let i = 0; i < 20_000; i++) m.set(i, i);
    expect([m.size, m.capacity]).toEqual([8192, 8192]);
    expect([m.get(20_000 - 8192 - 1), m.get(20_000 - 8192), m.get(19_999)]).toEqual([undefined, 20_000 - 8192, 19_999]);
  });
});
