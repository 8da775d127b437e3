/**
 * Split check (CheckOptions.split): the detectors that need no timeline run in a worker thread that reads the
 * capture a second time, and their part is merged into this thread's result. Checked against the one-thread
 * result of the same file, which it must equal exactly (JSON text, so order included): every fixture capture,
 * analyzeFull (timeline, metrics and check) on the real captures tiled into long ones, and 3 000 synthetic
 * connections. Then the mechanics, with stand-in workers: a worker's part is merged (a marker finding appears, in
 * order), a failing worker's detectors are run here instead, and `'auto'` splits a ≥ 32 MiB file only.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCapture } from '../../bench/synth.js';
import { bigintAsString } from '../../cli/json-out.js';
import { type CheckOptions, type CheckResult, SPLIT_MIN_BYTES, SPLIT_QUIET_MS, checkFile, setSplitDefault } from '../../conformance/engine.js';
import { analyzeFull } from '../../conformance/full.js';
import { registerDetector, registeredDetectors } from '../../conformance/registry.js';
import { FIXTURES, REPO_ROOT } from '../helpers/fixtures.js';
import { tileFixtures } from '../helpers/tile.js';
import { tempDir } from '../helpers/tmp.js';

const text = (v: unknown): string => JSON.stringify(v, bigintAsString);

function captures(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...captures(p));
    else if (/\.(pcap|pcapng|cap)(\.gz)?$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

const TEMPLATE = join(FIXTURES, 'shared-linux', '01-basic.client.pcap');
const dir = tempDir('mptcpscope-split-');
const tiled: string[] = [];
let synthetic = '';
/** A capture past SPLIT_MIN_BYTES. */
const big = join(dir, 'big.pcap');

beforeAll(async () => {
  for (const lt of [1, 113]) {
    const p = join(dir, `tiled-${lt}.pcap`);
    if ((await tileFixtures(p, lt)).files > 0) tiled.push(p);
  }
  synthetic = join(dir, 'many.pcap');
  await writeSyntheticCapture({ path: synthetic, shape: 'many', frames: 0, connections: 3000, template: TEMPLATE });
  await writeSyntheticCapture({ path: big, shape: 'long', frames: 220_000, template: TEMPLATE });
  // Not a capture still being written ('auto' splits it).
  const old = new Date(Date.now() - 2 * SPLIT_QUIET_MS);
  utimesSync(big, old, old);
}, 120_000);

afterEach(() => setSplitDefault('auto'));

describe('split check equals the one-thread check', () => {
  const all = captures(FIXTURES);

  it('finds the fixture captures', () => {
    expect(all.length).toBeGreaterThan(50);
  });

  it('on every fixture capture (findings, notes, passes, rules run, models)', async () => {
    const differ: string[] = [];
    let withFindings = 0;
    for (const f of all) {
      const one = await checkFile(f, { split: false });
      const two = await checkFile(f, { split: true });
      if (text(two) !== text(one)) differ.push(f);
      if (one.findings.length > 0) withFindings++;
    }
    expect(differ).toEqual([]);
    // The comparison covers files where the rules found something, not only clean ones.
    expect(withFindings).toBeGreaterThan(20);
  }, 600_000);

  it('analyzeFull on the real captures tiled into long ones and on 3 000 synthetic connections', async () => {
    expect(tiled.length).toBe(2);
    for (const f of [...tiled, synthetic]) {
      const one = await analyzeFull(f, { split: false });
      const two = await analyzeFull(f, { split: true });
      expect(two.check.findings.length).toBe(one.check.findings.length);
      expect(text(two)).toBe(text(one));
    }
  }, 300_000);

  it('with the options the worker is given (state limit, retirement, error cap)', async () => {
    const dflt = await checkFile(synthetic, { split: false });
    for (const opts of [{ maxFlows: 200, retireAfter: Number.POSITIVE_INFINITY }, { retireAfter: 0.5, maxErrors: 3 }] satisfies CheckOptions[]) {
      const one = await checkFile(synthetic, { ...opts, split: false });
      const two = await checkFile(synthetic, { ...opts, split: true });
      // The options change the result, so a worker that ignored them would differ.
      expect(text(one)).not.toBe(text(dflt));
      expect(text(two)).toBe(text(one));
    }
  }, 120_000);
});

