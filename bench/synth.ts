/**
 * Synthetic large MPTCP captures for the whole-trace benchmark, made by tiling the frames of a real
 * Linux capture (default fixtures/shared-linux/01-basic.client.pcap: one MPTCP v1 connection, two
 * subflows, snaplen 200, Linux cooked v2) and rewriting header fields so that the result stays a
 * coherent MPTCP trace:
 *
 * - `long`: ONE long connection. The template is cut into prefix (up to the last MP_CAPABLE/MP_JOIN
 *   frame), middle (up to the first frame carrying a DATA_FIN) and suffix; the middle is repeated T
 *   times. Copy k of the middle has every subflow sequence number (TCP seq, ack, SACK blocks and the
 *   DSS Subflow Sequence Number) shifted by k × the subflow's advance over the middle, every Data
 *   Sequence Number and Data ACK by k × the connection's data-level advance, and its timestamps by
 *   k × the middle's duration; the suffix follows the last copy.
 * - `many`: C short connections, one after the other. Each is the prefix, with the pure ACKs right after it
 *   (the responder's ACK of an MP_JOIN third ACK: RFC 8684 §3.2), followed by a "tail": the
 *   final mapping of each side that carries the DATA_FIN and every frame after the last payload frame
 *   (DATA_FIN-only mappings, FINs, last ACKs), shifted so that sequence numbers continue where the
 *   prefix stopped. Every connection gets fresh keys (random 64-bit, SHA-256 derived token and IDSN;
 *   RFC 8684 §3.1, §3.2), its MP_JOIN token and HMACs recomputed (RFC 8684 §3.2, nonces reused), its
 *   Data Sequence Numbers / Data ACKs rebased on the new IDSNs, and its own client ports (and, past
 *   64 000 connections, its own client address: second octet of the client's IPv4 addresses).
 *
 * TCP checksums are updated incrementally (RFC 1624) for every changed header field, and IPv4 header
 * checksums recomputed when an address changes, so fully captured frames keep valid checksums. TCP
 * timestamps (TSval/TSecr) are left as in the template. Only IPv4/IPv6 over Ethernet, Linux cooked
 * v1/v2 and raw IP are understood; other frames of the template (ARP) are dropped.
 *
 * Output: classic pcap (µs) written with the project's own {@link PcapWriter}.
 */
import { readFileSync, statSync } from 'node:fs';
import { openCaptureBytes } from '../analyzer/capture/open.js';
import { PcapWriter } from '../analyzer/capture/writer.js';
import { deriveKey, joinAckHmac, joinSynAckHmac } from '../analyzer/crypto/index.js';

/** Traffic shape of a synthetic capture. */
export type Shape = 'long' | 'many';

/** Options of {@link writeSyntheticCapture}. */
export interface SynthOptions {
  /** Output file (classic µs pcap). */
  path: string;
  shape: Shape;
  /** Target frame count; the result is within one template piece of it (see {@link SynthResult.frames}). */
  frames: number;
  /** Template capture; default fixtures/shared-linux/01-basic.client.pcap. */
  template?: string;
  /** `many` only: number of connections (overrides `frames`). */
  connections?: number;
  /** Seed of the key generator (`many`), for reproducible files. Default 1. */
  seed?: number;
}

/** What {@link writeSyntheticCapture} wrote. */
export interface SynthResult {
  path: string;
  shape: Shape;
  /** Frames written (exact). */
  frames: number;
  /** Bytes of the file. */
  bytes: number;
  /** MPTCP connections in the file. */
  connections: number;
  /** Subflows per connection. */
  subflows: number;
  /** Template pieces: prefix, middle, suffix (long) or tail (many) frame counts, and middle copies. */
  pieces: { prefix: number; middle: number; suffix: number; tail: number; copies: number };
}

const M32 = 0x1_0000_0000;
const M64 = 1n << 64n;

