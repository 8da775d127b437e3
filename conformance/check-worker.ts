/**
 * Worker side of a split check ({@link CheckOptions.split}, conformance/engine.ts): reads the capture a second
 * time with the detectors it is given by name (those that need no timeline) and posts back the rules' part of
 * the result (findings, not-evaluable notes, passes, rules run) by structured clone, or the message the check
 * rejected with. The connection models are the main thread's; this thread's are discarded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type CheckWorkerReply, type CheckWorkerTask, checkFile } from './engine.js';
import { registeredDetectors } from './registry.js';

const port = parentPort;
if (port !== null) {
  const t = workerData as CheckWorkerTask;
  const detectors = registeredDetectors().filter((d) => t.detectors.includes(d.name));
  // A detector registered at run time in the main thread is unknown here: the error makes the main thread run them all.
  const unknown = t.detectors.filter((n) => !detectors.some((d) => d.name === n));
  if (unknown.length > 0) port.postMessage({ error: `detectors not registered in the worker: ${unknown.join(', ')}` } satisfies CheckWorkerReply);
  else checkFile(t.path, { ...t.opts, detectors, split: false }).then(
    (r) => port.postMessage({ part: { findings: r.findings, notEvaluable: r.notEvaluable, passes: r.passes, rulesRun: r.rulesRun, frames: r.analysis.frames } } satisfies CheckWorkerReply),
    (e: unknown) => port.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies CheckWorkerReply),
  );
}
