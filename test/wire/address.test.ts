/**
 * Address text: dotted quad, RFC 5952 IPv6 (compression rules, lowercase, mixed IPv4-mapped form),
 * and parsing back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv4, formatIpv6, parseIp, parseIpv4, parseIpv6 } from '../../analyzer/wire/address.js';
import { fromHex } from '../helpers/packet-builder.js';

// RFC 5952 §4 canonical forms (hex bytes → text).
const V6: Array<[string, string]> = [
  ['20010db8000000000000000000000001', '2001:db8::1'],
  ['00000000000000000000000000000000', '::'],
  ['00000000000000000000000000000001', '::1'],
  ['00010000000000000000000000000000', '1::'],
  ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // §4.2.2: one 0 group is not compressed
  ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // §4.2.3: first of two equal runs
  ['20010000000000010000000000000001', '2001:0:0:1::1'], // §4.2.3: the longest run
  ['20010DB800AA00BB00CC00DD00EE00FF', '2001:db8:aa:bb:cc:dd:ee:ff'], // §4.3 lowercase, §4.1 no leading zeros
  ['fe800000000000000000000000010002', 'fe80::1:2'],
  ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'], // §5 IPv4-mapped
  ['0000000000000000000000000a000001', '::a00:1'], // IPv4-compatible (deprecated): plain hex
  ['20010db8000100000000000000000000', '2001:db8:1::'],
  ['00000001000000000000000000000000', '0:1::'],
];

describe('formatIpv6 (RFC 5952)', () => {
  for (const [hex, text] of V6) {
    it(`${hex} → ${text}`, () => {
      const b = new Uint8Array(20);
      b.set(fromHex(hex), 3);
      expect(formatIpv6(b, 3)).toBe(text);
      expect(Buffer.from(parseIpv6(text)!).toString('hex')).toBe(hex.toLowerCase());
    });
  }

  it('agrees with the WHATWG URL serializer (same compression rule) and round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(fc.nat(7), { maxLength: 8 }), (bytes, zeroGroups) => {
        for (const g of zeroGroups) bytes[2 * g] = bytes[2 * g + 1] = 0; // make zero runs likely
        const text = formatIpv6(bytes, 0);
        expect(parseIpv6(text)).toEqual(bytes);
        const mapped = bytes.subarray(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
        if (!mapped) expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      }),
    );
  });
});

describe('IPv4 text', () => {
  it('formats dotted quads (and caches them without mixing values)', () => {
    const b = fromHex('0a000101c0a888e1ffffffff00000000');
    expect(formatIpv4(b, 0)).toBe('10.0.1.1');
    expect(formatIpv4(b, 4)).toBe('192.168.136.225');
    expect(formatIpv4(b, 8)).toBe('255.255.255.255');
    expect(formatIpv4(b, 12)).toBe('0.0.0.0');
    expect(formatIpv4(b, 0)).toBe('10.0.1.1');
  });
  it('parses and rejects', () => {
    expect(parseIpv4('192.0.2.7')).toEqual(Uint8Array.from([192, 0, 2, 7]));
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', 'a.b.c.d', '1..2.3', '']) expect(parseIpv4(bad)).toBeUndefined();
  });
  it('parseIp picks the family; IPv6 rejects malformed text', () => {
    expect(parseIp('10.0.0.3')?.length).toBe(4);
    expect(parseIp('::1')?.length).toBe(16);
    expect(parseIp('::ffff:1.2.3.4')).toEqual(fromHex('00000000000000000000ffff01020304'));
    for (const bad of ['1:2:3:4:5:6:7', '1::2::3', '12345::', 'g::', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', ':']) expect(parseIpv6(bad)).toBeUndefined();
  });
});
