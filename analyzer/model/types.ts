/**
 * MPTCP connection model: the plain, JSON-ready values `analyze` reports.
 *
 * Terms follow RFC 8684: the *client* is the host that sent the SYN of the initial subflow
 * (the initiator), the *server* the responder. Keys are 64-bit, written as 16 lower-case hex
 * digits; tokens are 32-bit, 8 lower-case hex digits; IDSNs 64-bit, 16 hex digits.
 * Times are seconds since the Unix epoch (float); byte counts are TCP payload bytes on the wire.
 */

/** How a subflow or connection ended, as far as the capture shows. */
export type EndReason =
  | 'FIN' // both directions sent FIN (subflow)
  | 'DATA_FIN' // both directions sent DATA_FIN (connection)
  | 'RST'
  | 'MP_FASTCLOSE'
  | 'MP_TCPRST'
  | 'capture-end'; // still open when the capture ended

export interface Ending {
  how: EndReason;
  /** Frame that ended it (the last FIN/RST/...); absent for capture-end. */
  frame?: number;
  /** MP_TCPRST reason code (RFC 8684 §3.6) when how = 'MP_TCPRST'. */
  reason?: number;
  /** Human name of the MP_TCPRST reason. */
  reasonName?: string;
  /** Which side sent it. */
  by?: 'client' | 'server';
}

/** Why and where an MPTCP connection fell back to plain TCP (RFC 8684 §3.7). */
export interface Fallback {
  /**
   * - `syn-ack-without-mp-capable`: the SYN offered MP_CAPABLE, the SYN/ACK did not carry it (FB-001).
   * - `ack-without-mp-capable`: the SYN/ACK carried MP_CAPABLE, the third ACK / first data did not (FB-002).
   * - `no-dss-after-handshake`: the handshake completed but a side sent data or ACKs without any MPTCP option (FB-003).
   * - `infinite-mapping`: a DSS with Data-Level Length 0 (FB-005).
   * - `syn-retransmitted-without-mp-capable`: a retransmitted SYN dropped MP_CAPABLE (MPC-012).
   */
  reason:
    | 'syn-ack-without-mp-capable'
    | 'ack-without-mp-capable'
    | 'no-dss-after-handshake'
    | 'infinite-mapping'
    | 'syn-retransmitted-without-mp-capable';
  /** The frame where the fallback became visible. */
  frame: number;
  /** Which side fell back (sent plain TCP), when known. */
  side?: 'client' | 'server';
  detail: string;
}

export interface Endpoint {
  ip: string;
  port: number;
  /** MPTCP address ID of this endpoint on this subflow (0 for the initial subflow; from MP_JOIN otherwise). */
  addressId?: number;
}

export interface Subflow {
  /** Index within the connection, in order of first appearance (0 = first seen, normally the initial subflow). */
  id: number;
  /** Like tshark's tcp.stream: index of the TCP conversation in the whole capture, in order of first packet. */
  tcpStream: number;
  /** 'mp_capable' (initial subflow), 'mp_join', or 'unknown' (handshake not captured). */
  kind: 'mp_capable' | 'mp_join' | 'unknown';
  client: Endpoint;
  server: Endpoint;
  /** Address ID of the subflow's initiator (the MP_JOIN SYN's; 0 on the initial subflow). */
  addressId?: number;
  /** True while the subflow is a backup (MP_JOIN B flag, then the last MP_PRIO). */
  backup: boolean;
  /** Token carried by the MP_JOIN SYN (hex), if any. */
  joinToken?: string;
  /** True when the role of client/server was inferred without seeing a SYN. */
  roleGuessed?: boolean;
  packets: number;
  /** TCP payload bytes, both directions. */
  bytes: number;
  packetsClientToServer: number;
  packetsServerToClient: number;
  bytesClientToServer: number;
  bytesServerToClient: number;
  firstFrame: number;
  lastFrame: number;
  /** Seconds since the epoch. */
  start: number;
  end: number;
  ended: Ending;
  /** MPTCP option counts by subtype name on this subflow. */
  optionCounts: Record<string, number>;
  /**
   * Present when > 0: ADD_ADDR / REMOVE_ADDR / MP_PRIO records of this subflow left out of the
   * connection's lists because a list reached its per-subflow cap (MAX_EVENTS_PER_FLOW, 1024): an option flood.
   */
  eventsDropped?: number;
}

export interface AddressAnnouncement {
  frame: number;
  by: 'client' | 'server';
  addressId: number;
  address: string;
  port?: number;
  echo: boolean;
  /** v1 truncated HMAC (hex) when E = 0. */
  hmac?: string;
  /** Subflow (index in the connection) it was seen on. */
  subflow: number;
}

export interface AddressRemoval {
  frame: number;
  by: 'client' | 'server';
  addressIds: number[];
  subflow: number;
}

export interface PriorityChange {
  frame: number;
  by: 'client' | 'server';
  backup: boolean;
  subflow: number;
  /** v0 MP_PRIO may name an address ID. */
  addressId?: number;
}

export interface HostKeys {
  /** 64-bit key, 16 hex digits; null when not in the capture. */
  key: string | null;
  /** Token derived from the key (or learned from an MP_JOIN), 8 hex digits. */
  token: string | null;
  /** Initial Data Sequence Number derived from the key, 16 hex digits. */
  idsn: string | null;
  ip?: string;
  port?: number;
}

export interface Connection {
  /** Index in order of first appearance, like tshark's mptcp.stream. */
  id: number;
  /** MPTCP version: 1 = RFC 8684, 0 = RFC 6824; null when no MP_CAPABLE was seen. */
  version: 0 | 1 | null;
  /** Handshake of the initial subflow: complete (SYN, SYN/ACK, ACK with MP_CAPABLE), partial, or not captured. */
  handshake: 'complete' | 'partial' | 'not-captured';
  /** False for a connection assembled from subflows whose MP_CAPABLE handshake was not captured. */
  keysKnown: boolean;
  /** DSS checksums negotiated (A flag in the SYN or the SYN/ACK, RFC 8684 §3.1). */
  checksum: boolean | null;
  fallback: Fallback | null;
  client: HostKeys;
  server: HostKeys;
  subflows: Subflow[];
  addAddr: AddressAnnouncement[];
  removeAddr: AddressRemoval[];
  prio: PriorityChange[];
  firstFrame: number;
  lastFrame: number;
  start: number;
  end: number;
  ended: Ending;
  /** DATA_FIN seen from each side (frame of the first one). */
  dataFin: { client?: number; server?: number };
}

/** A TCP connection that never offered MPTCP (listed apart, RFC 8684 does not apply). */
export interface TcpConnection {
  tcpStream: number;
  /**
   * True when the SYN's options were cut by the capture's snaplen: whether it offered MPTCP cannot be
   * told (a capture fact, not a protocol finding).
   */
  optionsCutByCapture?: boolean;
  client: Endpoint;
  server: Endpoint;
  roleGuessed?: boolean;
  packets: number;
  bytes: number;
  firstFrame: number;
  lastFrame: number;
  start: number;
  end: number;
  ended: Ending;
}
