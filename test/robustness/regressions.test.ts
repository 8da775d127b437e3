/**
 * Replays every input the fuzzer saved under fixtures/regressions/ (crash-*.pcapng: frame batches,
 * crash-*.bin: mutated files) through analyzeFile and checks the fuzz invariants; the README there
 * lists exactly those files (fuzz/run.ts appends a line for each).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../analyzer/analyze.js';
import { openCaptureBytes } from '../../analyzer/capture/open.js';
import { checkAnalysis } from '../../fuzz/engine.js';
import { FIXTURES } from '../helpers/fixtures.js';

const DIR = join(FIXTURES, 'regressions');
const crashes = readdirSync(DIR).filter((n) => n.startsWith('crash-')).sort();

describe('fixtures/regressions', () => {
  it('the README lists exactly the saved crash inputs', () => {
    const listed = [...readFileSync(join(DIR, 'README.md'), 'utf8').matchAll(/`(crash-[0-9a-f]+\.(?:pcapng|bin))`/g)].map((m) => m[1]).sort();
    expect(listed).toEqual(crashes);
  });
  // (no crash input has been saved so far: the 11M-frame fuzz runs found none; this replays any future one)
  if (crashes.length > 0) it.each(crashes)('%s: analyzeFile does not throw and the invariants hold', async (name) => {
    const bytes = readFileSync(join(DIR, name));
    const a = await analyzeFile(name, { source: openCaptureBytes(bytes, name) });
    expect(checkAnalysis(a)).toEqual([]);
  });
});
