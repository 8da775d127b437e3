/**
 * Summary of a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per function and per
 * source file, largest first. Self time of a sample = the time delta that follows it (V8's
 * `timeDeltas[i + 1]`, µs), attributed to the sampled (leaf) node.
 *
 * CLI:  node dist/bench/cpuprofile.js FILE.cpuprofile [top=20]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** One row of a summary: a function (or file) and its self time. */
export interface SelfTimeRow {
  name: string;
  /** Self time, milliseconds. */
  selfMs: number;
  /** Share of all sampled time, percent. */
  percent: number;
}

/** What {@link summarizeCpuProfile} returns. */
export interface CpuProfileSummary {
  /** Wall time covered by the profile, milliseconds. */
  totalMs: number;
  functions: SelfTimeRow[];
  files: SelfTimeRow[];
}

function shortUrl(url: string, root: string): string {
  if (url === '') return '';
  if (url.startsWith('file://')) {
    const p = fileURLToPath(url);
    const r = relative(root, p);
    return r.startsWith('..') ? p : r;
  }
  return url;
}

/**
 * Self time by function (`name file:line`) and by file, top `top` of each.
 * `root`: paths under it are shown relative to it (default: the current directory).
 */
export function summarizeCpuProfile(profile: CpuProfile, top = 20, root = process.cwd()): CpuProfileSummary {
  const byId = new Map<number, CpuProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (n === undefined) continue;
    const cf = n.callFrame;
    const url = shortUrl(cf.url, root);
    const name = `${cf.functionName || '(anonymous)'}${url ? ` ${url}:${cf.lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const fk = url || cf.functionName || '(native)';
    file.set(fk, (file.get(fk) ?? 0) + us);
    total += us;
  }
  const rows = (m: Map<string, number>): SelfTimeRow[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, percent: total > 0 ? (100 * us) / total : 0 }));
  return { totalMs: total / 1000, functions: rows(fn), files: rows(file) };
}

/** Reads and summarises a `.cpuprofile` file. Throws when the file is missing or not JSON. */
export function summarizeCpuProfileFile(path: string, top = 20, root = process.cwd()): CpuProfileSummary {
  return summarizeCpuProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, top, root);
}

/** Plain-text rendering of a summary (fixed-width columns). */
export function formatCpuProfileSummary(s: CpuProfileSummary): string {
  const lines = [`sampled ${(s.totalMs / 1000).toFixed(2)} s`, '', 'self ms    self %  function'];
  for (const r of s.functions) lines.push(`${r.selfMs.toFixed(0).padStart(8)}  ${r.percent.toFixed(1).padStart(6)}%  ${r.name}`);
  lines.push('', 'self ms    self %  file');
  for (const r of s.files) lines.push(`${r.selfMs.toFixed(0).padStart(8)}  ${r.percent.toFixed(1).padStart(6)}%  ${r.name}`);
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/cpuprofile.js FILE.cpuprofile [top=20]\n');
    process.exit(2);
  }
  process.stdout.write(formatCpuProfileSummary(summarizeCpuProfileFile(file, Number(process.argv[3] ?? 20))));
}
