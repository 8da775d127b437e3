/**
 * Helpers for the live-view tests: feed a real capture through FramePipeline + LiveState, and read the
 * tcpdump sidecar (gzip or plain) for MPTCP option facts (address IDs of MP_JOIN, REMOVE_ADDR frames).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FramePipeline } from '../../analyzer/analyze.js';
import { openCapture } from '../../analyzer/capture/open.js';
import { LiveState, type LiveStateOptions } from '../../cli/ui/state.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { parseTcpdumpOut, type TcpdumpMptcp } from '../helpers/tcpdump-mptcp.js';

/** Feed frames of a fixture (relative to fixtures/) with number ≤ `upTo` into a fresh LiveState. */
export async function feedFixture(rel: string, upTo = Number.POSITIVE_INFINITY, opts: Partial<LiveStateOptions> = {}): Promise<LiveState> {
  const path = join(FIXTURES, rel);
  const state = new LiveState(new FramePipeline(path), { source: rel, ...opts });
  await openCapture(path).run({
    frame: (f) => {
      if (f.number <= upTo) state.onFrame(f);
    },
  });
  return state;
}

/** Parsed tcpdump sidecar of a fixture: frame → MPTCP items (see test/helpers/tcpdump-mptcp.ts). */
export function tcpdumpFacts(rel: string): Map<number, TcpdumpMptcp[]> {
  const base = join(FIXTURES, `${rel}.tcpdump.txt`);
  if (existsSync(base)) return parseTcpdumpOut(base);
  const dir = mkdtempSync(join(tmpdir(), 'mps-live-'));
  try {
    const p = join(dir, 'out.txt');
    writeFileSync(p, gunzipSync(readFileSync(`${base}.gz`)));
    return parseTcpdumpOut(p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The MPTCP items of one frame in the tcpdump sidecar (empty when none). */
export function itemsAt(facts: Map<number, TcpdumpMptcp[]>, frame: number): TcpdumpMptcp[] {
  return facts.get(frame) ?? [];
}
