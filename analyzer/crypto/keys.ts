/**
 * MPTCP key → token and IDSN. RFC 8684 §3.1 / §3.2 (v1), RFC 6824 §3.1 / §3.2 (v0); spec §1.11.
 *
 * The 64-bit key is hashed as 8 big-endian bytes.
 * - v1: D = SHA-256(key); token = D[0..3] (most significant 32 bits); IDSN = D[24..31] (least
 *   significant 64 bits).
 * - v0: D = SHA-1(key); token = D[0..3]; IDSN = D[12..19] (least significant 64 bits of the 160).
 * Computed once per connection (the model caches it), never per packet.
 */
import { createHash } from 'node:crypto';

/** 8 big-endian bytes of a 64-bit key (taken modulo 2^64). */
export function keyBytes(key: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, key));
  return b;
}

function digest(key: bigint, version: 0 | 1): Buffer {
  return createHash(version === 1 ? 'sha256' : 'sha1').update(keyBytes(key)).digest();
}

/** Token and IDSN of one key from a single hash. */
export interface KeyDerivation {
  /** 32-bit token, unsigned. */
  token: number;
  /** 64-bit initial data sequence number. */
  idsn: bigint;
}

/** Token and IDSN of `key` for MPTCP `version` (0 = RFC 6824 SHA-1, 1 = RFC 8684 SHA-256), one hash. */
export function deriveKey(key: bigint, version: 0 | 1): KeyDerivation {
  const d = digest(key, version);
  return { token: d.readUInt32BE(0), idsn: d.readBigUInt64BE(version === 1 ? 24 : 12) };
}

/** 32-bit token of `key` (unsigned `number`): the most significant 32 bits of the hash. */
export function keyToken(key: bigint, version: 0 | 1): number {
  return digest(key, version).readUInt32BE(0);
}

/** 64-bit IDSN of `key`: the least significant 64 bits of the hash (v1 D[24..31], v0 D[12..19]). */
export function keyIdsn(key: bigint, version: 0 | 1): bigint {
  return digest(key, version).readBigUInt64BE(version === 1 ? 24 : 12);
}
