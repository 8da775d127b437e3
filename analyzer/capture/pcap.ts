/**
 * Fast classic pcap reader: a DataView record walker for microsecond and nanosecond pcap in both
 * byte orders.
 *
 * Spec: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html
 * (File Header §4, Packet Record §5). All header fields are in the byte order of the writer, told by
 * the magic number: A1B2C3D4 (µs) / A1B23C4D (ns), read as a u32 in either byte order.
 */
import { hex, type ChunkParser, type ReadContext } from './reader-core.js';
import type { Frame } from './types.js';

/** Size of the pcap file header, bytes. */
export const PCAP_FILE_HEADER_LENGTH = 24;
/** Size of a pcap packet record header, bytes. */
export const PCAP_RECORD_HEADER_LENGTH = 16;
/**
 * Largest captured length accepted in a pcap record, bytes (4 × 262144, libpcap's largest snaplen).
 * A larger caplen means the record header is garbage; pcap has no way to resynchronise, so reading stops.
 */
export const PCAP_MAX_CAPLEN = 262144 * 4;

/** pcap magic numbers as u32 values (read in the file's byte order). */
export const PcapMagic = {
  MICRO: 0xa1b2c3d4,
  NANO: 0xa1b23c4d,
  /** Alexey Kuznetzov's "modified" pcap (longer record header); not supported. */
  MODIFIED: 0xa1b2cd34,
} as const;

/** What the 24-byte pcap file header says. Byte order: the file's, per {@link PcapFileHeader.littleEndian}. */
export interface PcapFileHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  /** Snapshot length, bytes (0 = not set). */
  snaplen: number;
  /** LINKTYPE_* (low 16 bits of the LinkType field; the FCS bits are dropped). */
  linkType: number;
}

/**
 * Reads the pcap magic at `bytes[0..4)`.
 * @returns byte order and resolution, or null when it is not a classic pcap magic.
 */
export function pcapMagic(bytes: Uint8Array): { littleEndian: boolean; nanosecond: boolean } | null {
  if (bytes.length < 4) return null;
  const le = ((bytes[0] as number) | ((bytes[1] as number) << 8) | ((bytes[2] as number) << 16) | ((bytes[3] as number) << 24)) >>> 0;
  const be = ((((bytes[0] as number) << 24) | ((bytes[1] as number) << 16) | ((bytes[2] as number) << 8) | (bytes[3] as number)) >>> 0);
  if (le === PcapMagic.MICRO) return { littleEndian: true, nanosecond: false };
  if (be === PcapMagic.MICRO) return { littleEndian: false, nanosecond: false };
  if (le === PcapMagic.NANO) return { littleEndian: true, nanosecond: true };
  if (be === PcapMagic.NANO) return { littleEndian: false, nanosecond: true };
  return null;
}

/**
 * Parses the 24-byte file header at `dv[0..24)` (caller checked length and magic).
 * Errors: none (version problems are reported by the reader as issues).
 */
export function parsePcapFileHeader(dv: DataView): PcapFileHeader {
  const m = pcapMagic(new Uint8Array(dv.buffer, dv.byteOffset, 4));
  const le = m?.littleEndian ?? true;
  return {
    littleEndian: le,
    nanosecond: m?.nanosecond ?? false,
    versionMajor: dv.getUint16(4, le),
    versionMinor: dv.getUint16(6, le),
    snaplen: dv.getUint32(16, le),
    linkType: dv.getUint32(20, le) & 0xffff,
  };
}

/**
 * Record-level checks shared by the fast reader and the pcap-parser wrapper, so both report the same
 * issues. Called only on the slow path (caplen > origlen, or fraction ≥ one second).
 * @returns the normalised timestamp `[tsSec, tsNsec]` (a fraction ≥ 1 s is carried into seconds).
 */
