/**
 * Streaming pcapng reader.
 *
 * Spec: https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/ (§4 block structure, §4.1 SHB,
 * §4.2 IDB, §4.3 EPB, §4.4 SPB, Appendix: OPB). Every block is `type u32, total length u32, body,
 * total length u32`, 4-byte aligned, in the byte order of its section, told by the SHB's byte-order
 * magic 0x1A2B3C4D. A new SHB starts a new section: byte order and interface list reset.
 */
import { hex, type ChunkParser, type ReadContext } from './reader-core.js';
import type { CaptureInterface, Frame } from './types.js';

/** pcapng block type codes (u32). */
export const BlockType = {
  SHB: 0x0a0d0d0a,
  IDB: 0x00000001,
  /** Obsolete Packet Block. */
  OPB: 0x00000002,
  SPB: 0x00000003,
  NRB: 0x00000004,
  ISB: 0x00000005,
  EPB: 0x00000006,
  SYSTEMD_JOURNAL: 0x00000009,
  DSB: 0x0000000a,
  CUSTOM: 0x00000bad,
  CUSTOM_NOCOPY: 0x40000bad,
} as const;

/** Option codes used by the reader. */
export const OptionCode = {
  END: 0,
  COMMENT: 1,
  IF_NAME: 2,
  IF_DESCRIPTION: 3,
  IF_TSRESOL: 9,
  IF_TSOFFSET: 14,
} as const;

/** The byte-order magic of an SHB, as a u32 in the section's byte order. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Largest block accepted, bytes (16 MiB); a larger total length is treated as a lie. */
export const PCAPNG_MAX_BLOCK_LENGTH = 16 * 1024 * 1024;

const KNOWN_BLOCKS = new Set<number>(Object.values(BlockType));
const MIN_BLOCK = 12;
const TWO32 = 4294967296;
const utf8 = new TextDecoder('utf-8');

/**
 * Units per second for an `if_tsresol` byte: bit 7 clear → 10^v, set → 2^(v & 0x7f).
 * Spec: draft-ietf-opsawg-pcapng §4.2 (if_tsresol). Default when absent: 10^6.
 */
export function tsResolutionUnits(tsresol: number): bigint {
  return tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol & 0x7f);
}

/**
 * Converts 64-bit pcapng timestamps (two u32 halves, in units of 1/unitsPerSecond since the epoch,
 * plus if_tsoffset seconds) into whole seconds and nanoseconds, exactly (nanoseconds truncated when
 * the unit is finer than 1 ns or not a divisor of 10^9).
 *
 * Uses plain doubles when the timestamp fits in 2^53, 16-bit long division otherwise (units ≤ 2^37),
 * and bigint only for very fine resolutions. Results are in {@link TsConverter.sec} and
 * {@link TsConverter.nsec} (no allocation per call).
 */
export class TsConverter {
  /** Result of the last {@link convert}: seconds since the epoch (if_tsoffset applied). */
  sec = 0;
  /** Result of the last {@link convert}: nanoseconds, 0..999 999 999. */
  nsec = 0;
  private readonly u: number;
  private readonly ub: bigint;
  /** 0: 10^9 % u == 0, nsec = rem * mult; 1: u ≤ 2^37 general; 2: bigint throughout. */
  private readonly mode: 0 | 1 | 2;
  private readonly mult: number;

  constructor(
    unitsPerSecond: bigint,
    private readonly offsetSec: number,
  ) {
    this.ub = unitsPerSecond;
    this.u = Number(unitsPerSecond);
    if (unitsPerSecond <= 1_000_000_000n && 1_000_000_000n % unitsPerSecond === 0n) {
      this.mode = 0;
      this.mult = Number(1_000_000_000n / unitsPerSecond);
    } else {
      this.mode = unitsPerSecond <= 1n << 37n ? 1 : 2;
      this.mult = 0;
    }
  }

