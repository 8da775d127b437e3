/**
 * Measured rule evidence (issue 4's table "rule ID → fixture that triggers it → fixture that must not"):
 * `checkFile` over every capture under fixtures/, recording per catalogue rule the captures where it
 * fired (with severity and count) and the clean captures where it was evaluated and held (RulePass
 * counts) without firing; plus the test files that name the rule (crafted inputs). Rendered as the
 * checked-in docs/rule-evidence.md; test/conformance/evidence.test.ts keeps that file equal to a fresh
 * measurement. Regenerate with `npm run build && node dist/conformance/evidence.js > docs/rule-evidence.md`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RULES } from './catalogue.js';
import { checkFile } from './engine.js';

/** Capture files (by name; sidecars such as `x.pcap.tshark.json` are not captures). */
export const CAPTURE_FILE = /\.(pcap|pcapng)(\.gz)?$/;

/**
 * The clean captures (relative to fixtures/): real Linux traces and their format variants, and the
 * well-formed public tcpdump captures, without the scenarios that interfere on purpose (07a/08a/15b
 * strip options or flip a byte; k10/k11 strip options) and tcpdump's out-of-bounds fuzz capture.
 * No error-severity finding may come from any of them (test/conformance/clean.test.ts).
 */
export function isCleanCapture(rel: string): boolean {
  if (!CAPTURE_FILE.test(rel)) return false;
  const [dir, ...rest] = rel.split('/');
  const name = rest.join('/');
  switch (dir) {
    case 'shared-linux':
      return !/^(07a|08a|15b)-/.test(name);
    case 'kernel':
      return !/^k1[01]-/.test(name);
    case 'variants':
      return true;
    case 'public-tcpdump':
      return !/dss-oobr/.test(name);
    default:
      return false;
  }
}

/** Every capture under `fixturesDir`, relative paths, sorted. */
export function listFixtureCaptures(fixturesDir: string): string[] {
  return readdirSync(fixturesDir, { recursive: true })
    .map(String)
    .filter((n) => CAPTURE_FILE.test(n))
    .sort();
}

/** What the fixtures show for one rule. */
export interface RuleEvidenceRow {
  id: string;
  /** Captures where the rule fired: findings per severity. */
  firedOn: Array<{ capture: string; clean: boolean; counts: Partial<Record<'error' | 'warning' | 'info', number>> }>;
  /** Clean captures where it was evaluated and held (passes > 0) and did not fire, with the pass count. */
  heldOn: Array<{ capture: string; passes: number }>;
  /** Clean captures where the rule gave no finding (whether or not it records passes). */
  silentOnClean: number;
  /** Test files (under test/) whose text names the rule ID: crafted inputs and assertions. */
  tests: string[];
}

