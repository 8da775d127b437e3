/**
 * Capture file writers: classic pcap ({@link PcapWriter}) and pcapng ({@link PcapngWriter}).
 * Used by tests and benchmarks to build inputs, and by live capture for `-w`.
 *
 * Specs: pcap https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html ;
 * pcapng https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/
 *
 * Output goes either to a file (synchronous writes through a 1 MiB staging buffer) or to memory
 * ({@link PcapWriter.toBuffer}). Writers throw on misuse (write after close, toBuffer on a file
 * writer) and pass file-system errors through; they never validate frame contents, so tests can
 * produce odd but well-framed files (caplen > origlen, unknown link types).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { BlockType, OptionCode, PCAPNG_BYTE_ORDER_MAGIC, tsResolutionUnits } from './pcapng.js';
import { PcapMagic } from './pcap.js';
import { LinkType } from './types.js';

/** What the writers need of a frame (a {@link Frame} qualifies). */
export interface WritableFrame {
  /** Seconds since the Unix epoch (u32 in pcap). */
  tsSec: number;
  /** Nanoseconds within the second; truncated to µs in microsecond files. */
  tsNsec: number;
  /** Captured bytes from the link-layer header on; written whole (no snaplen cut). */
  data: Uint8Array;
  /** Bytes on the wire; default `data.length`. */
  originalLength?: number;
  /** pcapng interface ID (index into the current section's interfaces); default 0. Ignored by pcap. */
  interfaceId?: number;
  /** pcapng opt_comment; ignored by pcap. */
  comment?: string;
}

const STAGE = 1 << 20;
const TWO32 = 4294967296;
const utf8 = new TextEncoder();

/** Buffered byte output to a file descriptor or to memory. */
class ByteOut {
  private stage = Buffer.allocUnsafe(STAGE);
  dv = new DataView(this.stage.buffer, this.stage.byteOffset, STAGE);
  pos = 0;
  private readonly parts: Buffer[] = [];
  private fd: number | null;
  closed = false;
  /** Total bytes written so far (flushed or staged). */
  get size(): number {
    return this.flushed + this.pos;
  }
  private flushed = 0;

  constructor(readonly path: string | undefined) {
    this.fd = path === undefined ? null : openSync(path, 'w');
  }

  /** Makes room for `n` contiguous bytes in the stage (grows it for records larger than 1 MiB). */
  reserve(n: number): void {
    if (this.closed) throw new Error('capture writer: write after close');
    if (this.pos + n <= this.stage.length) return;
    this.flush();
    if (n > this.stage.length) {
      this.stage = Buffer.allocUnsafe(n);
      this.dv = new DataView(this.stage.buffer, this.stage.byteOffset, n);
    }
  }

  bytes(b: Uint8Array): void {
    this.stage.set(b, this.pos);
    this.pos += b.length;
  }

  zeros(n: number): void {
    this.stage.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  flush(): void {
    if (this.pos === 0) return;
    if (this.fd !== null) {
      let o = 0;
      while (o < this.pos) o += writeSync(this.fd, this.stage, o, this.pos - o);
    } else {
      this.parts.push(Buffer.from(this.stage.subarray(0, this.pos)));
    }
    this.flushed += this.pos;
    this.pos = 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  toBuffer(): Buffer {
    if (this.path !== undefined) throw new Error(`capture writer: output went to ${this.path}, not to memory`);
    this.flush();
    return Buffer.concat(this.parts);
  }
}

/** Options of {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** Write file; omitted → in memory, read back with {@link PcapWriter.toBuffer}. */
  path?: string;
  /** Nanosecond pcap (magic a1b23c4d) instead of microsecond (a1b2c3d4). Default false. */
  nanosecond?: boolean;
  /** Big-endian headers. Default false (little-endian, as x86 tcpdump writes). */
  bigEndian?: boolean;
  /** LINKTYPE_* (low 16 bits of the LinkType field). Default 1 (Ethernet). */
  linkType?: number;
  /** Snapshot length in the file header, bytes. Default 262144; 0 is allowed (not set). */
  snaplen?: number;
  /** Version in the file header; default 2.4. */
  versionMajor?: number;
  versionMinor?: number;
}

/**
 * Streaming classic pcap writer: 24-byte file header, then one 16-byte record header + data per
 * {@link write}. Byte order and resolution from the options. Timestamps: `tsSec` as u32, fraction
 * `tsNsec` (ns files) or `floor(tsNsec / 1000)` (µs files).
 */
export class PcapWriter {
  private readonly out: ByteOut;
  private readonly le: boolean;
  private readonly nano: boolean;

