/**
 * MPTCP HMACs: RFC 2104 HMAC with a 16-byte key K1‖K2 (each 8 bytes big-endian); SHA-256 in v1
 * (RFC 8684 §3.2, §3.4.1), SHA-1 in v0 (RFC 6824 §3.2). Spec §1.12.
 *
 * I = the host sending the MP_JOIN SYN, R = the responder; each sender puts its own key and random first.
 */
import { createHmac } from 'node:crypto';
import { parseIp } from '../wire/address.js';
import { keyBytes } from './keys.js';

function hmac(version: 0 | 1, k1: bigint, k2: bigint, msg: Buffer): Buffer {
  return createHmac(version === 1 ? 'sha256' : 'sha1', Buffer.concat([keyBytes(k1), keyBytes(k2)]))
    .update(msg)
    .digest();
}

function randoms(r1: number, r2: number): Buffer {
  const m = Buffer.allocUnsafe(8);
  m.writeUInt32BE(r1 >>> 0, 0);
  m.writeUInt32BE(r2 >>> 0, 4);
  return m;
}

/**
 * MP_JOIN SYN/ACK truncated HMAC (sent by R): leftmost 64 bits of HMAC(K_R‖K_I, R_R‖R_I).
 * @param randR, randI the 32-bit random numbers of the responder and the initiator
 */
export function joinSynAckHmac(keyR: bigint, keyI: bigint, randR: number, randI: number, version: 0 | 1): bigint {
  return hmac(version, keyR, keyI, randoms(randR, randI)).readBigUInt64BE(0);
}

/**
 * MP_JOIN third-ACK HMAC (sent by I): leftmost 160 bits (20 bytes) of HMAC(K_I‖K_R, R_I‖R_R).
 * In v0 that is the whole SHA-1 output.
 */
export function joinAckHmac(keyI: bigint, keyR: bigint, randI: number, randR: number, version: 0 | 1): Uint8Array {
  return new Uint8Array(hmac(version, keyI, keyR, randoms(randI, randR)).subarray(0, 20));
}

/**
 * The full 32-byte ADD_ADDR HMAC-SHA256(K_sender‖K_receiver, Address ID (1) ‖ address (4 or 16) ‖
 * port (2, big-endian; 0 when the option has no port)). RFC 8684 §3.4.1.
 * Use {@link addAddrHmac} for the value the option carries; the full digest lets a caller recognise
 * early Linux (≈5.7–5.9, e.g. tcpdump's mptcp-aa-v1.pcap from 2020), which sent the *leftmost* 64 bits.
 * @param address textual IPv4/IPv6 address, or its 4/16 raw bytes
 * @throws RangeError if `address` is not an IPv4/IPv6 address
 */
export function addAddrHmacDigest(keySender: bigint, keyReceiver: bigint, addressId: number, address: string | Uint8Array, port: number | undefined): Uint8Array {
  const a = typeof address === 'string' ? parseIp(address) : address;
  if (a === undefined || (a.length !== 4 && a.length !== 16)) throw new RangeError(`not an IP address: ${String(address)}`);
  const msg = Buffer.allocUnsafe(1 + a.length + 2);
  msg[0] = addressId & 0xff;
  msg.set(a, 1);
  msg.writeUInt16BE((port ?? 0) & 0xffff, 1 + a.length);
  return new Uint8Array(hmac(1, keySender, keyReceiver, msg));
}

/**
 * ADD_ADDR truncated HMAC (v1, E = 0; RFC 8684 §3.4.1): the **rightmost** 64 bits (D[24..31]) of
 * {@link addAddrHmacDigest}, as current Linux (`add_addr_generate_hmac`) sends it. Port 0 when the
 * option carries none.
 * @throws RangeError if `address` is not an IPv4/IPv6 address
 */
export function addAddrHmac(keySender: bigint, keyReceiver: bigint, addressId: number, address: string | Uint8Array, port: number | undefined): bigint {
  const d = addAddrHmacDigest(keySender, keyReceiver, addressId, address, port);
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).readBigUInt64BE(24);
}
