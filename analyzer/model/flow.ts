/**
 * Per-TCP-conversation state gathered while streaming (one {@link FlowState} per 4-tuple incarnation).
 *
 * This is the "per subflow" tier of Wireshark's three-tier MPTCP state: it keeps only counters and the
 * handful of handshake facts needed to build the connection model later, never per-packet records,
 * so memory grows with the number of flows, not with the number of packets.
 */
import type {
  AddAddrOption,
  MpCapableOption,
  MpJoinOption,
} from '../wire/mptcp/types.js';
import type { TcpSegment } from '../wire/types.js';
import { TcpFlag } from '../wire/types.js';
import type { AddressAnnouncement, AddressRemoval, PriorityChange } from './types.js';

/** Direction of a segment relative to the flow's client (SYN sender). */
export type Dir = 0 | 1; // 0 = client → server, 1 = server → client
export const C2S: Dir = 0;
export const S2C: Dir = 1;

export interface HandshakeStep<T> {
  frame: number;
  /** The MPTCP option of interest on that segment, if any. */
  option?: T;
}

export interface FlowState {
  key: string;
  tcpStream: number;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  roleGuessed: boolean;
  firstFrame: number;
  lastFrame: number;
  start: number;
  end: number;
  packets: [number, number];
  bytes: [number, number];

  /** SYN (no ACK) from the client; the first one seen. */
  syn?: HandshakeStep<MpCapableOption | MpJoinOption>;
  clientIsn?: number;
  /** A later SYN of the same ISN that dropped MP_CAPABLE (MPC-012). */
  synRetransWithoutMpc?: number;
  synAck?: HandshakeStep<MpCapableOption | MpJoinOption>;
  serverIsn?: number;
  /** First non-SYN MP_CAPABLE from the client (third ACK, or ACK + data). */
  mpcAck?: HandshakeStep<MpCapableOption>;
  /** First non-SYN segment from the client (the third ACK, whatever it carries). */
  thirdAck?: HandshakeStep<MpCapableOption | MpJoinOption>;
  /** MP_JOIN ACK (24 bytes). */
  joinAck?: HandshakeStep<MpJoinOption>;
  /** Any non-SYN MP_CAPABLE seen (for captures that start after the SYN). */
  anyMpc?: MpCapableOption;

  /** Per direction: first non-SYN, non-RST segment without any MPTCP option, before any FIN. */
  firstPlain: [number | undefined, number | undefined];
  /** Per direction: last frame that carried an MPTCP option. */
  lastMptcp: [number, number];
  /** Per direction: frame of the first FIN. */
  fin: [number | undefined, number | undefined];
  /** Per direction: frame of the first DATA_FIN. */
  dataFin: [number | undefined, number | undefined];
  rst?: { frame: number; dir: Dir };
  fastClose?: { frame: number; dir: Dir; rst: boolean };
  tcpRst?: { frame: number; dir: Dir; reason: number; flags: number };
  infiniteMapping?: { frame: number; dir: Dir };
  mpFail?: { frame: number; dir: Dir };

  /** Backup requested by each side (MP_JOIN B flag, then MP_PRIO). */
  backup: [boolean, boolean];
  addAddr: AddressAnnouncement[];
  removeAddr: AddressRemoval[];
  prio: PriorityChange[];
  optionCounts: Record<string, number>;
  /** Any MPTCP option seen on this flow. */
  mptcpSeen: boolean;
  /** Version from the first MP_CAPABLE of any form. */
  mpcVersion?: 0 | 1;
  /** Checksum flag (A) in SYN / SYN/ACK MP_CAPABLE. */
  synChecksum?: boolean;
  synAckChecksum?: boolean;
  /** RST, MP_FASTCLOSE or a FIN in both directions seen (set by the tracker when it first sees it). */
  closed: boolean;
  /** Segments whose TCP header/options were cut by the capture (snaplen). */
  optionsCut: number;
  /**
   * ADD_ADDR / REMOVE_ADDR / MP_PRIO records not kept because the flow's list already held
   * {@link MAX_EVENTS_PER_FLOW} (option floods must not grow memory with the number of packets).
   */
  eventsDropped: number;
  /** True when the first SYN's options were cut by the capture: whether it offered MPTCP is unknown. */
  synOptionsCut?: boolean;
  /**
   * Connection-level keys, set on the initial subflow's flow as soon as they are seen (streaming):
   * version, keys, and the tokens/IDSNs derived from them. See {@link ConnectionTracker.connectionRoot}.
   */
  keys?: FlowKeys;
  /** For an MP_JOIN flow: the initial subflow's flow of the connection its token names, once known. */
  root?: FlowState;
  /** On an initial subflow's flow: the MP_JOIN flows linked to it while streaming (their `root` is this flow). */
  joins?: FlowState[];
  /** Set when the tracker released the flow: retired (its connection finished; TrackerOptions.retireAfter) or evicted (maxFlows). */
  retired?: boolean;
}

