/**
 * The connection model of every generated kernel fixture against the kernel's own report in its
 * scenario.json (MPTCP_INFO tokens and initial sequence numbers, TCP_IS_MPTCP, subflows seen).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/fixtures.js';
import { checkAgainstKernel } from '../helpers/kernel-truth.js';

const KERNEL = join(FIXTURES, 'kernel');
const scenarios = readdirSync(KERNEL).filter((d) => existsSync(join(KERNEL, d, 'scenario.json')) && existsSync(join(KERNEL, d, `${d}.client.pcap`)));

describe('kernel fixtures agree with the kernel', () => {
  it('there are generated scenarios to check', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(11);
  });
  it.each(scenarios)('%s', async (name) => {
    const facts = await checkAgainstKernel(join(KERNEL, name), name);
    expect(facts).toBeGreaterThan(0);
  });
});
