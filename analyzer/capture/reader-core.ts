/**
 * Streaming machinery shared by the capture file readers: the per-run context (summary, issue
 * reporting, frame numbering) and the chunk feeder that hands record parsers contiguous byte ranges
 * while keeping only the leftover partial record between chunks.
 *
 * Memory bound: the feeder holds at most the parser's current `need` (one record / block) plus one
 * input chunk, whatever the file size.
 */
import type { DecodeIssue } from '../issue.js';
import type { CaptureSummary, FrameSink } from './types.js';

/** Default read size for capture files, in bytes (1 MiB). */
export const DEFAULT_CHUNK_SIZE = 1 << 20;

/** Per-run state shared between the driver and a record parser. */
export class ReadContext {
  readonly summary: CaptureSummary;

  constructor(
    readonly file: string,
    readonly sink: FrameSink,
  ) {
    this.summary = {
      file,
      // Overwritten once the magic is recognised; stays 'pcap' for unidentifiable input (see issues).
      format: 'pcap',
      gzip: false,
      byteOrder: 'little',
      interfaces: [],
      frames: 0,
      bytes: 0,
      sections: 0,
      issues: [],
      incomplete: false,
    };
  }

  /**
   * Records a file-level issue (its `offset` is a byte offset in the decompressed file), adds the
   * file name, and forwards it to the sink. A throwing `sink.issue` propagates (the run rejects).
   */
  issue(i: Omit<DecodeIssue, 'file'>): void {
    const full: DecodeIssue = { ...i, file: this.file };
    this.summary.issues.push(full);
    this.sink.issue?.(full);
  }
}

/**
 * A push parser for one capture format.
 *
 * The feeder calls {@link ChunkParser.parse} with a contiguous buffer once at least `need` bytes are
 * available (or at end of input). The parser consumes whole records only and returns how many bytes
 * it consumed; the rest is handed back, extended by the next chunk, on the next call.
 */
export interface ChunkParser {
  /** Bytes (counted from the first unconsumed byte) needed before the next call can make progress. */
  need: number;
  /** Set when parsing cannot go on (unrecoverable problem); the feeder then stops reading. */
  stopped: boolean;
  /**
   * Parses records from `buf` (whose first byte is at file offset `base`), calling the sink for each
   * frame. `dv` is a DataView over exactly `buf`. `eof` is true when no more bytes will follow, in
   * which case the parser reports any cut-off structure itself.
   * @returns bytes of `buf` consumed (0..buf.length).
   */
  parse(buf: Uint8Array, dv: DataView, base: number, eof: boolean): number;
}

/** Peak buffering figures of one run, for memory-bound tests. */
export interface FeedStats {
  /** Largest number of bytes held at once (leftover + pending chunks). */
  peakBufferedBytes: number;
  /** Input chunks received. */
  chunks: number;
}

/** Bytes gathered from the head of a stream (used for magic detection before a parser exists). */
export interface Head {
  chunks: Uint8Array[];
  length: number;
  done: boolean;
}

/** Reads from `it` until at least `min` bytes are gathered or the stream ends. */
export async function readAtLeast(it: AsyncIterator<Uint8Array>, min: number, into?: Head): Promise<Head> {
  const h: Head = into ?? { chunks: [], length: 0, done: false };
  while (h.length < min && !h.done) {
    const r = await it.next();
    if (r.done === true) h.done = true;
    else if (r.value.length > 0) {
      h.chunks.push(r.value);
      h.length += r.value.length;
    }
  }
  return h;
}

/** Copies the first `n` bytes of a head (n <= head.length) into a new array. */
export function headBytes(h: Head, n: number): Uint8Array {
  const out = new Uint8Array(Math.min(n, h.length));
  let o = 0;
  for (const c of h.chunks) {
    if (o >= out.length) break;
    const take = Math.min(c.length, out.length - o);
    out.set(c.subarray(0, take), o);
    o += take;
  }
  return out;
}

/**
 * A byte source that reads straight into the caller's buffer (a plain file): {@link feed} then needs no
 * buffer per chunk. `readInto` returns the bytes read, 0 at end of input; it rejects with the OS error.
 */
export interface ReadIntoSource {
  readInto(target: Uint8Array, offset: number, length: number): Promise<number>;
}

function isReadInto(x: unknown): x is ReadIntoSource {
  return typeof (x as Partial<ReadIntoSource>).readInto === 'function';
}

/**
 * Drives `parser` over `head` followed by the rest of `src`, until the input ends or the parser stops.
 * Sets `summary.bytes` to the bytes consumed by whole records. Throws only what `src` or the sink throw.
 *
 * Memory: one work buffer (2 × `chunkSize`, larger only while a record longer than that is gathered)
 * holds the unparsed bytes; it is reused for the whole input, so frames handed to the sink are views
 * valid only during the callback (as {@link CaptureSource} documents). A `src` that is also a
 * {@link ReadIntoSource} is read directly into it; other chunks are copied in.
 */