/** Keys and derived values of an MPTCP connection, as learned while streaming (RFC 8684 §3.1). */
export interface FlowKeys {
  version: 0 | 1;
  clientKey?: bigint;
  serverKey?: bigint;
  clientToken?: number;
  serverToken?: number;
  clientIdsn?: bigint;
  serverIdsn?: bigint;
}

/** Most ADD_ADDR, REMOVE_ADDR and MP_PRIO records kept per flow, each list; the rest are counted in eventsDropped. */
export const MAX_EVENTS_PER_FLOW = 1024;

export function newFlow(
  key: string,
  tcpStream: number,
  seg: TcpSegment,
  clientIsSrc: boolean,
  roleGuessed: boolean,
  time: number,
): FlowState {
  return {
    key,
    tcpStream,
    clientIp: clientIsSrc ? seg.src : seg.dst,
    clientPort: clientIsSrc ? seg.srcPort : seg.dstPort,
    serverIp: clientIsSrc ? seg.dst : seg.src,
    serverPort: clientIsSrc ? seg.dstPort : seg.srcPort,
    roleGuessed,
    firstFrame: seg.frame,
    lastFrame: seg.frame,
    start: time,
    end: time,
    packets: [0, 0],
    bytes: [0, 0],
    firstPlain: [undefined, undefined],
    lastMptcp: [0, 0],
    fin: [undefined, undefined],
    dataFin: [undefined, undefined],
    backup: [false, false],
    addAddr: [],
    removeAddr: [],
    prio: [],
    optionCounts: {},
    mptcpSeen: false,
    closed: false,
    optionsCut: 0,
    eventsDropped: 0,
  };
}

function sideName(dir: Dir): 'client' | 'server' {
  return dir === C2S ? 'client' : 'server';
}

/**
 * Fold one segment into its flow. `dir` is the segment's direction, `time` its timestamp in seconds.
 * Pure bookkeeping: O(number of MPTCP options), no allocation on the DSS-only path.
 */