/** A field of an MPTCP option to rewrite, at an absolute byte offset in the frame. */
type Patch =
  | { t: 'dsn'; off: number; len: 4 | 8 }
  | { t: 'dack'; off: number; len: 4 | 8 }
  | { t: 'ssn'; off: number }
  | { t: 'key'; off: number; side: 0 | 1 }
  | { t: 'token'; off: number; side: 0 | 1 }
  | { t: 'synackHmac'; off: number; flow: number }
  | { t: 'ackHmac'; off: number; flow: number }
  | { t: 'sack'; off: number; blocks: number };

/** A DSS mapping: DSN relative to the sender's IDSN, relative SSN, Data-Level Length, DATA_FIN flag. */
interface MapInfo {
  relDsn: bigint;
  /** Bytes of the DSN field (0: implicit, MP_CAPABLE with data). */
  dsnLen: number;
  ssn: number;
  dll: number;
  dataFin: boolean;
}

interface TcpInfo {
  ipOff: number;
  v6: boolean;
  tcpOff: number;
  hdrLen: number;
  payload: number;
  syn: boolean;
  fin: boolean;
  ackFlag: boolean;
  seq: number;
  ack: number;
  /** Index of the subflow (order of SYNs) and sender side (0 = the MP_CAPABLE SYN sender, "client"). */
  flow: number;
  side: 0 | 1;
  patches: Patch[];
  /** Mapping carried, if any. */
  map?: MapInfo;
}

interface TplFrame {
  /** ns since the first template frame. */
  t: number;
  data: Uint8Array;
  orig: number;
  tcp: TcpInfo;
}

interface FlowTpl {
  /** Side (0/1) of this flow's SYN sender, and its address:port. */
  synSide: 0 | 1;
  synSender: string;
  /** Initial sequence number of each side. */
  isn: [number, number];
  /** MP_JOIN nonces of the SYN sender (initiator) and of the SYN/ACK sender (responder). */
  initNonce: number;
  respNonce: number;
  join: boolean;
}

interface Template {
  linkType: number;
  snaplen: number;
  frames: TplFrame[];
  flows: FlowTpl[];
  keys: [bigint, bigint];
  idsn: [bigint, bigint];
}

function linkHeader(linkType: number, d: Uint8Array): { off: number; proto: number } | null {
  const u16 = (o: number): number => ((d[o] ?? 0) << 8) | (d[o + 1] ?? 0);
  switch (linkType) {
    case 1:
      return { off: 14, proto: u16(12) };
    case 113:
      return { off: 16, proto: u16(14) };
    case 276:
      return { off: 20, proto: u16(0) };
    case 101:
    case 12:
    case 14:
      return { off: 0, proto: (d[0] ?? 0) >> 4 === 6 ? 0x86dd : 0x0800 };
    default:
      return null;
  }
}

