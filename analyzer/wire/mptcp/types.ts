/**
 * MPTCP option Reprs: plain immutable values decoded from TCP option kind 30.
 *
 * Field names follow RFC 8684 (camelCase). 64-bit quantities (keys, DSN, Data ACK) are `bigint`;
 * 32-bit ones are `number` (unsigned). Everything on the wire is big-endian (network byte order).
 * Formats: ../shared/spec/mptcp-rules.md §1, RFC 8684 §3, RFC 6824 §3.
 */

/** Subtype numbers (high nibble of option byte 2). RFC 8684 §7 (IANA). */
export const MptcpSubtype = {
  MP_CAPABLE: 0x0,
  MP_JOIN: 0x1,
  DSS: 0x2,
  ADD_ADDR: 0x3,
  REMOVE_ADDR: 0x4,
  MP_PRIO: 0x5,
  MP_FAIL: 0x6,
  MP_FASTCLOSE: 0x7,
  MP_TCPRST: 0x8,
  MP_EXPERIMENTAL: 0xf,
} as const;

interface OptionBase {
  /** Byte offset of the option's kind byte inside the frame's captured bytes. */
  offset: number;
  /** Option length byte (whole option, kind and length bytes included). */
  length: number;
}

/** MP_CAPABLE, RFC 8684 §3.1 / RFC 6824 §3.1. */
export interface MpCapableOption extends OptionBase {
  type: 'MP_CAPABLE';
  /** 0 = RFC 6824, 1 = RFC 8684. */
  version: number;
  /** Flags byte (b3), bits A..H = 0x80..0x01. */
  flags: number;
  /** A: checksum required. */
  checksumRequired: boolean;
  /** B: extensibility (must be 0). */
  extensibility: boolean;
  /** v1 C: do not open subflows to this packet's source address+port. */
  noJoinToSourceAddress: boolean;
  /** H: HMAC-SHA256 (v1) / HMAC-SHA1 (v0). */
  hmacAlgorithm: boolean;
  /**
   * Which form this is, from TCP flags + length:
   * 'syn' (v1 len 4, v0 len 12), 'syn-ack' (12), 'ack' (20), 'ack-data' (22/24, v1).
   */
  form: 'syn' | 'syn-ack' | 'ack' | 'ack-data';
  /** The key of the sender (SYN v0, SYN/ACK, and Key-A on the ACK forms). */
  sendersKey?: bigint;
  /** The key of the receiver (Key-B on the ACK forms). */
  receiversKey?: bigint;
  /** Data-Level Length (ack-data form). */
  dataLevelLength?: number;
  /** DSS checksum (24-byte ack-data form). */
  checksum?: number;
}

/** MP_JOIN, RFC 8684 §3.2 (same in v0). */
export interface MpJoinOption extends OptionBase {
  type: 'MP_JOIN';
  form: 'syn' | 'syn-ack' | 'ack';
  /** B flag (SYN and SYN/ACK forms). */
  backup?: boolean;
  addressId?: number;
  /** SYN form: token of the receiver's key (32 bits). */
  receiversToken?: number;
  /** SYN and SYN/ACK forms: sender's random number (32 bits). */
  sendersRandom?: number;
  /** SYN/ACK: leftmost 64 bits of the sender's HMAC. */
  truncatedHmac?: bigint;
  /** ACK: leftmost 160 bits of the sender's HMAC (20 bytes). */
  hmac?: Uint8Array;
}

/** DSS, RFC 8684 §3.3. */
export interface DssOption extends OptionBase {
  type: 'DSS';
  /** Flags byte (b3). */
  flags: number;
  /** F: DATA_FIN. */
  dataFin: boolean;
  /** Data ACK present (A) and its value (4-byte values are zero-extended; see dataAck64). */
  dataAck?: bigint;
  /** a: Data ACK is 8 bytes. Meaningful only when dataAck is present. */
  dataAck64: boolean;
  /** Mapping present (M): Data Sequence Number. 4-byte values are zero-extended (see dsn64); widen in the model. */
  dataSequenceNumber?: bigint;
  /** m: DSN is 8 bytes. */
  dsn64: boolean;
  /** Relative Subflow Sequence Number (32 bits). */
  subflowSequenceNumber?: number;
  /** Data-Level Length (16 bits); 0 = infinite mapping. */
  dataLevelLength?: number;
  /** DSS checksum, present only when the length says so. */
  checksum?: number;
}