export function pcapRecordAnomalies(
  ctx: ReadContext,
  layer: 'pcap' | 'pcapng',
  frame: number,
  offset: number,
  tsSec: number,
  frac: number,
  nanosecond: boolean,
  caplen: number,
  origlen: number,
): [number, number] {
  if (caplen > origlen) {
    ctx.issue({
      layer,
      kind: 'malformed',
      field: 'caplen',
      message: `captured length ${caplen} exceeds original length ${origlen}`,
      frame,
      offset,
      need: caplen,
      have: origlen,
    });
  }
  const unit = nanosecond ? 1_000_000_000 : 1_000_000;
  if (frac >= unit) {
    ctx.issue({
      layer,
      kind: 'malformed',
      field: nanosecond ? 'ts_nsec' : 'ts_usec',
      message: `timestamp fraction ${frac} is not below ${unit}; carried into seconds`,
      frame,
      offset,
    });
    const carry = Math.floor(frac / unit);
    tsSec += carry;
    frac -= carry * unit;
  }
  return [tsSec, nanosecond ? frac : frac * 1000];
}

/**
 * Streaming classic pcap parser (µs and ns, little- and big-endian), see {@link ChunkParser}.
 * Spec: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html §4 (file header), §5 (packet
 * record: ts_sec u32, ts_usec|ts_nsec u32, caplen u32, origlen u32, in the byte order of the magic).
 * Hot path: one DataView per chunk; per frame only the Frame object and a subarray of the chunk.
 *
 * Issues (layer 'pcap', offsets in the decompressed file): truncated file header / record header /
 * record data at end of input (`capture: true`, reading ends, `incomplete`); caplen above
 * {@link PCAP_MAX_CAPLEN} (malformed, reading stops: pcap cannot resynchronise); caplen > origlen and
 * timestamp fraction ≥ 1 s (malformed, frame still delivered); version other than 2.x (unsupported,
 * reading goes on). A zero snaplen and unknown link types are accepted silently.
 */
export class PcapReader implements ChunkParser {
  need = PCAP_FILE_HEADER_LENGTH;
  stopped = false;
  private header: PcapFileHeader | null = null;

  constructor(private readonly ctx: ReadContext) {}

  parse(buf: Uint8Array, dv: DataView, base: number, eof: boolean): number {
    const ctx = this.ctx;
    const end = buf.length;
    let off = 0;
    let h = this.header;
    if (h === null) {
      if (end < PCAP_FILE_HEADER_LENGTH) {
        if (eof) this.cutOff('file header', base, PCAP_FILE_HEADER_LENGTH, end, undefined);
        return 0;
      }
      h = this.readHeader(dv);
      off = PCAP_FILE_HEADER_LENGTH;
    }
    const le = h.littleEndian;
    const nano = h.nanosecond;
    const mult = nano ? 1 : 1000;
    const fracLimit = nano ? 1_000_000_000 : 1_000_000;
    const linkType = h.linkType;
    const sink = ctx.sink;
    let n = ctx.summary.frames;
    try {
      for (;;) {
        const avail = end - off;
        if (avail < PCAP_RECORD_HEADER_LENGTH) {
          this.need = PCAP_RECORD_HEADER_LENGTH;
          if (eof && avail > 0) this.cutOff('record header', base + off, PCAP_RECORD_HEADER_LENGTH, avail, n + 1);
          break;
        }
        const caplen = dv.getUint32(off + 8, le);
        if (caplen > PCAP_MAX_CAPLEN) {
          pcapHugeCaplen(ctx, n + 1, base + off, caplen);
          this.stop();
          break;
        }
        if (avail - PCAP_RECORD_HEADER_LENGTH < caplen) {
          this.need = PCAP_RECORD_HEADER_LENGTH + caplen;
          if (eof) this.cutOff('packet data', base + off, caplen, avail - PCAP_RECORD_HEADER_LENGTH, n + 1);
          break;
        }
        let tsSec = dv.getUint32(off, le);
        const frac = dv.getUint32(off + 4, le);
        const origlen = dv.getUint32(off + 12, le);
        const start = off + PCAP_RECORD_HEADER_LENGTH;
        n++;
        let tsNsec: number;
        if (caplen <= origlen && frac < fracLimit) {
          tsNsec = frac * mult;
        } else {
          [tsSec, tsNsec] = pcapRecordAnomalies(ctx, 'pcap', n, base + off, tsSec, frac, nano, caplen, origlen);
        }
        const frame: Frame = {
          number: n,
          tsSec,
          tsNsec,
          capturedLength: caplen,
          originalLength: origlen,
          linkType,
          interfaceId: 0,
          data: buf.subarray(start, start + caplen),
          fileOffset: base + off,
        };
        sink.frame(frame);
        off = start + caplen;
      }
    } finally {
      ctx.summary.frames = n;
    }
    return off;
  }

