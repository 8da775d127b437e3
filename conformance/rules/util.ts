/** Small helpers shared by the rule modules. */
import type { Dir, FlowState } from '../../analyzer/model/flow.js';
import type { TcpSegment } from '../../analyzer/wire/types.js';
import { TcpFlag } from '../../analyzer/wire/types.js';

export const isSyn = (s: TcpSegment): boolean => (s.flags & TcpFlag.SYN) !== 0;
export const isAck = (s: TcpSegment): boolean => (s.flags & TcpFlag.ACK) !== 0;
export const isRst = (s: TcpSegment): boolean => (s.flags & TcpFlag.RST) !== 0;
export const isFin = (s: TcpSegment): boolean => (s.flags & TcpFlag.FIN) !== 0;

export const hex64 = (v: bigint): string => `0x${BigInt.asUintN(64, v).toString(16).padStart(16, '0')}`;
export const hex32 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
export const hexBytes = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** ISN of the sender of direction `dir` on `flow`, if its SYN / SYN-ACK was captured. */
export function isnOf(flow: FlowState, dir: Dir): number | undefined {
  return dir === 0 ? flow.clientIsn : flow.serverIsn;
}

/** `seq − isn` modulo 2^32: the relative Subflow Sequence Number of a segment's first byte (RFC 8684 §3.3.1). */
export function relSeq(seq: number, isn: number): number {
  return (seq - isn) >>> 0;
}

/** Side name of a flow direction. */
export const sideOf = (dir: Dir): 'client' | 'server' => (dir === 0 ? 'client' : 'server');

/**
 * Were checksums negotiated for the connection whose initial subflow is `root` (RFC 8684 §3.1: A in the
 * SYN or the SYN/ACK)? undefined when that cannot be told: neither handshake packet captured and no A
 * seen. True as soon as either showed A = 1.
 */
export function checksumNegotiated(root: FlowState | undefined): boolean | undefined {
  if (root === undefined) return undefined;
  if (root.synChecksum === true || root.synAckChecksum === true) return true;
  const syn = root.syn?.option?.type === 'MP_CAPABLE';
  const synAck = root.synAck?.option?.type === 'MP_CAPABLE';
  if (syn && synAck) return false;
  // Third ACK A flag confirms the outcome (RFC 8684 §3.1) when the SYN exchange was not captured.
  const a = root.mpcAck?.option ?? root.anyMpc;
  if (a !== undefined && root.syn === undefined) return a.checksumRequired;
  return undefined;
}

/**
 * Expand a 32-bit sequence value to 64 bits next to `ref` (Linux `__mptcp_expand_seq`, spec §1.14):
 * the value with ref's high 32 bits, ±2^32 whichever is closest to ref.
 */
export function expand32(ref: bigint, low: number): bigint {
  const hi = ref & ~0xffffffffn;
  let v = hi | BigInt(low >>> 0);
  const d = v - ref;
  if (d > 0x80000000n) v -= 0x100000000n;
  else if (d < -0x80000000n) v += 0x100000000n;
  return BigInt.asUintN(64, v);
}

/**
 * Is `f`'s SYN sender the connection's client (the SYN sender of the initial subflow `root`)?
 * For an MP_JOIN flow the SYN's token names the key of the host that received the SYN (RFC 8684 §3.2);
 * without tokens, addresses decide. undefined when nothing tells.
 */
export function initiatorIsClient(f: FlowState, root: FlowState | undefined): boolean | undefined {
  if (root === undefined || f === root) return true;
  const syn = f.syn?.option;
  const k = root.keys;
  if (syn?.type === 'MP_JOIN' && syn.receiversToken !== undefined && k !== undefined) {
    if (k.serverToken === syn.receiversToken) return true;
    if (k.clientToken === syn.receiversToken) return false;
  }
  if (f.clientIp === root.clientIp || f.serverIp === root.serverIp) return true;
  if (f.clientIp === root.serverIp || f.serverIp === root.clientIp) return false;
  return undefined;
}

/** The connection-level host ('client' = initial SYN sender) that sends direction `dir` of `f`. */
export function hostOfDir(f: FlowState, root: FlowState | undefined, dir: Dir): 'client' | 'server' | undefined {
  const c = initiatorIsClient(f, root);
  if (c === undefined) return undefined;
  return (dir === 0) === c ? 'client' : 'server';
}

/**
 * Per-flow state of a rule session. A WeakMap: state lives as long as the tracker keeps the flow, so a
 * flow evicted by the tracker's state limit takes its rule state with it (memory follows live flows).
 */
export class FlowMap<T> {
  private readonly m = new WeakMap<FlowState, T>();
  /** The last flow looked up and its value (perf: segments come in runs of one flow; a WeakMap lookup per rule and segment showed in the profile). */
  private lastF: FlowState | undefined;
  private lastV: T | undefined;
  constructor(private readonly init: () => T) {}
  get(f: FlowState): T {
    if (f === this.lastF && this.lastV !== undefined) return this.lastV;
    let v = this.m.get(f);
    if (v === undefined) {
      v = this.init();
      this.m.set(f, v);
    }
    this.lastF = f;
    this.lastV = v;
    return v;
  }
  peek(f: FlowState): T | undefined {
    if (f === this.lastF && this.lastV !== undefined) return this.lastV;
    return this.m.get(f);
  }
}