/** Reads and classifies the template capture (one MPTCP connection). Throws when it has none. */
export async function loadTemplate(path: string): Promise<Template> {
  const bytes = readFileSync(path);
  const raw: { t: bigint; data: Uint8Array; orig: number; link: number }[] = [];
  const sum = await openCaptureBytes(bytes, path).run({
    frame(f) {
      raw.push({ t: BigInt(f.tsSec) * 1_000_000_000n + BigInt(f.tsNsec), data: new Uint8Array(f.data), orig: f.originalLength, link: f.linkType });
    },
  });
  const snaplen = sum.interfaces[0]?.snaplen || 262144;
  const linkType = raw[0]?.link ?? 1;
  const t0 = raw[0]?.t ?? 0n;
  const flows: FlowTpl[] = [];
  const flowIdx = new Map<string, number>();
  const frames: TplFrame[] = [];
  const keys: [bigint, bigint] = [0n, 0n];
  for (const r of raw) {
    const d = r.data;
    const lh = linkHeader(r.link, d);
    if (lh === null) continue;
    const dv = new DataView(d.buffer, d.byteOffset, d.length);
    const ipOff = lh.off;
    let v6: boolean;
    let tcpOff: number;
    let ipPayload: number;
    let src: string;
    let dst: string;
    if (lh.proto === 0x0800 && d.length >= ipOff + 20) {
      if (d[ipOff + 9] !== 6) continue;
      v6 = false;
      tcpOff = ipOff + ((d[ipOff] ?? 0) & 15) * 4;
      ipPayload = dv.getUint16(ipOff + 2) - ((d[ipOff] ?? 0) & 15) * 4;
      src = Buffer.from(d.subarray(ipOff + 12, ipOff + 16)).toString('hex');
      dst = Buffer.from(d.subarray(ipOff + 16, ipOff + 20)).toString('hex');
    } else if (lh.proto === 0x86dd && d.length >= ipOff + 40) {
      if (d[ipOff + 6] !== 6) continue; // no extension headers in the templates we use
      v6 = true;
      tcpOff = ipOff + 40;
      ipPayload = dv.getUint16(ipOff + 4);
      src = Buffer.from(d.subarray(ipOff + 8, ipOff + 24)).toString('hex');
      dst = Buffer.from(d.subarray(ipOff + 24, ipOff + 40)).toString('hex');
    } else continue;
    if (tcpOff + 20 > d.length) continue;
    const sport = dv.getUint16(tcpOff);
    const dport = dv.getUint16(tcpOff + 2);
    const hdrLen = ((d[tcpOff + 12] ?? 0) >> 4) * 4;
    const fl = d[tcpOff + 13] ?? 0;
    const syn = (fl & 2) !== 0;
    const synOnly = syn && (fl & 0x10) === 0;
    const a = `${src}:${sport}`;
    const b = `${dst}:${dport}`;
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    const patches: Patch[] = [];
    const capKeys: { off: number; k: bigint; first: boolean }[] = [];
    let mpKind = -1;
    let tokenOff = -1;
    let token = 0;
    let nonce = 0;
    let map: MapInfo | undefined;
    for (let o = tcpOff + 20; o < tcpOff + hdrLen && o + 1 < d.length; ) {
      const kind = d[o] ?? 0;
      if (kind === 0) break;
      if (kind === 1) {
        o++;
        continue;
      }
      const len = d[o + 1] ?? 0;
      if (len < 2 || o + len > d.length) break;
      if (kind === 5) patches.push({ t: 'sack', off: o + 2, blocks: (len - 2) >> 3 });
      if (kind === 30) {
        const sub = (d[o + 2] ?? 0) >> 4;
        if (sub === 0) {
          mpKind = 0;
          if (len >= 12) capKeys.push({ off: o + 4, k: dv.getBigUint64(o + 4), first: true });
          if (len >= 20) capKeys.push({ off: o + 12, k: dv.getBigUint64(o + 12), first: false });
          // v1 MP_CAPABLE with data: mapping at relative DSN 1, relative SSN 1 (RFC 8684 §3.1)
          if (len >= 22) map = { relDsn: 1n, dsnLen: 0, ssn: 1, dll: dv.getUint16(o + 20), dataFin: false };
        } else if (sub === 1) {
          mpKind = 1;
          if (synOnly && len === 12) {
            tokenOff = o + 4;
            token = dv.getUint32(o + 4);
            nonce = dv.getUint32(o + 8);
          } else if (syn && len === 16) {
            patches.push({ t: 'synackHmac', off: o + 4, flow: -1 });
            nonce = dv.getUint32(o + 12);
          } else if (!syn && len === 24) patches.push({ t: 'ackHmac', off: o + 4, flow: -1 });
        } else if (sub === 2) {
          const f = d[o + 3] ?? 0;
          let p = o + 4;
          if (f & 1) {
            const l = f & 2 ? 8 : 4;
            patches.push({ t: 'dack', off: p, len: l });
            p += l;
          }
          if (f & 4) {
            const l = f & 8 ? 8 : 4;
            patches.push({ t: 'dsn', off: p, len: l });
            const dsn = l === 8 ? dv.getBigUint64(p) : BigInt(dv.getUint32(p));
            p += l;
            patches.push({ t: 'ssn', off: p });
            map = { relDsn: dsn, dsnLen: l, ssn: dv.getUint32(p), dll: dv.getUint16(p + 4), dataFin: (f & 0x10) !== 0 };
          }
        }
      }
      o += len;
    }
    let fi = flowIdx.get(key);
    if (fi === undefined) {
      if (!synOnly || mpKind < 0) continue; // not an MPTCP subflow we saw open
      fi = flows.length;
      flowIdx.set(key, fi);
      // The first subflow's SYN sender is side 0; a join SYN carries the token of its receiver.
      let synSide: 0 | 1 = 0;
      if (mpKind === 1 && keys[0] !== 0n && token === deriveKey(keys[0], 1).token) synSide = 1;
      flows.push({ synSide, synSender: a, isn: [0, 0], initNonce: nonce, respNonce: 0, join: mpKind === 1 });
    }
    const flow = flows[fi] as FlowTpl;
    const fromSynSender = flow.synSender === a;
    const side: 0 | 1 = fromSynSender ? flow.synSide : ((1 - flow.synSide) as 0 | 1);
    if (syn) {
      flow.isn[side] = dv.getUint32(tcpOff + 4);
      if (!fromSynSender && nonce !== 0) flow.respNonce = nonce;
    }
    if (tokenOff >= 0) patches.push({ t: 'token', off: tokenOff, side: (1 - side) as 0 | 1 });
    for (const ck of capKeys) {
      // option order: the sender's key, then the receiver's key
      const owner: 0 | 1 = ck.first ? side : ((1 - side) as 0 | 1);
      patches.push({ t: 'key', off: ck.off, side: owner });
      keys[owner] = ck.k;
    }
    for (const p of patches) if (p.t === 'synackHmac' || p.t === 'ackHmac') p.flow = fi;
    frames.push({
      t: Number(r.t - t0),
      data: d,
      orig: r.orig,
      tcp: {
        ipOff,
        v6,
        tcpOff,
        hdrLen,
        payload: Math.max(0, ipPayload - hdrLen),
        syn,
        fin: (fl & 1) !== 0,
        ackFlag: (fl & 0x10) !== 0,
        seq: dv.getUint32(tcpOff + 4),
        ack: dv.getUint32(tcpOff + 8),
        flow: fi,
        side,
        patches,
        ...(map ? { map } : {}),
      },
    });
  }
  if (flows.length === 0 || keys[0] === 0n || keys[1] === 0n) throw new Error(`${path}: no MPTCP connection with both keys in the template`);
  const idsn: [bigint, bigint] = [deriveKey(keys[0], 1).idsn, deriveKey(keys[1], 1).idsn];
  // Relative DSNs: (dsn - IDSN) mod 2^bits; MP_CAPABLE data mappings are already relative (1).
  for (const f of frames) {
    const m = f.tcp.map;
    if (m === undefined || m.dsnLen === 0) continue;
    const i = idsn[f.tcp.side];
    m.relDsn = m.dsnLen === 8 ? (((m.relDsn - i) % M64) + M64) % M64 : BigInt((Number(m.relDsn) - Number(i & 0xffffffffn) + M32) % M32);
  }
  return { linkType, snaplen, frames, flows, keys, idsn };
}

