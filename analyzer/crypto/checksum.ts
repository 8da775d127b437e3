/**
 * DSS checksum: RFC 8684 §3.3.1; spec §1.13. RFC 1071 16-bit ones'-complement sum over a 16-byte
 * pseudo-header — DSN (64 bits, always; expand a 32-bit DSN first), relative subflow sequence number
 * (32), Data-Level Length (16), checksum (16) — followed by all payload bytes of the mapping, which may
 * span several segments; an odd total is padded with one zero byte. All big-endian.
 *
 * The field carries the ones' complement of the sum (computed with the checksum field 0). A received
 * mapping verifies when the sum with the received checksum in place folds to 0xFFFF.
 * The DLL in the pseudo-header is the option's value (including +1 for a DATA_FIN), while only the
 * mapping's payload bytes (DLL − 1 with DATA_FIN) are summed.
 */
import { bufferView } from '../wire/bytes.js';

/** Sum bound kept between calls; below it, a block of 2^20 32-bit words cannot pass 2^53 (exact doubles). */
const SUM_BOUND = 2 ** 40;
/** Bytes per block of 32-bit words between two folds. */
const BLOCK = 1 << 22;

const fold32 = (s: number): number => (s % 0x10000) + Math.floor(s / 0x10000);

/**
 * Incremental RFC 1071 summer. Bytes may be fed in any number of chunks of any length: an odd
 * chunk's last byte pairs with the next chunk's first byte, as if the chunks were one buffer.
 * Hot path: big-endian 32-bit words through one cached DataView per ArrayBuffer (bufferView) (a 32-bit word is
 * congruent to the sum of its two 16-bit words modulo 0xFFFF, RFC 1071 §2(B)), folded per block.
 */
export class OnesComplementSum {
  private sum = 0;
  /** True when an odd number of bytes has been added: the next byte is a low-order byte. */
  private odd = false;

  /** Add `bytes[start, end)` to the sum. */
  add(bytes: Uint8Array, start = 0, end = bytes.length): this {
    let i = start;
    let s = this.sum;
    if (this.odd && i < end) {
      s += bytes[i]!;
      i++;
      this.odd = false;
    }
    const dv = bufferView(bytes);
    const base = bytes.byteOffset;
    const end4 = end - 3;
    while (i < end4) {
      const blockEnd = Math.min(end4, i + BLOCK);
      for (; i < blockEnd; i += 4) s += dv.getUint32(base + i);
      if (s > SUM_BOUND) s = fold32(s);
    }
    for (; i + 1 < end; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
    if (i < end) {
      s += bytes[i]! << 8;
      this.odd = true;
    }
    if (s > SUM_BOUND) s = fold32(s);
    this.sum = s;
    return this;
  }

  /** Add a 16-bit big-endian word. Must be called at an even byte position. */
  addU16(v: number): this {
    this.sum += v & 0xffff;
    return this;
  }

  /** Add a 32-bit value as two big-endian words. Must be called at an even byte position. */
  addU32(v: number): this {
    this.sum += ((v >>> 16) & 0xffff) + (v & 0xffff);
    return this;
  }

  /** Add a 64-bit value as four big-endian words. Must be called at an even byte position. */
  addU64(v: bigint): this {
    const x = BigInt.asUintN(64, v);
    this.addU32(Number(x >> 32n));
    this.addU32(Number(x & 0xffffffffn));
    return this;
  }

  /** The folded 16-bit sum (not complemented); the pending odd byte counts as padded with zero. */
  folded(): number {
    let s = this.sum;
    while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
    return s;
  }
}

/** Payload of a mapping: one buffer or several (segments in subflow order). */
export type MappingPayload = Uint8Array | readonly Uint8Array[];

function addPayload(s: OnesComplementSum, payload: MappingPayload): void {
  if (payload instanceof Uint8Array) s.add(payload);
  else for (const p of payload) s.add(p);
}

/** Start a summer with the DSS pseudo-header (DSN 64, SSN 32, DLL 16, checksum 16). */
export function dssPseudoHeaderSum(dsn: bigint, ssn: number, dll: number, checksum = 0): OnesComplementSum {
  return new OnesComplementSum().addU64(dsn).addU32(ssn >>> 0).addU16(dll).addU16(checksum);
}

/**
 * The DSS checksum field value for a mapping: ones' complement of the sum over the pseudo-header
 * (checksum 0) and the payload.
 * @param dsn 64-bit data sequence number of the mapping (already expanded)
 * @param ssn relative subflow sequence number (32 bits)
 * @param dll Data-Level Length from the option (incl. +1 for DATA_FIN)
 * @param payload the mapping's payload bytes, whole or as consecutive chunks
 */
export function dssChecksum(dsn: bigint, ssn: number, dll: number, payload: MappingPayload): number {
  const s = dssPseudoHeaderSum(dsn, ssn, dll, 0);
  addPayload(s, payload);
  return ~s.folded() & 0xffff;
}

/** True when `checksum` (the received field) verifies for the mapping: the full sum folds to 0xFFFF. */
export function verifyDssChecksum(dsn: bigint, ssn: number, dll: number, checksum: number, payload: MappingPayload): boolean {
  const s = dssPseudoHeaderSum(dsn, ssn, dll, checksum);
  addPayload(s, payload);
  return s.folded() === 0xffff;
}
