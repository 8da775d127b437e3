/**
 * JSON output of any size. `JSON.stringify` builds one string, and V8 strings stop at 2^29 − 24 characters
 * (≈ 512 MiB): the `--json` result of a capture with a few hundred thousand connections can be larger
 * ("RangeError: Invalid string length"). {@link writeJson} uses the native serialiser on the whole value and,
 * when the text would pass that limit, on its parts one by one ({@link stringifyPieces}), written as the stream
 * drains.
 */

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
  await writeAll(out, batches(stringifyPieces(value, space, replacer)));
}

/** Arrays longer than this are always serialised element by element in {@link stringifyPieces}. */
const SPLIT_ARRAY = 1024;
/** Containers this shallow are always opened (their parts serialised one by one) in {@link stringifyPieces}. */
const SPLIT_DEPTH = 2;

/**
 * `JSON.stringify(value, replacer, space)` as a sequence of pieces, each made by the native serialiser: the top
 * {@link SPLIT_DEPTH} levels of containers and arrays of more than {@link SPLIT_ARRAY} elements are opened and
 * their members serialised one by one (any other member too large for one string is opened as well). The
 * concatenation is exactly JSON.stringify's text (toJSON and the replacer are applied once per value, with the
 * same key and holder; the one difference: a value whose toJSON returns an object that has a toJSON of its own, at
 * a place where a piece starts, gets that second toJSON applied too — nothing mptcpscope writes has toJSON). Why: @discoveryjs/json-ext's stringifyChunked, used before, is
 * ≈ 9× slower than native JSON.stringify on a 54 MB result and 2.9× slower than this on a 155 MB one (20 000
 * connections, everything on: 6.4 s against 2.2 s), which made serialising a 100 000-connection result
 * (779 MB) the part of the run that grew faster than the capture (bench/README.md).
 */
export function* stringifyPieces(value: unknown, space?: number, replacer?: Replacer): Generator<string> {
  const gap = space === undefined ? '' : ' '.repeat(Math.max(0, Math.min(10, Math.floor(space))));
  const holder = { '': value };
  const v = prepare(holder, '', value, replacer);
  if (v === undefined) return;
  yield* piece(v, replacer, gap, '', 0);
}

/** SerializeJSONProperty's first steps: toJSON, then the replacer (called with the holder as `this`). */
function prepare(holder: object, key: string, value: unknown, replacer: Replacer | undefined): unknown {
  let v = value;
  if ((typeof v === 'object' && v !== null) || typeof v === 'bigint') {
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') v = (toJSON as (k: string) => unknown).call(v, key);
  }
  if (replacer !== undefined) v = replacer.call(holder, key, v);
  return v;
}

/** A value that JSON.stringify leaves out of an object (and writes as null in an array). */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** Pieces of an already prepared value at indentation `indent`. */
function* piece(v: unknown, replacer: Replacer | undefined, gap: string, indent: string, depth: number): Generator<string> {
  // Primitives and their wrapper objects (serialised as primitives) are never opened.
  const container = typeof v === 'object' && v !== null && !(v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt);
  if (!container || (depth >= SPLIT_DEPTH && !(Array.isArray(v) && v.length > SPLIT_ARRAY))) {
    const text = nativeOf(v, replacer, gap);
    if (text !== undefined || !container) {
      if (text !== undefined) yield indent !== '' && gap !== '' ? text.replace(/\n/g, `\n${indent}`) : text;
      return;
    }
  }
  // Opened: members one by one.
  const inner = indent + gap;
  if (Array.isArray(v)) {
    if (v.length === 0) {
      yield '[]';
      return;
    }
    yield '[';
    for (let i = 0; i < v.length; i++) {
      const el = prepare(v, String(i), v[i], replacer);
      yield `${i > 0 ? ',' : ''}${gap !== '' ? `\n${inner}` : ''}`;
      if (omitted(el)) yield 'null';
      else yield* piece(el, replacer, gap, inner, depth + 1);
    }
    yield gap !== '' ? `\n${indent}]` : ']';
    return;
  }
  const o = v as Record<string, unknown>;
  let n = 0;
  for (const k of Object.keys(o)) {
    const el = prepare(o, k, o[k], replacer);
    if (omitted(el)) continue;
    yield `${n === 0 ? '{' : ','}${gap !== '' ? `\n${inner}` : ''}${JSON.stringify(k)}${gap !== '' ? ': ' : ':'}`;
    n++;
    yield* piece(el, replacer, gap, inner, depth + 1);
  }
  yield n === 0 ? '{}' : gap !== '' ? `\n${indent}}` : '}';
}

/**
 * Native JSON.stringify of a prepared value (toJSON/replacer already applied to it, not again: the wrapped replacer
 * passes the root through), or undefined when its text is past V8's string limit.
 */
function nativeOf(v: unknown, replacer: Replacer | undefined, gap: string): string | undefined {
  let root = true;
  const r: Replacer | undefined =
    replacer === undefined
      ? undefined
      : function (this: unknown, key: string, value: unknown): unknown {
          if (root) {
            root = false;
            return value;
          }
          return replacer.call(this, key, value);
        };
  try {
    return JSON.stringify(v, r ?? undefined, gap === '' ? undefined : gap);
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
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
      await drained(out);
    }
    if (failed !== undefined) throw failed;
  } finally {
    out.off('error', onError);
  }
}

/** Resolves on the stream's next 'drain', rejects on its next 'error' (whichever comes first). */
function drained(out: NodeJS.WritableStream): Promise<void> {
  return new Promise<void>((resolve, reject) => {
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
    return this.out.write(text) ? undefined : drained(this.out);
  }

  /** Everything buffered, written. */
  async end(): Promise<void> {
    await this.flush();
  }
}

/** Characters {@link NdjsonWriter} buffers before writing. */
export const NDJSON_BATCH = 1 << 16;
