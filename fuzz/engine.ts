/**
 * Whole-pipeline mutation fuzzer: seeds from the real captures under fixtures/, mutates whole files
 * (headers, pcap records, pcapng blocks, gzip streams) and single frames (link / IP / TCP headers,
 * every MPTCP option subtype located with decodePacket), runs them through analyzeFile /
 * FramePipeline / ConnectionTracker.snapshot and checks the invariants after every run.
 *
 * Invariants ({@link checkAnalysis}):
 * - nothing throws out of analyzeFile, FramePipeline.onFrame or tracker.snapshot();
 * - every frame is accounted for: counts.tcp + ipOther + ipFragments + nonIp + undecodable === frames
 *   (each frame lands in exactly one bucket; an undecodable frame also has an issue naming it);
 * - every issue has a known layer and kind, a non-negative integer offset, and a frame number in
 *   1..frames when it is frame-level (link, ipv4, ipv6, tcp, mptcp);
 * - the analysis serialises to JSON and validates against docs/analyze-json.schema.json (ajv);
 * - errorCount ≥ errors.length and equals the sum of errorGroups counts.
 *
 * Deterministic: everything derives from one 32-bit seed (mulberry32), so a failure replays.
 * Used by fuzz/run.ts (the long job, `npm run fuzz`) and test/fuzz/ (the short in-suite run).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import AjvModule from 'ajv';
import { type CaptureAnalysis, FramePipeline, type SegmentObserver, analyzeFile } from '../analyzer/analyze.js';
import { openCapture, openCaptureBytes } from '../analyzer/capture/open.js';
import type { Frame } from '../analyzer/capture/types.js';
import { PcapngWriter } from '../analyzer/capture/writer.js';
import type { DecodeIssue } from '../analyzer/issue.js';
import { decodePacket } from '../analyzer/wire/packet.js';

/** Repository root (directory holding docs/analyze-json.schema.json), from this file's location. */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'docs', 'analyze-json.schema.json'))) return d;
    d = dirname(d);
  }
  throw new Error('fuzz: repository root (docs/analyze-json.schema.json) not found');
}

/**
 * mulberry32 PRNG: small, fast, deterministic, and (unlike xorshift32) without visible correlation
 * between consecutive outputs, which matters here because a `chance()` draw is followed by a `pick()`.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }
}

/** A seed frame (bytes copied out of the reader). */
export interface SeedFrame {
  data: Uint8Array;
  originalLength: number;
  linkType: number;
  tsSec: number;
  tsNsec: number;
}

/** A seed capture: its first bytes (for file-level mutation) and a window of frames (for frame-level). */
export interface Seed {
  file: string;
  /** Raw file bytes (decompressed when gzip), at most {@link SeedOptions.maxFileBytes}. */
  bytes: Uint8Array;
  gzip: boolean;
  frames: SeedFrame[];
}

export interface SeedOptions {
  /** Frames kept per seed file (MPTCP-bearing frames first). Default 600. */
  maxFrames?: number;
  /** Bytes of each file kept for file-level mutation. Default 64 KiB. */
  maxFileBytes?: number;
}

/**
 * A real copy of `b` as a plain Uint8Array. Frame.data from the readers is a Node Buffer, whose
 * `slice()` returns a view (not a copy), so `data.slice()` does not protect kept bytes.
 */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/** Every capture under `dir` (pcap, pcapng, .gz captures; not sidecars). */