  /** Converts the timestamp `hi·2^32 + lo` (both u32). */
  convert(hi: number, lo: number): void {
    if (this.mode === 2) {
      const t = (BigInt(hi) << 32n) | BigInt(lo);
      const ub = this.ub;
      this.sec = Number(t / ub) + this.offsetSec;
      this.nsec = Number(((t % ub) * 1_000_000_000n) / ub);
      return;
    }
    const u = this.u;
    let sec: number;
    let rem: number;
    if (hi < 0x200000) {
      const t = hi * TWO32 + lo; // < 2^53: exact, and floor(t / u) is exact
      sec = Math.floor(t / u);
      rem = t - sec * u;
    } else {
      // Long division by 16-bit digits: every intermediate stays below 2^53.
      let cur = hi >>> 16;
      let d = Math.floor(cur / u);
      let q = d;
      let r = cur - d * u;
      cur = r * 65536 + (hi & 0xffff);
      d = Math.floor(cur / u);
      q = q * 65536 + d;
      r = cur - d * u;
      cur = r * 65536 + (lo >>> 16);
      d = Math.floor(cur / u);
      q = q * 65536 + d;
      r = cur - d * u;
      cur = r * 65536 + (lo & 0xffff);
      d = Math.floor(cur / u);
      q = q * 65536 + d;
      r = cur - d * u;
      sec = q;
      rem = r;
    }
    this.sec = sec + this.offsetSec;
    if (this.mode === 0) this.nsec = rem * this.mult;
    else {
      const x = rem * 1_000_000_000;
      this.nsec = x < 9007199254740992 ? Math.floor(x / u) : Number((BigInt(rem) * 1_000_000_000n) / this.ub);
    }
  }
}

interface Iface {
  info: CaptureInterface;
  ts: TsConverter;
}

/**
 * Streaming pcapng parser, see {@link ChunkParser}. Spec: draft-ietf-opsawg-pcapng
 * (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/). Byte order per section (SHB magic);
 * timestamps via {@link TsConverter}. Reads SHB (both byte orders, any number of
 * sections), IDB (link type, snaplen, if_name, if_description, if_tsresol, if_tsoffset), EPB, SPB,
 * OPB; skips every other block by its length. opt_comment on EPB/OPB becomes `Frame.comment`.
 *
 * Issues (layer 'pcapng', offsets in the decompressed file):
 * - block total length not a multiple of 4, below 12, above {@link PCAPNG_MAX_BLOCK_LENGTH}, or its
 *   trailing copy differs → malformed; the reader scans forward (4-byte steps) for the next block
 *   that checks out and reports how many bytes it skipped; if none, reading stops (`incomplete`).
 * - block runs past end of input → truncated, `capture: true`, `incomplete` (a cut file; a lying
 *   length there cannot be told apart, and scanning packet bytes for blocks would invent frames).
 * - SHB with a byte-order magic that is neither order → malformed, reading stops.
 * - EPB/OPB naming an interface the section has not defined, SPB without interface 0, captured length
 *   running past the block → malformed, block skipped.
 * - caplen > origlen → malformed, frame delivered. Bad options → malformed, rest of the options ignored.
 *
 * Frame numbers follow Wireshark: custom blocks and systemd journal blocks use up a number (a gap in
 * `Frame.number`, reported once as 'unsupported'); SPB frames have no timestamp (tsSec = tsNsec = 0).
 */
export class PcapngReader implements ChunkParser {
  need = MIN_BLOCK;
  stopped = false;
  private le = true;
  private section = -1;
  private ifaces: Iface[] = [];
  /** File offset where the current resynchronisation scan started, or -1 when not scanning. */
  private scanFrom = -1;
  /** Last frame number used (Wireshark numbering, see numberedNonPacket). */
  private number = 0;
  private nonPacketReported = false;

  constructor(private readonly ctx: ReadContext) {}

