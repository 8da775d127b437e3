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
