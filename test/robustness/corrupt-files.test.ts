/**
 * Corrupt capture files through the built CLI (`node bin/mptcpscope.js analyze`), one row per class
 * of issue 8: the message names the file and the byte offset, the exit code is the documented one
 * (0 analysed — even when cut or partly corrupt, with a warning; 2 nothing readable), and what was read
 * before the damage is analysed exactly as the same frames in an intact file would be (connections
 * before the cut are still reported). Built from a real capture: tcpdump's mptcp-v0.pcap.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CaptureAnalysis } from '../../analyzer/analyze.js';
import { analyzeFile } from '../../analyzer/analyze.js';
import { openCaptureBytes } from '../../analyzer/capture/open.js';
import type { Frame } from '../../analyzer/capture/types.js';
import { PcapWriter } from '../../analyzer/capture/writer.js';
import { formatIssue } from '../../analyzer/issue.js';
import { checkAnalysis } from '../../fuzz/engine.js';
import { REPO_ROOT, readSidecar } from '../helpers/fixtures.js';
import { type CorruptCase, SOURCE, buildCases, sourceFrames } from './corrupt-cases.js';
import { tempDir } from '../helpers/tmp.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');
function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let cases: CorruptCase[] = [];
let frames: Frame[] = [];
beforeAll(async () => {
  // `npm test` builds first; build here only when dist/ is missing (as test/cli/analyze.test.ts does).
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')) && spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT }).status !== 0) {
    throw new Error('build failed');
  }
  cases = await buildCases(tempDir('mptcpscope-corrupt-'));
  frames = await sourceFrames();
}, 180_000);

/** The analysis of the first n frames of the source, written as an intact pcap. */
async function prefixAnalysis(n: number): Promise<CaptureAnalysis> {
  const bytes = PcapWriter.bytes(frames.slice(0, n), { linkType: Number(frames[0]!.linkType) });
  return analyzeFile('<prefix>', { source: openCaptureBytes(bytes, '<prefix>') });
}

describe('source capture', () => {
  it('is the 264-frame tcpdump v0 trace with one MPTCP connection (tshark)', () => {
    const sc = readSidecar(SOURCE);
    expect(frames.length).toBe(sc.frames);
    expect(sc.mptcpStreams.length).toBe(1);
  });
});

const NAMES = [
  'bad magic',
  'lying record length (pcap caplen 60000 in frame 100)',
  'cut-off last record (10 bytes into frame 201 data)',
  'zero snaplen',
  'huge caplen (0x7fffffff in frame 150)',
  'unknown link type (147, USER0)',
  'wrong byte-order magic in the second pcapng section',
  'wrong byte-order magic in the first pcapng section',
  'gzip stream cut off (half of the compressed bytes)',
  'zero-length file',
  'directory',
  'missing file',
];

describe.each(NAMES)('%s', (name) => {
  it('exit code, message with file and offset, what was read is kept', async () => {
    const c = cases.find((x) => x.name === name)!;
    expect(c, name).toBeDefined();
    const text = run('analyze', '--no-progress', c.path);
    expect(text.code, text.stderr).toBe(c.exit);
    if (c.exit === 2) {
      // One line on stderr naming the file (and the offset when the bytes were read at all).
      expect(text.stderr).toContain(c.path);
      expect(text.stderr).toMatch(c.message);
      expect(text.stdout).toBe('');
      return;
    }
    const j = run('analyze', '--json', '--no-progress', c.path);
    expect(j.code).toBe(0);
    const a = JSON.parse(j.stdout) as CaptureAnalysis;
    expect(checkAnalysis(a)).toEqual([]);
    if (c.message.source === '^$') {
      expect(a.errorCount).toBe(0);
      expect(a.capture.incomplete).toBe(false);
    } else {
      const lines = a.errors.map(formatIssue);
      expect(lines.join('\n')).toMatch(c.message);
      expect(lines.every((l) => l.startsWith(c.path))).toBe(true);
      // The text report names the damage too.
      expect(text.stdout).toMatch(c.message);
    }
    if (c.offset !== undefined) expect(a.errors.map((e) => e.offset)).toContain(c.offset);
    const n = c.frames === -1 ? a.frames : c.frames!;
    expect(a.frames).toBe(n);
    if (c.frames === -1) {
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(frames.length);
    }
    if (a.counts.tcp === 0) return; // unknown link type: nothing decodable, but every frame counted and reported
    // What was read is analysed exactly like the same frames in an intact file.
    const ref = await prefixAnalysis(n);
    expect(a.connections).toEqual(ref.connections);
    expect(a.tcpConnections).toEqual(ref.tcpConnections);
    expect(a.connections.length).toBe(1);
  });
});

describe('unknown link type', () => {
  it('every frame is counted as undecodable and named by an issue (frames 1..264)', () => {
    const c = cases.find((x) => x.name.startsWith('unknown link type'))!;
    const a = JSON.parse(run('analyze', '--json', '--no-progress', c.path).stdout) as CaptureAnalysis;
    expect(a.counts.undecodable).toBe(264);
    expect(a.errorCount).toBe(264);
    expect(new Set(a.errors.map((e) => e.frame)).size).toBe(264);
  });
});
