/**
 * Fixtures as specifications: the `expect.json` format (docs/expect.md, docs/expect.schema.json) that
 * `mptcpscope gate` and `check --expect` judge captures against.
 *
 * A fixture is a folder with an `expect.json`: a one-line `purpose`, the captures (file names relative to
 * the expect.json's folder) with what must hold for each (MPTCP connections, subflows, fallback, required
 * and forbidden rule IDs, metric bounds, accepted `known` findings), and optional `diffs` of two
 * captures of the same traffic taken on either side of a device.
 *
 * Validation: JSON Schema draft-07 ({@link EXPECT_SCHEMA}) with ajv, then a semantic pass (rule IDs and
 * families must exist in the catalogue). Every problem is reported with the file and its JSON path.
 */
import { readFile } from 'node:fs/promises';
import { RULES, ruleFamily } from './catalogue.js';
import { POLICY_SCHEMA, type Policy } from './policy.js';
import { type SchemaError, lazyValidator } from './schema.js';

/** A count: exact, or bounds (inclusive). */
export type CountExpectation = number | { min?: number; max?: number };

/** Inclusive bounds of a metric. */
export interface MetricBound {
  min?: number;
  max?: number;
}

/** A finding accepted with a reason (it neither fails the policy nor counts as unexpected). */
export interface KnownFinding {
  /** Rule ID (`DSS-002`), family (`DSS`) or group (`checksum`). */
  rule: string;
  reason: string;
}

/**
 * What must hold for one capture. Every field is optional; an absent field is not checked.
 * Rule patterns are a rule ID (`MBX-001`), a family (`MBX`) or a finding group (`middlebox`).
 */
export interface Expectation {
  /** MPTCP connections in the capture (fallen-back ones count: an MP_CAPABLE SYN was seen). */
  mptcpConnections?: CountExpectation;
  /** Total subflows over all MPTCP connections. */
  subflows?: CountExpectation;
  /** Plain TCP connections (no MPTCP option seen, or options cut by the snaplen). */
  tcpConnections?: CountExpectation;
  /**
   * false: no MPTCP connection fell back; true: at least one did; a string: at least one fell back with
   * that model reason (`syn-ack-without-mp-capable`, `ack-without-mp-capable`, `no-dss-after-handshake`,
   * `infinite-mapping`, `syn-retransmitted-without-mp-capable`).
   */
  fallback?: boolean | FallbackReason;
  /** Each pattern: at least one finding must match. Matching findings never fail the policy. */
  requiredRules?: string[];
  /** Each pattern: no finding (whatever the policy says of it) may match. */
  forbiddenRules?: string[];
  /** Metric name (see {@link METRIC_NAMES}) → bounds. */
  metrics?: Partial<Record<MetricName, MetricBound>>;
  /** Findings accepted with a reason. */
  known?: KnownFinding[];
}

export type FallbackReason =
  | 'syn-ack-without-mp-capable'
  | 'ack-without-mp-capable'
  | 'no-dss-after-handshake'
  | 'infinite-mapping'
  | 'syn-retransmitted-without-mp-capable';

export const FALLBACK_REASONS: readonly FallbackReason[] = [
  'syn-ack-without-mp-capable',
  'ack-without-mp-capable',
  'no-dss-after-handshake',
  'infinite-mapping',
  'syn-retransmitted-without-mp-capable',
];

/**
 * Metric names an expectation can bound (computed by conformance/gate.ts `captureMetrics` from
 * `analyzeFull`'s `ConnectionMetrics`). The "bulk direction" is the connection direction that carried the
 * most distinct data-level bytes in the capture (the transfer under test). Units: seconds, bytes, bytes/s,
 * ratios 0..1.
 */
export const METRIC_NAMES = [
  'aggregationGain',
  'goodput',
  'dataBytes',
  'minSubflowShare',
  'failoverSeconds',
  'recoverySeconds',
  'failovers',
  'reinjectedBytes',
  'reinjections',
  'spuriousReinjections',
  'retransmissionRate',
  'maxPathRetransmissionRate',
  'rttMedianSeconds',
  'rttP95Seconds',
  'outOfOrderSegments',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** One capture of a fixture: its file and what must hold. */
export interface CaptureSpec extends Expectation {
  /** File name relative to the expect.json's folder. */
  file: string;
  /** Optional one line about this capture (vantage point, what it shows). */
  note?: string;
}

/** Two captures of the same traffic on either side of a device; `diff`'s changes become MBX findings. */
export interface DiffSpec {
  before: string;
  after: string;
  note?: string;
  requiredRules?: string[];
  forbiddenRules?: string[];
  known?: KnownFinding[];
}

/** A parsed, validated expect.json. */
export interface ExpectFile {
  $schema?: string;
  purpose: string;
  /** Policy file name (relative to the expect.json) or inline policy. */
  policy?: string | Policy;
  defaults?: Expectation;
  captures: CaptureSpec[];
  diffs?: DiffSpec[];
}

const RULE_PATTERN = '^([A-Z]+(-[0-9]{3})?|malformed|protocol|sequence|checksum|middlebox|capture)$';

const COUNT = {
  oneOf: [
    { type: 'integer', minimum: 0 },
    {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: { min: { type: 'integer', minimum: 0 }, max: { type: 'integer', minimum: 0 } },
    },
  ],
} as const;

const RULE_LIST = { type: 'array', items: { type: 'string', pattern: RULE_PATTERN }, uniqueItems: true } as const;

const KNOWN = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['rule', 'reason'],
    properties: { rule: { type: 'string', pattern: RULE_PATTERN }, reason: { type: 'string', minLength: 1 } },
  },
} as const;