  constructor(opts: PcapWriterOptions = {}) {
    this.out = new ByteOut(opts.path);
    this.le = opts.bigEndian !== true;
    this.nano = opts.nanosecond === true;
    const o = this.out;
    o.reserve(24);
    const dv = o.dv;
    const p = o.pos;
    dv.setUint32(p, this.nano ? PcapMagic.NANO : PcapMagic.MICRO, this.le);
    dv.setUint16(p + 4, opts.versionMajor ?? 2, this.le);
    dv.setUint16(p + 6, opts.versionMinor ?? 4, this.le);
    dv.setInt32(p + 8, 0, this.le);
    dv.setUint32(p + 12, 0, this.le);
    dv.setUint32(p + 16, opts.snaplen ?? 262144, this.le);
    dv.setUint32(p + 20, opts.linkType ?? LinkType.ETHERNET, this.le);
    o.pos += 24;
  }

  /** Bytes written so far (header included). */
  get size(): number {
    return this.out.size;
  }

  /** Appends one record. Throws after {@link close}. */
  write(f: WritableFrame): void {
    const o = this.out;
    const n = f.data.length;
    o.reserve(16 + n);
    const dv = o.dv;
    const p = o.pos;
    const le = this.le;
    dv.setUint32(p, f.tsSec, le);
    dv.setUint32(p + 4, this.nano ? f.tsNsec : Math.floor(f.tsNsec / 1000), le);
    dv.setUint32(p + 8, n, le);
    dv.setUint32(p + 12, f.originalLength ?? n, le);
    o.pos += 16;
    o.bytes(f.data);
  }

  /** Flushes and closes the file (no-op for memory output, which stays readable). Idempotent. */
  close(): void {
    this.out.close();
  }

  /** The whole file so far, for in-memory writers. Throws for file writers. */
  toBuffer(): Buffer {
    return this.out.toBuffer();
  }

  /** Convenience: a complete in-memory pcap file holding `frames`. */
  static bytes(frames: Iterable<WritableFrame>, opts: Omit<PcapWriterOptions, 'path'> = {}): Buffer {
    const w = new PcapWriter(opts);
    for (const f of frames) w.write(f);
    w.close();
    return w.toBuffer();
  }
}

/** One pcapng interface (IDB). */
export interface PcapngInterfaceOptions {
  /** LINKTYPE_*, u16. Default 1 (Ethernet). */
  linkType?: number;
  /** Snapshot length, bytes; 0 = not set (default). */
  snaplen?: number;
  /** if_name. */
  name?: string;
  /** if_description. */
  description?: string;
  /**
   * if_tsresol byte: bit 7 clear → 10^-v s, set → 2^-(v & 0x7f) s. Default 6 (µs); the option is
   * written only when given.
   */
  tsresol?: number;
  /** if_tsoffset, seconds (signed 64-bit; timestamps are written relative to it). */
  tsOffsetSec?: number;
  /** opt_comment on the IDB. */
  comment?: string;
}

/** A pcapng section: SHB options and its interfaces. */
export interface PcapngSectionOptions {
  /** Big-endian section. Default false. */
  bigEndian?: boolean;
  /** Interfaces described right after the SHB. Default: one Ethernet interface. */
  interfaces?: PcapngInterfaceOptions[];
  /** shb_comment. */
  comment?: string;
  /** shb_userappl; default "mptcpscope". */
  userAppl?: string;
}

/** Options of {@link PcapngWriter}. */
export interface PcapngWriterOptions extends PcapngSectionOptions {
  /** Write file; omitted → in memory ({@link PcapngWriter.toBuffer}). */
  path?: string;
}

interface IfaceTs {
  units: bigint;
  micro: boolean;
  offset: number;
}

/** pcapng option as (code, value bytes). */
type Opt = [number, Uint8Array];

/**
 * Streaming pcapng writer: SHB + IDBs on construction, an EPB per {@link write}, more sections with
 * {@link startSection}, and raw blocks ({@link writeBlock}, e.g. SPB/OPB/custom) for tests. Every block
 * is 4-byte padded with both total-length copies, in the current section's byte order.
 */
export class PcapngWriter {
  private readonly out: ByteOut;
  private le = true;
  private ifaces: IfaceTs[] = [];

