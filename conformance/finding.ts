/**
 * Findings: the data every rule, crypto check and middlebox detector produces (conventions §8).
 * Detection is separate from policy: a finding says what was seen; conformance/policy decides what fails a gate.
 */

/** error = MUST violated, warning = SHOULD (or a MUST with ambiguous evidence), info = worth knowing. */
export type Severity = 'error' | 'warning' | 'info';

/**
 * - malformed: option bytes that do not fit their format
 * - protocol: handshake, join, address, priority, close rules
 * - sequence: DSS mappings, Data ACKs, DATA_FIN
 * - checksum: DSS checksum and HMAC verification
 * - middlebox: interference by a device on the path
 * - capture: artefacts of the capture itself (snaplen, TSO/GRO, offloaded checksums, drops), never blamed on the network
 */
export type FindingGroup = 'malformed' | 'protocol' | 'sequence' | 'checksum' | 'middlebox' | 'capture';

export interface Finding {
  /** Rule ID from ../shared/spec/mptcp-rules.md §2, e.g. `DSS-002`, `MBX-001`. */
  id: string;
  /** RFC section, e.g. `RFC 8684 §3.3.1`. */
  rfc: string;
  severity: Severity;
  group: FindingGroup;
  /** Frame numbers (1-based) that show it; the first is the main one. */
  frames: number[];
  /** Connection index (analyze's `connections[].id`) and subflow index within it, when they apply. */
  connection?: number;
  subflow?: number;
  /**
   * Streaming only (CheckOptions.onConnection): the tcp.stream a finding is on when its connection was already
   * handed over (reported at the end of the capture by a rule across connections, e.g. MBX-001, MPC-011).
   */
  tcpStream?: number;
  /** One line, with the numbers. */
  message: string;
  /** Values seen vs expected, e.g. `{ seen: '0x1234', expected: '0xabcd' }`. */
  evidence?: Record<string, string | number | boolean | null>;
}

/** A rule that cannot be judged for a connection (missing direction, handshake, or payload cut by snaplen). */
export interface NotEvaluable {
  id: string;
  connection?: number;
  reason: string;
}
