/**
 * Two-vantage findings: every change `diff` (diff.ts) found between two captures of the same traffic becomes
 * a finding with a middlebox rule ID (rule catalogue §2.10, RFC 8684 §6), so the gate judges a device with
 * the same policy and required/forbidden semantics as one-vantage findings (docs/expect.md "Diffs").
 *
 * Mapping (one finding per `ChangeCount` entry, i.e. per kind of change, flow direction and segment kind):
 * - MPTCP option removed, altered or added on a SYN or SYN/ACK → MBX-001 (handshake options stripped/changed)
 * - MPTCP option removed or added on any other segment → MBX-002; an altered DSS there → MBX-003 (the
 *   mapping or Data ACK was rewritten), an altered ADD_ADDR → MBX-006 (announced address rewritten), any
 *   other altered MPTCP option → MBX-002
 * - TCP sequence or ACK number offset → MBX-003
 * - payload bytes changed (same length) → MBX-004
 * - segments split or merged → MBX-005
 * - address / port translated → MBX-006
 * - segments dropped (seen BEFORE only) → MBX-007
 * - segments added (seen AFTER only) → MBX-008
 * Not findings: TTL / hop-limit decrements and the delay (a router's normal work), and non-MPTCP option
 * changes (e.g. MSS clamping on the SYN, ordinary router work).
 *
 * Severity, RFC section and group (`middlebox`) come from the catalogue. `frames` are the BEFORE frames of the
 * examples (the AFTER frame when the segment is absent BEFORE); evidence has the count, the change as diff
 * names it and the example frame pairs (`before→after`, 0 = absent on that side).
 */
import { ruleInfo } from '../../conformance/catalogue.js';
import type { Finding } from '../../conformance/finding.js';
import type { ChangeCount, DiffResult } from './diff.js';

const MPTCP_OPTION = /^(MP_[A-Z_]+|DSS|ADD_ADDR|REMOVE_ADDR)$/;

/** True for an option name from diff's option strings that is an MPTCP (kind 30) option. */
export const isMptcpOptionName = (name: string): boolean => MPTCP_OPTION.test(name);

/** `"DSS altered on non-SYN (before→after)"` → its parts; undefined when it does not parse. */
function parseOptionChange(what: string): { option: string; altered: boolean; kind: string; dir: string } | undefined {
  const m = /^(.+?)( altered)? on (SYN\/ACK|SYN|RST|non-SYN) \((before→after|after→before)\)$/.exec(what);
  if (m === null) return undefined;
  return { option: m[1]!, altered: m[2] !== undefined, kind: m[3]!, dir: m[4]! };
}

function finding(id: string, c: ChangeCount, message: string, extra: Record<string, string | number | boolean | null> = {}): Finding {
  const info = ruleInfo(id);
  const frames = c.examples.map(([b, a]) => (b !== 0 ? b : a)).filter((x) => x > 0);
  return {
    id,
    rfc: info?.rfc ?? 'RFC 8684 §6',
    severity: info?.severity ?? 'info',
    group: 'middlebox',
    frames,
    message,
    evidence: {
      count: c.count,
      change: c.what,
      examples: c.examples.map(([b, a]) => `${b}→${a}`).join(','),
      ...extra,
    },
  };
}

/**
 * Convert a {@link DiffResult} into middlebox findings (see the module comment for the mapping). Pure;
 * never throws. Order: by rule ID, then as diff listed the changes (most frequent first).
 */
export function diffFindings(r: DiffResult): Finding[] {
  const out: Finding[] = [];
  const pkts = (n: number): string => `${n} segment${n === 1 ? '' : 's'}`;
  for (const [list, removed] of [
    [r.optionsRemoved, true],
    [r.optionsAdded, false],
  ] as const) {
    for (const c of list) {
      const p = parseOptionChange(c.what);
      if (p === undefined || !isMptcpOptionName(p.option)) continue;
      const handshake = p.kind === 'SYN' || p.kind === 'SYN/ACK';
      let id: string;
      if (handshake) id = 'MBX-001';
      else if (p.altered && p.option === 'DSS') id = 'MBX-003';
      else if (p.altered && p.option === 'ADD_ADDR') id = 'MBX-006';
      else id = 'MBX-002';
      const verb = p.altered ? 'altered' : removed ? 'removed' : 'added';
      out.push(finding(id, c, `${p.option} ${verb} by the device on ${pkts(c.count)} (${p.kind}, ${p.dir})`, { option: p.option, segment: p.kind, direction: p.dir, action: verb }));
    }
  }
  for (const c of r.seqOffsets) out.push(finding('MBX-003', c, `TCP sequence numbers shifted by the device on ${pkts(c.count)}: ${c.what}`, { field: 'seq' }));
  for (const c of r.ackOffsets) out.push(finding('MBX-003', c, `TCP ACK numbers shifted by the device on ${pkts(c.count)}: ${c.what}`, { field: 'ack' }));
  if (r.payloadChangedSegments > 0) {
    const examples: Array<[number, number]> = r.payload.map((p) => [p.beforeFrame, p.afterFrame]);
    const first = r.payload[0];
    const bytes = first?.bytes.slice(0, 4).map((b) => `@${b.offset} 0x${b.before.toString(16).padStart(2, '0')}→0x${b.after.toString(16).padStart(2, '0')}`).join(' ');
    out.push(
      finding('MBX-004', { what: 'payload bytes changed', count: r.payloadChangedSegments, examples }, `payload bytes changed by the device in ${pkts(r.payloadChangedSegments)}${first !== undefined ? ` (first: ${first.flow}, seq ${first.seq}: ${bytes})` : ''}`, {
        flow: first?.flow ?? null,
        firstBytes: bytes ?? null,
      }),
    );
  }
  for (const c of r.resegmented) out.push(finding('MBX-005', c, `segments resegmented by the device: ${c.what}, ${pkts(c.count)}`));
  for (const c of r.translations) out.push(finding('MBX-006', c, `address/port translated by the device: ${c.what}, ${pkts(c.count)}`));
  for (const c of r.dropped) out.push(finding('MBX-007', c, `${pkts(c.count)} seen BEFORE never seen AFTER (dropped by the device): ${c.what}`));
  for (const c of r.added) out.push(finding('MBX-008', c, `${pkts(c.count)} seen AFTER never seen BEFORE (added by the device): ${c.what}`));
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
