/**
 * `mptcpscope analyze A B C…` analyses several files in worker threads (analyzer/parallel.ts): the
 * output (JSON, CSV, text), the messages on stderr and the exit code must be byte for byte those of
 * the one-by-one run (`--jobs 1`), including a missing file and a cut-off file in the list.
 * Runs the built CLI (dist/), like test/cli/analyze.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../../analyzer/analyze.js';
import { analyzeFilesParallel } from '../../analyzer/parallel.js';
import { FIXTURES, REPO_ROOT, readSidecar } from '../helpers/fixtures.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');
const WORKER = pathToFileURL(join(REPO_ROOT, 'dist', 'analyzer', 'parallel-worker.js'));

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;
let files: string[];
beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'analyzer', 'parallel-worker.js'))) {
    const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
  }
  tmp = mkdtempSync(join(tmpdir(), 'mptcpscope-par-'));
  // A capture cut in the middle of a record: analysed up to the cut, with a 'pcap truncated' issue.
  const basic = readFileSync(join(FIXTURES, 'shared-linux/01-basic.client.pcap'));
  const cut = join(tmp, 'cut.pcap');
  writeFileSync(cut, basic.subarray(0, Math.floor(basic.length / 2) + 3));
  files = [
    join(FIXTURES, 'shared-linux/01-basic.client.pcap'),
    join(FIXTURES, 'shared-linux/02-add-addr.client.pcap'),
    join(tmp, 'missing.pcap'),
    cut,
    join(FIXTURES, 'variants/01-basic.client.pcapng.gz'),
    join(FIXTURES, 'shared-linux/05-checksum.server.pcap'),
    join(FIXTURES, 'shared-linux/01-basic.server.pcapng'),
  ];
});
afterAll(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe('analyze with several files in worker threads', () => {
  for (const fmt of [['--json'], ['--csv'], ['--tcp']]) {
    it(`${fmt.join(' ')}: --jobs 3 prints exactly what --jobs 1 prints`, () => {
      const seq = run('analyze', ...fmt, '--jobs', '1', ...files);
      const par = run('analyze', ...fmt, '--jobs', '3', ...files);
      expect(seq.code).toBe(2); // the missing file
      expect(par.code).toBe(seq.code);
      expect(par.stderr).toBe(seq.stderr);
      expect(par.stdout).toBe(seq.stdout);
      expect(seq.stderr).toContain('missing.pcap: ENOENT');
      if (fmt[0] === '--json') {
        const out = JSON.parse(par.stdout) as Array<{ capture: { file: string; incomplete: boolean }; frames: number }>;
        expect(out.map((o) => o.capture.file)).toEqual(files.filter((f) => !f.endsWith('missing.pcap')));
        // Frame count of 01-basic.client.pcap from its tshark sidecar; the cut copy ends early.
        expect(out[0]?.frames).toBe(readSidecar('shared-linux/01-basic.client.pcap').frames);
        expect(out[2]?.capture.incomplete).toBe(true);
      }
    });
  }

  it('the default (available cores) gives the same JSON as --jobs 1', () => {
    const seq = run('analyze', '--json', '--jobs', '1', ...files.slice(0, 2));
    const par = run('analyze', '--json', ...files.slice(0, 2));
    expect(par.code).toBe(0);
    expect(par.stdout).toBe(seq.stdout);
  });

  it('rejects a bad --jobs value', () => {
    const r = run('analyze', '--jobs', '0', ...files.slice(0, 2));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--jobs must be a positive integer');
  });

  it('analyzeFilesParallel returns, in input order, what analyzeFile returns (error for the missing file)', async () => {
    const par = await analyzeFilesParallel(files, { maxErrors: 50 }, 2, WORKER);
    expect(par.map((o) => o.file)).toEqual(files);
    for (const [i, f] of files.entries()) {
      const o = par[i]!;
      if (f.endsWith('missing.pcap')) {
        expect('error' in o && o.error).toContain('ENOENT');
        continue;
      }
      expect('analysis' in o).toBe(true);
      if ('analysis' in o) expect(o.analysis).toEqual(await analyzeFile(f, { maxErrors: 50 }));
    }
  });
});
