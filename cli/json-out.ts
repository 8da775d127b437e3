/**
 * JSON output of any size. `JSON.stringify` builds one string, and V8 strings stop at 2^29 − 24 characters
 * (≈ 512 MiB): the `--json` result of a capture with a few hundred thousand connections can be larger
 * ("RangeError: Invalid string length"). {@link writeJson} uses the native serialiser (≈ 9× faster,
 * measured on a 54 MB result) and, when the text would pass that limit, serialises in chunks instead
 * (@discoveryjs/json-ext's stringifyChunked), written as the stream drains.
 */
import { stringifyChunked } from '@discoveryjs/json-ext';

/** Text handed to the stream per write in the chunked path (characters). */
const BATCH = 1 << 20;

/** JSON.stringify replacer: bigints as decimal strings. */
export const bigintAsString = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

type Replacer = (this: unknown, key: string, value: unknown) => unknown;

/**
 * Write `value` to `out` as `JSON.stringify(value, replacer, space)` followed by a newline — the same
 * characters, whatever the size. Resolves once the text was handed to the stream; rejects with the
 * stream's error (e.g. EPIPE) or a serialisation error (circular structure, a bigint without a replacer).
 */
export async function writeJson(out: NodeJS.WritableStream, value: unknown, space?: number, replacer?: Replacer): Promise<void> {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, replacer ?? undefined, space);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  if (text !== undefined) {
    await writeAll(out, [`${text}\n`]);
    return;
  }
  await writeJsonChunked(out, value, space, replacer);
}

/** {@link writeJson}'s path for texts past the string limit: chunks of ≈ 1 MiB, waiting for 'drain'. */
export async function writeJsonChunked(out: NodeJS.WritableStream, value: unknown, space?: number, replacer?: Replacer): Promise<void> {
  await writeAll(out, batches(stringifyChunked(value, replacer ?? null, space ?? null)));
}

function* batches(chunks: Iterable<string>): Generator<string> {
  let batch = '';
  for (const c of chunks) {
    batch += c;
    if (batch.length >= BATCH) {
      yield batch;
      batch = '';
    }
  }
  yield `${batch}\n`;
}

/** Write every piece, waiting for 'drain' when the stream's buffer is full; rejects on the stream's error. */
async function writeAll(out: NodeJS.WritableStream, pieces: Iterable<string>): Promise<void> {
  let failed: Error | undefined;
  const onError = (e: Error): void => {
    failed = e;
  };
  out.on('error', onError);
  try {
    for (const s of pieces) {
      if (failed !== undefined) throw failed;
      if (out.write(s)) continue;
      await new Promise<void>((resolve, reject) => {
        const done = (): void => {
          out.off('drain', done);
          out.off('error', fail);
          resolve();
        };
        const fail = (e: Error): void => {
          out.off('drain', done);
          out.off('error', fail);
          reject(e);
        };
        out.on('drain', done);
        out.on('error', fail);
      });
    }
    if (failed !== undefined) throw failed;
  } finally {
    out.off('error', onError);
  }
}

/**
 * JSON lines (NDJSON) written while a capture is read: {@link record} serialises one value per line into a
 * buffer; {@link drain} (given to the reader as its backpressure hook, see FrameSink.drain) writes the buffer
 * once it holds {@link NDJSON_BATCH} characters and, when the stream is full, returns a promise for its
 * 'drain', so reading waits for a slow consumer instead of buffering without bound.
 */
export class NdjsonWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly replacer?: Replacer,
  ) {}

  /** Buffers `value` as one line (JSON.stringify with the writer's replacer; throws what it throws). */
  record(value: unknown): void {
    const line = `${JSON.stringify(value, this.replacer ?? undefined)}\n`;
    this.parts.push(line);
    this.size += line.length;
  }

  /** Writes the buffer once it is large enough; a promise when the stream asks to wait. */
  drain(): Promise<void> | undefined {
    return this.size >= NDJSON_BATCH ? this.flush() : undefined;
  }

  /** Writes whatever is buffered; a promise when the stream asks to wait (rejects on its error). */
  flush(): Promise<void> | undefined {
    if (this.size === 0) return undefined;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (this.out.write(text)) return undefined;
    return new Promise((resolve, reject) => {
      const done = (e?: Error): void => {
        this.out.removeListener('drain', ok);
        this.out.removeListener('error', done);
        if (e !== undefined) reject(e);
        else resolve();
      };
      const ok = (): void => done();
      this.out.once('drain', ok);
      this.out.once('error', done);
    });
  }

  /** Everything buffered, written. */
  async end(): Promise<void> {
    await this.flush();
  }
}

/** Characters {@link NdjsonWriter} buffers before writing. */
export const NDJSON_BATCH = 1 << 16;
