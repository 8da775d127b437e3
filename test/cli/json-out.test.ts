/**
 * cli/json-out.ts: `--json` output of any size. Both paths (native, and the chunked one used past V8's
 * string limit) must write exactly `JSON.stringify(value, replacer, space)` and a newline, honour
 * backpressure and report stream errors.
 */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bigintAsString, stringifyPieces, writeJson, writeJsonChunked } from '../../cli/json-out.js';
import { analyzeFull } from '../../conformance/full.js';
import { FIXTURES } from '../helpers/fixtures.js';

/** A sink that keeps what it is given; `delayMs` > 0 makes it slow (callbacks later), with a small buffer. */
function sink(delayMs = 0): { w: Writable; text: () => string; writes: () => number } {
  const parts: string[] = [];
  const w = new Writable({
    decodeStrings: false,
    highWaterMark: 1024,
    write(chunk: string, _enc, cb) {
      parts.push(chunk);
      if (delayMs > 0) setTimeout(cb, delayMs);
      else cb();
    },
  });
  return { w, text: () => parts.join(''), writes: () => parts.length };
}

describe('writeJson / writeJsonChunked', () => {
  it('write exactly what JSON.stringify gives, for arbitrary JSON values (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.constantFrom(undefined, 0, 2), async (v, space) => {
        const want = `${JSON.stringify(v, null, space)}\n`;
        for (const write of [writeJson, writeJsonChunked]) {
          const s = sink();
          await write(s.w, v, space);
          expect(s.text()).toBe(want);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('stringifyPieces: the same text as JSON.stringify for anything JSON.stringify takes, split at every level (property)', () => {
    // Values beyond JSON: undefined / functions / symbols (left out of objects, null in arrays), bigints through a
    // replacer, toJSON, wrapper objects, and arrays longer than the split length nested under them.
    const leaf = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constant(undefined),
      fc.constant(() => 1),
      fc.constant(Symbol('s')),
      fc.bigInt(),
      fc.date({ noInvalidDate: true }),
      fc.string().map((x) => new String(x)),
      fc.integer().map((x) => new Number(x)),
      fc.constant({ toJSON: (k: string) => `key:${k}` }),
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 3 }), tie('node'), { maxKeys: 4 })),
    })).node;
    const replacer = function (this: unknown, k: string, v: unknown): unknown {
      if (typeof v === 'bigint') return v.toString();
      return k === 'drop' ? undefined : v;
    };
    fc.assert(
      fc.property(tree, fc.constantFrom(undefined, 0, 2, 4), fc.nat(1500), (v, space, long) => {
        // A long array deep inside, so the split-by-length path runs too.
        const value = { a: [v, { b: Array.from({ length: long }, (_, i) => (i % 7 === 0 ? v : i)) }], drop: 1 };
        expect([...stringifyPieces(value, space, replacer)].join('')).toBe(JSON.stringify(value, replacer, space));
      }),
      { numRuns: 200 },
    );
    expect([...stringifyPieces(undefined)].join('')).toBe('');
    expect([...stringifyPieces([undefined, () => 0], 2)].join('')).toBe(JSON.stringify([undefined, () => 0], null, 2));
  });

  it('everything-on results of real captures (bigints, undefined fields, nested arrays): same characters', async () => {
    for (const name of ['01-basic.client.pcap', '15b-csum-corrupt-2sf.client.pcap', '07a-mbox-strip-synack.router.pcapng']) {
      const r = await analyzeFull(join(FIXTURES, 'shared-linux', name));
      const want = `${JSON.stringify(r, bigintAsString, 2)}\n`;
      expect(want.length).toBeGreaterThan(10_000);
      for (const write of [writeJson, writeJsonChunked]) {
        const s = sink();
        await write(s.w, r, 2, bigintAsString);
        expect(s.text() === want, `${name}, ${write.name}`).toBe(true);
      }
    }
  });

  it('the chunked path waits for a slow reader: every batch arrives, in order, ≈ 1 MiB each', async () => {
    const v = { rows: Array.from({ length: 60_000 }, (_, i) => ({ i, s: `row ${i}`, xs: [i, i * 2, null] })) };
    const s = sink(2);
    await writeJsonChunked(s.w, v, 2);
    const want = `${JSON.stringify(v, null, 2)}\n`;
    expect(want.length).toBeGreaterThan(4 << 20);
    expect(s.text() === want).toBe(true);
    expect(s.writes()).toBe(Math.ceil(want.length / (1 << 20)));
  });

  it('a stream error rejects (the reader went away)', async () => {
    const w = new Writable({
      write(_c, _e, cb) {
        cb(new Error('EPIPE: reader gone'));
      },
    });
    await expect(writeJsonChunked(w, { a: 'x'.repeat(3 << 20) })).rejects.toThrow(/EPIPE/);
  });
});
