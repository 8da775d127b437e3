/**
 * Renders the rule catalogue (conformance/catalogue.ts) as the checked-in table docs/conformance-rules.md.
 * A test keeps the file equal to this rendering; regenerate with
 * `node -e "import('./dist/conformance/catalogue-doc.js').then(m => process.stdout.write(m.renderRuleTable()))" > docs/conformance-rules.md`.
 */
import { RULES } from './catalogue.js';

/** Test evidence per rule: a capture that triggers it and one where it must not fire (test file in brackets). */
export const RULE_EVIDENCE: Readonly<Record<string, { trigger: string; clean: string }>> = {
  'DSS-003': { trigger: 'crafted: payload without mapping after the first mapping [sequence-rules]', clean: 'all clean captures [clean]; 08a client (a fallback: FB-003) [sequence-rules]' },
  'DSS-004': { trigger: 'crafted: retransmission remapped [sequence-rules]', clean: 'k07, k12 (DATA_FIN mapping then reinjection) [clean]' },
  'DSS-005': { trigger: 'crafted: segment outside mapping, SSN 0 with DLL > 1 [sequence-rules]', clean: 'k01 (> 1000 passes) [sequence-rules]' },
  'DSS-006': { trigger: 'shared-linux/15b server (byte flipped); crafted [sequence-rules]', clean: '15b client (passes) [sequence-rules]' },
  'DSS-008': { trigger: 'crafted: two DATA_FIN DSNs, data beyond DATA_FIN [sequence-rules]', clean: 'all clean captures [clean]' },
  'DSS-009': { trigger: 'crafted: Data ACK past DATA_FIN + 1 (W) [sequence-rules]', clean: 'all clean captures (no warning) [measured]' },
  'DSS-010': { trigger: 'crafted: Data ACK beyond all data [sequence-rules]', clean: 'k01 (passes); 01-basic snap96 (options cut: not evaluable) [clean]' },
  'DSS-011': { trigger: 'crafted: decrease on one subflow (W) [sequence-rules]', clean: '01-basic client (reordered on the path: not reported) [clean]' },
  'DSS-013': { trigger: 'crafted: data beyond Data ACK + window (W) [sequence-rules]', clean: 'all clean captures (no warning) [measured]' },
  'FB-006': { trigger: 'crafted: unmapped data on a join, acknowledged [sequence-rules]', clean: 'all clean captures [clean]' },
  'ADDR-006': { trigger: 'crafted: data 4 s after REMOVE_ADDR (W) [sequence-rules]', clean: 'crafted: data 0.5 s after; k04, 03-remove-addr [clean]' },
};

const cell = (s: string | undefined): string => (s ?? '').replace(/\|/g, '\\|');

export function renderRuleTable(): string {
  const out: string[] = [];
  out.push('# Conformance rules: status of every catalogue rule');
  out.push('');
  out.push('Generated from `conformance/catalogue.ts` (see `conformance/catalogue-doc.ts`); the rule texts are in');
  out.push('`../shared/spec/mptcp-rules.md` §2. Status: **implemented** (module under `conformance/rules/`),');
  out.push('**pending-timeline** (needs `analyzer/timeline/`; `check` lists these as pending), **middlebox** (MBX');
  out.push('detectors in `analyzer/middlebox/`, same registry), **not-evaluable** (cannot be judged from a capture).');
  out.push('');
  out.push('Columns "triggered by" / "must not fire on" name the test evidence (test file under test/conformance/ in');
  out.push('brackets) where it was recorded by hand; the measured table for every rule (which fixture fires it, where it');
  out.push('held, which tests name it) is docs/rule-evidence.md.');
  out.push('');
  out.push('| ID | RFC | severity | group | observability | status | checks | reason / note | triggered by | must not fire on |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of RULES) {
    const e = RULE_EVIDENCE[r.id];
    out.push(`| ${r.id} | ${cell(r.rfc)} | ${r.severity} | ${r.group} | ${r.observability} | ${r.status}${r.module !== undefined ? ` (${r.module})` : ''} | ${cell(r.title)} | ${cell(r.reason ?? r.note)} | ${cell(e?.trigger)} | ${cell(e?.clean)} |`);
  }
  out.push('');
  return out.join('\n');
}
