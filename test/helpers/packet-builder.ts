/**
 * Test-only packet builder: Ethernet (+VLAN tags) / Linux SLL / SLL2 / BSD null / raw IP,
 * IPv4 / IPv6 (+extension headers), TCP with arbitrary option bytes, and an MPTCP option encoder
 * (the inverse of analyzer/wire/mptcp/*, for round-trip tests). Checksums are left 0.
 */
import type { Frame } from '../../analyzer/capture/types.js';
import { LinkType } from '../../analyzer/capture/types.js';
import { parseIpv4, parseIpv6 } from '../../analyzer/wire/address.js';
import type { MptcpOption } from '../../analyzer/wire/mptcp/types.js';

/** Hex (spaces, colons and newlines ignored) → bytes. */
export function fromHex(hex: string): Uint8Array {
  const h = hex.replace(/[\s:]/g, '');
  if (h.length % 2 !== 0) throw new Error(`odd hex length: ${hex}`);
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

/** Bytes → lowercase hex. */
export function toHex(b: ArrayLike<number>): string {
  return Buffer.from(Uint8Array.from(b)).toString('hex');
}

export function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(Uint8Array.from(p), o);
    o += p.length;
  }
  return out;
}

const be16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const be32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const be64 = (v: bigint): number[] => {
  const out: number[] = [];
  for (let i = 7; i >= 0; i--) out.push(Number((BigInt.asUintN(64, v) >> BigInt(i * 8)) & 0xffn));
  return out;
};

export interface TcpSpec {
  srcPort?: number;
  dstPort?: number;
  seq?: number;
  ack?: number;
  /** Flag bits (TcpFlag), NS = 0x100. */
  flags?: number;
  window?: number;
  /** Raw option bytes; padded with EOL (0) to a multiple of 4 unless `noPad`. */
  options?: ArrayLike<number>;
  noPad?: boolean;
  /** Data offset override, in 32-bit words. */
  dataOffset?: number;
  /** Payload bytes, or a count of zero bytes. */
  payload?: ArrayLike<number> | number;
}

/** A TCP segment (header + options + payload). */
export function tcp(s: TcpSpec = {}): Uint8Array {
  const opts = Array.from(s.options ?? []);
  if (!s.noPad) while (opts.length % 4 !== 0) opts.push(0);
  const hl = 20 + opts.length;
  const doff = s.dataOffset ?? Math.ceil(hl / 4);
  const flags = s.flags ?? 0x10;
  const payload = typeof s.payload === 'number' ? new Uint8Array(s.payload) : Uint8Array.from(s.payload ?? []);
  return concat(
    be16(s.srcPort ?? 40000),
    be16(s.dstPort ?? 5201),
    be32(s.seq ?? 1000),
    be32(s.ack ?? 2000),
    [(doff << 4) | ((flags >> 8) & 1), flags & 0xff],
    be16(s.window ?? 512),
    [0, 0, 0, 0],
    opts,
    payload,
  );
}

export interface Ipv4Spec {
  src?: string;
  dst?: string;
  protocol?: number;
  ttl?: number;
  id?: number;
  /** Total length override (e.g. 0 for a TSO super-segment). */
  totalLength?: number;
  /** The 16-bit flags + fragment offset field (MF = 0x2000, DF = 0x4000). */
  fragment?: number;
  /** IPv4 options (padded to 4 bytes). */
  options?: ArrayLike<number>;
  /** Version nibble override. */
  version?: number;
  /** IHL override (words). */
  ihl?: number;
}

export function ipv4(payload: ArrayLike<number>, s: Ipv4Spec = {}): Uint8Array {
  const opts = Array.from(s.options ?? []);
  while (opts.length % 4 !== 0) opts.push(0);
  const hl = 20 + opts.length;
  const total = s.totalLength ?? hl + payload.length;
  return concat(
    [((s.version ?? 4) << 4) | (s.ihl ?? hl / 4), 0],
    be16(total),
    be16(s.id ?? 0x1234),
    be16(s.fragment ?? 0x4000),
    [s.ttl ?? 64, s.protocol ?? 6],
    [0, 0],
    parseIpv4(s.src ?? '10.0.1.1')!,
    parseIpv4(s.dst ?? '10.0.3.1')!,
    opts,
    payload,
  );
}

export interface Ipv6Ext {
  /** Extension header type as it appears in the previous Next Header field (0, 43, 60, 44, 51, …). */
  type: number;
  /** Header bytes after the Next Header byte (the builder writes Next Header). */
  body: ArrayLike<number>;
}

export interface Ipv6Spec {
  src?: string;
  dst?: string;
  nextHeader?: number;
  hopLimit?: number;
  payloadLength?: number;
  ext?: Ipv6Ext[];
}

export function ipv6(payload: ArrayLike<number>, s: Ipv6Spec = {}): Uint8Array {
  const exts = s.ext ?? [];
  const upper = s.nextHeader ?? 6;
  const extBytes: number[] = [];
  for (let i = 0; i < exts.length; i++) {
    const next = i + 1 < exts.length ? exts[i + 1]!.type : upper;
    extBytes.push(next, ...Array.from(exts[i]!.body));
  }
  const first = exts.length > 0 ? exts[0]!.type : upper;
  const plen = s.payloadLength ?? extBytes.length + payload.length;
  return concat([0x60, 0, 0, 0], be16(plen), [first, s.hopLimit ?? 64], parseIpv6(s.src ?? '2001:db8::1')!, parseIpv6(s.dst ?? '2001:db8::2')!, extBytes, payload);
}