describe('split mechanics (stand-in workers)', () => {
  const marker = join(dir, 'marker-worker.mjs');
  const failing = join(dir, 'failing-worker.mjs');
  const otherFrames = join(dir, 'other-frames-worker.mjs');
  beforeAll(() => {
    // Posts one made-up finding (rule ZZZ-999, connection 0, frame 1) naming the detectors it was given, and the
    // file's frame count (read with dist/'s analyzeFile), or that count + FRAMES_OFF.
    const part = (off: number): string => `import { parentPort, workerData } from 'node:worker_threads';
import { analyzeFile } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist', 'analyzer', 'analyze.js')).href)};
const frames = (await analyzeFile(workerData.path)).frames + ${off};
parentPort.postMessage({ part: { findings: [{ id: 'ZZZ-999', rfc: '', severity: 'info', group: 'protocol', frames: [1], message: 'marker ' + workerData.detectors.join(','), connection: 0 }], notEvaluable: [], passes: [{ id: 'ZZZ-999', count: 2 }], rulesRun: ['ZZZ-999'], frames } });
`;
    writeFileSync(marker, part(0));
    writeFileSync(otherFrames, part(1));
    writeFileSync(failing, `throw new Error('stand-in worker fails');\n`);
  });
  const file = join(FIXTURES, 'shared-linux', '15b-csum-corrupt-2sf.client.pcap');

  it("merges the worker's part into this thread's, in order; the worker runs the detectors without a timeline", async () => {
    const one = await checkFile(file, { split: false });
    const two = await checkFile(file, { split: true, splitWorker: pathToFileURL(marker) });
    const m = two.findings.filter((f) => f.id === 'ZZZ-999');
    expect(m).toHaveLength(1);
    const names = registeredDetectors().filter((d) => d.needsTimeline !== true).map((d) => d.name);
    expect(m[0]!.message).toBe(`marker ${names.join(',')}`);
    // This thread ran only the timeline detectors: every other rule's finding is the worker's to give.
    const seqRules = new Set(registeredDetectors().filter((d) => d.needsTimeline === true).flatMap((d) => d.rules));
    expect(two.findings.filter((f) => f.id !== 'ZZZ-999')).toEqual(one.findings.filter((f) => seqRules.has(f.id)));
    expect(one.findings.some((f) => !seqRules.has(f.id))).toBe(true);
    // Sorted in: connection 0 findings at frame 1 come first.
    const i = two.findings.indexOf(m[0]!);
    expect(two.findings.slice(0, i).every((f) => (f.connection ?? -1) < 0 || ((f.connection ?? -1) === 0 && (f.frames[0] ?? 0) <= 1))).toBe(true);
    expect(two.passes.find((p) => p.id === 'ZZZ-999')?.count).toBe(2);
    expect(two.rulesRun).toContain('ZZZ-999');
  });

  it("runs a failing worker's detectors in this thread: the result is the one-thread one", async () => {
    const one = await checkFile(file, { split: false });
    const two = await checkFile(file, { split: true, splitWorker: pathToFileURL(failing) });
    expect(one.findings.length).toBeGreaterThan(0);
    expect(text(two)).toBe(text(one));
  });

  it('runs the detectors here when the worker read another number of frames (the file changed)', async () => {
    const one = await checkFile(file, { split: false });
    const two = await checkFile(file, { split: true, splitWorker: pathToFileURL(otherFrames) });
    expect(text(two)).toBe(text(one));
  });

  it("'auto' splits a file of 32 MiB or more, not modified for 5 s, only; setSplitDefault(false) turns it off", async () => {
    const w = { splitWorker: pathToFileURL(marker) };
    const small = await checkFile(file, w);
    expect(small.findings.some((f) => f.id === 'ZZZ-999')).toBe(false);
    expect(statSync(big).size).toBeGreaterThanOrEqual(SPLIT_MIN_BYTES);
    // Just written: perhaps a capture still growing.
    utimesSync(big, new Date(), new Date());
    expect((await checkFile(big, w)).findings.some((f) => f.id === 'ZZZ-999')).toBe(false);
    const old = new Date(Date.now() - 2 * SPLIT_QUIET_MS);
    utimesSync(big, old, old);
    const r: CheckResult = await checkFile(big, w);
    expect(r.findings.some((f) => f.id === 'ZZZ-999')).toBe(true);
    setSplitDefault(false);
    expect((await checkFile(big, w)).findings.some((f) => f.id === 'ZZZ-999')).toBe(false);
    // An explicit option still wins over the default.
    expect((await checkFile(file, { ...w, split: true })).findings.some((f) => f.id === 'ZZZ-999')).toBe(true);
  }, 120_000);

  it('does not split streaming checks or custom detectors', async () => {
    const w = { split: true, splitWorker: pathToFileURL(marker) } as const;
    const streamed = await checkFile(file, { ...w, onConnection: () => undefined });
    expect(streamed.findings.some((f) => f.id === 'ZZZ-999')).toBe(false);
    const custom = registeredDetectors().map((d) => ({ ...d }));
    const c = await checkFile(file, { ...w, detectors: custom });
    expect(c.findings.some((f) => f.id === 'ZZZ-999')).toBe(false);
    expect(text(c.findings)).toBe(text((await checkFile(file, { split: false })).findings));
  });
});

describe('CLI', () => {
  const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');
  const run = (...args: string[]): { code: number; stdout: string } => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return { code: r.status ?? -1, stdout: r.stdout };
  };

  it('check --json of a capture past 32 MiB is the same with and without --single-thread', () => {
    const two = run('check', '--json', big);
    const one = run('check', '--json', '--single-thread', big);
    expect(one.code).toBe(two.code);
    expect(JSON.parse(one.stdout).findings.length).toBeGreaterThan(0);
    expect(one.stdout).toBe(two.stdout);
  }, 120_000);

  it('gate takes --single-thread', () => {
    const suite = join(FIXTURES, 'shared-linux');
    const two = run('gate', '--json', suite);
    const one = run('gate', '--json', '--single-thread', suite);
    expect(one.code).toBe(two.code);
    const strip = (s: string): unknown => JSON.parse(s, (k, v: unknown) => (k === 'seconds' ? 0 : v));
    expect(strip(one.stdout)).toEqual(strip(two.stdout));
  }, 120_000);
});

// Last in the file: it adds a detector to this process's registry.
describe('a detector registered at run time', () => {
  it('is not known to the worker: the worker declines and its detectors run here, the result is the one-thread one', async () => {
    registerDetector({
      name: 'split-test-runtime',
      rules: ['ZZZ-998'],
      create: (ctx) => {
        let first = true;
        return {
          onSegment(seg, flow) {
            if (first) ctx.report({ id: 'ZZZ-998', frames: [seg.frame], message: 'registered at run time' }, flow);
            first = false;
          },
        };
      },
    });
    const file = join(FIXTURES, 'shared-linux', '01-basic.client.pcap');
    const one = await checkFile(file, { split: false });
    const two = await checkFile(file, { split: true });
    expect(one.findings.some((f) => f.message === 'registered at run time')).toBe(true);
    expect(text(two)).toBe(text(one));
  });
});