/** Runs `checkFile` on every fixture capture (one at a time) and gathers {@link RuleEvidenceRow}s in catalogue order. */
export async function measureRuleEvidence(repoRoot: string): Promise<RuleEvidenceRow[]> {
  const fixtures = join(repoRoot, 'fixtures');
  const rows = new Map<string, RuleEvidenceRow>(RULES.map((r) => [r.id, { id: r.id, firedOn: [], heldOn: [], silentOnClean: 0, tests: [] }]));
  for (const rel of listFixtureCaptures(fixtures)) {
    const clean = isCleanCapture(rel);
    const r = await checkFile(join(fixtures, rel));
    const fired = new Map<string, RuleEvidenceRow['firedOn'][number]['counts']>();
    for (const f of r.findings) {
      const c = fired.get(f.id) ?? {};
      c[f.severity] = (c[f.severity] ?? 0) + 1;
      fired.set(f.id, c);
    }
    for (const [id, counts] of fired) rows.get(id)?.firedOn.push({ capture: rel, clean, counts });
    if (!clean) continue;
    for (const row of rows.values()) if (!fired.has(row.id)) row.silentOnClean++;
    const passes = new Map<string, number>();
    for (const p of r.passes) passes.set(p.id, (passes.get(p.id) ?? 0) + p.count);
    for (const [id, n] of passes) if (n > 0 && !fired.has(id)) rows.get(id)?.heldOn.push({ capture: rel, passes: n });
  }
  const testDir = join(repoRoot, 'test');
  const testFiles = readdirSync(testDir, { recursive: true })
    .map(String)
    .filter((n) => /\.(ts|tsx)$/.test(n))
    .sort();
  const texts = testFiles.map((n) => [relative(repoRoot, join(testDir, n)), readFileSync(join(testDir, n), 'utf8')] as const);
  for (const row of rows.values()) {
    const re = new RegExp(`\\b${row.id}\\b`);
    for (const [name, text] of texts) if (re.test(text)) row.tests.push(name.replace(/^test\//, ''));
  }
  return [...rows.values()];
}

/** Clean captures measured: for any rule, those where it fired plus those where it was silent. */
function cleanCaptureCount(rows: RuleEvidenceRow[]): number {
  const r = rows[0];
  return r === undefined ? 0 : r.silentOnClean + r.firedOn.filter((f) => f.clean).length;
}

const MAX_LISTED = 4;

function list<T>(xs: T[], show: (x: T) => string): string {
  if (xs.length === 0) return '—';
  const shown = xs.slice(0, MAX_LISTED).map(show).join('; ');
  return xs.length > MAX_LISTED ? `${shown}; … (${xs.length} captures)` : shown;
}

const sev = (c: RuleEvidenceRow['firedOn'][number]['counts']): string =>
  (['error', 'warning', 'info'] as const)
    .filter((s) => c[s] !== undefined)
    .map((s) => `${c[s]} ${s[0]!.toUpperCase()}`)
    .join(' ');

/** Markdown table of the measurement (deterministic: no times, no machine facts). */
export function renderRuleEvidence(rows: RuleEvidenceRow[]): string {
  const sevOf = new Map(RULES.map((r) => [r.id, r]));
  const cleanCaptures = cleanCaptureCount(rows);
  const out: string[] = [];
  out.push('# Rule evidence: which fixture triggers each rule, and where it must not fire');
  out.push('');
  out.push('Generated by `conformance/evidence.ts` (`node dist/conformance/evidence.js > docs/rule-evidence.md`) from');
  out.push('`checkFile` over every capture under `fixtures/`; test/conformance/evidence.test.ts keeps this file equal');
  out.push('to a fresh measurement. **Fires on**: captures with a finding of the rule (E error, W warning, I info');
  out.push('counts; *clean* marks a clean capture). **Held on (clean)**: clean captures (see `isCleanCapture`) where the rule');
  out.push('was evaluated and held, with the pass count, and no finding. **Tests**: test files naming the rule (crafted');
  out.push('captures and assertions; the rule status and the reasons for the not-evaluable ones are in');
  out.push('docs/conformance-rules.md).');
  out.push('');
  const withFixture = rows.filter((r) => r.firedOn.length > 0).length;
  const crafted = rows.filter((r) => r.firedOn.length === 0 && r.tests.length > 0).length;
  const none = rows.filter((r) => r.firedOn.length === 0 && r.tests.length === 0).map((r) => r.id);
  const errOnClean = rows.filter((r) => r.firedOn.some((f) => f.clean && f.counts.error !== undefined)).map((r) => r.id);
  out.push(`${rows.length} rules: ${withFixture} fire on at least one fixture capture; ${crafted} more only on crafted test input;`);
  out.push(`${none.length} on neither${none.length > 0 ? ` (${none.join(', ')})` : ''}. Error findings on clean captures: ${errOnClean.length === 0 ? 'none' : errOnClean.join(', ')}.`);
  out.push('');
  out.push(`Clean captures: ${cleanCaptures}.`);
  out.push('');
  out.push('| ID | severity | fires on | held on (clean) | tests |');
  out.push('|---|---|---|---|---|');
  for (const r of rows) {
    const cat = sevOf.get(r.id);
    const fired = list(r.firedOn, (f) => `${f.capture}${f.clean ? ' *clean*' : ''} (${sev(f.counts)})`);
    const held = r.heldOn.length > 0 ? list(r.heldOn, (h) => `${h.capture} (${h.passes})`) : `no finding on ${r.silentOnClean} of ${cleanCaptures} (no pass count recorded)`;
    out.push(`| ${r.id} | ${cat?.severity ?? ''} | ${fired} | ${held} | ${r.tests.length === 0 ? '—' : r.tests.join(', ')} |`);
  }
  out.push('');
  return out.join('\n');
}

// CLI: print the table for the repository this file was built in (dist/conformance/evidence.js → repo root).
if (process.argv[1] !== undefined && /conformance[\\/]evidence\.js$/.test(process.argv[1])) {
  const root = join(new URL('.', import.meta.url).pathname, '..', '..');
  void measureRuleEvidence(root).then((rows) => process.stdout.write(renderRuleEvidence(rows)));
}