/** Stream position per (flow, side) as offsets relative to the ISN, and per-side data-level next. */
class Positions {
  seq: number[][];
  data: [bigint, bigint] = [1n, 1n];
  constructor(nFlows: number) {
    this.seq = Array.from({ length: nFlows }, () => [0, 0]);
  }
  add(tpl: Template, f: TplFrame): void {
    const c = f.tcp;
    const isn = (tpl.flows[c.flow] as FlowTpl).isn[c.side];
    const rel = (c.seq - isn + M32) % M32;
    const end = rel + c.payload + (c.syn ? 1 : 0) + (c.fin ? 1 : 0);
    const row = this.seq[c.flow] as number[];
    if (end > (row[c.side] ?? 0)) row[c.side] = end;
    if (c.map && c.map.dll > 0) {
      const e = c.map.relDsn + BigInt(c.map.dll);
      if (e > this.data[c.side]) this.data[c.side] = e;
    }
  }
}

/** A shift of subflow and data-level sequence numbers applied to a piece of the template. */
interface Shift {
  seq: number[][];
  data: [bigint, bigint];
}

const ZERO = (n: number): Shift => ({ seq: Array.from({ length: n }, () => [0, 0]), data: [0n, 0n] });

/** Per-connection rewrite: keys, ports, client address, time offset, sequence shifts. */
interface Conn {
  keys: [bigint, bigint];
  idsn: [bigint, bigint];
  token: [number, number];
  synAckHmac: Map<number, bigint>;
  ackHmac: Map<number, Uint8Array>;
  /** New client-side port per flow (undefined: unchanged). */
  ports?: number[];
  /** New second octet of the client's IPv4 addresses (undefined: unchanged). */
  octet?: number;
}