const EXPECTATION_PROPS = {
  mptcpConnections: COUNT,
  subflows: COUNT,
  tcpConnections: COUNT,
  fallback: { oneOf: [{ type: 'boolean' }, { type: 'string', enum: FALLBACK_REASONS }] },
  requiredRules: RULE_LIST,
  forbiddenRules: RULE_LIST,
  metrics: {
    type: 'object',
    propertyNames: { enum: METRIC_NAMES },
    additionalProperties: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: { min: { type: 'number' }, max: { type: 'number' } },
    },
  },
  known: KNOWN,
} as const;

const { $schema: _policySchemaDialect, ...POLICY_OBJECT } = POLICY_SCHEMA;

/** JSON Schema (draft-07) of expect.json; docs/expect.schema.json is this object (a test keeps them equal). */
export const EXPECT_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://mptcpscope.invalid/expect.schema.json',
  title: 'mptcpscope fixture expectations (expect.json)',
  type: 'object',
  additionalProperties: false,
  required: ['purpose', 'captures'],
  properties: {
    $schema: { type: 'string' },
    purpose: { type: 'string', minLength: 1, pattern: '^[^\\n]+$' },
    policy: { oneOf: [{ type: 'string', minLength: 1 }, POLICY_OBJECT] },
    defaults: { type: 'object', additionalProperties: false, properties: EXPECTATION_PROPS },
    captures: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['file'],
        properties: { file: { type: 'string', minLength: 1 }, note: { type: 'string' }, ...EXPECTATION_PROPS },
      },
    },
    diffs: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['before', 'after'],
        properties: {
          before: { type: 'string', minLength: 1 },
          after: { type: 'string', minLength: 1 },
          note: { type: 'string' },
          requiredRules: RULE_LIST,
          forbiddenRules: RULE_LIST,
          known: KNOWN,
        },
      },
    },
  },
} as const;

const validate = lazyValidator(EXPECT_SCHEMA);

/** An invalid expect.json: `problems` are `JSON-path: message` lines; `message` names the file. */
export class ExpectError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid expect.json:\n  ${problems.join('\n  ')}`);
  }
}

/** JSON Pointer (`/captures/0/fallback`) → JSON path (`$.captures[0].fallback`). */
export function jsonPath(pointer: string): string {
  if (pointer === '') return '$';
  return `$${pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^[0-9]+$/.test(p) ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`))
    .join('')}`;
}

