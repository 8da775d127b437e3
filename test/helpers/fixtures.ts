/**
 * Locating fixtures and their reference sidecars (recorded by fixtures/tools/record-reference.sh).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(REPO_ROOT, 'fixtures');

/** The tshark sidecar, as documented in docs/CONTRACTS.md. */
export interface TsharkSidecar {
  source: string;
  tshark: string;
  frames: number;
  tcpStreams: Array<{
    tcpStream: number;
    mptcpStream: number | null;
    src: string;
    srcPort: number;
    dst: string;
    dstPort: number;
    packets: number;
    payloadBytes: number;
    synKind: 'mp_capable' | 'mp_join' | 'plain' | 'no-syn';
    sendKey: string | null;
    recvKey: string | null;
    expectedTokens: string[];
    joinToken: string | null;
    joinBackup?: number;
    subtypeCounts?: Record<string, number>;
  }>;
  mptcpStreams: Array<{ mptcpStream: number; tcpStreams: number[] }>;
  reinjections?: Array<{ frame: number; reinjectionOf: number[] }>;
}

const CAPTURE_RE = /\.(pcap|pcapng|pcap\.gz|pcapng\.gz)$/;

/** Every capture under fixtures/ that has a `.tshark.json` sidecar, as paths relative to fixtures/. */
export function capturesWithSidecars(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (CAPTURE_RE.test(name) && existsSync(`${p}.tshark.json`)) out.push(relative(FIXTURES, p));
    }
  };
  walk(FIXTURES);
  return out.sort();
}

export function readSidecar(rel: string): TsharkSidecar {
  return JSON.parse(readFileSync(join(FIXTURES, `${rel}.tshark.json`), 'utf8')) as TsharkSidecar;
}

/** Known differences between mptcpscope and a reference tool, each with a reason (test/known-differences.json). */
export interface KnownDifference {
  capture: string;
  check: string;
  reason: string;
}

export function knownDifferences(): KnownDifference[] {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'known-differences.json'), 'utf8')) as KnownDifference[];
}

/** The IP lines of a fixture's `tcpdump -# -n` sidecar (`REL.tcpdump.txt`, or `.txt.gz` when large); REL is relative to fixtures/. */
export function tcpdumpLines(rel: string): string[] {
  const p = join(FIXTURES, `${rel}.tcpdump.txt`);
  const text = existsSync(p) ? readFileSync(p, 'utf8') : gunzipSync(readFileSync(`${p}.gz`)).toString('utf8');
  return text.split('\n').filter((l) => l.includes(' IP '));
}
