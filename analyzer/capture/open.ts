/**
 * Opening capture files: format detection by magic bytes (never by file name) and the streaming
 * driver that feeds the format readers.
 *
 * Formats: gzip (1f 8b, decompressed with node:zlib as a stream, then detected again), classic pcap
 * (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html; magic a1b2c3d4 µs / a1b23c4d ns,
 * either byte order) and pcapng (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/; 0a0d0d0a).
 * Memory stays bounded by one read chunk plus the largest record, whatever the file size.
 */
import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { PcapParserSource } from './pcap-parser-source.js';
import { PcapReader, describeMagic, pcapMagic } from './pcap.js';
import { PcapngReader } from './pcapng.js';
import {
  DEFAULT_CHUNK_SIZE,
  ReadContext,
  feed,
  headBytes,
  isZlibError,
  readAtLeast,
  readableChunks,
  reportGzipError,
  type ChunkParser,
  type FeedStats,
  type Head,
  type ReadIntoSource,
} from './reader-core.js';
import type { CaptureSource, CaptureSummary, FrameSink } from './types.js';

export type { FeedStats } from './reader-core.js';

/** Options of {@link openCapture} and friends. */
export interface OpenCaptureOptions {
  /**
   * Which classic-pcap reader to use. 'fast' (default): this package's DataView record walker.
   * 'pcap-parser': the npm package `pcap-parser` (microsecond pcap only; for other formats — ns pcap,
   * pcapng — the fast readers are used anyway). Kept for comparison and benchmarks.
   */
  reader?: 'fast' | 'pcap-parser';
  /** Bytes per read, default 1 MiB; gzip output comes in pieces of min(chunkSize, 64 KiB), at least 1 KiB. Any value ≥ 1 works. */
  chunkSize?: number;
  /** When given, filled with buffering figures during the run (memory-bound tests). */
  stats?: FeedStats;
}

/** What the first bytes of a (decompressed) file are. */
export type Magic = 'gzip' | 'pcap' | 'pcap-ns' | 'pcapng' | 'unknown' | 'short';

/**
 * Classifies the first bytes of a file: `short` when fewer than 4 bytes (2 for gzip) are given.
 * Byte order: the pcap magics are recognised in both orders; the pcapng SHB type is a palindrome.
 */
export function detectMagic(bytes: Uint8Array): Magic {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (bytes.length < 4) return 'short';
  if (bytes[0] === 0x0a && bytes[1] === 0x0d && bytes[2] === 0x0d && bytes[3] === 0x0a) return 'pcapng';
  const m = pcapMagic(bytes);
  if (m !== null) return m.nanosecond ? 'pcap-ns' : 'pcap';
  return 'unknown';
}

/**
 * Opens a capture file (pcap µs/ns either byte order, pcapng, optionally gzip-compressed), detected by
 * magic bytes. Nothing is read until {@link CaptureSource.run}. `run` rejects only when the file
 * cannot be read at all (ENOENT, EACCES, EISDIR, … — the OS error); bad content becomes issues in the
 * summary. Frames are delivered in file order; `Frame.data` is valid only during the sink callback.
 */
export function openCapture(path: string, opts: OpenCaptureOptions = {}): CaptureSource {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const openRaw = (): AsyncIterable<Uint8Array> => new FileChunks(path, chunkSize);
  if (opts.reader === 'pcap-parser') {
    return {
      name: path,
      async run(sink: FrameSink): Promise<CaptureSummary> {
        const s = await sniffFile(path);
        if (s.magic === 'pcap') {
          let compressed = 0;
          const src = new PcapParserSource(path, () => openNodeStream(path, s.gzip, chunkSize, (n) => (compressed += n)), {
            gzip: s.gzip,
            compressedBytes: () => compressed,
          });
          return src.run(sink);
        }
        return runInput(openRaw(), path, sink, opts);
      },
    };
  }
  return { name: path, run: (sink) => runInput(openRaw(), path, sink, opts) };
}

/**
 * A capture source over bytes already in memory (tests, fuzzing). Same detection and issues as
 * {@link openCapture}; the bytes are fed in `opts.chunkSize` pieces (default 1 MiB) so chunk
 * boundaries can be exercised. Frame.data views into `bytes`.
 */