function onesSum(d: Uint8Array, from: number, to: number, acc: number): number {
  for (let i = from; i < to; i += 2) acc += ((d[i] ?? 0) << 8) | (i + 1 < to ? (d[i + 1] ?? 0) : 0);
  return acc;
}

function fold(x: number): number {
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return x;
}

/** Sum of the TCP pseudo-header addresses and the TCP header without its checksum field. */
function tcpHeaderSum(d: Uint8Array, c: TcpInfo): number {
  let s = c.v6 ? onesSum(d, c.ipOff + 8, c.ipOff + 40, 0) : onesSum(d, c.ipOff + 12, c.ipOff + 20, 0);
  s = onesSum(d, c.tcpOff, c.tcpOff + 16, s);
  s = onesSum(d, c.tcpOff + 18, c.tcpOff + c.hdrLen, s);
  return fold(s);
}

function writeU64(dv: DataView, off: number, v: bigint, len: 4 | 8): void {
  if (len === 8) dv.setBigUint64(off, ((v % M64) + M64) % M64);
  else dv.setUint32(off, Number(((v % 0x1_0000_0000n) + 0x1_0000_0000n) % 0x1_0000_0000n));
}

/** Rewrites one template frame into `out` (same length) for connection `conn`, shifted by `sh`. */
function rewrite(tpl: Template, f: TplFrame, out: Uint8Array, conn: Conn | null, sh: Shift): void {
  out.set(f.data);
  const c = f.tcp;
  const dv = new DataView(out.buffer, out.byteOffset, out.length);
  const oldSum = tcpHeaderSum(out, c);
  // client address (IPv4 only) and port
  if (conn?.octet !== undefined && !c.v6) {
    const a = c.side === 0 ? c.ipOff + 12 : c.ipOff + 16;
    out[a + 1] = conn.octet;
    out[c.ipOff + 10] = 0;
    out[c.ipOff + 11] = 0;
    const ck = 0xffff - fold(onesSum(out, c.ipOff, c.ipOff + ((out[c.ipOff] ?? 0) & 15) * 4, 0));
    dv.setUint16(c.ipOff + 10, ck);
  }
  const port = conn?.ports?.[c.flow];
  if (port !== undefined) dv.setUint16(c.side === 0 ? c.tcpOff : c.tcpOff + 2, port);
  const own = (sh.seq[c.flow] as number[])[c.side] ?? 0;
  const peer = (sh.seq[c.flow] as number[])[1 - c.side] ?? 0;
  if (own !== 0) dv.setUint32(c.tcpOff + 4, (c.seq + own) % M32);
  if (peer !== 0 && c.ackFlag) dv.setUint32(c.tcpOff + 8, (c.ack + peer) % M32);
  const idsnOld = tpl.idsn;
  const idsnNew = conn?.idsn ?? tpl.idsn;
  for (const p of c.patches) {
    switch (p.t) {
      case 'sack':
        if (peer !== 0)
          for (let b = 0; b < p.blocks * 2; b++) dv.setUint32(p.off + 4 * b, (dv.getUint32(p.off + 4 * b) + peer) % M32);
        break;
      case 'ssn': {
        const ssn = dv.getUint32(p.off);
        if (ssn !== 0 && own !== 0) dv.setUint32(p.off, (ssn + own) % M32);
        break;
      }
      case 'dsn': {
        const s = c.side;
        const delta = idsnNew[s] - idsnOld[s] + sh.data[s];
        if (delta !== 0n) writeU64(dv, p.off, (p.len === 8 ? dv.getBigUint64(p.off) : BigInt(dv.getUint32(p.off))) + delta, p.len);
        break;
      }
      case 'dack': {
        const s = 1 - c.side;
        const delta = (idsnNew[s] as bigint) - (idsnOld[s] as bigint) + (sh.data[s] as bigint);
        if (delta !== 0n) writeU64(dv, p.off, (p.len === 8 ? dv.getBigUint64(p.off) : BigInt(dv.getUint32(p.off))) + delta, p.len);
        break;
      }
      case 'key':
        if (conn) dv.setBigUint64(p.off, conn.keys[p.side]);
        break;
      case 'token':
        if (conn) dv.setUint32(p.off, conn.token[p.side]);
        break;
      case 'synackHmac':
        if (conn) dv.setBigUint64(p.off, conn.synAckHmac.get(p.flow) ?? 0n);
        break;
      case 'ackHmac':
        if (conn) out.set(conn.ackHmac.get(p.flow) ?? new Uint8Array(20), p.off);
        break;
    }
  }
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), over the sum of all changed words.
  const newSum = tcpHeaderSum(out, c);
  if (newSum !== oldSum) {
    const hc = dv.getUint16(c.tcpOff + 16);
    const x = fold((~hc & 0xffff) + (~oldSum & 0xffff) + newSum);
    dv.setUint16(c.tcpOff + 16, ~x & 0xffff);
  }
}

