/**
 * No error-severity finding on any clean capture: real Linux 6.18 traces (fixtures/shared-linux without
 * the 07a/08a/15b interference scenarios; fixtures/kernel without k10/k11, which strip options on
 * purpose), the format variants of 01-basic, and the well-formed public tcpdump captures. A false error
 * on a clean Linux trace is a bug (issue 4). The sequence rules (DSS-003…013, FB-006, ADDR-006) give no finding
 * of any severity there.
 * mptcp-dss-oobr.pcap is tcpdump's out-of-bounds-read fuzz capture: its DSS is 3 bytes long (tcpdump
 * prints "dss[bad opt]"), so it must give exactly the OPT-003 error, at frame 1.
 */
import { describe, expect, it } from 'vitest';
import { isCleanCapture, listFixtureCaptures } from '../../conformance/evidence.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { SEQUENCE_RULES } from '../../conformance/rules/sequence.js';
import { checkFixture } from './helpers.js';

// The clean set is defined once, in conformance/evidence.ts (docs/rule-evidence.md uses it too).
const clean = listFixtureCaptures(FIXTURES).filter(isCleanCapture);

describe('no error-severity finding on clean captures', () => {
  it('covers the fixture set', () => {
    expect(clean.length).toBeGreaterThan(35);
  });
  it.each(clean)('%s', async (rel) => {
    const r = await checkFixture(rel);
    expect(r.findings.filter((f) => f.severity === 'error').map((f) => `${f.id} frame ${f.frames[0]}: ${f.message}`)).toEqual([]);
    // The data-level sequence rules (conformance/rules/sequence.ts) give no finding at all on a clean trace.
    expect(r.findings.filter((f) => (SEQUENCE_RULES as readonly string[]).includes(f.id)).map((f) => `${f.id} frame ${f.frames[0]}: ${f.message}`)).toEqual([]);
  });
  it('mptcp-dss-oobr.pcap: the 3-byte DSS is exactly one OPT-003 error at frame 1', async () => {
    const r = await checkFixture('public-tcpdump/mptcp-dss-oobr.pcap');
    const errs = r.findings.filter((f) => f.severity === 'error');
    expect(errs.map((f) => [f.id, f.frames[0], f.evidence?.length])).toEqual([['OPT-003', 1, 3]]);
  });
});
