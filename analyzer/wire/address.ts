/**
 * IP address text: formatting from wire bytes and parsing back.
 *
 * IPv4: dotted quad (`10.0.1.1`). IPv6: RFC 5952 §4 canonical text — lowercase hex, leading zeros
 * dropped, the longest run of two or more zero groups compressed to `::` (the first such run on a
 * tie), a single zero group never compressed — and RFC 5952 §5 mixed notation for IPv4-mapped
 * addresses (`::ffff:192.0.2.1`), as inet_ntop and tcpdump print them.
 */

const V4_CACHE_MAX = 1 << 14;
const v4Cache = new Map<number, string>();

/**
 * Dotted-quad text of the 4 bytes at `o` (network byte order).
 * Captures hold few distinct addresses, so strings are cached by value (bounded cache).
 * Caller guarantees `o + 4 <= b.length`.
 */
export function formatIpv4(b: Uint8Array, o: number): string {
  const key = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  let s = v4Cache.get(key);
  if (s === undefined) {
    s = `${b[o]!}.${b[o + 1]!}.${b[o + 2]!}.${b[o + 3]!}`;
    if (v4Cache.size >= V4_CACHE_MAX) v4Cache.clear();
    v4Cache.set(key, s);
  }
  return s;
}

/**
 * RFC 5952 text of the 16 bytes at `o` (network byte order).
 * Caller guarantees `o + 16 <= b.length`.
 */
export function formatIpv6(b: Uint8Array, o: number): string {
  // Longest run of zero 16-bit groups (length >= 2), first one on a tie (RFC 5952 §4.2.3).
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    const zero = b[o + 2 * i] === 0 && b[o + 2 * i + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = i;
      const len = i - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else runStart = -1;
  }
  if (bestLen < 2) bestStart = -1;
  // IPv4-mapped ::ffff:a.b.c.d (RFC 5952 §5).
  if (bestStart === 0 && bestLen === 5 && b[o + 10] === 0xff && b[o + 11] === 0xff) {
    return `::ffff:${b[o + 12]!}.${b[o + 13]!}.${b[o + 14]!}.${b[o + 15]!}`;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += ((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!).toString(16);
  }
  return s;
}

/** Parse dotted-quad IPv4 text into 4 bytes; `undefined` if it is not exactly four decimal octets. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/**
 * Parse IPv6 text (RFC 4291 §2.2: full, `::`-compressed, or with a trailing dotted quad) into
 * 16 bytes; `undefined` if malformed. Zone IDs (`%eth0`) are not accepted.
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.includes('%')) return undefined;
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) return undefined;
  const groups: number[] = [];
  const parseSide = (side: string, allowV4: boolean): number[] | undefined => {
    if (side === '') return [];
    const items = side.split(':');
    const out: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (allowV4 && i === items.length - 1 && it.includes('.')) {
        const v4 = parseIpv4(it);
        if (v4 === undefined) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
      out.push(parseInt(it, 16));
    }
    return out;
  };
  if (dbl >= 0) {
    const head = parseSide(text.slice(0, dbl), false);
    const tail = parseSide(text.slice(dbl + 2), true);
    if (head === undefined || tail === undefined) return undefined;
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    groups.push(...head);
    for (let i = 0; i < fill; i++) groups.push(0);
    groups.push(...tail);
  } else {
    const all = parseSide(text, true);
    if (all === undefined || all.length !== 8) return undefined;
    groups.push(...all);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** Parse IPv4 or IPv6 text into 4 or 16 bytes; `undefined` if it is neither. */
export function parseIp(text: string): Uint8Array | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}