/** Deterministic 64-bit keys (xorshift on a seed) so that files are reproducible. */
function* keyStream(seed: number): Generator<bigint> {
  let x = BigInt(seed) * 0x9e3779b97f4a7c15n + 0x1234567n;
  for (;;) {
    x ^= (x << 13n) & (M64 - 1n);
    x ^= x >> 7n;
    x ^= (x << 17n) & (M64 - 1n);
    x &= M64 - 1n;
    if (x !== 0n) yield x;
  }
}

function newConn(tpl: Template, ka: bigint, kb: bigint): Conn {
  const da = deriveKey(ka, 1);
  const db = deriveKey(kb, 1);
  const keys: [bigint, bigint] = [ka, kb];
  const conn: Conn = { keys, idsn: [da.idsn, db.idsn], token: [da.token, db.token], synAckHmac: new Map(), ackHmac: new Map() };
  tpl.flows.forEach((f, i) => {
    if (!f.join) return;
    const kI = keys[f.synSide];
    const kR = keys[1 - f.synSide] as bigint;
    conn.synAckHmac.set(i, joinSynAckHmac(kR, kI, f.respNonce, f.initNonce, 1));
    conn.ackHmac.set(i, joinAckHmac(kI, kR, f.initNonce, f.respNonce, 1));
  });
  return conn;
}

/** Index of the first frame after the last MP_CAPABLE / MP_JOIN option (end of the prefix). */
function prefixEnd(tpl: Template): number {
  let last = -1;
  tpl.frames.forEach((f, i) => {
    if (f.tcp.syn || f.tcp.patches.some((p) => p.t === 'key' || p.t === 'token' || p.t === 'synackHmac' || p.t === 'ackHmac')) last = i;
  });
  return last + 1;
}

