/**
 * `analyze --json` against docs/analyze-json.schema.json (ajv, draft-07): the schema is the machine form
 * of docs/analyze-json.md (every documented field is in it), and the CLI's output for every capture under
 * fixtures/ validates, as one array (several files) and as one object (one file).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findCaptures, schemaValidator } from '../../fuzz/engine.js';
import { FIXTURES, REPO_ROOT } from '../helpers/fixtures.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');
const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'docs', 'analyze-json.schema.json'), 'utf8')) as {
  definitions: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
};

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')) && spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT }).status !== 0) {
    throw new Error('build failed');
  }
}, 180_000);

describe('docs/analyze-json.schema.json', () => {
  it('has every field documented in docs/analyze-json.md (top level, connections[], subflows[])', () => {
    const md = readFileSync(join(REPO_ROOT, 'docs', 'analyze-json.md'), 'utf8');
    const section = (title: string): string[] => {
      const start = title === '' ? 0 : md.indexOf(`## \`${title}\``);
      const rest = md.slice(start + 1);
      const end = rest.search(/\n## /);
      const body = end < 0 ? rest : rest.slice(0, end);
      return [...body.matchAll(/^\| `([a-zA-Z]+)(?:\[\])?`(?:, `([a-zA-Z]+)`)?/gm)].flatMap((m) => [m[1]!, ...(m[2] ? [m[2]] : [])]);
    };
    const props = (def: string): string[] => Object.keys(schema.definitions[def]!.properties ?? {});
    const extentProps = props('extent');
    expect(section('').length).toBeGreaterThan(8);
    for (const f of section('')) expect(props('analysis'), f).toContain(f);
    for (const f of section('connections[]')) expect([...props('connection'), ...extentProps], f).toContain(f);
    for (const f of section('subflows[]')) expect([...props('subflow'), ...extentProps], f).toContain(f);
  });

  it('rejects what the documentation forbids (a 7-digit token, an unknown layer)', () => {
    const v = schemaValidator();
    const ok = JSON.parse(spawnSync(process.execPath, [CLI, 'analyze', '--json', join(FIXTURES, 'public-tcpdump', 'mptcp-v1.pcap')], { encoding: 'utf8' }).stdout);
    expect(v(ok)).toBe(true);
    const badToken = structuredClone(ok);
    badToken.connections[0].server.token = 'abcdef1';
    expect(v(badToken)).toBe(false);
    const badLayer = structuredClone(ok);
    badLayer.errors.push({ layer: 'ip', kind: 'malformed', message: 'x', offset: 0 });
    expect(v(badLayer)).toBe(false);
  });
});

describe('analyze --json output of every fixture capture', () => {
  it('validates (one CLI run over all captures → an array)', () => {
    const files = findCaptures(FIXTURES);
    expect(files.length).toBeGreaterThanOrEqual(40);
    const r = spawnSync(process.execPath, [CLI, 'analyze', '--json', '--no-progress', ...files], { encoding: 'utf8', maxBuffer: 512 << 20 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as unknown[];
    expect(out.length).toBe(files.length);
    const v = schemaValidator();
    const bad = out.map((a, i) => (v(a) ? null : `${files[i]}: ${JSON.stringify(v.errors).slice(0, 300)}`)).filter((x) => x !== null);
    expect(bad).toEqual([]);
    expect(v(out)).toBe(true);
  });
});