export function updateFlow(f: FlowState, seg: TcpSegment, dir: Dir, time: number): void {
  f.lastFrame = seg.frame;
  f.end = time;
  f.packets[dir]++;
  f.bytes[dir] += seg.payloadLength;
  if (seg.headerTruncated) f.optionsCut++;
  const flags = seg.flags;
  const syn = (flags & TcpFlag.SYN) !== 0;
  const ack = (flags & TcpFlag.ACK) !== 0;
  const rst = (flags & TcpFlag.RST) !== 0;
  const fin = (flags & TcpFlag.FIN) !== 0;
  const opts = seg.options.mptcp;

  let mpc: MpCapableOption | undefined;
  let join: MpJoinOption | undefined;
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i]!;
    f.optionCounts[o.type] = (f.optionCounts[o.type] ?? 0) + 1;
    switch (o.type) {
      case 'MP_CAPABLE':
        mpc = o;
        if (f.mpcVersion === undefined) f.mpcVersion = o.version === 0 ? 0 : 1;
        break;
      case 'MP_JOIN':
        join = o;
        break;
      case 'DSS':
        if (o.dataFin && f.dataFin[dir] === undefined) f.dataFin[dir] = seg.frame;
        if (o.dataLevelLength === 0 && o.dataSequenceNumber !== undefined && f.infiniteMapping === undefined) {
          f.infiniteMapping = { frame: seg.frame, dir };
        }
        break;
      case 'ADD_ADDR':
        if (f.addAddr.length < MAX_EVENTS_PER_FLOW) f.addAddr.push(addAddrRecord(o, seg.frame, dir));
        else f.eventsDropped++;
        break;
      case 'REMOVE_ADDR':
        if (f.removeAddr.length < MAX_EVENTS_PER_FLOW) f.removeAddr.push({ frame: seg.frame, by: sideName(dir), addressIds: o.addressIds, subflow: -1 });
        else f.eventsDropped++;
        break;
      case 'MP_PRIO': {
        const p: PriorityChange = { frame: seg.frame, by: sideName(dir), backup: o.backup, subflow: -1 };
        if (o.addressId !== undefined) p.addressId = o.addressId;
        if (f.prio.length < MAX_EVENTS_PER_FLOW) f.prio.push(p);
        else f.eventsDropped++;
        // MP_PRIO from a host asks its peer to treat this subflow (the one it arrives on) as backup or not.
        if (o.addressId === undefined) f.backup[dir] = o.backup;
        break;
      }
      case 'MP_FAIL':
        if (f.mpFail === undefined) f.mpFail = { frame: seg.frame, dir };
        break;
      case 'MP_FASTCLOSE':
        if (f.fastClose === undefined) f.fastClose = { frame: seg.frame, dir, rst };
        break;
      case 'MP_TCPRST':
        if (rst && f.tcpRst === undefined) f.tcpRst = { frame: seg.frame, dir, reason: o.reason, flags: o.flags };
        break;
      default:
        break;
    }
  }
  if (opts.length > 0) {
    f.mptcpSeen = true;
    f.lastMptcp[dir] = seg.frame;
  }

  if (syn) {
    if (!ack && dir === C2S) {
      if (f.syn === undefined) {
        f.syn = { frame: seg.frame };
        if (seg.headerTruncated) f.synOptionsCut = true;
        f.clientIsn = seg.seq;
        if (mpc) {
          f.syn.option = mpc;
          f.synChecksum = mpc.checksumRequired;
        } else if (join) {
          f.syn.option = join;
          f.backup[C2S] = join.backup === true;
        }
      } else if (f.syn.option?.type === 'MP_CAPABLE' && !mpc && f.synRetransWithoutMpc === undefined) {
        f.synRetransWithoutMpc = seg.frame;
      }
    } else if (ack && dir === S2C && f.synAck === undefined) {
      f.synAck = { frame: seg.frame };
      f.serverIsn = seg.seq;
      if (mpc) {
        f.synAck.option = mpc;
        f.synAckChecksum = mpc.checksumRequired;
      } else if (join) {
        f.synAck.option = join;
        f.backup[S2C] = join.backup === true;
      }
    }
    return;
  }

  // Non-SYN segment.
  if (mpc) {
    if (f.anyMpc === undefined) f.anyMpc = mpc;
    if (dir === C2S && f.mpcAck === undefined) f.mpcAck = { frame: seg.frame, option: mpc };
  }
  if (join && join.form === 'ack' && dir === C2S && f.joinAck === undefined) {
    f.joinAck = { frame: seg.frame, option: join };
  }
  if (dir === C2S && f.thirdAck === undefined && ack) {
    f.thirdAck = { frame: seg.frame };
    const o = mpc ?? join;
    if (o) f.thirdAck.option = o;
  }
  if (fin && f.fin[dir] === undefined) f.fin[dir] = seg.frame;
  if (rst && f.rst === undefined) f.rst = { frame: seg.frame, dir };
  if (opts.length === 0 && !rst && f.firstPlain[dir] === undefined && f.fin[0] === undefined && f.fin[1] === undefined) {
    f.firstPlain[dir] = seg.frame;
  }
}

function addAddrRecord(o: AddAddrOption, frame: number, dir: Dir): AddressAnnouncement {
  const a: AddressAnnouncement = {
    frame,
    by: sideName(dir),
    addressId: o.addressId,
    address: o.address,
    echo: o.echo,
    subflow: -1,
  };
  if (o.port !== undefined) a.port = o.port;
  if (o.truncatedHmac !== undefined) a.hmac = o.truncatedHmac.toString(16).padStart(16, '0');
  return a;
}

/** What kind of conversation the flow is, from the options seen so far. */
export function flowKind(f: FlowState): 'mp_capable' | 'mp_join' | 'mptcp-unknown' | 'plain' {
  const synOpt = f.syn?.option ?? f.synAck?.option;
  if (synOpt?.type === 'MP_CAPABLE') return 'mp_capable';
  if (synOpt?.type === 'MP_JOIN') return 'mp_join';
  if (f.syn !== undefined) return f.mptcpSeen ? 'mptcp-unknown' : 'plain';
  // SYN not captured.
  if (f.anyMpc !== undefined) return 'mp_capable';
  if (f.joinAck !== undefined) return 'mp_join';
  return f.mptcpSeen ? 'mptcp-unknown' : 'plain';
}