export function findCaptures(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(pcap|pcapng)(\.gz)?$/.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Load seeds from the real captures under `fixturesDir` (regressions included). */
export async function loadSeeds(fixturesDir: string, opts: SeedOptions = {}): Promise<Seed[]> {
  const maxFrames = opts.maxFrames ?? 600;
  const maxFileBytes = opts.maxFileBytes ?? 65536;
  const seeds: Seed[] = [];
  for (const file of findCaptures(fixturesDir)) {
    const raw = readFileSync(file);
    const gzip = raw[0] === 0x1f && raw[1] === 0x8b;
    let bytes: Uint8Array = raw;
    if (gzip) {
      try {
        bytes = gunzipSync(raw);
      } catch {
        bytes = raw;
      }
    }
    // Frames with handshake flags or non-DSS options first (they are rare), then DSS frames, then plain ones.
    const rare: SeedFrame[] = [];
    const dss: SeedFrame[] = [];
    const other: SeedFrame[] = [];
    const scratch: DecodeIssue[] = [];
    let seen = 0;
    await openCapture(file).run({
      frame: (f: Frame) => {
        seen++;
        if (rare.length >= maxFrames && dss.length >= maxFrames) return;
        const d = decodePacket(f, file, scratch);
        scratch.length = 0;
        const sf = (): SeedFrame => ({ data: copyBytes(f.data), originalLength: f.originalLength, linkType: Number(f.linkType), tsSec: f.tsSec, tsNsec: f.tsNsec });
        if (d.kind !== 'tcp') {
          if (other.length < maxFrames / 8) other.push(sf());
          return;
        }
        const seg = d.segment;
        const isRare = (seg.flags & 0x07) !== 0 || seg.options.mptcp.some((o) => o.type !== 'DSS');
        if (isRare && rare.length < maxFrames) rare.push(sf());
        else if (seg.options.mptcp.length > 0 && dss.length < maxFrames) dss.push(sf());
        else if (other.length < maxFrames / 8) other.push(sf());
      },
    });
    if (seen === 0) continue;
    const frames = [...rare, ...dss, ...other].slice(0, maxFrames);
    seeds.push({ file: relative(fixturesDir, file), bytes: copyBytes(bytes.subarray(0, maxFileBytes)), gzip, frames });
  }
  return seeds;
}

// ---------------------------------------------------------------- frame-level mutation

const INTERESTING8 = [0, 1, 2, 3, 4, 0x0f, 0x10, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING16 = [0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff, 20, 40, 60];

/** Offset of the IP header for a frame of this link type, or -1 when unknown. */
export function ipOffset(data: Uint8Array, linkType: number): number {
  switch (linkType) {
    case 1: {
      let o = 12;
      for (let i = 0; i < 4 && o + 2 <= data.length; i++) {
        const et = (data[o]! << 8) | data[o + 1]!;
        if (et === 0x8100 || et === 0x88a8 || et === 0x9100) o += 4;
        else break;
      }
      return o + 2;
    }
    case 113:
      return 16;
    case 276:
      return 20;
    case 0:
    case 108:
      return 4;
    case 12:
    case 14:
    case 101:
    case 228:
    case 229:
      return 0;
    default:
      return -1;
  }
}

/** Field positions worth targeting in a frame, found by decoding it. */
export interface FrameMap {
  ip: number;
  tcp: number;
  /** MPTCP options: offset of the kind byte and the length byte's value. */
  options: Array<{ offset: number; length: number; subtype: number }>;
  /** Offset of the TCP options area and its end. */
  optStart: number;
  optEnd: number;
}

export function mapFrame(f: SeedFrame): FrameMap | undefined {
  const frame: Frame = { number: 1, tsSec: f.tsSec, tsNsec: f.tsNsec, capturedLength: f.data.length, originalLength: f.originalLength, linkType: f.linkType, interfaceId: 0, data: f.data, fileOffset: 0 };
  const issues: DecodeIssue[] = [];
  const d = decodePacket(frame, '<seed>', issues);
  if (d.kind !== 'tcp') return undefined;
  const s = d.segment;
  const tcpStart = s.payloadOffset - s.headerLength;
  return {
    ip: ipOffset(f.data, f.linkType),
    tcp: tcpStart,
    optStart: tcpStart + 20,
    optEnd: s.payloadOffset,
    options: s.options.mptcp.map((o) => ({ offset: o.offset, length: o.length, subtype: (f.data[o.offset + 2] ?? 0) >> 4 })),
  };
}

/** Names of the frame mutators (statistics). */
export const FRAME_MUTATORS = [
  'bitflip',
  'byte',
  'insert',
  'delete',
  'truncate',
  'ip-field',
  'tcp-field',
  'mptcp-length',
  'mptcp-subtype',
  'mptcp-body',
  'mptcp-flood',
  'link-type',
] as const;
export type FrameMutator = (typeof FRAME_MUTATORS)[number];

function splice(data: Uint8Array, at: number, del: number, ins: Uint8Array): Uint8Array {
  const a = Math.max(0, Math.min(at, data.length));
  const d = Math.max(0, Math.min(del, data.length - a));
  const out = new Uint8Array(data.length - d + ins.length);
  out.set(data.subarray(0, a), 0);
  out.set(ins, a);
  out.set(data.subarray(a + d), a + ins.length);
  return out;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/**
 * Mutate one frame in place of a copy. Returns the mutated frame and the mutator used.
 * MPTCP mutators fall back to generic ones when the frame has no MPTCP option.
 */
export function mutateFrame(rng: Rng, f: SeedFrame, counts?: Map<string, number>): { frame: SeedFrame; mutator: FrameMutator } {
  let data: Uint8Array = copyBytes(f.data);
  let linkType = f.linkType;
  let originalLength = f.originalLength;
  let m: FrameMutator = rng.pick(FRAME_MUTATORS);
  const map = m.startsWith('mptcp') || m === 'ip-field' || m === 'tcp-field' ? mapFrame(f) : undefined;
  // A TCP frame without MPTCP options gets a flood of random ones instead (so every MPTCP mutator reaches the option decoders).
  if (m.startsWith('mptcp') && map !== undefined && map.options.length === 0) m = 'mptcp-flood';
  if ((m.startsWith('mptcp') && (map === undefined || (map.options.length === 0 && m !== 'mptcp-flood'))) || ((m === 'ip-field' || m === 'tcp-field') && map === undefined)) {
    m = rng.pick(['bitflip', 'byte', 'truncate'] as const);
  }
  const n = data.length;
  switch (m) {
    case 'bitflip': {
      const k = 1 + rng.int(8);
      for (let i = 0; i < k && n > 0; i++) {
        const p = rng.int(n);
        data[p] = data[p]! ^ (1 << rng.int(8));
      }
      break;
    }
    case 'byte': {
      const k = 1 + rng.int(4);
      for (let i = 0; i < k && n > 0; i++) data[rng.int(n)] = rng.chance(0.5) ? rng.pick(INTERESTING8) : rng.int(256);
      break;
    }
    case 'insert':
      data = splice(data, rng.int(n + 1), 0, randomBytes(rng, 1 + rng.int(16)));
      break;
    case 'delete':
      data = splice(data, rng.int(n + 1), 1 + rng.int(16), new Uint8Array(0));
      break;
    case 'truncate':
      data = data.slice(0, rng.int(n + 1));
      if (rng.chance(0.5)) originalLength = Math.max(originalLength, n);
      break;
    case 'ip-field': {
      const ip = map!.ip;
      if (ip < 0 || ip >= n) break;
      const v4 = (data[ip]! >> 4) === 4;
      const fields = v4 ? [0, 2, 6, 9] : [0, 4, 6];
      const off = ip + rng.pick(fields);
      if (off + 1 >= n) break;
      if (off === ip) data[off] = rng.chance(0.5) ? rng.int(256) : (data[off]! & 0xf0) | rng.int(16);
      else if (off === ip + 9 || (!v4 && off === ip + 6)) data[off] = rng.pick([0, 6, 17, 43, 44, 60, 59, 255, rng.int(256)]);
      else {
        const v = rng.pick(INTERESTING16);
        data[off] = v >> 8;
        data[off + 1] = v & 0xff;
        if (off === ip + 6 && v4) data[off] = rng.pick([0x20, 0x00, 0x3f, 0x40, 0x1f]);
      }
      break;
    }
    case 'tcp-field': {
      const t = map!.tcp;
      const which = rng.int(3);
      if (which === 0 && t + 12 < n) data[t + 12] = (rng.int(16) << 4) | (data[t + 12]! & 0x0f); // data offset
      else if (which === 1 && t + 13 < n) data[t + 13] = rng.int(256); // flags
      else if (map!.optEnd > map!.optStart) {
        // a TCP option length byte somewhere in the options area
        const p = map!.optStart + rng.int(map!.optEnd - map!.optStart);
        if (p < n) data[p] = rng.pick(INTERESTING8);
      }
      break;
    }
    case 'mptcp-length': {
      const o = rng.pick(map!.options);
      if (o.offset + 1 < n) data[o.offset + 1] = rng.pick([0, 1, 2, 3, 4, o.length - 1, o.length + 1, o.length + 4, 255, rng.int(41)]) & 0xff;
      break;
    }
    case 'mptcp-subtype': {
      const o = rng.pick(map!.options);
      if (o.offset + 2 < n) data[o.offset + 2] = (rng.int(16) << 4) | (data[o.offset + 2]! & 0x0f);
      if (rng.chance(0.5) && o.offset + 3 < n) data[o.offset + 3] = rng.int(256);
      break;
    }
    case 'mptcp-body': {
      const o = rng.pick(map!.options);
      for (let i = 2; i < o.length && o.offset + i < n; i++) if (rng.chance(0.3)) data[o.offset + i] = rng.int(256);
      if (rng.chance(0.3)) data = data.slice(0, Math.min(n, o.offset + rng.int(o.length + 1)));
      break;
    }
    case 'mptcp-flood': {
      // Fill the option space with MPTCP options of random subtypes (up to 40 bytes).
      const t = map!.tcp;
      const opts: number[] = [];
      while (opts.length < 40) {
        const len = Math.min(40 - opts.length, rng.pick([3, 4, 8, 12, 16, 20, 24]));
        if (len < 3) break;
        opts.push(30, len, (rng.int(16) << 4) | rng.int(16), ...randomBytes(rng, len - 3));
      }
      const payload = data.subarray(map!.optEnd);
      const head = data.slice(0, t + 20);
      head[t + 12] = (15 << 4) | (head[t + 12]! & 0x0f);
      const out = new Uint8Array(head.length + 40 + payload.length);
      out.set(head, 0);
      out.set(opts, head.length);
      out.set(payload, head.length + 40);
      data = out;
      break;
    }
    case 'link-type':
      linkType = rng.pick([0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147, 65535, rng.int(300)]);
      break;
  }
  counts?.set(m, (counts.get(m) ?? 0) + 1);
  if (originalLength < data.length) originalLength = data.length;
  return { frame: { data, originalLength, linkType, tsSec: f.tsSec, tsNsec: f.tsNsec }, mutator: m };
}

// ---------------------------------------------------------------- file-level mutation

/** Offsets of the length fields of a capture: pcap record caplen/len, pcapng block total lengths. */
export function lengthFields(bytes: Uint8Array): Array<{ offset: number; width: 4; le: boolean }> {
  const out: Array<{ offset: number; width: 4; le: boolean }> = [];
  if (bytes.length < 24) return out;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const m = dv.getUint32(0, true);
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xd4c3b2a1 || m === 0x4d3cb2a1) {
    const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
    out.push({ offset: 16, width: 4, le }, { offset: 20, width: 4, le }); // snaplen, linktype
    let o = 24;
    while (o + 16 <= bytes.length && out.length < 400) {
      out.push({ offset: o + 8, width: 4, le }, { offset: o + 12, width: 4, le });
      const cap = dv.getUint32(o + 8, le);
      if (cap > 1 << 20) break;
      o += 16 + cap;
    }
  } else if (m === 0x0a0d0d0a) {
    let o = 0;
    let le = true;
    while (o + 12 <= bytes.length && out.length < 400) {
      const type = dv.getUint32(o, le);
      if (type === 0x0a0d0d0a) {
        le = dv.getUint32(o + 8, true) === 0x1a2b3c4d;
        out.push({ offset: o + 8, width: 4, le: true }); // byte-order magic
      }
      out.push({ offset: o + 4, width: 4, le });
      const len = dv.getUint32(o + 4, le);
      if (len < 12 || len % 4 !== 0 || len > 1 << 20) break;
      if (o + len <= bytes.length) out.push({ offset: o + len - 4, width: 4, le });
      if (type === 6 && o + 28 <= bytes.length) out.push({ offset: o + 20, width: 4, le }, { offset: o + 24, width: 4, le }, { offset: o + 8, width: 4, le });
      if (type === 1 && o + 16 <= bytes.length) out.push({ offset: o + 8, width: 4, le }, { offset: o + 12, width: 4, le });
      o += len;
    }
  }
  return out;
}

export const FILE_MUTATORS = ['bitflip-header', 'bitflip', 'length-field', 'truncate', 'insert', 'delete', 'byte-order', 'gzip-cut', 'gzip-flip', 'random'] as const;
export type FileMutator = (typeof FILE_MUTATORS)[number];

const INTERESTING32 = [0, 1, 3, 4, 8, 11, 12, 16, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff, 0x00ffffff, 0x01000000, 262144, 262145];

/** Mutate a capture file's bytes. */
export function mutateFile(rng: Rng, seed: Seed): { bytes: Uint8Array; mutator: FileMutator } {
  let b: Uint8Array = copyBytes(seed.bytes);
  const m = rng.pick(FILE_MUTATORS);
  const n = b.length;
  switch (m) {
    case 'bitflip-header':
      for (let i = 0, k = 1 + rng.int(4); i < k && n > 0; i++) {
        const p = rng.int(Math.min(n, 64));
        b[p] = b[p]! ^ (1 << rng.int(8));
      }
      break;
    case 'bitflip':
      for (let i = 0, k = 1 + rng.int(32); i < k && n > 0; i++) {
        const p = rng.int(n);
        b[p] = b[p]! ^ (1 << rng.int(8));
      }
      break;
    case 'length-field': {
      const fields = lengthFields(b);
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0, k = 1 + rng.int(3); i < k && fields.length > 0; i++) {
        const f = rng.pick(fields);
        const old = dv.getUint32(f.offset, f.le);
        const v = rng.chance(0.5) ? rng.pick(INTERESTING32) : (old + rng.pick([-4, -1, 1, 4, 8, 4096])) >>> 0;
        dv.setUint32(f.offset, v >>> 0, f.le);
      }
      break;
    }
    case 'truncate':
      b = b.slice(0, rng.int(n + 1));
      break;
    case 'insert':
      b = splice(b, rng.int(n + 1), 0, randomBytes(rng, 1 + rng.int(64)));
      break;
    case 'delete':
      b = splice(b, rng.int(n + 1), 1 + rng.int(64), new Uint8Array(0));
      break;
    case 'byte-order': {
      // Swap the magic's byte order (pcap) or the SHB byte-order magic (pcapng), leaving the rest.
      if (n >= 4) {
        const swapAt = b[0] === 0x0a && n >= 12 ? 8 : 0;
        b.subarray(swapAt, swapAt + 4).reverse();
      }
      break;
    }
    case 'gzip-cut': {
      const z = gzipSync(b);
      return { bytes: z.slice(0, rng.int(z.length + 1)), mutator: m };
    }
    case 'gzip-flip': {
      const z = Uint8Array.from(gzipSync(b));
      for (let i = 0, k = 1 + rng.int(4); i < k; i++) {
        const p = rng.int(z.length);
        z[p] = z[p]! ^ (1 << rng.int(8));
      }
      return { bytes: z, mutator: m };
    }
    case 'random':
      b = randomBytes(rng, rng.int(256));
      if (rng.chance(0.5) && b.length >= 4) b.set(seed.bytes.subarray(0, 4), 0);
      break;
  }
  return { bytes: b, mutator: m };
}

// ---------------------------------------------------------------- invariants

const LAYERS = new Set(['file', 'gzip', 'pcap', 'pcapng', 'link', 'ipv4', 'ipv6', 'tcp', 'mptcp', 'model']);
const KINDS = new Set(['truncated', 'malformed', 'unsupported', 'limit']);
const FRAME_LAYERS = new Set(['link', 'ipv4', 'ipv6', 'tcp', 'mptcp']);

type Validator = ((v: unknown) => boolean) & { errors?: unknown };
let validator: Validator | undefined;

/** The ajv validator of docs/analyze-json.schema.json (compiled once). */
export function schemaValidator(): Validator {
  if (validator === undefined) {
    const Ajv = (AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule;
    const ajv = new (Ajv as unknown as new (o: object) => { compile(s: unknown): Validator })({ allErrors: false, strict: false });
    const schema: unknown = JSON.parse(readFileSync(join(repoRoot(), 'docs', 'analyze-json.schema.json'), 'utf8'));
    validator = ajv.compile(schema);
  }
  return validator;
}

/** Check one issue; returns a violation message or undefined. */
export function checkIssue(i: DecodeIssue, frames: number): string | undefined {
  if (!LAYERS.has(i.layer)) return `issue layer '${i.layer}' unknown`;
  if (!KINDS.has(i.kind)) return `issue kind '${i.kind}' unknown`;
  if (!Number.isInteger(i.offset) || i.offset < 0) return `issue offset ${i.offset} not a non-negative integer (${i.message})`;
  if (typeof i.message !== 'string' || i.message.length === 0) return 'issue without message';
  if (FRAME_LAYERS.has(i.layer)) {
    if (i.frame === undefined) return `frame-level issue (${i.layer}) without frame: ${i.message}`;
    if (!Number.isInteger(i.frame) || i.frame < 1 || i.frame > frames) return `issue frame ${i.frame} outside 1..${frames}: ${i.message}`;
  }
  return undefined;
}

/** All invariant violations of one analysis (empty when fine). `schema`: also validate the JSON. */
export function checkAnalysis(a: CaptureAnalysis, schema = true): string[] {
  const v: string[] = [];
  const c = a.counts;
  const sum = c.tcp + c.ipOther + c.ipFragments + c.nonIp + c.undecodable;
  if (sum !== a.frames) v.push(`frame accounting: tcp ${c.tcp} + ipOther ${c.ipOther} + ipFragments ${c.ipFragments} + nonIp ${c.nonIp} + undecodable ${c.undecodable} = ${sum} ≠ frames ${a.frames}`);
  if (c.truncatedByCapture > a.frames) v.push('truncatedByCapture > frames');
  if (a.errorCount < a.errors.length) v.push('errorCount < errors.length');
  const g = a.errorGroups.reduce((s, x) => s + x.count, 0);
  if (g !== a.errorCount) v.push(`errorGroups sum ${g} ≠ errorCount ${a.errorCount}`);
  for (const i of a.errors) {
    const bad = checkIssue(i, a.frames);
    if (bad !== undefined) {
      v.push(bad);
      break;
    }
  }
  let json: string;
  try {
    json = JSON.stringify(a);
  } catch (e) {
    v.push(`JSON.stringify threw: ${(e as Error).message}`);
    return v;
  }
  if (schema) {
    const val = schemaValidator();
    if (!val(JSON.parse(json))) v.push(`schema: ${JSON.stringify(val.errors).slice(0, 400)}`);
  }
  return v;
}

// ---------------------------------------------------------------- runs

/** One failure: what was run, what broke, and the input to save. */
export interface Failure {
  kind: 'file' | 'frames';
  seed: string;
  mutator: string;
  message: string;
  /** A capture reproducing it (file bytes, or a pcap of the frame batch up to the failing frame). */
  input: Uint8Array;
}

/** Run analyzeFile on mutated file bytes; returns frames read and any failure. */
export async function runFileCase(rng: Rng, seed: Seed, schema = true): Promise<{ frames: number; failure?: Failure; mutator: FileMutator }> {
  const { bytes, mutator } = mutateFile(rng, seed);
  let a: CaptureAnalysis;
  try {
    a = await analyzeFile(`fuzz:${seed.file}`, { source: openCaptureBytes(bytes, `fuzz:${seed.file}`), maxErrors: 200 });
  } catch (e) {
    return { frames: 0, mutator, failure: { kind: 'file', seed: seed.file, mutator, message: `analyzeFile threw: ${errText(e)}`, input: bytes } };
  }
  const v = checkAnalysis(a, schema);
  if (v.length > 0) return { frames: a.frames, mutator, failure: { kind: 'file', seed: seed.file, mutator, message: v.join('; '), input: bytes } };
  return { frames: a.frames, mutator };
}

function errText(e: unknown): string {
  return e instanceof Error ? `${e.message}\n${e.stack?.split('\n').slice(1, 6).join('\n') ?? ''}` : String(e);
}

/**
 * Feed a batch of the seed's frames, each mutated with probability `rate`, through a FramePipeline
 * (with its tracker limited to `maxFlows`, plus any extra `observers`: timelines, rules), then snapshot
 * and check. `toPcap` builds the repro capture (the frames fed, up to the failing one).
 */
export function runFrameBatch(
  rng: Rng,
  seed: Seed,
  opts: { batch: number; rate: number; maxFlows?: number; schema?: boolean; counts?: Map<string, number>; observers?: SegmentObserver[] },
  toPcap: (frames: SeedFrame[]) => Uint8Array,
): { frames: number; failure?: Failure } {
  const pipe = new FramePipeline(`fuzz:${seed.file}`, 200, opts.maxFlows);
  if (opts.observers !== undefined) pipe.observers.push(...opts.observers);
  const fed: SeedFrame[] = [];
  const start = rng.int(Math.max(1, seed.frames.length));
  let mutator = 'none';
  for (let i = 0; i < opts.batch; i++) {
    const base = seed.frames[(start + i) % seed.frames.length]!;
    let f = base;
    if (rng.chance(opts.rate)) {
      const r = mutateFrame(rng, base, opts.counts);
      f = r.frame;
      mutator = r.mutator;
    }
    fed.push(f);
    const frame: Frame = {
      number: i + 1,
      tsSec: f.tsSec,
      tsNsec: f.tsNsec,
      capturedLength: f.data.length,
      originalLength: f.originalLength,
      linkType: f.linkType,
      interfaceId: 0,
      data: f.data,
      fileOffset: 0,
    };
    try {
      pipe.onFrame(frame);
    } catch (e) {
      return { frames: i + 1, failure: { kind: 'frames', seed: seed.file, mutator, message: `FramePipeline.onFrame threw at frame ${i + 1}: ${errText(e)}`, input: toPcap(fed) } };
    }
  }
  let snap;
  try {
    snap = pipe.tracker.snapshot();
  } catch (e) {
    return { frames: opts.batch, failure: { kind: 'frames', seed: seed.file, mutator, message: `tracker.snapshot threw: ${errText(e)}`, input: toPcap(fed) } };
  }
  const a: CaptureAnalysis = {
    schemaVersion: 1,
    capture: { file: seed.file, format: 'pcap', gzip: false, byteOrder: 'little', linkTypes: [], snaplen: 0, sections: 1, bytes: 0, incomplete: false },
    frames: pipe.frames,
    counts: pipe.counts,
    connections: snap.connections,
    tcpConnections: snap.tcpConnections,
    errors: pipe.issues.list,
    errorCount: pipe.issues.count,
    errorGroups: pipe.issues.groupList(),
    stateLimit: { ...pipe.tracker.evictions },
    retirement: { ...pipe.tracker.retirement },
  };
  const v = checkAnalysis(a, opts.schema ?? true);
  if (v.length > 0) return { frames: opts.batch, failure: { kind: 'frames', seed: seed.file, mutator, message: v.join('; '), input: toPcap(fed) } };
  return { frames: opts.batch };
}

/** Directory of the fixtures (repo root / fixtures). */
export function fixturesDir(): string {
  return resolve(repoRoot(), 'fixtures');
}

/** The frames of a batch as a pcapng (one interface per link type), for a regression fixture. */
export function framesToPcapng(frames: SeedFrame[]): Uint8Array {
  const w = new PcapngWriter({ interfaces: [] });
  const ids = new Map<number, number>();
  for (const f of frames) {
    let id = ids.get(f.linkType);
    if (id === undefined) {
      id = w.addInterface({ linkType: f.linkType & 0xffff, snaplen: 0, tsresol: 9 });
      ids.set(f.linkType, id);
    }
    w.write({ tsSec: f.tsSec, tsNsec: f.tsNsec, data: f.data, originalLength: f.originalLength, interfaceId: id });
  }
  w.close();
  return w.toBuffer();
}