  parse(buf: Uint8Array, dv: DataView, base: number, eof: boolean): number {
    const end = buf.length;
    let off = 0;
    while (!this.stopped) {
      if (this.scanFrom >= 0) {
        off = this.scan(buf, dv, base, off, eof);
        if (this.scanFrom >= 0) break; // still scanning: need more bytes, or gave up
      }
      const avail = end - off;
      if (avail < MIN_BLOCK) {
        this.need = MIN_BLOCK;
        if (eof && avail > 0) {
          this.ctx.issue({
            layer: 'pcapng',
            kind: 'truncated',
            field: 'block header',
            message: `file ends inside a block header: ${avail} of ${MIN_BLOCK} bytes present`,
            offset: base + off,
            need: MIN_BLOCK,
            have: avail,
            capture: true,
          });
          this.ctx.summary.incomplete = true;
        }
        break;
      }
      const type = dv.getUint32(off, this.le);
      let le = this.le;
      if (type === BlockType.SHB) {
        const bom = dv.getUint32(off + 8, true);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else {
          this.ctx.issue({
            layer: 'pcapng',
            kind: 'malformed',
            field: 'byte-order magic',
            message: `section header block ${this.section + 2} has byte-order magic ${hex(dv.getUint32(off + 8, false))} (expected 1a2b3c4d in either byte order); the section cannot be read, reading stops`,
            offset: base + off + 8,
          });
          this.stop();
          break;
        }
      }
      const len = dv.getUint32(off + 4, le);
      if (len < MIN_BLOCK || len % 4 !== 0 || len > PCAPNG_MAX_BLOCK_LENGTH) {
        const why =
          len < MIN_BLOCK ? `below the minimum ${MIN_BLOCK}` : len % 4 !== 0 ? 'not a multiple of 4' : `above the limit ${PCAPNG_MAX_BLOCK_LENGTH}`;
        this.lyingLength(base + off, `block type ${hex(type)} has total length ${len}, ${why}`, len, undefined);
        off += 4;
        continue;
      }
      if (len > avail) {
        if (!eof) {
          this.need = len;
          break;
        }
        // Runs past the end: treated as a cut file. (A lying length here cannot be told from a cut;
        // scanning the remaining bytes could mistake packet payload for blocks, so reading stops.)
        this.ctx.issue({
          layer: 'pcapng',
          kind: 'truncated',
          field: 'block',
          message: `file ends inside block type ${hex(type)}: ${avail} of ${len} bytes present (file cut off, or a wrong block length)`,
          offset: base + off,
          need: len,
          have: avail,
          capture: true,
        });
        this.ctx.summary.incomplete = true;
        break;
      }
      const trailer = dv.getUint32(off + len - 4, le);
      if (trailer !== len) {
        this.lyingLength(base + off, `block type ${hex(type)} total length ${len} differs from its trailing copy ${trailer}`, len, trailer);
        off += 4;
        continue;
      }
      switch (type) {
        case BlockType.EPB:
        case BlockType.OPB:
          this.packetBlock(buf, dv, base, off, len, type === BlockType.EPB);
          break;
        case BlockType.SPB:
          this.simplePacketBlock(buf, dv, base, off, len);
          break;
        case BlockType.IDB:
          this.interfaceBlock(buf, dv, base, off, len);
          break;
        case BlockType.SHB:
          if (!this.sectionHeader(dv, base, off, len, le)) {
            off += 4;
            continue;
          }
          break;
        case BlockType.CUSTOM:
        case BlockType.CUSTOM_NOCOPY:
        case BlockType.SYSTEMD_JOURNAL:
          this.numberedNonPacket(base + off, type);
          break;
        default:
          break; // NRB, ISB, DSB, unknown: skipped by length
      }
      off += len;
    }
    return off;
  }

  /**
   * Wireshark shows custom blocks and systemd journal blocks as records with their own frame number;
   * they are not packets, so they are skipped here but their number is used up, keeping
   * `Frame.number` equal to Wireshark's. Reported once per file (unsupported).
   */
  private numberedNonPacket(offset: number, type: number): void {
    this.number++;
    if (this.nonPacketReported) return;
    this.nonPacketReported = true;
    const what = type === BlockType.SYSTEMD_JOURNAL ? 'systemd journal export block' : 'custom block';
    this.ctx.issue({
      layer: 'pcapng',
      kind: 'unsupported',
      field: 'block type',
      message: `${what} (type ${hex(type)}) is not a packet: frame number ${this.number} skipped, as a gap (Wireshark shows it as a record); later such blocks not reported`,
      frame: this.number,
      offset,
    });
  }

