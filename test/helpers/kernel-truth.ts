/**
 * Compare the analyzer's connection model of a generator scenario with what the Linux kernel itself
 * reported (scenario.json written by fixtures/generator/generate.sh): the MPTCP_INFO of the client and
 * server sockets (local token, write_seq = own IDSN + 1 before any data, rcv_nxt = peer IDSN + 1), whether
 * the sockets stayed MPTCP (TCP_IS_MPTCP), and the subflow 4-tuples the server saw.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { analyzeFile } from '../../analyzer/analyze.js';

interface MptcpInfo {
  token?: string;
  write_seq?: number | string;
  rcv_nxt?: number | string;
}
interface App {
  is_mptcp?: boolean;
  after_connect?: { is_mptcp?: boolean; info?: MptcpInfo };
  after_accept?: { is_mptcp?: boolean; info?: MptcpInfo };
  before_shutdown?: { is_mptcp?: boolean; subflow_addrs?: string[] };
  subflow_addrs_seen?: string[];
}

/** Big integers in scenario.json are JSON numbers beyond 2^53: re-read them exactly from the text. */
function exactInts(text: string): Map<string, bigint[]> {
  const out = new Map<string, bigint[]>();
  for (const m of text.matchAll(/"(write_seq|rcv_nxt)":\s*(\d+)/g)) {
    const list = out.get(m[1]!) ?? [];
    list.push(BigInt(m[2]!));
    out.set(m[1]!, list);
  }
  return out;
}

/**
 * Checks one client-side capture of `scenarioDir` against scenario.json. Returns the number of
 * kernel facts compared (so callers can assert something was checked).
 */
export async function checkAgainstKernel(scenarioDir: string, name: string): Promise<number> {
  const text = readFileSync(join(scenarioDir, 'scenario.json'), 'utf8');
  const sc = JSON.parse(text) as { apps: { client: App; server: App } };
  const ints = exactInts(text);
  const r = await analyzeFile(join(scenarioDir, `${name}.client.pcap`));
  const { client, server } = sc.apps;
  let facts = 0;
  expect(r.connections, `${name}: one connection whose SYN offered MP_CAPABLE`).toHaveLength(1);
  expect(r.tcpConnections).toHaveLength(0);
  const c = r.connections[0]!;
  const stayedMptcp = client.before_shutdown?.is_mptcp ?? client.is_mptcp ?? false;
  expect(c.fallback === null, `${name}: fallback ${JSON.stringify(c.fallback)} vs kernel is_mptcp=${stayedMptcp}`).toBe(stayedMptcp);
  facts++;
  const ci = client.after_connect?.info;
  if (ci?.token !== undefined) {
    expect(c.client.token, `${name}: client token (kernel MPTCP_INFO)`).toBe(ci.token);
    // First values in file order: client after_connect (write_seq, rcv_nxt), ... then server after_accept.
    const [clientWriteSeq] = ints.get('write_seq') ?? [];
    const [clientRcvNxt] = ints.get('rcv_nxt') ?? [];
    expect(BigInt(`0x${c.client.idsn}`) + 1n, `${name}: client IDSN + 1 = kernel write_seq`).toBe(clientWriteSeq);
    if (clientRcvNxt !== undefined && clientRcvNxt !== 0n) {
      expect(BigInt(`0x${c.server.idsn}`) + 1n, `${name}: server IDSN + 1 = kernel rcv_nxt`).toBe(clientRcvNxt);
      facts++;
    }
    facts += 2;
  }
  const si = server.after_accept?.info;
  if (si?.token !== undefined) {
    expect(c.server.token, `${name}: server token (kernel MPTCP_INFO)`).toBe(si.token);
    facts++;
  }
  if (server.subflow_addrs_seen !== undefined && server.subflow_addrs_seen.length > 0) {
    // The server kernel names addresses as the server sees them (after any NAT on the path): compare with
    // the server-side captures (one per server interface) when there are any.
    const serverCaps = readdirSync(scenarioDir).filter((f) => f.startsWith(`${name}.server`) && f.endsWith('.pcap'));
    const conns = serverCaps.length > 0 ? (await Promise.all(serverCaps.map((f) => analyzeFile(join(scenarioDir, f))))).flatMap((a) => a.connections) : r.connections;
    const ours = [...new Set(conns.flatMap((cn) => cn.subflows.map((s) => `${s.server.ip}:${s.server.port}->${s.client.ip}:${s.client.port}`)))].sort();
    expect(ours, `${name}: subflows the server kernel reported`).toEqual([...server.subflow_addrs_seen].sort());
    facts++;
  }
  return facts;
}