function positionsAt(tpl: Template, end: number): Positions {
  const p = new Positions(tpl.flows.length);
  for (let i = 0; i < end; i++) p.add(tpl, tpl.frames[i] as TplFrame);
  return p;
}

/**
 * Writes a synthetic capture (see the module comment). Synchronous writes through PcapWriter;
 * memory is the template plus one frame buffer.
 */
export async function writeSyntheticCapture(opts: SynthOptions): Promise<SynthResult> {
  const tpl = await loadTemplate(opts.template ?? new URL('../../fixtures/shared-linux/01-basic.client.pcap', import.meta.url).pathname);
  const F = tpl.frames;
  const nF = tpl.flows.length;
  let pEnd = prefixEnd(tpl);
  let sStart = F.findIndex((f, i) => i >= pEnd && (f.tcp.map?.dataFin === true || f.tcp.fin));
  if (sStart < 0) sStart = F.length;
  const w = new PcapWriter({ path: opts.path, linkType: tpl.linkType, snaplen: tpl.snaplen });
  const buf = new Uint8Array(65536);
  let frames = 0;
  const base = F[0]?.t ?? 0;
  const t0s = 1_700_000_000; // fixed epoch so that files are reproducible
  const emit = (f: TplFrame, conn: Conn | null, sh: Shift, tNs: number): void => {
    const out = buf.subarray(0, f.data.length);
    rewrite(tpl, f, out, conn, sh);
    const t = f.t - base + tNs;
    w.write({ tsSec: t0s + Math.floor(t / 1e9), tsNsec: Math.floor(t % 1e9), data: out, originalLength: f.orig });
    frames++;
  };
  const gapNs = 20_000;
  let pieces: SynthResult['pieces'];
  let connections: number;
  if (opts.shape === 'long') {
    const pa = positionsAt(tpl, pEnd);
    const pb = positionsAt(tpl, sStart);
    const adv: Shift = { seq: pb.seq.map((r, i) => r.map((v, s) => v - ((pa.seq[i] as number[])[s] ?? 0))), data: [pb.data[0] - pa.data[0], pb.data[1] - pa.data[1]] };
    const mid = sStart - pEnd;
    const copies = Math.max(1, Math.ceil((opts.frames - pEnd - (F.length - sStart)) / Math.max(1, mid)));
    const midDur = (F[sStart - 1]?.t ?? 0) - (F[pEnd]?.t ?? 0) + gapNs;
    const zero = ZERO(nF);
    for (let i = 0; i < pEnd; i++) emit(F[i] as TplFrame, null, zero, 0);
    const scaled = (k: number): Shift => ({
      seq: adv.seq.map((r) => r.map((v) => (v * k) % M32)),
      data: [adv.data[0] * BigInt(k), adv.data[1] * BigInt(k)],
    });
    for (let k = 0; k < copies; k++) {
      const sh = scaled(k);
      for (let i = pEnd; i < sStart; i++) emit(F[i] as TplFrame, null, sh, k * midDur);
    }
    const shS = scaled(copies - 1);
    for (let i = sStart; i < F.length; i++) emit(F[i] as TplFrame, null, shS, (copies - 1) * midDur);
    pieces = { prefix: pEnd, middle: mid, suffix: F.length - sStart, tail: 0, copies };
    connections = 1;
  } else {
    // The prefix takes the pure ACKs right after the last handshake frame too: the responder's ACK of an MP_JOIN
    // third ACK (RFC 8684 §3.2: the initiator sends data only after it) comes there; they move no sequence number.
    const pureAck = (f: TplFrame | undefined): boolean => f !== undefined && f.tcp.payload === 0 && !f.tcp.fin && !f.tcp.syn;
    while (pEnd < sStart && pureAck(F[pEnd])) pEnd++;
    // tail: every frame after the last payload frame, plus the frames of each side's DATA_FIN mapping
    let lastPayload = -1;
    F.forEach((f, i) => {
      if (f.tcp.payload > 0) lastPayload = i;
    });
    const finMaps = new Set<string>();
    for (let i = sStart; i <= lastPayload; i++) {
      const m = (F[i] as TplFrame).tcp.map;
      if (m?.dataFin === true && m.dll > 1) finMaps.add(`${(F[i] as TplFrame).tcp.side}:${m.relDsn}`);
    }
    const tail: number[] = [];
    for (let i = sStart; i < F.length; i++) {
      const f = F[i] as TplFrame;
      const m = f.tcp.map;
      if (i > lastPayload || (m !== undefined && finMaps.has(`${f.tcp.side}:${m.relDsn}`) && f.tcp.payload > 0)) tail.push(i);
    }
    const pa = positionsAt(tpl, pEnd);
    // tail start per (flow, side): the lowest subflow offset a tail frame or its mapping refers to
    const start: number[][] = Array.from({ length: nF }, () => [Infinity, Infinity]);
    const dStart: [bigint | null, bigint | null] = [null, null];
    for (const i of tail) {
      const c = (F[i] as TplFrame).tcp;
      const isn = (tpl.flows[c.flow] as FlowTpl).isn[c.side];
      let rel = (c.seq - isn + M32) % M32;
      if (c.map && c.map.ssn !== 0) rel = Math.min(rel, c.map.ssn);
      const row = start[c.flow] as number[];
      row[c.side] = Math.min(row[c.side] ?? Infinity, rel);
      if (c.map) {
        const cur = dStart[c.side];
        if (cur === null || c.map.relDsn < cur) dStart[c.side] = c.map.relDsn;
      }
    }
    const splice: Shift = {
      seq: start.map((r, fi) => r.map((v, s) => (Number.isFinite(v) ? ((pa.seq[fi] as number[])[s] ?? 0) - v + M32 : 0) % M32)),
      data: [dStart[0] === null ? 0n : pa.data[0] - dStart[0], dStart[1] === null ? 0n : pa.data[1] - dStart[1]],
    };
    const zero = ZERO(nF);
    const perConn = pEnd + tail.length;
    connections = opts.connections ?? Math.max(1, Math.round(opts.frames / perConn));
    const tailFirst = F[tail[0] ?? 0]?.t ?? 0;
    // a connection lasts prefix + gap + tail, then 1 ms of silence before the next one
    const tailAt = (F[pEnd - 1]?.t ?? 0) - base + gapNs - (tailFirst - base);
    const connDur = (F[pEnd - 1]?.t ?? 0) - base + gapNs + ((F[F.length - 1]?.t ?? 0) - tailFirst) + 1_000_000;
    const ks = keyStream(opts.seed ?? 1);
    // client ports: flow fi of connection ci uses 1024 + fi*per + (ci mod per); past `per` connections
    // the client's IPv4 addresses change (second octet), so that 4-tuples never repeat
    const per = Math.floor(64000 / nF);
    for (let ci = 0; ci < connections; ci++) {
      const conn = newConn(tpl, ks.next().value as bigint, ks.next().value as bigint);
      conn.ports = tpl.flows.map((_, fi) => 1024 + fi * per + (ci % per));
      const oct = Math.floor(ci / per);
      if (oct > 0) conn.octet = oct % 256;
      const t = ci * connDur;
      for (let i = 0; i < pEnd; i++) emit(F[i] as TplFrame, conn, zero, t);
      for (const i of tail) emit(F[i] as TplFrame, conn, splice, t + tailAt);
    }
    pieces = { prefix: pEnd, middle: sStart - pEnd, suffix: F.length - sStart, tail: tail.length, copies: 0 };
  }
  w.close();
  return { path: opts.path, shape: opts.shape, frames, bytes: statSync(opts.path).size, connections, subflows: nF, pieces };
}
