/**
 * Policy: what a finding means for a CI gate, kept apart from detection (conventions §8, Zeek's
 * notice policy). Each finding gets an action:
 * - `error`: shown and fails the gate (exit 1),
 * - `warn`: shown, does not fail,
 * - `ignore`: hidden.
 *
 * Lookup order: exact rule ID (`DSS-002`), then rule family (`DSS`), then group (`checksum`), then the
 * policy's `severity` map (by the finding's severity), then the built-in default: error → error,
 * warning → warn, info → warn; findings of group `capture` never fail by default.
 *
 * File format (JSON, validated with ajv against {@link POLICY_SCHEMA}):
 * ```json
 * { "rules": { "DSS-002": "warn", "FB": "error", "middlebox": "ignore" }, "severity": { "warning": "error" } }
 * ```
 */
import { readFile } from 'node:fs/promises';
import { ruleFamily } from './catalogue.js';
import type { Finding, FindingGroup, Severity } from './finding.js';
import { lazyValidator } from './schema.js';

export type Action = 'error' | 'warn' | 'ignore';

export interface Policy {
  /** Rule ID, rule family or finding group → action. */
  rules?: Record<string, Action>;
  /** Finding severity → action (applies when no rule/family/group entry matches). */
  severity?: Partial<Record<Severity, Action>>;
}

const ACTION = { type: 'string', enum: ['error', 'warn', 'ignore'] } as const;

/** JSON Schema (draft-07) of a policy file. */
export const POLICY_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    description: { type: 'string' },
    rules: {
      type: 'object',
      propertyNames: { pattern: '^([A-Z]+(-[0-9]{3})?|malformed|protocol|sequence|checksum|middlebox|capture)$' },
      additionalProperties: ACTION,
    },
    severity: {
      type: 'object',
      additionalProperties: false,
      properties: { error: ACTION, warning: ACTION, info: ACTION },
    },
  },
} as const;

/** The default policy: gate on error-severity findings only; capture artefacts never fail. */
export const DEFAULT_POLICY: Policy = { rules: { capture: 'warn' }, severity: { error: 'error', warning: 'warn', info: 'warn' } };

const GROUPS: ReadonlySet<FindingGroup> = new Set(['malformed', 'protocol', 'sequence', 'checksum', 'middlebox', 'capture']);

/** The action a policy assigns to a finding. */
export function actionFor(f: Pick<Finding, 'id' | 'group' | 'severity'>, policy: Policy = DEFAULT_POLICY): Action {
  const r = policy.rules ?? {};
  const byId = r[f.id];
  if (byId !== undefined) return byId;
  const byFamily = r[ruleFamily(f.id)];
  if (byFamily !== undefined) return byFamily;
  if (GROUPS.has(f.group)) {
    const byGroup = r[f.group];
    if (byGroup !== undefined) return byGroup;
  }
  const bySev = policy.severity?.[f.severity] ?? DEFAULT_POLICY.severity?.[f.severity];
  if (f.group === 'capture' && bySev === 'error' && policy.severity?.[f.severity] === undefined) return 'warn';
  return bySev ?? 'warn';
}

const validate = lazyValidator(POLICY_SCHEMA);

/**
 * Parse and validate a policy object. Entries override the default policy (the default's entries stay
 * for keys the file does not set).
 * @throws Error with every schema violation (`/rules/DSS-002: must be equal to one of the allowed values`)
 */
export function parsePolicy(data: unknown): Policy {
  const v = validate();
  if (!v(data)) {
    const msg = (v.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`).join('; ');
    throw new Error(`invalid policy: ${msg}`);
  }
  const p = data as Policy;
  return { rules: { ...DEFAULT_POLICY.rules, ...p.rules }, severity: { ...DEFAULT_POLICY.severity, ...p.severity } };
}

/** Read a policy JSON file. @throws Error when unreadable, not JSON, or invalid. */
export async function loadPolicy(path: string): Promise<Policy> {
  const text = await readFile(path, 'utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parsePolicy(data);
}
