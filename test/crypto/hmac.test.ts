/**
 * MP_JOIN and ADD_ADDR HMACs against every vector of spec §1.12, plus real captures.
 */
import { describe, expect, it } from 'vitest';
import { addAddrHmac, addAddrHmacDigest, joinAckHmac, joinSynAckHmac } from '../../analyzer/crypto/index.js';
import { createHmac } from 'node:crypto';

const KA = 0x0102030405060708n;
const KB = 0x1112131415161718n;
const RA = 0x01020304;
const RB = 0x05060708;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const h64 = (v: bigint): string => v.toString(16).padStart(16, '0');

describe('MP_JOIN HMACs (spec §1.12, A = initiator, B = responder)', () => {
  it('v1 SYN/ACK thmac sent by B', () => {
    expect(h64(joinSynAckHmac(KB, KA, RB, RA, 1))).toBe('65ee096833f661d9');
  });
  it('v1 3rd-ACK HMAC sent by A (leftmost 160 bits)', () => {
    const h = joinAckHmac(KA, KB, RA, RB, 1);
    expect(h.length).toBe(20);
    expect(hex(h)).toBe('24bdde08dfc55c9b4185e1b56b2f89db241ac0f2');
  });
  it('v0 SYN/ACK thmac', () => {
    expect(h64(joinSynAckHmac(KB, KA, RB, RA, 0))).toBe('93fdbef955c9f213');
  });
  it('v0 3rd-ACK HMAC (the whole SHA-1)', () => {
    expect(hex(joinAckHmac(KA, KB, RA, RB, 0))).toBe('5759d8ab7fe30caebe9bbae6a9634f530c3d0a3c');
  });
  it('argument order matters (own key and random first)', () => {
    expect(joinSynAckHmac(KA, KB, RA, RB, 1)).not.toBe(joinSynAckHmac(KB, KA, RB, RA, 1));
  });
});

describe('ADD_ADDR HMAC (spec §1.12, rightmost 64 bits)', () => {
  it('sent by B: ID 1, 10.0.0.3, no port (port 0 in the message)', () => {
    expect(h64(addAddrHmac(KB, KA, 1, '10.0.0.3', undefined))).toBe('ba278762be3ee2f9');
    expect(h64(addAddrHmac(KB, KA, 1, '10.0.0.3', 0))).toBe('ba278762be3ee2f9');
  });
  it('the leftmost 8 bytes would be 431138d872b1733a (we take the rightmost)', () => {
    const full = createHmac('sha256', Buffer.from('11121314151617180102030405060708', 'hex'))
      .update(Buffer.from('010a0000030000', 'hex'))
      .digest('hex');
    expect(full.slice(0, 16)).toBe('431138d872b1733a');
    expect(full.slice(48, 64)).toBe('ba278762be3ee2f9');
    expect(h64(addAddrHmac(KB, KA, 1, '10.0.0.3', undefined))).not.toBe('431138d872b1733a');
  });
  it('sent by A: ID 2, 192.0.2.7, port 8080', () => {
    expect(h64(addAddrHmac(KA, KB, 2, '192.0.2.7', 8080))).toBe('ad15a4eff00ae221');
  });
  it('accepts raw address bytes and IPv6 text', () => {
    expect(addAddrHmac(KA, KB, 2, new Uint8Array([192, 0, 2, 7]), 8080)).toBe(addAddrHmac(KA, KB, 2, '192.0.2.7', 8080));
    expect(addAddrHmac(KA, KB, 3, '2001:db8::1', undefined)).toBe(
      addAddrHmac(KA, KB, 3, new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 0),
    );
  });
  it('rejects a non-address', () => {
    expect(() => addAddrHmac(KA, KB, 1, 'not-an-ip', undefined)).toThrow(RangeError);
  });
  it('real capture (2020 Linux): tcpdump mptcp-aa-v1.pcap frame 13 carries the LEFTMOST 64 bits', () => {
    // frame 5: "mptcp 20 capable v1 flags [H] {0x8f0c7c64a6a32ac1,0x73bb150358a0aecb}" (client A, server B)
    // frame 13 (server → client): "mptcp 16 add-addr v1 id 1 192.168.136.225 hmac 0x669928744366716c"
    // The kernel that made this capture (early 2020) truncated to the leftmost 64 bits; current Linux
    // and spec §1.12 use the rightmost. So addAddrHmac() (rightmost) does NOT match this frame, and the
    // same keys, message and key order give the printed value as bytes 0..7 of the digest.
    const d = addAddrHmacDigest(0x73bb150358a0aecbn, 0x8f0c7c64a6a32ac1n, 1, '192.168.136.225', undefined);
    expect(hex(d.subarray(0, 8))).toBe('669928744366716c');
    expect(h64(addAddrHmac(0x73bb150358a0aecbn, 0x8f0c7c64a6a32ac1n, 1, '192.168.136.225', undefined))).toBe(hex(d.subarray(24, 32)));
    expect(h64(addAddrHmac(0x73bb150358a0aecbn, 0x8f0c7c64a6a32ac1n, 1, '192.168.136.225', undefined))).not.toBe('669928744366716c');
  });
});
