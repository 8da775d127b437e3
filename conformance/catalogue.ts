/**
 * The rule catalogue (../shared/spec/mptcp-rules.md §2) as data: one entry per rule ID with its RFC
 * section, default severity, group, observability and how this tool evaluates it.
 *
 * `status`:
 * - `implemented`: a rule module under conformance/rules/ evaluates it (see `module`).
 * - `pending-timeline`: needs the data-level timeline (analyzer/timeline/: mapping coverage, Data ACK
 *   bookkeeping, reinjection bytes); not implemented yet. Reported as "not evaluable" by `check`.
 * - `middlebox`: an MBX-* signature, evaluated by the middlebox detectors (analyzer/middlebox/) through
 *   the same registry (docs/CONTRACTS.md "Conformance rule registry").
 * - `not-evaluable`: cannot be judged from a capture at all; `reason` says why.
 * Severities follow the spec file; where the spec marks a rule "(unverified)" and the evidence in a
 * capture is ambiguous, the severity is the weaker one (stated in `note`).
 */
import type { FindingGroup, Severity } from './finding.js';

/** Which directions/handshake a rule needs (spec §2 "Observability"). */
export type Observability = '1D' | '1D-S' | '1D-I→R' | '2D';

export type RuleStatus = 'implemented' | 'pending-timeline' | 'middlebox' | 'not-evaluable';

export interface RuleInfo {
  id: string;
  /** e.g. `RFC 8684 §3.1`. */
  rfc: string;
  severity: Severity;
  group: FindingGroup;
  observability: Observability;
  status: RuleStatus;
  /** One line: what the rule checks. */
  title: string;
  /** Rule module (conformance/rules/*.ts) for implemented rules. */
  module?: string;
  /** Why not evaluable / what is pending. */
  reason?: string;
  /** Severity choice or verification notes. */
  note?: string;
}

const R = (
  id: string,
  rfc: string,
  severity: Severity,
  group: FindingGroup,
  observability: Observability,
  status: RuleStatus,
  title: string,
  extra: Partial<RuleInfo> = {},
): RuleInfo => ({ id, rfc: `RFC 8684 ${rfc}`, severity, group, observability, status, title, ...extra });

const MB = 'middlebox signature: evaluated by analyzer/middlebox/ detectors registered in the same registry';