function describeError(e: SchemaError): string {
  const p = e.params ?? {};
  if (e.keyword === 'additionalProperties' && typeof p.additionalProperty === 'string') return `unknown field "${p.additionalProperty}"`;
  if (e.keyword === 'enum' && Array.isArray(p.allowedValues)) return `${e.message ?? 'invalid'}: ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'propertyNames' && typeof p.propertyName === 'string') return `unknown name "${p.propertyName}"`;
  return e.message ?? 'invalid';
}

const KNOWN_IDS: ReadonlySet<string> = new Set(RULES.map((r) => r.id));
const KNOWN_FAMILIES: ReadonlySet<string> = new Set(RULES.map((r) => ruleFamily(r.id)));
const GROUPS: ReadonlySet<string> = new Set(['malformed', 'protocol', 'sequence', 'checksum', 'middlebox', 'capture']);

/** True when `p` names a catalogue rule ID, a rule family or a finding group. */
export function isRulePattern(p: string): boolean {
  return KNOWN_IDS.has(p) || KNOWN_FAMILIES.has(p) || GROUPS.has(p);
}

function semanticProblems(d: ExpectFile): string[] {
  const out: string[] = [];
  const checkList = (path: string, xs: string[] | undefined): void => {
    xs?.forEach((x, i) => {
      if (!isRulePattern(x)) out.push(`${path}[${i}]: "${x}" is not a rule ID, rule family or group of the catalogue (docs/conformance-rules.md)`);
    });
  };
  const checkKnown = (path: string, xs: KnownFinding[] | undefined): void => {
    xs?.forEach((k, i) => {
      if (!isRulePattern(k.rule)) out.push(`${path}[${i}].rule: "${k.rule}" is not a rule ID, rule family or group of the catalogue`);
    });
  };
  const checkExp = (path: string, e: Expectation | undefined): void => {
    if (e === undefined) return;
    checkList(`${path}.requiredRules`, e.requiredRules);
    checkList(`${path}.forbiddenRules`, e.forbiddenRules);
    checkKnown(`${path}.known`, e.known);
    for (const f of ['mptcpConnections', 'subflows', 'tcpConnections'] as const) {
      const c = e[f];
      if (typeof c === 'object' && c.min !== undefined && c.max !== undefined && c.min > c.max) out.push(`${path}.${f}: min ${c.min} > max ${c.max}`);
    }
    for (const [name, b] of Object.entries(e.metrics ?? {})) {
      if (b?.min !== undefined && b.max !== undefined && b.min > b.max) out.push(`${path}.metrics.${name}: min ${b.min} > max ${b.max}`);
    }
    for (const r of e.requiredRules ?? []) {
      if (e.forbiddenRules?.includes(r)) out.push(`${path}: "${r}" is both required and forbidden`);
    }
  };
  checkExp('$.defaults', d.defaults);
  d.captures.forEach((c, i) => checkExp(`$.captures[${i}]`, c));
  const seen = new Map<string, number>();
  d.captures.forEach((c, i) => {
    const prev = seen.get(c.file);
    if (prev !== undefined) out.push(`$.captures[${i}].file: "${c.file}" already listed at $.captures[${prev}]`);
    else seen.set(c.file, i);
  });
  d.diffs?.forEach((x, i) => {
    checkList(`$.diffs[${i}].requiredRules`, x.requiredRules);
    checkList(`$.diffs[${i}].forbiddenRules`, x.forbiddenRules);
    checkKnown(`$.diffs[${i}].known`, x.known);
  });
  return out;
}

/**
 * Validate parsed JSON as an expect.json.
 * @throws ExpectError listing every problem with its JSON path (`$.captures[0].fallback: must be boolean`)
 */
export function parseExpect(data: unknown, file = 'expect.json'): ExpectFile {
  const v = validate();
  if (!v(data)) {
    // oneOf branches repeat themselves; keep one line per path+message.
    const errs = (v.errors ?? []).filter((e) => e.keyword !== 'oneOf');
    // propertyNames also reports the inner enum failure at the same path: keep the clearer line.
    const named = new Set(errs.filter((e) => e.keyword === 'propertyNames').map((e) => e.instancePath));
    const lines = [...new Set(errs.filter((e) => !(e.keyword === 'enum' && named.has(e.instancePath))).map((e) => `${jsonPath(e.instancePath)}: ${describeError(e)}`))];
    throw new ExpectError(file, lines.length > 0 ? lines : ['$: invalid']);
  }
  const d = data as ExpectFile;
  const sem = semanticProblems(d);
  if (sem.length > 0) throw new ExpectError(file, sem);
  return d;
}

/**
 * Read and validate an expect.json.
 * @throws ExpectError when unreadable, not JSON (with line:column when Node gives a position) or invalid
 */
export async function loadExpect(path: string): Promise<ExpectFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ExpectError(path, [`cannot read: ${e instanceof Error ? e.message : String(e)}`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /position (\d+)/.exec(msg);
    let where = '';
    if (m !== null) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos).split('\n');
      where = ` (line ${before.length}, column ${(before[before.length - 1]?.length ?? 0) + 1})`;
    }
    throw new ExpectError(path, [`not JSON${where}: ${msg}`]);
  }
  return parseExpect(data, path);
}

/**
 * The expectation of one capture: `defaults` under the capture's own fields. Scalars of the capture
 * replace the default's; `requiredRules`, `forbiddenRules` and `known` are concatenated (defaults first);
 * `metrics` are merged by name (the capture's bound replaces the default's for the same metric).
 */
export function mergeExpectation(defaults: Expectation | undefined, own: Expectation): Expectation {
  if (defaults === undefined) return own;
  const out: Expectation = { ...defaults, ...own };
  const cat = <T>(a: T[] | undefined, b: T[] | undefined): T[] | undefined => (a === undefined ? b : b === undefined ? a : [...a, ...b.filter((x) => !a.includes(x))]);
  const req = cat(defaults.requiredRules, own.requiredRules);
  if (req !== undefined) out.requiredRules = req;
  const forb = cat(defaults.forbiddenRules, own.forbiddenRules);
  if (forb !== undefined) out.forbiddenRules = forb;
  const known = cat(defaults.known, own.known);
  if (known !== undefined) out.known = known;
  if (defaults.metrics !== undefined || own.metrics !== undefined) out.metrics = { ...defaults.metrics, ...own.metrics };
  return out;
}
