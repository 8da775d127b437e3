/**
 * Finds two MPTCP keys with the same token (birthday search: ~2^16 keys for a 32-bit token), for the
 * adversarial tests. Token = most significant 32 bits of SHA-256(key) (v1, RFC 8684 §3.2) or SHA-1(key)
 * (v0, RFC 6824 §3.2), key as 8 big-endian bytes. Keys come from a fixed sequence, so the output is
 * reproducible; it is committed as fixtures/regressions/token-collision.json.
 *
 * Usage: node dist/fuzz/token-collision.js
 */
import { keyToken } from '../analyzer/crypto/index.js';

/** First colliding pair of the key sequence k_i = 0x6d70746370000000 + i·0x9e3779b97f4a7c15 (mod 2^64). */
export function findTokenCollision(version: 0 | 1): { token: number; keyA: bigint; keyB: bigint; tried: number } {
  const seen = new Map<number, bigint>();
  for (let i = 1n; ; i++) {
    const key = BigInt.asUintN(64, 0x6d70746370000000n + i * 0x9e3779b97f4a7c15n);
    const t = keyToken(key, version);
    const prev = seen.get(t);
    if (prev !== undefined) return { token: t, keyA: prev, keyB: key, tried: Number(i) };
    seen.set(t, key);
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  const h16 = (k: bigint): string => k.toString(16).padStart(16, '0');
  for (const v of [1, 0] as const) {
    const c = findTokenCollision(v);
    process.stdout.write(`v${v}: token ${c.token.toString(16).padStart(8, '0')} keyA ${h16(c.keyA)} keyB ${h16(c.keyB)} (${c.tried} keys)\n`);
  }
}
