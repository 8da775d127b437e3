/**
 * The rule registry covers the whole catalogue of ../shared/spec/mptcp-rules.md §2: every rule ID there is
 * in conformance/catalogue.ts with the spec's severity letter (or a documented downgrade), every ID a
 * detector can emit is catalogued, every "implemented" rule has a detector, and the checked-in table
 * docs/conformance-rules.md is the rendering of the catalogue.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES, ruleInfo } from '../../conformance/catalogue.js';
import { renderRuleTable } from '../../conformance/catalogue-doc.js';
import '../../conformance/detectors.js';
import { registeredDetectors } from '../../conformance/registry.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const spec = readFileSync(join(REPO_ROOT, '..', 'shared', 'spec', 'mptcp-rules.md'), 'utf8');
/** `- **DSS-002** · §3.3.1 · E · …` → id, severity letter. */
const specRules = [...spec.matchAll(/^- \*\*([A-Z]+-\d{3})\*\* · [^·]+ · ([EWI](?:\/[EWI])?) ·/gm)].map((m) => ({ id: m[1]!, sev: m[2]! }));
const SEV: Record<string, string> = { E: 'error', W: 'warning', I: 'info' };

describe('rule catalogue', () => {
  it('contains every rule of the spec catalogue', () => {
    expect(specRules.length).toBeGreaterThan(70);
    const missing = specRules.filter((r) => ruleInfo(r.id) === undefined).map((r) => r.id);
    expect(missing).toEqual([]);
  });

  it('keeps the spec severity, except downgrades that carry a note', () => {
    for (const r of specRules) {
      const info = ruleInfo(r.id)!;
      const want = SEV[r.sev[0]!];
      if (info.severity !== want) expect({ id: r.id, note: info.note !== undefined }).toEqual({ id: r.id, note: true });
    }
  });

  it('every rule a detector can emit is catalogued; every implemented rule has a detector', () => {
    const emitted = new Set(registeredDetectors().flatMap((d) => d.rules));
    for (const id of emitted) expect(ruleInfo(id), id).toBeDefined();
    const impl = RULES.filter((r) => r.status === 'implemented').map((r) => r.id);
    expect(impl.filter((id) => !emitted.has(id))).toEqual([]);
    // Not-evaluable and pending rules say why.
    for (const r of RULES) if (r.status !== 'implemented') expect(r.reason, r.id).toBeTruthy();
  });

  it('docs/conformance-rules.md is the rendering of the catalogue', () => {
    expect(readFileSync(join(REPO_ROOT, 'docs', 'conformance-rules.md'), 'utf8')).toBe(renderRuleTable());
  });
});