  /** Reports a lying block length and starts a resynchronisation scan at `fileOff + 4`. */
  private lyingLength(fileOff: number, message: string, need: number, have: number | undefined): void {
    this.ctx.issue({
      layer: 'pcapng',
      kind: 'malformed',
      field: 'block total length',
      message: `${message}; scanning for the next valid block`,
      offset: fileOff,
      need,
      ...(have === undefined ? {} : { have }),
    });
    this.scanFrom = fileOff + 4;
  }

  /**
   * Looks for the first plausible block at `from`, `from+4`, …: known type, sane length, matching
   * trailing length (and, for packet blocks, a defined interface).
   * @returns `pos` of the block, or -1 with `wait` = the offset to resume from once `need` more bytes are there
   *   (wait = -1 when `eof` and nothing was found).
   */
  private findBlock(buf: Uint8Array, dv: DataView, from: number, eof: boolean): { pos: number; wait: number; need: number } {
    const end = buf.length;
    for (let p = from; ; p += 4) {
      if (end - p < MIN_BLOCK) return eof ? { pos: -1, wait: -1, need: 0 } : { pos: -1, wait: p, need: MIN_BLOCK };
      const type = dv.getUint32(p, this.le);
      if (!KNOWN_BLOCKS.has(type) || (this.section < 0 && type !== BlockType.SHB)) continue;
      let le = this.le;
      if (type === BlockType.SHB) {
        const bom = dv.getUint32(p + 8, true);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else continue;
      }
      const len = dv.getUint32(p + 4, le);
      if (len < MIN_BLOCK || len % 4 !== 0 || len > PCAPNG_MAX_BLOCK_LENGTH) continue;
      if (!this.plausibleBody(dv, p, len, type, le)) continue;
      if (len > end - p) {
        if (eof) continue;
        return { pos: -1, wait: p, need: len };
      }
      if (dv.getUint32(p + len - 4, le) !== len) continue;
      return { pos: p, wait: -1, need: 0 };
    }
  }

  private plausibleBody(dv: DataView, p: number, len: number, type: number, le: boolean): boolean {
    switch (type) {
      case BlockType.SHB:
        return len >= 28;
      case BlockType.IDB:
        return len >= 20;
      case BlockType.SPB:
        return len >= 16 && this.ifaces.length > 0;
      case BlockType.EPB:
      case BlockType.OPB: {
        if (len < 32) return false;
        const id = type === BlockType.EPB ? dv.getUint32(p + 8, le) : dv.getUint16(p + 8, le);
        return id < this.ifaces.length && dv.getUint32(p + 20, le) <= len - 32;
      }
      default:
        return true;
    }
  }

  /** Continues a resync scan at `off`; returns the offset to go on from. */
  private scan(buf: Uint8Array, dv: DataView, base: number, off: number, eof: boolean): number {
    const r = this.findBlock(buf, dv, off, eof);
    if (r.pos >= 0) {
      this.ctx.issue({
        layer: 'pcapng',
        kind: 'malformed',
        field: 'resync',
        message: `resynchronised at a block of type ${hex(dv.getUint32(r.pos, this.le))} after skipping ${base + r.pos - this.scanFrom + 4} bytes`,
        offset: base + r.pos,
      });
      this.scanFrom = -1;
      return r.pos;
    }
    if (r.wait >= 0) {
      this.need = r.need;
      return r.wait;
    }
    this.ctx.issue({
      layer: 'pcapng',
      kind: 'malformed',
      field: 'resync',
      message: `no valid block found in the ${base + buf.length - this.scanFrom} bytes after offset ${this.scanFrom}; reading stops`,
      offset: this.scanFrom,
    });
    this.stop();
    return buf.length;
  }

  private sectionHeader(dv: DataView, base: number, off: number, len: number, le: boolean): boolean {
    if (len < 28) {
      this.lyingLength(base + off, `section header block total length ${len} is below 28`, 28, len);
      return false;
    }
    const s = this.ctx.summary;
    this.le = le;
    this.section++;
    this.ifaces = [];
    s.sections++;
    if (this.section === 0) {
      s.format = 'pcapng';
      s.byteOrder = le ? 'little' : 'big';
    }
    const major = dv.getUint16(off + 12, le);
    const minor = dv.getUint16(off + 14, le);
    if (major !== 1) {
      this.ctx.issue({
        layer: 'pcapng',
        kind: 'unsupported',
        field: 'version',
        message: `section ${this.section} has pcapng version ${major}.${minor} (expected 1.0); read as 1.0`,
        offset: base + off + 12,
      });
    }
    return true;
  }