  constructor(opts: PcapngWriterOptions = {}) {
    this.out = new ByteOut(opts.path);
    this.startSection(opts);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.out.size;
  }

  /** Starts a new section (SHB) with its interfaces; interface IDs restart at 0. */
  startSection(opts: PcapngSectionOptions = {}): void {
    this.le = opts.bigEndian !== true;
    this.ifaces = [];
    const body = new Uint8Array(16);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, PCAPNG_BYTE_ORDER_MAGIC, this.le);
    dv.setUint16(4, 1, this.le);
    dv.setUint16(6, 0, this.le);
    dv.setInt32(8, -1, this.le); // section length -1 (unknown)
    dv.setInt32(12, -1, this.le);
    const opts2: Opt[] = [];
    if (opts.comment !== undefined) opts2.push([OptionCode.COMMENT, utf8.encode(opts.comment)]);
    opts2.push([4, utf8.encode(opts.userAppl ?? 'mptcpscope')]);
    this.writeBlock(BlockType.SHB, concat(body, this.options(opts2)));
    for (const i of opts.interfaces ?? [{}]) this.addInterface(i);
  }

  /** Appends an IDB to the current section; returns its interface ID. */
  addInterface(i: PcapngInterfaceOptions = {}): number {
    const body = new Uint8Array(8);
    const dv = new DataView(body.buffer);
    dv.setUint16(0, i.linkType ?? LinkType.ETHERNET, this.le);
    dv.setUint32(4, i.snaplen ?? 0, this.le);
    const o: Opt[] = [];
    if (i.comment !== undefined) o.push([OptionCode.COMMENT, utf8.encode(i.comment)]);
    if (i.name !== undefined) o.push([OptionCode.IF_NAME, utf8.encode(i.name)]);
    if (i.description !== undefined) o.push([OptionCode.IF_DESCRIPTION, utf8.encode(i.description)]);
    if (i.tsresol !== undefined) o.push([OptionCode.IF_TSRESOL, Uint8Array.of(i.tsresol)]);
    if (i.tsOffsetSec !== undefined) {
      const v = new Uint8Array(8);
      const b = BigInt.asUintN(64, BigInt(i.tsOffsetSec));
      new DataView(v.buffer).setBigUint64(0, b, this.le);
      o.push([OptionCode.IF_TSOFFSET, v]);
    }
    this.writeBlock(BlockType.IDB, concat(body, this.options(o)));
    const units = tsResolutionUnits(i.tsresol ?? 6);
    this.ifaces.push({ units, micro: units === 1_000_000n, offset: i.tsOffsetSec ?? 0 });
    return this.ifaces.length - 1;
  }