/** Every rule of spec §2, in catalogue order. */
export const RULES: readonly RuleInfo[] = [
  // 2.1 OPT
  R('OPT-001', '§3', 'error', 'malformed', '1D', 'implemented', 'suboption length valid for subtype, version and packet type', { module: 'opt' }),
  R('OPT-002', '§3.1, §3.2', 'error', 'malformed', '1D', 'implemented', 'MP_CAPABLE / MP_JOIN form matches the TCP flags', { module: 'opt' }),
  R('OPT-003', '§3.3', 'error', 'malformed', '1D', 'implemented', 'DSS length equals the flag formula (+2 only as checksum)', { module: 'opt' }),
  R('OPT-004', '§3.4.1', 'error', 'malformed', '1D', 'implemented', 'ADD_ADDR length consistent with E (v1) / IPVer (v0)', { module: 'opt' }),
  R('OPT-005', '§3.3.8, §3.4.2, §3.5, §3.6, §3.7', 'error', 'malformed', '1D', 'implemented', 'fixed lengths of MP_FAIL, MP_FASTCLOSE, MP_TCPRST, MP_PRIO, REMOVE_ADDR', { module: 'opt' }),
  R('OPT-006', '§7 (IANA)', 'info', 'malformed', '1D', 'implemented', 'unassigned subtype or MP_EXPERIMENTAL present', { module: 'opt' }),
  R('OPT-007', 'all formats', 'warning', 'malformed', '1D', 'implemented', 'reserved bits sent as 0', {
    module: 'opt',
    note: 'checked where the decoded Repr keeps the bits: MP_CAPABLE D–G (v1), DSS b3 [7:5]; MP_TCPRST U/V/W under RST-002. MP_JOIN/MP_PRIO/ADD_ADDR reserved bits are not kept by the decoder.',
  }),
  R('OPT-008', '§3.1, §3.2', 'warning', 'malformed', '1D', 'implemented', 'no contradictory options in one segment', { module: 'opt' }),
  // 2.2 MPC
  R('MPC-001', '§3.1', 'error', 'protocol', '1D-S', 'implemented', 'MP_CAPABLE SYN / SYN-ACK forms per version', { module: 'mpc' }),
  R('MPC-002', '§3.1', 'error', 'protocol', '2D', 'implemented', '3rd ACK echoes the responder key; initiator key constant', { module: 'mpc' }),
  R('MPC-003', '§3.1', 'error', 'protocol', '1D-S', 'implemented', 'crypto algorithm bits: SYN offers one, SYN/ACK picks exactly one offered', { module: 'mpc' }),
  R('MPC-004', '§3.1', 'warning', 'protocol', '2D', 'implemented', 'extensibility bit B is 0', { module: 'mpc' }),
  R('MPC-005', '§3.1', 'error', 'protocol', '2D', 'implemented', 'SYN/ACK version ≤ SYN version; options follow the negotiated version', { module: 'mpc' }),
  R('MPC-006', '§3.1', 'warning', 'protocol', '2D', 'implemented', 'checksum negotiation: 3rd ACK A = SYN.A OR SYN/ACK.A', {
    module: 'mpc',
    note: 'catalogue E; the ACK-confirmation part is (unverified) against RFC text, so reported as warning',
  }),
  R('MPC-007', '§3.1', 'error', 'protocol', '1D-I→R', 'implemented', 'first initiator data carries MP_CAPABLE-with-data or a DSS mapping; DLL > 0 and covers it', { module: 'mpc' }),
  R('MPC-008', '§3.1, §3.3', 'error', 'protocol', '1D-S', 'implemented', 'MP_CAPABLE with data is 24 bytes iff checksums negotiated', { module: 'mpc' }),
  R('MPC-009', '§3.1', 'warning', 'protocol', '1D-S', 'implemented', 'MP_CAPABLE only on SYN, SYN/ACK, 3rd ACK and first data of the initial subflow', { module: 'mpc' }),
  R('MPC-010', '§3.1', 'info', 'protocol', '1D-S', 'implemented', 'C flag (no joins to this address+port) recorded', { module: 'mpc' }),
  R('MPC-011', '§3.1, RFC 7430', 'warning', 'protocol', '1D', 'implemented', 'keys random and unique (key 0, one key on two connections)', { module: 'mpc' }),
  R('MPC-012', '§3.1', 'info', 'protocol', '1D-S', 'implemented', 'MP_CAPABLE dropped on SYN retransmission', { module: 'mpc' }),
  R('MPC-013', '§3.1, §3.3.1', 'error', 'sequence', '1D-I→R', 'implemented', 'data sequence space starts at IDSN + 1; Data ACK ≥ peer IDSN + 1', {
    module: 'mpc',
    note: 'first-mapping check only when the subflow SYN was captured and the mapping covers SSN 1; Data ACK only when 64-bit',
  }),
  R('MPC-014', 'App. B', 'info', 'protocol', '1D', 'implemented', 'SYN with data and MP_CAPABLE (TFO)', { module: 'mpc' }),
  // 2.3 FB
  R('FB-001', '§3.1, §3.7', 'info', 'protocol', '2D', 'implemented', 'fallback: SYN/ACK without MP_CAPABLE', { module: 'fallback' }),
  R('FB-002', '§3.1, §3.7', 'info', 'protocol', '2D', 'implemented', 'fallback: 3rd ACK without MP_CAPABLE (W when asymmetric)', { module: 'fallback' }),
  R('FB-003', '§3.7', 'info', 'protocol', '2D', 'implemented', 'fallback at first data (plain TCP from a peer after the handshake)', { module: 'fallback' }),
  R('FB-004', '§3.7', 'error', 'protocol', '1D-S', 'implemented', 'no MPTCP signalling after fallback', { module: 'fallback' }),
  R('FB-005', '§3.7', 'error', 'protocol', '1D-S', 'implemented', 'infinite mapping only with one subflow in use; checksum 0', { module: 'fallback' }),
  R('FB-006', '§3.2, §3.7', 'error', 'protocol', '2D', 'implemented', 'join subflow never falls back (unmapped data must lead to RST)', {
    module: 'sequence',
    note: 'unmapped = not covered by any mapping known to the timeline; error when a join subflow carried ≥ 2 unmapped segments, the receiver acknowledged them and no RST followed',
  }),
  // 2.4 JOIN
  R('JOIN-001', '§3.2', 'error', 'protocol', '1D-I→R', 'implemented', 'MP_JOIN token names an established, not fallen-back connection', { module: 'join' }),
  R('JOIN-002', '§3.2', 'error', 'checksum', '2D', 'implemented', 'SYN/ACK truncated HMAC = leftmost64(HMAC(K_R‖K_I, R_R‖R_I))', { module: 'join' }),
  R('JOIN-003', '§3.2', 'error', 'checksum', '2D', 'implemented', '3rd ACK HMAC = leftmost160(HMAC(K_I‖K_R, R_I‖R_R))', { module: 'join' }),
  R('JOIN-004', '§3.2', 'error', 'protocol', '2D', 'implemented', 'SYN/ACK without MP_JOIN answered by RST, not ACK/data', { module: 'join' }),
  R('JOIN-005', '§3.2', 'error', 'protocol', '2D', 'implemented', 'no initiator data before the responder\'s fourth ACK', { module: 'join' }),
  R('JOIN-006', '§3.2', 'error', 'protocol', '1D-S', 'implemented', 'join 3rd ACK carries the 24-byte MP_JOIN', { module: 'join' }),
  R('JOIN-007', '§3.2, §3.4.1', 'warning', 'protocol', '1D-S', 'implemented', 'one address per Address ID per sender', { module: 'join' }),
  R('JOIN-008', '§3.1', 'error', 'protocol', '2D', 'implemented', 'no join to an address+port announced with C = 1', { module: 'join' }),
  R('JOIN-009', '§3.2, §3.3.8', 'info', 'protocol', '1D-S', 'implemented', 'backup flag in MP_JOIN', { module: 'join' }),
  R('JOIN-010', '§3.2, RFC 7430', 'warning', 'protocol', '1D-S', 'implemented', 'MP_JOIN random numbers not reused', { module: 'join' }),
  R('JOIN-011', '§3.4.1', 'info', 'protocol', '2D', 'implemented', 'join to a non-initial port targets an announced address+port', { module: 'join' }),
  // 2.5 DSS
  R('DSS-001', '§3.3', 'error', 'checksum', '1D-S', 'implemented', 'DSS mapping carries a checksum iff checksums were negotiated', { module: 'dss' }),
  R('DSS-002', '§3.3.1', 'error', 'checksum', '1D-S', 'implemented', 'DSS checksum verifies over the whole mapping', { module: 'dss' }),
  R('DSS-003', '§3.3.1', 'error', 'sequence', '1D-S', 'implemented', 'every payload byte covered by a mapping', {
    module: 'sequence',
    note: 'not reported for bytes below the peer\'s subflow ACK (mapping may be trimmed), after subflow gaps (mapping may be in a missed segment), on SYN payload (MPC-014), or on the initial subflow before its first mapping (fallback, FB-003)',
  }),
  R('DSS-004', '§3.3.1, §3.3.6', 'error', 'sequence', '1D-S', 'implemented', 'a mapping never changes; overlaps keep the DSN−SSN offset', {
    module: 'sequence',
    note: '(unverified strength): kept E as the spec; Linux treats a changed mapping as invalid (DSSNotMatching)',
  }),
  R('DSS-005', '§3.3.1', 'error', 'sequence', '1D-S', 'implemented', 'carrying segment starts inside its mapping', { module: 'sequence' }),
  R('DSS-006', '§3.3.6', 'error', 'sequence', '1D-S', 'implemented', 'reinjected data byte-identical', {
    module: 'sequence',
    note: '(unverified): kept E; compares the RFC 1071 sum of one DSN range carried on two subflows (same range only), payload captured whole, connections with ≥ 2 subflows',
  }),
  R('DSS-007', '§3.3.1, §3.3.3', 'error', 'sequence', '1D-S', 'implemented', 'DATA_FIN without payload uses SSN 0, DLL 1', { module: 'dss' }),
  R('DSS-008', '§3.3.3', 'error', 'sequence', '1D-S', 'implemented', 'one DATA_FIN DSN per host; no data mapped beyond it', {
    module: 'sequence',
    note: '(unverified): kept E; RFC 8684 §3.3.3 (quoted in ns-3 mptcp sources): a DATA_FIN has the semantics of a TCP FIN at connection level, DATA_ACKed once all data was received',
  }),
  R('DSS-009', '§3.3.3', 'warning', 'sequence', '2D', 'implemented', 'DATA_FIN acknowledged by DSN + 1; subflows closed afterwards', {
    module: 'sequence',
    note: '(unverified): W as the spec; data after both DATA_FINs acknowledged counts only new data, not subflow retransmissions',
  }),
  R('DSS-010', '§3.3.2', 'error', 'sequence', '2D', 'implemented', 'no Data ACK for data never sent', {
    module: 'sequence',
    note: 'error only when the Data ACK exceeds every DSN mapped in the whole capture, the IDSN is known, every subflow handshake was captured, no option was cut by snaplen, and no gap or unmapped payload was seen; otherwise not evaluable (see MBX-008)',
  }),
  R('DSS-011', '§3.3.2', 'warning', 'sequence', '1D-S', 'implemented', 'Data ACK does not decrease', {
    module: 'sequence',
    note: '(unverified): W within one subflow; decreases across subflows (spec: I) and on segments whose subflow ACK also went back (reordered on the path, e.g. 01-basic client frames 9217–9219, IP IDs out of order) are not reported: reordering at the capture point',
  }),
  R('DSS-012', '§3.3', 'info', 'sequence', '1D-S', 'implemented', '32-bit DSN / Data ACK expandable unambiguously (W when not)', {
    module: 'dss',
    note: 'expansion picks the value nearest the last one of its space (or IDSN + 1); farther than 2^30 is reported as warning (a reordering margin below the 2^31 limit)',
  }),
  R('DSS-013', '§3.3.4, §3.3.5', 'warning', 'sequence', '2D', 'implemented', 'no mapping beyond Data ACK + shared window', {
    module: 'sequence',
    note: '(unverified): W. Checked: RFC 8684 §3.3.4 (quoted in an mptcp_net-next patch and ns-3): "The receive window is relative to the DATA_ACK … a receiver MUST NOT shrink the right edge (DATA_ACK + receive window)", and the window is used only from segments carrying a Data ACK. Right edge = highest Data ACK + scaled window on any subflow; 1 byte allowed (window probe); not evaluable without every subflow handshake (window scale)',
  }),
  R('DSS-014', '§3.3', 'error', 'protocol', '1D-S', 'implemented', 'DSS only after the subflow\'s MPTCP handshake, never on plain TCP', { module: 'dss' }),
  // 2.6 ADDR
  R('ADDR-001', '§3.4.1', 'error', 'checksum', '1D-I→R', 'implemented', 'v1 ADD_ADDR truncated HMAC (rightmost 64 bits) verifies', {
    module: 'addr',
    note: 'leftmost-64-bit HMACs (Linux ≈5.7–5.9, e.g. tcpdump mptcp-aa-v1.pcap) are reported as info "legacy", not as a failure',
  }),
  R('ADDR-002', '§3.4.1', 'warning', 'protocol', '2D', 'implemented', 'ADD_ADDR echoed (E = 1, same ID/address/port)', { module: 'addr' }),
  R('ADDR-003', '§3.4.1', 'warning', 'protocol', '1D-S', 'implemented', 'Address ID not re-announced with another address without REMOVE_ADDR', { module: 'addr' }),
  R('ADDR-004', '§3.4.1', 'info', 'protocol', '2D', 'implemented', 'joins to an announced address use the announced port', { module: 'addr' }),
  R('ADDR-005', '§5, RFC 7430', 'info', 'protocol', '1D', 'implemented', 'unauthenticated address signalling (v0 ADD_ADDR, REMOVE_ADDR)', { module: 'addr' }),
  R('ADDR-006', '§3.4.2', 'warning', 'protocol', '2D', 'implemented', 'removed Address ID not reused by a join before re-announcement', {
    module: 'addr',
    note: '(unverified strength): W. The "subflows still carry data long after REMOVE_ADDR" half (module sequence): new data more than 2 s after the REMOVE_ADDR on a subflow using the removed ID',
  }),
  R('ADDR-007', '§3.4.2', 'info', 'protocol', '1D', 'implemented', 'REMOVE_ADDR naming an unknown Address ID', { module: 'addr' }),
  // 2.7 PRIO
  R('PRIO-001', '§3.3.8', 'error', 'malformed', '1D-S', 'implemented', 'v1 MP_PRIO is 3 bytes (Address ID only in v0)', { module: 'addr' }),
  R('PRIO-002', '§3.3.8', 'info', 'protocol', '1D-S', 'implemented', 'backup priority changes', { module: 'addr' }),
  // 2.8 FAIL
  R('FAIL-001', '§3.7', 'info', 'checksum', '1D-S', 'implemented', 'MP_FAIL reported (W without negotiated checksums)', { module: 'close' }),
  R('FAIL-002', '§3.7', 'error', 'protocol', '2D', 'implemented', 'MP_FAIL answered by an infinite mapping or RST', { module: 'close' }),
  // 2.9 FC / RST
  R('FC-001', '§3.5', 'error', 'protocol', '1D-I→R', 'implemented', 'MP_FASTCLOSE carries the receiver\'s key', { module: 'close' }),
  R('FC-002', '§3.5', 'error', 'protocol', '2D', 'implemented', 'no data after MP_FASTCLOSE; RSTs follow', {
    module: 'close',
    note: 'data on the same subflow after MP_FASTCLOSE is error; a missing RST before the capture ends is warning',
  }),
  R('RST-001', '§3.6', 'warning', 'protocol', '1D-S', 'implemented', 'MP_TCPRST only on RST segments', { module: 'close' }),
  R('RST-002', '§3.6', 'info', 'protocol', '1D-S', 'implemented', 'MP_TCPRST reason and flags', { module: 'close' }),
  R('RST-003', '§3.2, §3.3, §3.7', 'warning', 'protocol', '1D-S', 'implemented', 'RST after an MPTCP error carries MP_TCPRST', { module: 'close' }),
  // 2.10 MBX
  ...(['MBX-001', 'MBX-002', 'MBX-003', 'MBX-004', 'MBX-005', 'MBX-006', 'MBX-007', 'MBX-008', 'MBX-009'] as const).map((id) =>
    R(id, '§6', id === 'MBX-002' || id === 'MBX-003' || id === 'MBX-004' || id === 'MBX-009' ? 'warning' : 'info', 'middlebox', id === 'MBX-001' || id === 'MBX-006' || id === 'MBX-008' ? '2D' : '1D-S', 'middlebox', `middlebox signature ${id} (spec §2.10)`, { reason: MB }),
  ),
  // 2.11 SEC
  R('SEC-001', 'RFC 7430', 'warning', 'protocol', '1D', 'implemented', 'many MP_JOIN SYNs with unknown tokens from one source', { module: 'join' }),
  // §4: not observable
  R('CC-001', 'RFC 6356', 'info', 'protocol', '2D', 'not-evaluable', 'coupled congestion control', {
    rfc: 'RFC 6356',
    reason: 'congestion-control state (cwnd, coupling) is not on the wire; only aggregate heuristics are possible (spec §4)',
  }),
  R('SCHED-001', '§3.3.8', 'info', 'protocol', '2D', 'not-evaluable', 'scheduler policy', {
    reason: 'scheduling is local policy, not a protocol requirement (spec §4); backup use is reported by PRIO-002',
  }),
  R('SEC-002', 'RFC 7430', 'info', 'protocol', '1D', 'not-evaluable', 'key secrecy', {
    rfc: 'RFC 7430',
    reason: 'keys are exchanged in clear in MP_CAPABLE; their secrecy cannot be judged from a capture (spec §4)',
  }),
];

const byId = new Map(RULES.map((r) => [r.id, r]));

/** The catalogue entry of a rule ID, or undefined. */
export function ruleInfo(id: string): RuleInfo | undefined {
  return byId.get(id);
}

/** Rule family: the part of the ID before the dash (`DSS-002` → `DSS`; FC and RST are separate families). */
export function ruleFamily(id: string): string {
  const i = id.indexOf('-');
  return i < 0 ? id : id.slice(0, i);
}
