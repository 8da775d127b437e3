/**
 * The long fuzz job (`npm run fuzz`, or `node dist/fuzz/run.js --frames 1000000`): mutated frames
 * through FramePipeline/ConnectionTracker and mutated files through analyzeFile, seeded from every
 * capture under fixtures/, with the invariants of fuzz/engine.ts checked after every run.
 *
 * Each failing input is saved under fixtures/regressions/ (a capture file) with one line appended to
 * fixtures/regressions/README.md; test/robustness/regressions.test.ts replays all of them.
 * Exit code: 0 no failure, 1 failures found (saved), 2 bad usage.
 *
 * Options: --frames N (mutated-frame budget, default 1 000 000; file-level cases count their frames
 * too), --seed S (u32, default 1), --batch N (frames per pipeline, default 1000), --rate P (share of
 * frames mutated, default 0.5), --file-share P (share of cases that mutate whole files, default 0.6),
 * --max-flows N (tracker limit, default 512 so eviction is exercised), --no-save, --quiet.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Failure, FILE_MUTATORS, Rng, fixturesDir, framesToPcapng, loadSeeds, runFileCase, runFrameBatch } from './engine.js';

interface Args {
  frames: number;
  seed: number;
  batch: number;
  rate: number;
  fileShare: number;
  maxFlows: number;
  save: boolean;
  quiet: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { frames: 1_000_000, seed: 1, batch: 1000, rate: 0.5, fileShare: 0.6, maxFlows: 512, save: true, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${k} needs a non-negative number`);
      return v;
    };
    if (k === '--frames') a.frames = num();
    else if (k === '--seed') a.seed = num() >>> 0;
    else if (k === '--batch') a.batch = Math.max(1, Math.floor(num()));
    else if (k === '--rate') a.rate = num();
    else if (k === '--file-share') a.fileShare = num();
    else if (k === '--max-flows') a.maxFlows = Math.max(1, Math.floor(num()));
    else if (k === '--no-save') a.save = false;
    else if (k === '--quiet') a.quiet = true;
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

function save(f: Failure, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const h = createHash('sha256').update(f.input).digest('hex').slice(0, 12);
  const name = `crash-${h}.${f.kind === 'file' ? 'bin' : 'pcapng'}`;
  const p = join(dir, name);
  if (!existsSync(p)) {
    writeFileSync(p, f.input);
    const line = `- \`${name}\`: ${f.kind === 'file' ? 'file' : 'frame'} mutation \`${f.mutator}\` of \`${f.seed}\` — ${f.message.split('\n')[0]!.slice(0, 200)} (found by fuzz/run.ts; status: open)\n`;
    appendFileSync(join(dir, 'README.md'), line);
  }
  return p;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`fuzz: ${(e as Error).message}\n`);
    return 2;
  }
  const fx = fixturesDir();
  const t0 = Date.now();
  const seeds = await loadSeeds(fx);
  const withOptions = seeds.filter((s) => s.frames.length > 0);
  const rng = new Rng(args.seed);
  const counts = new Map<string, number>();
  const fileCounts = new Map<string, number>();
  let framesFuzzed = 0;
  let fileFrames = 0;
  let fileCases = 0;
  let batches = 0;
  let peakHeap = 0;
  let peakRss = 0;
  const failures: Failure[] = [];
  const seen = new Set<string>();
  const log = (s: string): void => {
    if (!args.quiet) process.stderr.write(`${s}\n`);
  };
  log(`fuzz: ${seeds.length} seed captures, ${withOptions.reduce((s, x) => s + x.frames.length, 0)} seed frames, seed ${args.seed}, budget ${args.frames} frames`);
  let nextReport = 100_000;
  while (framesFuzzed < args.frames) {
    let failure: Failure | undefined;
    if (rng.chance(args.fileShare)) {
      const seed = rng.pick(seeds);
      const r = await runFileCase(rng, seed, fileCases % 10 === 0);
      fileCases++;
      fileFrames += r.frames;
      framesFuzzed += r.frames;
      fileCounts.set(r.mutator, (fileCounts.get(r.mutator) ?? 0) + 1);
      failure = r.failure;
    } else {
      const seed = rng.pick(withOptions);
      const r = runFrameBatch(rng, seed, { batch: Math.min(args.batch, args.frames - framesFuzzed), rate: args.rate, maxFlows: args.maxFlows, schema: true, counts }, framesToPcapng);
      batches++;
      framesFuzzed += r.frames;
      failure = r.failure;
    }
    if (failure !== undefined) {
      const key = failure.message.split('\n')[0]!.replace(/\d+/g, 'N');
      if (!seen.has(key)) {
        seen.add(key);
        failures.push(failure);
        const where = args.save ? save(failure, join(fx, 'regressions')) : '(not saved)';
        log(`FAILURE (${failure.kind}, ${failure.mutator}, ${failure.seed}): ${failure.message}\n  saved: ${where}`);
      }
    }
    const mem = process.memoryUsage();
    if (mem.heapUsed > peakHeap) peakHeap = mem.heapUsed;
    if (mem.rss > peakRss) peakRss = mem.rss;
    if (framesFuzzed >= nextReport) {
      log(`  ${framesFuzzed} frames, ${batches} batches, ${fileCases} file cases, ${failures.length} distinct failures, heap ${(mem.heapUsed / 1e6).toFixed(0)} MB, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      nextReport += 100_000;
    }
  }
  const secs = (Date.now() - t0) / 1000;
  const summary = {
    framesFuzzed,
    frameBatches: batches,
    mutatedFramesByMutator: Object.fromEntries([...counts].sort()),
    fileCases,
    fileCaseFrames: fileFrames,
    fileCasesByMutator: Object.fromEntries(FILE_MUTATORS.map((m) => [m, fileCounts.get(m) ?? 0])),
    distinctFailures: failures.length,
    failures: failures.map((f) => ({ kind: f.kind, seed: f.seed, mutator: f.mutator, message: f.message.split('\n')[0] })),
    seconds: Math.round(secs),
    peakHeapMB: Math.round(peakHeap / 1e6),
    peakRssMB: Math.round(peakRss / 1e6),
    seed: args.seed,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`fuzz: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 2;
  },
);