  /**
   * Appends an Enhanced Packet Block. The timestamp is `(tsSec - if_tsoffset) · units + ⌊tsNsec · units / 10^9⌋`
   * in the interface's if_tsresol units, split into high/low u32. Throws for an undefined interface.
   */
  write(f: WritableFrame): void {
    const id = f.interfaceId ?? 0;
    const iface = this.ifaces[id];
    if (iface === undefined) throw new Error(`PcapngWriter: interface ${id} not defined in this section`);
    let hi: number;
    let lo: number;
    const secs = f.tsSec - iface.offset;
    if (iface.micro && secs >= 0) {
      const t = secs * 1_000_000 + Math.floor(f.tsNsec / 1000);
      hi = Math.floor(t / TWO32);
      lo = t - hi * TWO32;
    } else {
      const t = BigInt.asUintN(64, BigInt(secs) * iface.units + (BigInt(f.tsNsec) * iface.units) / 1_000_000_000n);
      hi = Number(t >> 32n);
      lo = Number(t & 0xffffffffn);
    }
    const n = f.data.length;
    const pad = (4 - (n & 3)) & 3;
    const opt = f.comment !== undefined ? this.options([[OptionCode.COMMENT, utf8.encode(f.comment)]]) : null;
    const len = 32 + n + pad + (opt?.length ?? 0);
    const o = this.out;
    o.reserve(len);
    const dv = o.dv;
    const p = o.pos;
    const le = this.le;
    dv.setUint32(p, BlockType.EPB, le);
    dv.setUint32(p + 4, len, le);
    dv.setUint32(p + 8, id, le);
    dv.setUint32(p + 12, hi, le);
    dv.setUint32(p + 16, lo, le);
    dv.setUint32(p + 20, n, le);
    dv.setUint32(p + 24, f.originalLength ?? n, le);
    o.pos += 28;
    o.bytes(f.data);
    o.zeros(pad);
    if (opt !== null) o.bytes(opt);
    o.dv.setUint32(o.pos, len, le);
    o.pos += 4;
  }

  /**
   * Appends a raw block: type, total length, `body` padded to 4 bytes, total length (current section
   * byte order). For SPB, OPB, NRB, custom or deliberately odd blocks in tests.
   */
  writeBlock(type: number, body: Uint8Array): void {
    const pad = (4 - (body.length & 3)) & 3;
    const len = 12 + body.length + pad;
    const o = this.out;
    o.reserve(len);
    o.dv.setUint32(o.pos, type, this.le);
    o.dv.setUint32(o.pos + 4, len, this.le);
    o.pos += 8;
    o.bytes(body);
    o.zeros(pad);
    o.dv.setUint32(o.pos, len, this.le);
    o.pos += 4;
  }

  /** Encodes options (each padded to 4 bytes) plus opt_endofopt, in the section byte order; empty list → no bytes. */
  options(opts: Opt[]): Uint8Array {
    if (opts.length === 0) return new Uint8Array(0);
    let size = 4;
    for (const [, v] of opts) size += 4 + ((v.length + 3) & ~3);
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    let p = 0;
    for (const [code, v] of opts) {
      dv.setUint16(p, code, this.le);
      dv.setUint16(p + 2, v.length, this.le);
      out.set(v, p + 4);
      p += 4 + ((v.length + 3) & ~3);
    }
    return out; // last 4 bytes stay zero: opt_endofopt
  }

  /** True when the current section is little-endian (for tests that build raw blocks). */
  get littleEndian(): boolean {
    return this.le;
  }

  /** Flushes and closes the file (memory output stays readable). Idempotent. */
  /** Write what is staged to the file now (e.g. when the capture is lost), without closing it. */
  flush(): void {
    this.out.flush();
  }

  close(): void {
    this.out.close();
  }

  /** The whole file so far, for in-memory writers. Throws for file writers. */
  toBuffer(): Buffer {
    return this.out.toBuffer();
  }

  /** Convenience: a complete in-memory pcapng file (one section) holding `frames`. */
  static bytes(frames: Iterable<WritableFrame>, opts: Omit<PcapngWriterOptions, 'path'> = {}): Buffer {
    const w = new PcapngWriter(opts);
    for (const f of frames) w.write(f);
    w.close();
    return w.toBuffer();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