export async function feed(
  parser: ChunkParser,
  head: Head,
  src: AsyncIterator<Uint8Array>,
  ctx: ReadContext,
  stats?: FeedStats,
  chunkSize: number = DEFAULT_CHUNK_SIZE,
): Promise<void> {
  const st = stats ?? { peakBufferedBytes: 0, chunks: 0 };
  const base0 = Math.max(1024, chunkSize * 2);
  let work = new Uint8Array(Math.max(base0, head.length));
  let len = 0;
  const room = (extra: number): void => {
    if (len + extra <= work.length) return;
    const next = new Uint8Array(Math.max(len + extra, work.length * 2));
    next.set(work.subarray(0, len));
    work = next;
  };
  const append = (c: Uint8Array): void => {
    room(c.length);
    work.set(c, len);
    len += c.length;
  };
  for (const c of head.chunks) append(c);
  st.chunks += head.chunks.length;
  if (len > st.peakBufferedBytes) st.peakBufferedBytes = len;
  const direct = isReadInto(src) ? src : undefined;
  let base = 0;
  let eof = head.done;
  for (;;) {
    if (eof || len >= parser.need) {
      const buf = work.subarray(0, len);
      const dv = new DataView(work.buffer, work.byteOffset, len);
      const used = parser.parse(buf, dv, base, eof);
      base += used;
      ctx.summary.bytes = base;
      if (parser.stopped || eof) break;
      const wait = ctx.sink.drain?.();
      if (wait !== undefined) await wait;
      if (used > 0) {
        work.copyWithin(0, used, len);
        len -= used;
        // A long record grew the buffer: back to the usual size once it is parsed.
        if (work.length > base0 * 2 && len <= chunkSize) {
          const next = new Uint8Array(base0);
          next.set(work.subarray(0, len));
          work = next;
        }
      }
    }
    if (direct !== undefined) {
      const want = Math.max(chunkSize, parser.need - len);
      room(want);
      const n = await direct.readInto(work, len, want);
      if (n === 0) eof = true;
      else {
        len += n;
        st.chunks++;
      }
    } else {
      const r = await src.next();
      if (r.done === true) eof = true;
      else if (r.value.length > 0) {
        append(r.value);
        st.chunks++;
      }
    }
    if (len > st.peakBufferedBytes) st.peakBufferedBytes = len;
  }
}

/**
 * Reports a zlib error of a gzip-compressed capture as a 'gzip' issue: Z_BUF_ERROR ("unexpected end
 * of file") is a cut-off stream (truncated, `capture: true`), anything else bad data (malformed).
 * `offset` is the decompressed byte count reached. Marks the run incomplete.
 */
export function reportGzipError(ctx: ReadContext, err: Error & { code: string }, compressedBytes: number, decompressedBytes: number): void {
  const cut = err.code === 'Z_BUF_ERROR';
  ctx.issue({
    layer: 'gzip',
    kind: cut ? 'truncated' : 'malformed',
    field: 'deflate stream',
    message: cut
      ? `gzip stream cut off after ${compressedBytes} compressed bytes (${decompressedBytes} bytes decompressed)`
      : `gzip data error "${err.message}" (${err.code}) with ${compressedBytes} compressed bytes read; ${decompressedBytes} bytes decompressed, the rest is lost`,
    offset: decompressedBytes,
    ...(cut ? { capture: true } : {}),
  });
  ctx.summary.incomplete = true;
}

/** True for errors raised by node:zlib (code Z_*), as opposed to I/O errors. */
export function isZlibError(e: unknown): e is Error & { code: string } {
  if (!(e instanceof Error)) return false;
  const code: unknown = (e as unknown as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Chunks of a Node Readable as an async generator, through 'data' events: unlike `for await` over
 * the stream, every chunk emitted before an 'error' is yielded before the error is thrown.
 * Pauses the stream while more than 4 chunks wait (backpressure). Destroys the stream when done.
 */
export async function* readableChunks(s: NodeJS.ReadableStream & { destroy(): void }): AsyncGenerator<Uint8Array> {
  const q: Uint8Array[] = [];
  let done = false;
  let err: unknown = null;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  s.on('data', (c: Uint8Array) => {
    q.push(c);
    if (q.length > 4) s.pause();
    poke();
  });
  s.on('end', () => {
    done = true;
    poke();
  });
  s.on('error', (e: unknown) => {
    if (err === null) err = e;
    done = true;
    poke();
  });
  s.on('close', () => {
    done = true;
    poke();
  });
  try {
    for (;;) {
      const c = q.shift();
      if (c !== undefined) {
        if (q.length <= 1 && s.isPaused()) s.resume();
        yield c;
        continue;
      }
      if (done) break;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
    if (err !== null) throw err;
  } finally {
    s.destroy();
  }
}

/** `n` as `0x…` hex with at least `w` digits. */
export function hex(n: number, w = 8): string {
  return '0x' + (n >>> 0).toString(16).padStart(w, '0');
}