export function openCaptureBytes(bytes: Uint8Array, name = '<memory>', opts: OpenCaptureOptions = {}): CaptureSource {
  const size = Math.max(1, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, Math.min(bytes.length, o + size));
  }
  return { name, run: (sink) => runInput(chunks(), name, sink, opts) };
}

/**
 * A capture source over a byte stream (stdin, a socket, a Node Readable): any AsyncIterable of byte
 * chunks. Single use: `run` can be called once. Stream errors that are not content problems reject.
 * Always uses the fast readers (`opts.reader` is ignored).
 */
export function openCaptureStream(stream: AsyncIterable<Uint8Array>, name: string, opts: OpenCaptureOptions = {}): CaptureSource {
  return { name, run: (sink) => runInput(stream, name, sink, opts) };
}

/** Reads the decompressed first 4 bytes of a file (for reader selection). Rejects on I/O errors. */
async function sniffFile(path: string): Promise<{ gzip: boolean; magic: Magic }> {
  const fh = await openFile(path, 'r');
  try {
    const buf = new Uint8Array(65536);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    if (detectMagic(head) !== 'gzip') return { gzip: false, magic: detectMagic(head) };
    const it = gunzipChunks({ chunks: [head], length: head.length, done: true }, emptyIter(), null, 65536);
    try {
      const inner = await readAtLeast(it, 4);
      return { gzip: true, magic: detectMagic(headBytes(inner, 4)) };
    } finally {
      await closeIter(it);
    }
  } finally {
    await fh.close();
  }
}

/**
 * A plain file as a byte source: `next()` yields fresh chunks of up to `chunkSize` bytes (magic detection,
 * gunzip), and {@link ReadIntoSource.readInto} reads straight into the reader's work buffer, so an
 * uncompressed capture is read with no allocation per chunk. The file is opened on first use (errors:
 * the OS error, e.g. ENOENT, EACCES, EISDIR) and closed by `return()` or at end of input.
 */
class FileChunks implements AsyncIterableIterator<Uint8Array>, ReadIntoSource {
  private fh: Awaited<ReturnType<typeof openFile>> | undefined;
  private done = false;

