/**
 * Several capture files at once: each file is analysed by {@link analyzeFile} in a `worker_threads`
 * worker (a pool of `jobs` workers, default the available cores), results come back by structured
 * clone (plain data: bigints, strings, numbers) in the order of the input files, so the caller prints
 * exactly what a sequential run prints.
 *
 * Used by `mptcpscope analyze A B C…`. A file that cannot be opened gives `{ error }` (the message
 * {@link analyzeFile} rejected with); a worker that dies (out of memory, a bug) gives `{ error }` for
 * its current file and the pool goes on with a fresh worker.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type AnalyzeOptions, type CaptureAnalysis, analyzeFile } from './analyze.js';

/** Options a worker can take (no callbacks, no custom source or observers: they do not cross threads). */
export type ParallelAnalyzeOptions = Pick<AnalyzeOptions, 'maxErrors' | 'maxFlows' | 'retireAfter'>;

/** Outcome for one file: the analysis, or why the file could not be analysed. */
export type FileOutcome = { file: string; analysis: CaptureAnalysis } | { file: string; error: string };

/** Message to a worker: analyse `file` with `opts`. */
export interface WorkerTask {
  id: number;
  file: string;
  opts: ParallelAnalyzeOptions;
}

/** Message from a worker. */
export type WorkerReply = { id: number; analysis: CaptureAnalysis } | { id: number; error: string };

/** Default number of workers: the cores Node may use (os.availableParallelism()). */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Analyse `files` with up to `jobs` workers. With `jobs` ≤ 1 or a single file everything runs in this
 * thread (no worker). Never rejects for bad files; outcomes are in input order.
 * @param workerUrl the worker script (default: ./parallel-worker.js next to this module, i.e. dist/)
 */
export async function analyzeFilesParallel(
  files: readonly string[],
  opts: ParallelAnalyzeOptions = {},
  jobs = defaultJobs(),
  workerUrl: URL = new URL('./parallel-worker.js', import.meta.url),
): Promise<FileOutcome[]> {
  const n = Math.min(Math.max(1, Math.floor(jobs)), files.length);
  if (n <= 1) {
    const out: FileOutcome[] = [];
    for (const file of files) {
      try {
        out.push({ file, analysis: await analyzeFile(file, opts) });
      } catch (e) {
        out.push({ file, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return out;
  }
  const out: (FileOutcome | undefined)[] = new Array<FileOutcome | undefined>(files.length).fill(undefined);
  let next = 0;
  await new Promise<void>((resolve) => {
    let running = 0;
    const startWorker = (): void => {
      if (next >= files.length) {
        if (running === 0) resolve();
        return;
      }
      running++;
      const w = new Worker(workerUrl);
      let current = -1;
      const give = (): void => {
        if (next >= files.length) {
          current = -1;
          void w.terminate();
          return;
        }
        current = next++;
        const t: WorkerTask = { id: current, file: files[current] as string, opts };
        w.postMessage(t);
      };
      w.on('message', (m: WorkerReply) => {
        const file = files[m.id] as string;
        out[m.id] = 'error' in m ? { file, error: m.error } : { file, analysis: m.analysis };
        give();
      });
      w.on('error', (e: Error) => {
        if (current >= 0 && out[current] === undefined) out[current] = { file: files[current] as string, error: `worker failed: ${e.message}` };
        current = -1;
      });
      w.on('exit', () => {
        running--;
        if (current >= 0 && out[current] === undefined) out[current] = { file: files[current] as string, error: 'worker exited' };
        // A worker that died mid-file is replaced while files remain; otherwise this ends the pool.
        startWorker();
      });
      give();
    };
    for (let i = 0; i < n; i++) startWorker();
  });
  return out.map((o, i) => o ?? { file: files[i] as string, error: 'not analysed' });
}