  private interfaceBlock(buf: Uint8Array, dv: DataView, base: number, off: number, len: number): void {
    const le = this.le;
    if (len < 20) {
      this.badBlock(base + off, 'IDB', `interface description block of ${len} bytes is shorter than 20`, 20, len);
      return;
    }
    const info: CaptureInterface = {
      id: this.ifaces.length,
      linkType: dv.getUint16(off + 8, le),
      snaplen: dv.getUint32(off + 12, le),
      tsUnitsPerSecond: 1_000_000,
      tsOffsetSec: 0,
      section: this.section,
    };
    let units = 1_000_000n;
    const end = off + len - 4;
    let p = off + 16;
    while (p + 4 <= end) {
      const code = dv.getUint16(p, le);
      const olen = dv.getUint16(p + 2, le);
      if (code === OptionCode.END) break;
      const v = p + 4;
      if (v + olen > end) {
        this.badOption(base + p, code, `IDB option ${code} length ${olen} runs past the options (${end - v} bytes left); remaining options ignored`, olen, end - v, undefined);
        break;
      }
      if (code === OptionCode.IF_NAME) info.name = text(buf, v, olen);
      else if (code === OptionCode.IF_DESCRIPTION) info.description = text(buf, v, olen);
      else if (code === OptionCode.IF_TSRESOL) {
        if (olen !== 1) this.badOption(base + p, code, `if_tsresol has length ${olen}, expected 1; ignored`, 1, olen, undefined);
        else {
          units = tsResolutionUnits(buf[v] as number);
          info.tsUnitsPerSecond = Number(units);
        }
      } else if (code === OptionCode.IF_TSOFFSET) {
        if (olen !== 8) this.badOption(base + p, code, `if_tsoffset has length ${olen}, expected 8; ignored`, 8, olen, undefined);
        else {
          const hi = dv.getInt32(le ? v + 4 : v, le);
          const lo = dv.getUint32(le ? v : v + 4, le);
          info.tsOffsetSec = hi * TWO32 + lo;
        }
      }
      p = v + ((olen + 3) & ~3);
    }
    this.ifaces.push({ info, ts: new TsConverter(units, info.tsOffsetSec) });
    this.ctx.summary.interfaces.push(info);
  }

  private packetBlock(buf: Uint8Array, dv: DataView, base: number, off: number, len: number, epb: boolean): void {
    const le = this.le;
    const name = epb ? 'EPB' : 'OPB';
    if (len < 32) {
      this.badBlock(base + off, name, `${name} of ${len} bytes is shorter than 32`, 32, len);
      return;
    }
    const id = epb ? dv.getUint32(off + 8, le) : dv.getUint16(off + 8, le);
    const iface = this.ifaces[id];
    if (iface === undefined) {
      this.ctx.issue({
        layer: 'pcapng',
        kind: 'malformed',
        field: 'interface id',
        message: `${name} references interface ${id} but section ${this.section} defines ${this.ifaces.length} interface(s); block skipped`,
        offset: base + off + 8,
      });
      return;
    }
    const caplen = dv.getUint32(off + 20, le);
    if (caplen > len - 32) {
      this.badBlock(base + off + 20, 'captured length', `${name} captured length ${caplen} runs past the block (${len - 32} bytes of packet data room)`, caplen, len - 32);
      return;
    }
    const origlen = dv.getUint32(off + 24, le);
    const ts = iface.ts;
    ts.convert(dv.getUint32(off + 12, le), dv.getUint32(off + 16, le));
    const ctx = this.ctx;
    const n = this.number + 1;
    if (caplen > origlen) {
      ctx.issue({
        layer: 'pcapng',
        kind: 'malformed',
        field: 'caplen',
        message: `captured length ${caplen} exceeds original length ${origlen}`,
        frame: n,
        offset: base + off,
        need: caplen,
        have: origlen,
      });
    }
    const start = off + 28;
    const frame: Frame = {
      number: n,
      tsSec: ts.sec,
      tsNsec: ts.nsec,
      capturedLength: caplen,
      originalLength: origlen,
      linkType: iface.info.linkType,
      interfaceId: id,
      data: buf.subarray(start, start + caplen),
      fileOffset: base + off,
      section: this.section,
    };
    const optStart = start + ((caplen + 3) & ~3);
    const optEnd = off + len - 4;
    if (optStart < optEnd) {
      const c = this.comments(buf, dv, base, optStart, optEnd, name, n);
      if (c !== undefined) frame.comment = c;
    }
    this.number = n;
    ctx.summary.frames++;
    ctx.sink.frame(frame);
  }