  constructor(
    private readonly path: string,
    private readonly chunkSize: number,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async readInto(target: Uint8Array, offset: number, length: number): Promise<number> {
    if (this.done) return 0;
    this.fh ??= await openFile(this.path, 'r');
    const { bytesRead } = await this.fh.read(target, offset, length, null);
    if (bytesRead === 0) await this.close();
    return bytesRead;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    const buf = new Uint8Array(this.chunkSize);
    const n = await this.readInto(buf, 0, buf.length);
    return n === 0 ? { done: true, value: undefined } : { done: false, value: n === buf.length ? buf : buf.subarray(0, n) };
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    await this.close();
    return { done: true, value: undefined };
  }

  private async close(): Promise<void> {
    this.done = true;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}

function openNodeStream(path: string, gzip: boolean, chunkSize: number, onRaw: (n: number) => void): Readable {
  const raw = createReadStream(path, { highWaterMark: chunkSize });
  if (!gzip) return raw;
  return gunzipStream({ chunks: [], length: 0, done: false }, raw[Symbol.asyncIterator](), chunkSize, onRaw);
}

/** zlib output chunk: small enough that a data error loses little (see gunzipChunks), at least 1 KiB. */
function gzipChunk(chunkSize: number): number {
  return Math.max(1024, Math.min(chunkSize, 64 * 1024));
}

async function* emptyIter(): AsyncGenerator<Uint8Array> {}

/**
 * A gunzip Transform fed from `head` + the rest of `raw` by a pump that waits for each write to be
 * processed before the next one, and ends the stream only afterwards. That way the final Z_FINISH
 * flush runs on an empty input: a cut-off stream then fails with Z_BUF_ERROR *after* everything
 * decodable was emitted (Node's zlib drops the output of a write that fails). I/O errors of `raw`
 * destroy the returned stream with that error.
 */
function gunzipStream(head: Head, raw: AsyncIterator<Uint8Array>, chunkSize: number, onCompressed: (n: number) => void): Gunzip {
  const gz = createGunzip({ chunkSize: gzipChunk(chunkSize) });
  // When the consumer stops early (or zlib fails), release the compressed input (closes the file).
  gz.once('close', () => void raw.return?.().catch(() => undefined));
  const write = (c: Uint8Array): Promise<void> =>
    new Promise<void>((res, rej) => {
      onCompressed(c.length);
      gz.write(c, (e) => (e ? rej(e) : res()));
    });
  const pump = async (): Promise<void> => {
    try {
      for (const c of head.chunks) await write(c);
      if (!head.done) {
        for (;;) {
          const r = await raw.next();
          if (r.done === true) break;
          if (gz.destroyed) return;
          await write(r.value);
        }
      }
      gz.end();
    } catch (e) {
      gz.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  };
  void pump();
  return gz;
}

/**
 * Decompresses `head` + the rest of `raw` (concatenated gzip members allowed) as a chunk generator.
 * A zlib error (cut-off stream, bad data, trailing garbage) ends the output after what was emitted
 * and becomes a 'gzip' issue when `ctx` is given; other errors (I/O) are rethrown. A cut-off stream
 * loses nothing; on a data error Node's zlib drops the partly filled output buffer, so up to one
 * zlib chunk (≤ 64 KiB) before the error can be lost.
 */
async function* gunzipChunks(head: Head, raw: AsyncIterator<Uint8Array>, ctx: ReadContext | null, chunkSize: number): AsyncGenerator<Uint8Array> {
  let compressed = 0;
  const gz = gunzipStream(head, raw, chunkSize, (n) => (compressed += n));
  let out = 0;
  try {
    for await (const c of readableChunks(gz)) {
      out += c.length;
      yield c;
    }
  } catch (e) {
    if (!isZlibError(e)) throw e;
    if (ctx !== null) reportGzipError(ctx, e, compressed, out);
  } finally {
    gz.destroy();
  }
}

/** The driver: detect, maybe gunzip and detect again, pick a reader, feed it. */
async function runInput(input: AsyncIterable<Uint8Array>, name: string, sink: FrameSink, opts: OpenCaptureOptions): Promise<CaptureSummary> {
  const ctx = new ReadContext(name, sink);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const raw = input[Symbol.asyncIterator]();
  let src: AsyncIterator<Uint8Array> = raw;
  try {
    let head = await readAtLeast(raw, 4);
    let magic = detectMagic(headBytes(head, 4));
    if (magic === 'gzip') {
      ctx.summary.gzip = true;
      src = gunzipChunks(head, raw, ctx, chunkSize);
      head = await readAtLeast(src, 4);
      magic = detectMagic(headBytes(head, 4));
      if (magic === 'gzip') {
        ctx.issue({
          layer: 'file',
          kind: 'unsupported',
          field: 'magic',
          message: 'gzip inside gzip: decompress the outer layer first',
          offset: 0,
        });
        ctx.summary.incomplete = true;
        return ctx.summary;
      }
    }
    let parser: ChunkParser;
    switch (magic) {
      case 'pcap':
      case 'pcap-ns':
        parser = new PcapReader(ctx);
        break;
      case 'pcapng':
        parser = new PcapngReader(ctx);
        break;
      case 'short':
        ctx.issue({
          layer: 'file',
          kind: 'truncated',
          field: 'magic',
          message:
            head.length === 0
              ? `empty file (0 bytes${ctx.summary.gzip ? ' after gzip decompression' : ''})`
              : `file too short to identify: ${head.length} bytes, a magic number needs 4`,
          offset: 0,
          need: 4,
          have: head.length,
          capture: true,
        });
        ctx.summary.incomplete = true;
        return ctx.summary;
      default:
        ctx.issue({ layer: 'file', kind: 'unsupported', field: 'magic', message: describeMagic(headBytes(head, 4)), offset: 0 });
        ctx.summary.incomplete = true;
        return ctx.summary;
    }
    await feed(parser, head, src, ctx, opts.stats, chunkSize);
    return ctx.summary;
  } finally {
    await closeIter(src);
    if (src !== raw) await closeIter(raw);
  }
}

async function closeIter(it: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    await it.return?.();
  } catch {
    // closing after an error: nothing more to report
  }
}