/** ADD_ADDR, RFC 8684 §3.4.1 (v1) / RFC 6824 §3.4.1 (v0). */
export interface AddAddrOption extends OptionBase {
  type: 'ADD_ADDR';
  /** Version this was decoded as (lengths of v0 and v1-echo collide: decode by negotiated version). */
  version: 0 | 1;
  /** v1 E flag. */
  echo: boolean;
  /** v0 IPVer nibble (4 or 6). */
  ipVersion: 4 | 6;
  addressId: number;
  /** Textual address (dotted quad, or RFC 5952 IPv6). */
  address: string;
  port?: number;
  /** v1, E = 0: rightmost 64 bits of the HMAC. */
  truncatedHmac?: bigint;
}

/** REMOVE_ADDR, RFC 8684 §3.4.2. */
export interface RemoveAddrOption extends OptionBase {
  type: 'REMOVE_ADDR';
  addressIds: number[];
}

/** MP_PRIO, RFC 8684 §3.3.8 (v0 may carry an address ID). */
export interface MpPrioOption extends OptionBase {
  type: 'MP_PRIO';
  backup: boolean;
  addressId?: number;
}

/** MP_FAIL, RFC 8684 §3.7. */
export interface MpFailOption extends OptionBase {
  type: 'MP_FAIL';
  dataSequenceNumber: bigint;
}

/** MP_FASTCLOSE, RFC 8684 §3.5. */
export interface MpFastcloseOption extends OptionBase {
  type: 'MP_FASTCLOSE';
  /** Option Receiver's Key. */
  receiversKey: bigint;
}

/** MP_TCPRST, RFC 8684 §3.6. */
export interface MpTcpRstOption extends OptionBase {
  type: 'MP_TCPRST';
  /** Flags nibble: U=0x8, V=0x4, W=0x2, T=0x1. */
  flags: number;
  transient: boolean;
  reason: number;
}

/** MP_EXPERIMENTAL (0xF) or an unassigned subtype (0x9..0xE): kept raw. */
export interface UnknownMptcpOption extends OptionBase {
  type: 'MP_EXPERIMENTAL' | 'UNKNOWN';
  subtype: number;
  /** Option bytes after the kind and length bytes (copied). */
  data: Uint8Array;
}

/**
 * An option of kind 30 whose bytes do not fit its subtype's format (bad length for the
 * subtype/version/packet type). Keeps the raw bytes; a DecodeIssue with the same offset says why.
 */
export interface MalformedMptcpOption extends OptionBase {
  type: 'MALFORMED';
  /** Subtype nibble; -1 when the option is too short to have a subtype byte (length 2). */
  subtype: number;
  reason: string;
  /** Which field is wrong (`DSS length`, `ADD_ADDR IPVer`, …): the DecodeIssue's `field`. Optional addition. */
  field?: string;
  data: Uint8Array;
}

export type MptcpOption =
  | MpCapableOption
  | MpJoinOption
  | DssOption
  | AddAddrOption
  | RemoveAddrOption
  | MpPrioOption
  | MpFailOption
  | MpFastcloseOption
  | MpTcpRstOption
  | UnknownMptcpOption
  | MalformedMptcpOption;

/**
 * What the option decoder needs to know beyond the option bytes.
 * - `syn`, `ack`: TCP flags of the carrying segment (MP_CAPABLE / MP_JOIN form dispatch).
 * - `version`: negotiated MPTCP version if known (ADD_ADDR v0 vs v1-echo lengths collide); default 1.
 * - `payloadLength`: TCP payload length on the wire (MP_CAPABLE 22/24 vs 20).
 */
export interface MptcpDecodeContext {
  syn: boolean;
  ack: boolean;
  version?: 0 | 1;
  payloadLength: number;
}
