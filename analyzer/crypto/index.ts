/**
 * MPTCP cryptography: key tokens and IDSNs, MP_JOIN and ADD_ADDR HMACs, DSS checksums
 * (RFC 8684 §3.1–3.4, RFC 6824; spec §1.11–1.13). node:crypto only.
 */
export { deriveKey, keyBytes, keyIdsn, keyToken } from './keys.js';
export type { KeyDerivation } from './keys.js';
export { addAddrHmac, addAddrHmacDigest, joinAckHmac, joinSynAckHmac } from './hmac.js';
export { dssChecksum, dssPseudoHeaderSum, OnesComplementSum, verifyDssChecksum } from './checksum.js';
export type { MappingPayload } from './checksum.js';
