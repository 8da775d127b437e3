/** `check` text report: findings grouped by connection, one line each, then what could not be judged. */
import type { JudgedFinding, JudgedResult } from './apply.js';

const label = (f: JudgedFinding): string => (f.action === 'error' ? 'ERROR' : f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warn ' : 'info ');

function evidence(f: JudgedFinding): string {
  const e = f.evidence;
  if (e === undefined) return '';
  if (e.seen !== undefined && e.expected !== undefined) return ` [seen ${String(e.seen)}, expected ${String(e.expected)}]`;
  if (typeof e.occurrences === 'number') return ` [${e.occurrences}×]`;
  return '';
}

export function formatText(j: JudgedResult): string {
  const { result } = j;
  const out: string[] = [];
  const counts = { error: 0, warning: 0, info: 0 };
  for (const f of j.findings) counts[f.severity]++;
  out.push(`${result.file}: ${result.analysis.connections.length} MPTCP connection(s), ${j.findings.length} finding(s) (${counts.error} error, ${counts.warning} warning, ${counts.info} info)${j.failing > 0 ? `, ${j.failing} failing the policy` : ''}${j.ignored > 0 ? `, ${j.ignored} ignored by policy` : ''}`);
  const groups = new Map<number | undefined, JudgedFinding[]>();
  for (const f of j.findings) {
    const g = groups.get(f.connection) ?? [];
    g.push(f);
    groups.set(f.connection, g);
  }
  const conns = result.analysis.connections;
  const ids = [...new Set([...conns.map((c) => c.id), ...groups.keys()])].sort((a, b) => (a ?? -1) - (b ?? -1));
  for (const id of ids) {
    const list = groups.get(id) ?? [];
    const ne = result.notEvaluable.filter((n) => n.connection === id);
    if (list.length === 0 && ne.length === 0) continue;
    const c = id !== undefined ? conns.find((x) => x.id === id) : undefined;
    if (c !== undefined) {
      const sf = c.subflows[0];
      const ends = sf !== undefined ? `${sf.client.ip}:${sf.client.port} → ${sf.server.ip}:${sf.server.port}` : '';
      out.push(`  connection ${c.id} (v${c.version ?? '?'}, ${ends}, ${c.subflows.length} subflow(s)${c.fallback !== null ? `, fell back: ${c.fallback.reason}` : ''})`);
    } else out.push('  capture');
    for (const f of list) {
      const fr = f.frames.length > 0 ? `frame ${f.frames[0]}` : '';
      const sfx = f.subflow !== undefined ? ` subflow ${f.subflow}` : '';
      out.push(`    ${label(f)} ${f.id.padEnd(8)} ${fr}${sfx}: ${f.message}${evidence(f)} (${f.rfc})`);
    }
    if (ne.length > 0) out.push(`    not evaluable: ${ne.map((n) => `${n.id} (${n.reason})`).join('; ')}`);
  }
  const pass = result.passes.filter((p) => p.id.startsWith('JOIN-00') || p.id === 'ADDR-001' || p.id === 'DSS-002' || p.id === 'FC-001');
  if (pass.length > 0) out.push(`  verified: ${pass.map((p) => `${p.id}×${p.count}${p.connection !== undefined ? ` (conn ${p.connection})` : ''}`).join(', ')}`);
  if (j.pending.length > 0) out.push(`  pending (need the data-level timeline): ${j.pending.join(', ')}`);
  return out.join('\n');
}
