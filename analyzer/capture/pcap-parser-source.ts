/**
 * A {@link CaptureSource} over the npm package `pcap-parser` (classic microsecond pcap only, either
 * byte order; no nanosecond pcap, no pcapng). Required by the design card; kept for node Readable
 * streams and as the benchmark baseline. The default reader is the faster DataView walker in
 * `pcap.ts`; both produce identical frames and the same issues for µs pcap.
 *
 * Spec: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html
 */
import type { Readable } from 'node:stream';
import pcapParser from 'pcap-parser';
import {
  PCAP_FILE_HEADER_LENGTH,
  PCAP_MAX_CAPLEN,
  PCAP_RECORD_HEADER_LENGTH,
  describeMagic,
  pcapCutOff,
  pcapHugeCaplen,
  pcapRecordAnomalies,
} from './pcap.js';
import { ReadContext, isZlibError, reportGzipError } from './reader-core.js';
import type { CaptureSource, CaptureSummary, FrameSink } from './types.js';

/**
 * Reads a µs pcap stream with `pcap-parser`, one event per record.
 *
 * `open` is called once per {@link run} and must return the (already decompressed) byte stream;
 * set `gzip` when it was decompressed, for the summary. Issues: as {@link PcapReader} (layer 'pcap':
 * cut-off header/record, huge caplen, caplen > origlen, fraction ≥ 1 s), plus 'file' unsupported for
 * a magic pcap-parser does not read and 'gzip' for zlib errors of the stream. Rejects on I/O errors.
 */
export class PcapParserSource implements CaptureSource {
  /**
   * @param name file name for the summary and issues
   * @param open returns the decompressed byte stream (called once per run)
   * @param opts.gzip the stream was gunzipped (summary.gzip); opts.compressedBytes reports compressed
   *   bytes read so far, for gzip issue messages
   */
  constructor(
    readonly name: string,
    private readonly open: () => Readable,
    private readonly opts: { gzip?: boolean; compressedBytes?: () => number } = {},
  ) {}

  run(sink: FrameSink): Promise<CaptureSummary> {
    return new Promise<CaptureSummary>((resolve, reject) => {
      const ctx = new ReadContext(this.name, sink);
      const s = ctx.summary;
      s.gzip = this.opts.gzip === true;
      const stream = this.open();
      let received = 0;
      let head: Uint8Array | null = null;
      stream.on('data', (c: Uint8Array) => {
        if (head === null) head = c.subarray(0, 4);
        received += c.length;
      });
      const parser = pcapParser.parse(stream);
      let finished = false;
      let formatError = false;
      let offset = 0; // file offset of the next record header
      let pending: { caplen: number } | null = null;
      let linkType = 0;

      const finish = (err: unknown): void => {
        if (finished) return;
        finished = true;
        parser.errored = true;
        stream.destroy();
        if (err !== null) reject(err);
        else resolve(s);
      };
      const guard = (fn: () => void): void => {
        if (finished) return;
        try {
          fn();
        } catch (e) {
          finish(e);
        }
      };

      parser.on('globalHeader', (h) =>
        guard(() => {
          linkType = h.linkLayerType & 0xffff;
          s.format = 'pcap';
          s.byteOrder = h.magicNumber === 0xa1b2c3d4 && head !== null && head[0] === 0xd4 ? 'little' : 'big';
          s.sections = 1;
          s.interfaces.push({ id: 0, linkType, snaplen: h.snapshotLength, tsUnitsPerSecond: 1_000_000, tsOffsetSec: 0 });
          if (h.majorVersion !== 2) {
            ctx.issue({
              layer: 'pcap',
              kind: 'unsupported',
              field: 'version',
              message: `pcap version ${h.majorVersion}.${h.minorVersion} (expected 2.4); records read as 2.4`,
              offset: 4,
            });
          }
          offset = PCAP_FILE_HEADER_LENGTH;
          s.bytes = offset;
        }),
      );
      parser.on('packetHeader', (h) =>
        guard(() => {
          pending = { caplen: h.capturedLength };
          if (h.capturedLength > PCAP_MAX_CAPLEN) {
            pcapHugeCaplen(ctx, s.frames + 1, offset, h.capturedLength);
            finish(null);
          }
        }),
      );
      parser.on('packet', (p) =>
        guard(() => {
          const h = p.header;
          const n = s.frames + 1;
          let tsSec = h.timestampSeconds;
          let tsNsec: number;
          if (h.capturedLength <= h.originalLength && h.timestampMicroseconds < 1_000_000) {
            tsNsec = h.timestampMicroseconds * 1000;
          } else {
            [tsSec, tsNsec] = pcapRecordAnomalies(ctx, 'pcap', n, offset, tsSec, h.timestampMicroseconds, false, h.capturedLength, h.originalLength);
          }
          s.frames = n;
          const at = offset;
          offset += PCAP_RECORD_HEADER_LENGTH + h.capturedLength;
          s.bytes = offset;
          pending = null;
          sink.frame({
            number: n,
            tsSec,
            tsNsec,
            capturedLength: h.capturedLength,
            originalLength: h.originalLength,
            linkType,
            interfaceId: 0,
            data: p.data,
            fileOffset: at,
          });
        }),
      );
      parser.on('error', (e) => {
        if (finished) return;
        const code = (e as { code?: unknown }).code;
        if (isZlibError(e)) {
          guard(() => {
            reportGzipError(ctx, e, this.opts.compressedBytes?.() ?? 0, received);
            atEnd();
          });
          finish(null);
        } else if (typeof code === 'string') {
          finish(e); // I/O error (ENOENT, EACCES, EIO, …)
        } else {
          // pcap-parser's own format errors: unknown magic, unsupported version.
          formatError = true;
          guard(() => {
            ctx.issue({
              layer: 'file',
              kind: 'unsupported',
              field: 'magic',
              message: head !== null && head.length >= 4 ? `pcap-parser: ${e.message}; ${describeMagic(head)}` : `pcap-parser: ${e.message}`,
              offset: 0,
            });
            s.incomplete = true;
          });
        }
      });
      const atEnd = (): void => {
        if (formatError) return;
        const have = received - offset;
        if (s.interfaces.length === 0) {
          if (received === 0) {
            ctx.issue({ layer: 'file', kind: 'truncated', field: 'magic', message: 'empty file (0 bytes)', offset: 0, need: 4, have: 0, capture: true });
            s.incomplete = true;
          } else pcapCutOff(ctx, 'file header', 0, PCAP_FILE_HEADER_LENGTH, received, undefined);
        } else if (pending !== null) {
          pcapCutOff(ctx, 'packet data', offset, (pending as { caplen: number }).caplen, have - PCAP_RECORD_HEADER_LENGTH, s.frames + 1);
        } else if (have > 0) {
          pcapCutOff(ctx, 'record header', offset, PCAP_RECORD_HEADER_LENGTH, have, s.frames + 1);
        }
      };
      parser.on('end', () =>
        guard(() => {
          atEnd();
          finish(null);
        }),
      );
    });
  }
}
