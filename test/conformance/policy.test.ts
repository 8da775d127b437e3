/**
 * Policy (conformance/policy.ts): default gate = error-severity findings; rule ID beats family beats
 * group beats severity; capture artefacts never fail by default; policy files are validated with ajv.
 */
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../conformance/finding.js';
import { DEFAULT_POLICY, actionFor, parsePolicy } from '../../conformance/policy.js';

const f = (id: string, severity: Finding['severity'], group: Finding['group']) => ({ id, severity, group });

describe('policy', () => {
  it('default: error → error, warning/info → warn, capture never fails', () => {
    expect(actionFor(f('DSS-002', 'error', 'checksum'))).toBe('error');
    expect(actionFor(f('ADDR-002', 'warning', 'protocol'))).toBe('warn');
    expect(actionFor(f('FB-001', 'info', 'protocol'))).toBe('warn');
    expect(actionFor(f('CAP-001', 'error', 'capture'))).toBe('warn');
    expect(DEFAULT_POLICY.rules?.capture).toBe('warn');
  });

  it('precedence: rule ID, then family, then group, then severity', () => {
    const p = parsePolicy({ rules: { 'DSS-002': 'warn', DSS: 'ignore', checksum: 'error' }, severity: { warning: 'error' } });
    expect(actionFor(f('DSS-002', 'error', 'checksum'), p)).toBe('warn');
    expect(actionFor(f('DSS-001', 'error', 'checksum'), p)).toBe('ignore');
    expect(actionFor(f('JOIN-002', 'error', 'checksum'), p)).toBe('error');
    expect(actionFor(f('ADDR-002', 'warning', 'protocol'), p)).toBe('error');
    expect(actionFor(f('FB-001', 'info', 'protocol'), p)).toBe('warn');
  });

  it('rejects invalid policies with the offending path', () => {
    expect(() => parsePolicy({ rules: { 'DSS-002': 'fatal' } })).toThrow(/\/rules\/DSS-002/);
    expect(() => parsePolicy({ rules: { 'dss-2': 'warn' } })).toThrow(/invalid policy/);
    expect(() => parsePolicy({ gate: 1 })).toThrow(/additional properties/);
    expect(() => parsePolicy({ severity: { fatal: 'error' } })).toThrow(/invalid policy/);
    expect(() => parsePolicy([])).toThrow(/invalid policy/);
  });
});
