/**
 * Worker side of {@link analyzeFilesParallel} (analyzer/parallel.ts): analyses each file it is sent
 * and posts the CaptureAnalysis back (structured clone), or the message the analysis rejected with.
 */
import { parentPort } from 'node:worker_threads';
import { analyzeFile } from './analyze.js';
import type { WorkerReply, WorkerTask } from './parallel.js';

const port = parentPort;
if (port !== null) {
  port.on('message', (t: WorkerTask) => {
    analyzeFile(t.file, t.opts).then(
      (analysis) => port.postMessage({ id: t.id, analysis } satisfies WorkerReply),
      (e: unknown) => port.postMessage({ id: t.id, error: e instanceof Error ? e.message : String(e) } satisfies WorkerReply),
    );
  });
}