/** Ethernet II with optional VLAN tags (each [TPID, TCI]). */
export function ethernet(payload: ArrayLike<number>, etherType: number, tags: Array<[number, number]> = []): Uint8Array {
  const t: number[] = [];
  for (const [tpid, tci] of tags) t.push(...be16(tpid), ...be16(tci));
  return concat([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], t, be16(etherType), payload);
}

/** Linux cooked v1 (16 bytes). */
export function sll(payload: ArrayLike<number>, protocol: number): Uint8Array {
  return concat([0, 0], [0, 1], [0, 6], [2, 0, 0, 0, 0, 1, 0, 0], be16(protocol), payload);
}

/** Linux cooked v2 (20 bytes). */
export function sll2(payload: ArrayLike<number>, protocol: number): Uint8Array {
  return concat(be16(protocol), [0, 0], be32(2), [0, 1], [0], [6], [2, 0, 0, 0, 0, 1, 0, 0], payload);
}

/** BSD null (4-byte family in the given byte order) or OpenBSD loop (big-endian). */
export function nullLink(payload: ArrayLike<number>, family: number, order: 'le' | 'be'): Uint8Array {
  const f = order === 'le' ? [family & 0xff, (family >> 8) & 0xff, 0, 0] : be32(family);
  return concat(f, payload);
}

export interface FrameSpec {
  number?: number;
  /** Wire length; defaults to data.length (not cut). */
  originalLength?: number;
  /** Cut the data to this many bytes, keeping originalLength = the full length. */
  snaplen?: number;
}

/** A Frame around `data` (cut to `snaplen` if given). */
export function makeFrame(data: Uint8Array, linkType: number, s: FrameSpec = {}): Frame {
  const cut = s.snaplen !== undefined && s.snaplen < data.length ? data.slice(0, s.snaplen) : data;
  return {
    number: s.number ?? 1,
    tsSec: 1_700_000_000,
    tsNsec: 0,
    capturedLength: cut.length,
    originalLength: s.originalLength ?? data.length,
    linkType,
    interfaceId: 0,
    data: cut,
    fileOffset: -1,
  };
}

/** Ethernet + IPv4 + TCP frame. */
export function tcp4Frame(t: TcpSpec, ip: Ipv4Spec = {}, f: FrameSpec = {}): Frame {
  return makeFrame(ethernet(ipv4(tcp(t), ip), 0x0800), LinkType.ETHERNET, f);
}

/** Ethernet + IPv6 + TCP frame. */
export function tcp6Frame(t: TcpSpec, ip: Ipv6Spec = {}, f: FrameSpec = {}): Frame {
  return makeFrame(ethernet(ipv6(tcp(t), ip), 0x86dd), LinkType.ETHERNET, f);
}

/**
 * Encode an MPTCP option Repr back to bytes (kind 30 included). The inverse of the decoder for
 * options whose reserved bits are zero.
 */
export function encodeMptcp(o: MptcpOption): Uint8Array {
  const body: number[] = [];
  switch (o.type) {
    case 'MP_CAPABLE':
      body.push(o.version & 0x0f, o.flags);
      if (o.sendersKey !== undefined) body.push(...be64(o.sendersKey));
      if (o.receiversKey !== undefined) body.push(...be64(o.receiversKey));
      if (o.dataLevelLength !== undefined) body.push(...be16(o.dataLevelLength));
      if (o.checksum !== undefined) body.push(...be16(o.checksum));
      break;
    case 'MP_JOIN':
      if (o.form === 'ack') body.push(0x10, 0, ...Array.from(o.hmac ?? new Uint8Array(20)));
      else {
        body.push(0x10 | (o.backup ? 1 : 0), o.addressId ?? 0);
        if (o.form === 'syn') body.push(...be32(o.receiversToken ?? 0), ...be32(o.sendersRandom ?? 0));
        else body.push(...be64(o.truncatedHmac ?? 0n), ...be32(o.sendersRandom ?? 0));
      }
      break;
    case 'DSS':
      body.push(0x20, o.flags);
      if (o.dataAck !== undefined) body.push(...(o.dataAck64 ? be64(o.dataAck) : be32(Number(o.dataAck))));
      if (o.dataSequenceNumber !== undefined) {
        body.push(...(o.dsn64 ? be64(o.dataSequenceNumber) : be32(Number(o.dataSequenceNumber))));
        body.push(...be32(o.subflowSequenceNumber ?? 0), ...be16(o.dataLevelLength ?? 0));
        if (o.checksum !== undefined) body.push(...be16(o.checksum));
      }
      break;
    case 'ADD_ADDR': {
      const addr = o.ipVersion === 6 ? parseIpv6(o.address)! : parseIpv4(o.address)!;
      body.push(0x30 | (o.version === 0 ? o.ipVersion : o.echo ? 1 : 0), o.addressId, ...Array.from(addr));
      if (o.port !== undefined) body.push(...be16(o.port));
      if (o.truncatedHmac !== undefined) body.push(...be64(o.truncatedHmac));
      break;
    }
    case 'REMOVE_ADDR':
      body.push(0x40, ...o.addressIds);
      break;
    case 'MP_PRIO':
      body.push(0x50 | (o.backup ? 1 : 0));
      if (o.addressId !== undefined) body.push(o.addressId);
      break;
    case 'MP_FAIL':
      body.push(0x60, 0, ...be64(o.dataSequenceNumber));
      break;
    case 'MP_FASTCLOSE':
      body.push(0x70, 0, ...be64(o.receiversKey));
      break;
    case 'MP_TCPRST':
      body.push(0x80 | (o.flags & 0x0f), o.reason);
      break;
    case 'MP_EXPERIMENTAL':
    case 'UNKNOWN':
    case 'MALFORMED':
      body.push(...Array.from(o.data));
      break;
  }
  return Uint8Array.from([30, body.length + 2, ...body]);
}
