/**
 * OPT-001…OPT-008: option syntax (RFC 8684 §3; spec §2.1). Per segment, from the decoded Reprs:
 * MALFORMED Reprs (the decoder's length/field checks) become OPT-001…005 by subtype; options cut by the
 * capture's snaplen are never decoded, so truncation never becomes a finding here.
 */
import type { MptcpOption } from '../../analyzer/wire/mptcp/types.js';
import { registerDetector } from '../registry.js';
import { isSyn } from './util.js';

const SUBTYPE_RULE: Record<number, string> = { 2: 'OPT-003', 3: 'OPT-004', 4: 'OPT-005', 5: 'OPT-005', 6: 'OPT-005', 7: 'OPT-005', 8: 'OPT-005' };
const MPC_LENGTHS = new Set([4, 12, 20, 22, 24]);
const JOIN_LENGTHS = new Set([12, 16, 24]);

/** Which OPT rule a MALFORMED option breaks. */
function malformedRule(o: Extract<MptcpOption, { type: 'MALFORMED' }>): string {
  if (o.subtype === 0) return MPC_LENGTHS.has(o.length) ? 'OPT-002' : 'OPT-001';
  if (o.subtype === 1) return JOIN_LENGTHS.has(o.length) ? 'OPT-002' : 'OPT-001';
  return SUBTYPE_RULE[o.subtype] ?? 'OPT-001';
}

registerDetector({
  name: 'opt',
  rules: ['OPT-001', 'OPT-002', 'OPT-003', 'OPT-004', 'OPT-005', 'OPT-006', 'OPT-007', 'OPT-008'],
  create(ctx) {
    return {
      onSegment(seg, flow) {
        const opts = seg.options.mptcp;
        if (opts.length === 0) return;
        let mpc = 0;
        let join = 0;
        let dss = 0;
        let addAddr = 0;
        for (const o of opts) {
          switch (o.type) {
            case 'MALFORMED': {
              const id = malformedRule(o);
              ctx.report({ id, frames: [seg.frame], message: o.reason, evidence: { length: o.length, subtype: o.subtype, field: o.field ?? null, offset: o.offset }, key: `${o.subtype}|${o.length}|${o.field ?? ''}` }, flow);
              break;
            }
            case 'UNKNOWN':
            case 'MP_EXPERIMENTAL':
              ctx.report({ id: 'OPT-006', frames: [seg.frame], message: `${o.type === 'UNKNOWN' ? 'unassigned' : 'experimental'} MPTCP subtype 0x${o.subtype.toString(16)} (length ${o.length})`, evidence: { subtype: o.subtype, length: o.length }, key: String(o.subtype) }, flow);
              break;
            case 'MP_CAPABLE':
              mpc++;
              // v1: D–G (0x1e) are unassigned crypto bits and must be 0 (RFC 8684 §3.1).
              if (o.version === 1 && (o.flags & 0x1e) !== 0) {
                ctx.report({ id: 'OPT-007', frames: [seg.frame], message: `MP_CAPABLE v1 reserved crypto bits D–G set: flags 0x${o.flags.toString(16).padStart(2, '0')}`, evidence: { seen: o.flags & 0x1e, expected: 0 }, key: 'mpc' }, flow);
              }
              break;
            case 'MP_JOIN':
              join++;
              break;
            case 'DSS':
              dss++;
              if ((o.flags & 0xe0) !== 0) {
                ctx.report({ id: 'OPT-007', frames: [seg.frame], message: `DSS reserved flag bits [7:5] set: flags 0x${o.flags.toString(16).padStart(2, '0')}`, evidence: { seen: o.flags & 0xe0, expected: 0 }, key: 'dss' }, flow);
              }
              break;
            case 'ADD_ADDR':
              addAddr++;
              break;
            default:
              break;
          }
        }
        const syn = isSyn(seg);
        const contradictions: string[] = [];
        if (mpc > 0 && join > 0) contradictions.push('MP_CAPABLE with MP_JOIN');
        if (syn && dss > 0) contradictions.push('DSS on a SYN');
        if (syn && addAddr > 0) contradictions.push('ADD_ADDR on a SYN');
        if (dss > 1) contradictions.push(`${dss} DSS options`);
        if (contradictions.length > 0) {
          ctx.report({ id: 'OPT-008', frames: [seg.frame], message: `contradictory MPTCP options in one segment: ${contradictions.join(', ')}`, evidence: { seen: contradictions.join(', ') }, key: contradictions.join(',') }, flow);
        }
      },
    };
  },
});
