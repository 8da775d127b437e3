/**
 * docs/rule-evidence.md is the measured rule evidence (conformance/evidence.ts: checkFile over every
 * fixture capture): it must equal a fresh measurement, so the table issue 4 asks for cannot go stale.
 * And the facts it rests on: every implemented rule is triggered by a fixture or named by a test, and no
 * clean capture gives an error finding.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../conformance/catalogue.js';
import { type RuleEvidenceRow, measureRuleEvidence, renderRuleEvidence } from '../../conformance/evidence.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

describe('rule evidence (docs/rule-evidence.md)', () => {
  let rows: RuleEvidenceRow[] = [];
  it('the checked-in table equals a fresh measurement over the fixtures', { timeout: 120_000 }, async () => {
    rows = await measureRuleEvidence(REPO_ROOT);
    expect(readFileSync(join(REPO_ROOT, 'docs/rule-evidence.md'), 'utf8')).toBe(renderRuleEvidence(rows));
  });

  it('every implemented or middlebox rule fires on a fixture or is exercised by a test; no error on a clean capture', () => {
    expect(rows.length).toBe(RULES.length);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const untested = RULES.filter((r) => r.status !== 'not-evaluable')
      .map((r) => byId.get(r.id)!)
      .filter((r) => r.firedOn.length === 0 && r.tests.length === 0)
      .map((r) => r.id);
    expect(untested).toEqual([]);
    const errorsOnClean = rows.flatMap((r) => r.firedOn.filter((f) => f.clean && f.counts.error !== undefined).map((f) => `${r.id} ${f.capture}`));
    expect(errorsOnClean).toEqual([]);
  });
});
