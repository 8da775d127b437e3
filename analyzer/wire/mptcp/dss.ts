/**
 * DSS, Data Sequence Signal (subtype 0x2): RFC 8684 §3.3; spec §1.3. On nearly every packet: this
 * decoder allocates only the Repr (and the bigints in it).
 *
 * b2 [3:0] reserved; b3 flags: 0x10 F (DATA_FIN), 0x08 m (DSN is 8 bytes), 0x04 M (mapping present),
 * 0x02 a (Data ACK is 8 bytes), 0x01 A (Data ACK present). Then, in order: Data ACK (4/8 bytes, if A),
 * DSN (4/8, if M), relative subflow sequence number (4, if M), Data-Level Length (2, if M), checksum
 * (2, if M and checksums are in use). Big-endian.
 *
 * The width bits matter only with their presence bits: `a` is ignored unless A is set and `m` unless
 * M is set (Linux does the same). Wireshark 4.0 mixes the two up; this decoder does not.
 * Valid length = 4 + A·(a ? 8 : 4) + M·((m ? 8 : 4) + 6), or that + 2 when M is set (checksum).
 */
import { u16, u32, u64 } from '../bytes.js';
import { malformed } from './malformed.js';
import type { DssOption, MalformedMptcpOption } from './types.js';

/** Flag bits of DSS b3. */
export const DssFlag = {
  /** A: Data ACK present. */
  A: 0x01,
  /** a: Data ACK is 8 octets. */
  a: 0x02,
  /** M: DSN, SSN, Data-Level Length (and checksum) present. */
  M: 0x04,
  /** m: DSN is 8 octets. */
  m: 0x08,
  /** F: DATA_FIN. */
  F: 0x10,
} as const;

/** Length a DSS with these flags must have, without the optional checksum. */
export function dssExpectedLength(flags: number): number {
  let n = 4;
  if ((flags & DssFlag.A) !== 0) n += (flags & DssFlag.a) !== 0 ? 8 : 4;
  if ((flags & DssFlag.M) !== 0) n += ((flags & DssFlag.m) !== 0 ? 8 : 4) + 6;
  return n;
}

/**
 * Decode a DSS option at `o` of length `len` (caller guarantees `o + len <= b.length`, `len >= 3`).
 * MALFORMED when the length matches neither the flags' formula nor formula + 2 (with M set).
 */
export function decodeDss(b: Uint8Array, o: number, len: number): DssOption | MalformedMptcpOption {
  if (len < 4) return malformed(b, o, len, 2, 'DSS length', `DSS length ${len} is shorter than 4 bytes (kind, length, subtype, flags)`);
  const flags = b[o + 3]!;
  const hasAck = (flags & DssFlag.A) !== 0;
  const ack64 = hasAck && (flags & DssFlag.a) !== 0;
  const hasMap = (flags & DssFlag.M) !== 0;
  const dsn64 = hasMap && (flags & DssFlag.m) !== 0;
  const expected = 4 + (hasAck ? (ack64 ? 8 : 4) : 0) + (hasMap ? (dsn64 ? 8 : 4) + 6 : 0);
  let hasCsum = false;
  if (len !== expected) {
    if (hasMap && len === expected + 2) hasCsum = true;
    else {
      return malformed(
        b,
        o,
        len,
        2,
        'DSS length',
        `DSS length ${len} does not match flags 0x${flags.toString(16).padStart(2, '0')}: expected ${expected}${hasMap ? ` or ${expected + 2} with checksum` : ''}`,
      );
    }
  }
  let p = o + 4;
  let dataAck: bigint | undefined;
  if (hasAck) {
    if (ack64) {
      dataAck = u64(b, p);
      p += 8;
    } else {
      dataAck = BigInt(u32(b, p));
      p += 4;
    }
  }
  let dsn: bigint | undefined;
  let ssn: number | undefined;
  let dll: number | undefined;
  let checksum: number | undefined;
  if (hasMap) {
    if (dsn64) {
      dsn = u64(b, p);
      p += 8;
    } else {
      dsn = BigInt(u32(b, p));
      p += 4;
    }
    ssn = u32(b, p);
    dll = u16(b, p + 4);
    if (hasCsum) checksum = u16(b, p + 6);
  }
  return {
    type: 'DSS',
    offset: o,
    length: len,
    flags,
    dataFin: (flags & DssFlag.F) !== 0,
    dataAck,
    dataAck64: ack64,
    dataSequenceNumber: dsn,
    dsn64,
    subflowSequenceNumber: ssn,
    dataLevelLength: dll,
    checksum,
  };
}