  private simplePacketBlock(buf: Uint8Array, dv: DataView, base: number, off: number, len: number): void {
    if (len < 16) {
      this.badBlock(base + off, 'SPB', `SPB of ${len} bytes is shorter than 16`, 16, len);
      return;
    }
    const iface = this.ifaces[0];
    if (iface === undefined) {
      this.ctx.issue({
        layer: 'pcapng',
        kind: 'malformed',
        field: 'interface id',
        message: `SPB in section ${this.section}, which defines no interface 0; block skipped`,
        offset: base + off,
      });
      return;
    }
    const origlen = dv.getUint32(off + 8, this.le);
    const snap = iface.info.snaplen;
    let caplen = snap > 0 && origlen > snap ? snap : origlen;
    const room = len - 16;
    const ctx = this.ctx;
    const n = this.number + 1;
    if (caplen > room) {
      ctx.issue({
        layer: 'pcapng',
        kind: 'malformed',
        field: 'SPB length',
        message: `SPB of original length ${origlen} (snaplen ${snap}) should carry ${caplen} bytes but the block has room for ${room}`,
        frame: n,
        offset: base + off,
        need: caplen,
        have: room,
      });
      caplen = room;
    }
    const frame: Frame = {
      number: n,
      tsSec: 0,
      tsNsec: 0,
      capturedLength: caplen,
      originalLength: origlen,
      linkType: iface.info.linkType,
      interfaceId: 0,
      data: buf.subarray(off + 12, off + 12 + caplen),
      fileOffset: base + off,
      section: this.section,
    };
    this.number = n;
    ctx.summary.frames++;
    ctx.sink.frame(frame);
  }

  /** Walks packet-block options, returning the opt_comment values joined with "\n". */
  private comments(buf: Uint8Array, dv: DataView, base: number, p: number, end: number, block: string, frame: number): string | undefined {
    const le = this.le;
    let out: string | undefined;
    while (p + 4 <= end) {
      const code = dv.getUint16(p, le);
      const olen = dv.getUint16(p + 2, le);
      if (code === OptionCode.END) break;
      const v = p + 4;
      if (v + olen > end) {
        this.badOption(base + p, code, `${block} option ${code} length ${olen} runs past the options (${end - v} bytes left); remaining options ignored`, olen, end - v, frame);
        break;
      }
      if (code === OptionCode.COMMENT) {
        const c = text(buf, v, olen);
        out = out === undefined ? c : `${out}\n${c}`;
      }
      p = v + ((olen + 3) & ~3);
    }
    return out;
  }

  private badOption(offset: number, code: number, message: string, need: number, have: number, frame: number | undefined): void {
    this.ctx.issue({
      layer: 'pcapng',
      kind: 'malformed',
      field: `option ${code}`,
      message,
      ...(frame === undefined ? {} : { frame }),
      offset,
      need,
      have,
    });
  }

  private badBlock(offset: number, field: string, message: string, need: number, have: number): void {
    this.ctx.issue({ layer: 'pcapng', kind: 'malformed', field, message: `${message}; block skipped`, offset, need, have });
  }

  private stop(): void {
    this.stopped = true;
    this.ctx.summary.incomplete = true;
  }
}

/** UTF-8 string option value, without trailing NULs (some writers include a terminator). */
function text(buf: Uint8Array, start: number, len: number): string {
  let e = start + len;
  while (e > start && buf[e - 1] === 0) e--;
  return utf8.decode(buf.subarray(start, e));
}