  private readHeader(dv: DataView): PcapFileHeader {
    const h = parsePcapFileHeader(dv);
    this.header = h;
    const s = this.ctx.summary;
    s.format = h.nanosecond ? 'pcap-ns' : 'pcap';
    s.byteOrder = h.littleEndian ? 'little' : 'big';
    s.sections = 1;
    s.interfaces.push({
      id: 0,
      linkType: h.linkType,
      snaplen: h.snaplen,
      tsUnitsPerSecond: h.nanosecond ? 1_000_000_000 : 1_000_000,
      tsOffsetSec: 0,
    });
    if (h.versionMajor !== 2) {
      this.ctx.issue({
        layer: 'pcap',
        kind: 'unsupported',
        field: 'version',
        message: `pcap version ${h.versionMajor}.${h.versionMinor} (expected 2.4); records read as 2.4`,
        offset: 4,
      });
    }
    return h;
  }

  private cutOff(what: string, offset: number, need: number, have: number, frame: number | undefined): void {
    pcapCutOff(this.ctx, what, offset, need, have, frame);
  }

  private stop(): void {
    this.stopped = true;
    this.ctx.summary.incomplete = true;
  }
}

/**
 * Reports a pcap structure cut off by the end of the input (`capture: true`) and marks the run
 * incomplete. `what` is 'file header', 'record header' or 'packet data'; `frame` the cut frame's number.
 */
export function pcapCutOff(ctx: ReadContext, what: string, offset: number, need: number, have: number, frame: number | undefined): void {
  ctx.issue({
    layer: 'pcap',
    kind: 'truncated',
    field: what,
    message:
      frame === undefined
        ? `file ends inside the ${need}-byte pcap ${what} (${have} bytes present)`
        : `file ends inside the ${what} of frame ${frame}: ${have} of ${need} bytes present`,
    ...(frame === undefined ? {} : { frame }),
    offset,
    need,
    have,
    capture: true,
  });
  ctx.summary.incomplete = true;
}

/**
 * Reports a record whose caplen exceeds {@link PCAP_MAX_CAPLEN} (malformed; reading must stop) and
 * marks the run incomplete.
 */
export function pcapHugeCaplen(ctx: ReadContext, frame: number, offset: number, caplen: number): void {
  ctx.issue({
    layer: 'pcap',
    kind: 'malformed',
    field: 'caplen',
    message: `record header of frame ${frame} has captured length ${caplen} (limit ${PCAP_MAX_CAPLEN}); cannot resynchronise, reading stops`,
    frame,
    offset,
    need: caplen,
    have: PCAP_MAX_CAPLEN,
  });
  ctx.summary.incomplete = true;
}

/** Describes an unrecognised 4-byte magic for the 'file' issue message. */
export function describeMagic(bytes: Uint8Array): string {
  const hexs = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const b0 = bytes[0];
  const b1 = bytes[1];
  const b2 = bytes[2];
  const b3 = bytes[3];
  let hint = 'not pcap, pcapng or gzip';
  const le = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) : -1;
  const be = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false) : -1;
  if (le === PcapMagic.MODIFIED || be === PcapMagic.MODIFIED) hint = 'modified (Kuznetzov) pcap, not supported';
  else if (b0 === 0x28 && b1 === 0xb5 && b2 === 0x2f && b3 === 0xfd) hint = 'zstd-compressed; decompress first';
  else if (b0 === 0xfd && b1 === 0x37 && b2 === 0x7a && b3 === 0x58) hint = 'xz-compressed; decompress first';
  else if (b0 === 0x42 && b1 === 0x5a && b2 === 0x68) hint = 'bzip2-compressed; decompress first';
  else if (b0 === 0x50 && b1 === 0x4b && b2 === 0x03 && b3 === 0x04) hint = 'zip archive; extract first';
  return `unknown file format: first 4 bytes ${hexs} (magic ${hex(be)}; ${hint})`;
}
