/**
 * Renders the rule catalogue (conformance/catalogue.ts) as the checked-in table docs/conformance-rules.md.
 * A test keeps the file equal to this rendering; regenerate with
 * `node -e "import('./dist/conformance/catalogue-doc.js').then(m => process.stdout.write(m.renderRuleTable()))" > docs/conformance-rules.md`.
 */
import { RULES } from './catalogue.js';

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
  out.push('| ID | RFC | severity | group | observability | status | checks | reason / note |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const r of RULES) {
    out.push(`| ${r.id} | ${cell(r.rfc)} | ${r.severity} | ${r.group} | ${r.observability} | ${r.status}${r.module !== undefined ? ` (${r.module})` : ''} | ${cell(r.title)} | ${cell(r.reason ?? r.note)} |`);
  }
  out.push('');
  return out.join('\n');
}
