/**
 * Result and event types of the sequence timelines (analyzer/timeline/observer.ts).
 *
 * Units: times in seconds since the epoch (capture timestamps), durations in seconds, sizes in bytes.
 * "Relative" subflow sequence numbers count from the subflow's ISN (first byte = 1, as the DSS
 * Subflow Sequence Number, RFC 8684 §3.3.1). "Relative" DSNs count from the sender's IDSN
 * (first byte = 1, RFC 8684 §3.3.1: the first data byte has DSN IDSN+1) when the keys are known,
 * else from the first DSN or Data ACK seen in that direction (`dsnBase: 'first-seen'`).
 * All relative values are unwrapped (64-bit range, held as JS numbers: exact below 2^53).
 */
import type { Frame } from '../capture/types.js';
import type { FlowState } from '../model/flow.js';
import type { TcpSegment } from '../wire/types.js';

/** Subflow-level state of one direction of one subflow (TCP conversation). */
export interface SubflowDirTimeline {
  /** 0 = from the subflow's client (SYN sender), 1 = from its server. */
  dir: 0 | 1;
  /** Data direction at connection level: 0 = sent by the MPTCP client (the host that sent MP_CAPABLE SYN). */
  dataDir: 0 | 1;
  /** ISN known from the SYN (else inferred from the first DSS mapping, or the first segment). */
  isnSource: 'syn' | 'mapping' | 'first-segment' | 'none';
  packets: number;
  /** TCP payload bytes on the wire (all segments, retransmissions included). */
  bytes: number;
  /** Payload bytes seen for the first time (above the highest sequence number so far, or filling a gap): goodput. */
  newBytes: number;
  dataPackets: number;
  retransmissions: number;
  retransmittedBytes: number;
  /** Retransmissions of data whose first transmission the capture did not show. */
  retransmissionsOriginalUnseen: number;
  /** Highest relative sequence number sent (next byte), and highest relative ACK from the peer. */
  highestSeq: number;
  highestAck: number;
  /** Maximum bytes in flight at the capture point (highestSeq − highestAck). */
  maxInFlight: number;
  /** Sequence gaps: `captureMissed` = acknowledged (cumulative ACK or a SACK block) by the peer though never
   * seen: the receiver got data the capture missed; `retransmitted` = filled later by a retransmission (lost
   * before the capture point, or the capture missed it); `lostBeforeCapture` = of those, the ones the
   * receiver's SACK blocks had gone past without covering (it lacked them: lost between the sender and
   * the capture point); `open` = never filled by the end of the capture. A TCP sender does not skip sequence
   * numbers, so a gap is never "data the sender did not send". */
  holes: { captureMissed: number; retransmitted: number; open: number; bytesCaptureMissed: number; lostBeforeCapture: number };
  /** Retransmissions of data the capture saw while the receiver's SACK blocks reached beyond it without
   * covering it: the original was lost between the capture point and the receiver. */
  retransmissionsLostAfterCapture: number;
  /** D-SACK blocks (RFC 2883: duplicate data received — a spurious retransmission or a network duplicate). */
  dsacks: number;
  rtt: RttSummary;
  /** RTT from TCP timestamps (TSval echoed in TSecr, RFC 7323 §4), where present. */
  rttTimestamps: RttSummary;
  /** Last receive window advertised by the receiver of this direction (scaled when the scale is known), bytes. */
  lastWindow?: number;
  sackBlocks: number;
  /** Segments carrying SACK blocks (sent by the receiver of this direction). */
  sackSegments: number;
  firstDataTime?: number;
  lastDataTime?: number;
  /** Last time the peer's ACK advanced over this direction's data. */
  lastAckAdvanceTime?: number;
  /** Goodput / throughput bins (see TimelineOptions.interval): [binStartTime, bytes on wire, new bytes]. */
  bins: Array<[number, number, number]>;
}

export interface RttSummary {
  samples: number;
  min?: number;
  median?: number;
  p95?: number;
  max?: number;
  /** RFC 6298 SRTT and RTO at the end (RTO floor 200 ms as Linux). */
  srtt?: number;
  rto?: number;
}

/** One subflow of a connection. */
export interface SubflowTimeline {
  /** tcp.stream-like index of the TCP conversation. */
  tcpStream: number;
  /** Subflow index within the connection (Subflow.id of the analyze model), when a snapshot was given. */
  subflow?: number;
  client: string;
  clientPort: number;
  server: string;
  serverPort: number;
  backup: boolean;
  dirs: [SubflowDirTimeline, SubflowDirTimeline];
  /** DSS mappings seen (distinct), and how many were merged into contiguous intervals. */
  mappings: number;
  /** Mappings that contradict an earlier one for the same subflow bytes (different DSN). */
  mappingConflicts: number;
  /** Payload bytes for which no DSS mapping was known. */
  unmappedBytes: number;
  infiniteMapping?: { frame: number; dir: 0 | 1 };
  /** Subflow reset (RST) frame, if any. */
  reset?: number;
}

/** One inter-subflow reinjection: a DSN range sent again on another subflow. */
export interface Reinjection {
  frame: number;
  time: number;
  /** tcpStream of the subflow carrying the copy. */
  tcpStream: number;
  /** Relative DSN range [start, end). */
  dsnStart: number;
  dsnEnd: number;
  /** Frames of the earlier transmissions (other subflows) it overlaps. */
  originalFrames: number[];
  originalTcpStreams: number[];
  /** `needed`: the original was not acknowledged on its subflow (lost, or its subflow failed);
   * `spurious`: the original had been (or was later) acknowledged on its subflow, or the Data ACK already
   * covered the range when the copy was sent. */
  verdict: 'needed' | 'spurious';
  reason: string;
}

/** One data direction of a connection (data sent by the MPTCP client = 0, by the server = 1). */
export interface DataDirTimeline {
  dataDir: 0 | 1;
  dsnBase: 'idsn' | 'first-seen' | 'none';
  /** Absolute 64-bit base (IDSN or first seen − 1) as a decimal string. */
  dsnBaseValue?: string;
  /** Distinct DSN bytes seen carrying data (DATA_FIN's DSN not included). */
  uniqueBytes: number;
  /** Payload bytes mapped to DSNs, copies included. */
  mappedBytes: number;
  /** Highest relative DSN seen (next byte). */
  highestDsn: number;
  /** Highest relative Data ACK seen for this direction's data (sent by the peer). */
  dataAck?: number;
  dataAckUpdates: number;
  dataFin?: { frame: number; time: number; dsn: number };
  dataFinAck?: { frame: number; time: number };
  /** Segments whose DSN range starts below the highest DSN already seen and fills a data-level hole. */
  outOfOrder: { segments: number; bytes: number; maxDistance: number };
  /** Data-level holes: gaps in DSN space that later got filled (`filled`), were acknowledged without
   * being seen (`captureMissed`), or are still open at the end. */
  holes: { filled: number; captureMissed: number; open: number };
  reinjections: { count: number; bytes: number; needed: number; spurious: number };
  /** First and last time data was seen in this direction. */
  firstDataTime?: number;
  lastDataTime?: number;
  /** Time of the last Data ACK advance. */
  lastDataAckTime?: number;
  /** Data-level goodput bins: [binStartTime, new unique DSN bytes]. */
  bins: Array<[number, number]>;
  /** New unique DSN bytes first carried by each subflow (by tcpStream). */
  bytesBySubflow: Record<string, number>;
  /** New unique DSN bytes per bin per subflow: [binStartTime, tcpStream, bytes]. */
  shareBins: Array<[number, number, number]>;
}

/** Data level and subflows of one MPTCP connection. */
export interface ConnectionTimeline {
  /** tcpStream of the initial subflow (the connection's key while streaming). */
  rootTcpStream: number;
  /** Connection.id of the analyze model, when a snapshot was given. */
  connection?: number;
  keysKnown: boolean;
  subflows: SubflowTimeline[];
  data: [DataDirTimeline, DataDirTimeline];
  /** Reinjections (at most TimelineOptions.maxReinjections kept; counts in data[].reinjections are complete). */
  reinjections: Reinjection[];
  /** Failover episodes, see analyzer/timeline/metrics.ts. */
  failovers: FailoverEpisode[];
}

/**
 * A subflow that stopped delivering data while another took over: `lastDelivered` is the last time
 * its data was acknowledged (subflow ACK advance), `firstReinjection` the first copy elsewhere of data
 * sent on it (or of data it was assigned but never transmitted at the capture point), `recovered` the
 * time the Data ACK reached the highest DSN sent on any subflow when that first copy was sent (data-level
 * delivery has caught up: goodput recovered), `drained` the time the Data ACK covered everything
 * reinjected in the episode. Copies within 1 s of each other belong to one episode.
 *
 * A subflow that stops without any reinjection (its data all acknowledged) is an episode too, once it has
 * neither delivered (ACK advance) nor sent new data for max(0.5 s, 2 RTO) while another subflow kept
 * carrying new data: `firstReinjection` is then absent, `recovered` is the time the Data ACK reached the
 * highest DSN sent on any subflow at `lastDelivered`.
 */
export interface FailoverEpisode {
  tcpStream: number;
  dataDir: 0 | 1;
  lastDelivered: number;
  firstReinjection?: number;
  recovered?: number;
  /** firstReinjection − lastDelivered, seconds. */
  timeToReinjection?: number;
  /** recovered − lastDelivered, seconds. */
  timeToRecovery?: number;
  /** Time the Data ACK covered all data reinjected in this episode, and that − lastDelivered. */
  drained?: number;
  timeToDrain?: number;
  /** Reinjected bytes of this episode. */
  reinjectedBytes: number;
  srtt?: number;
  rto?: number;
  /**
   * Why the subflow stopped, as far as the capture tells: `rst` (it was reset), `remove-addr` (a
   * REMOVE_ADDR named one of its address IDs), `backup` (an MP_PRIO set it to backup), `fin` (closed
   * with FIN), `stopped` (none of these: the path went silent — link down, timeout). `remove-addr` and
   * `backup` need the snapshot passed to result().
   */
  cause?: 'rst' | 'remove-addr' | 'backup' | 'fin' | 'stopped';
  /** Whether any of its data was reinjected on another subflow (false: it stopped with all its data
   * acknowledged, e.g. RST / REMOVE_ADDR / a dead path with nothing in flight). */
  reinjected?: boolean;
  /** First new data-level bytes carried by another subflow after `lastDelivered`, and that − lastDelivered. */
  takeover?: number;
  timeToTakeover?: number;
  /** The subflow carried new data again (e.g. its link came back up). */
  resumed?: number;
}

/** Everything TimelineObserver.result() returns. */
export interface TimelineResult {
  interval: number;
  connections: ConnectionTimeline[];
  /** Peak live state (memory bound check): mappings, sent records, holes, RTT queue entries. */
  peakLiveState: number;
}

/** Streaming events (optional sink) — one per subflow data segment, ACK advance, mapping, Data ACK advance, etc. */
export interface TimelineEvent {
  time: number;
  frame: number;
  /** Initial subflow's tcpStream (connection key). */
  root: number;
  tcpStream: number;
  /** Subflow direction (0 = from the subflow's client). */
  dir: 0 | 1;
  /** Connection data direction the event concerns (0 = data sent by the MPTCP client); for Data ACK,
   * DATA_FIN ack and subflow ACK/RTT events: the direction of the data being acknowledged. */
  dataDir: 0 | 1;
  type:
    | 'data'
    | 'retransmission'
    | 'reinjection'
    | 'ack'
    | 'sack'
    | 'mapping'
    | 'data-ack'
    | 'data-fin'
    | 'data-fin-ack'
    | 'rtt'
    | 'hole'
    | 'data-hole'
    | 'out-of-order';
  /** Relative subflow sequence number (data events: start) or ACK. */
  seq?: number;
  ack?: number;
  len?: number;
  /** Relative DSN (start) / Data ACK. */
  dsn?: number;
  dataAck?: number;
  /** Bytes in flight on the subflow after this event. */
  inFlight?: number;
  rtt?: number;
  detail?: string;
}

export interface TimelineOptions {
  /** Bin width for throughput/goodput series, seconds. Default 0.1. */
  interval?: number;
  /** Event sink (not stored by the observer). */
  onEvent?: (e: TimelineEvent) => void;
  /** Cap on stored reinjection records per connection (counts stay exact). Default 10000. */
  maxReinjections?: number;
  /** Acknowledged DSN send records kept to name originals of late (spurious) copies. Default 4096. */
  ackedHistory?: number;
  /**
   * Capture seconds after its last segment that a connection whose subflows all closed (RST, or FIN both
   * ways) is summarised: its live state is dropped and its result kept in compact form (≈ 2.8 KB for a
   * short 2-subflow connection). Later segments of its flows only count packets and bytes (payload as
   * retransmissions). Default 2; Infinity never summarises. At most 256 closed connections wait.
   */
  lingerSeconds?: number;
}

/**
 * Synchronous callbacks for conformance rules (conformance/rules/sequence.ts), registered with
 * `TimelineObserver.addHooks`. Called while the observer processes a segment; never stored. Connections
 * are named by their initial subflow's flow (`root`); DSNs are relative (see the header of this file),
 * subflow sequence numbers relative to the ISN known to the timeline (`ssn`, first byte 1).
 */
export interface TimelineHooks {
  /** Payload bytes [ssn, ssn + len) of `flow` direction `dir` not covered by any known mapping. */
  unmapped?(
    root: FlowState,
    flow: FlowState,
    dir: 0 | 1,
    seg: TcpSegment,
    ssn: number,
    len: number,
    /** The bytes lie below the peer's subflow ACK (their mapping may have been trimmed), or subflow holes precede them. */
    ambiguous: boolean,
  ): void;
  /** A mapping gives subflow byte `ssn` the DSN `dsn` where the earlier mapping of frame `firstFrame` gave `expected`. */
  conflict?(root: FlowState, flow: FlowState, dir: 0 | 1, frame: number, firstFrame: number, ssn: number, dsn: number, expected: number): void;
  /** A DSS mapping (or MP_CAPABLE with data) declared: relative DSN, Data-Level Length (0 = infinite), DATA_FIN flag. */
  mapping?(root: FlowState, flow: FlowState, dir: 0 | 1, dataDir: 0 | 1, frame: number, dsn: number, dll: number, dataFin: boolean): void;
  /** A data piece [dsn, dsnEnd) carried at payload offset `offset` of the segment; `retx`: subflow-level retransmission. */
  piece?(root: FlowState, flow: FlowState, dir: 0 | 1, dataDir: 0 | 1, seg: TcpSegment, frame: Frame | undefined, time: number, dsn: number, dsnEnd: number, offset: number, retx: boolean): void;
  /** Every Data ACK (before the monotonic filter): relative value acknowledging `ackedDataDir`; `window`: the segment's receive window in bytes when the scale is known. */
  dataAck?(root: FlowState, flow: FlowState, dir: 0 | 1, ackedDataDir: 0 | 1, seg: TcpSegment, time: number, ack: number, window: number | undefined): void;
  /** A sequence gap: subflow level (`'subflow'`, bytes skipped on one subflow) or data level (`'data'`). */
  gap?(root: FlowState, dataDir: 0 | 1, level: 'subflow' | 'data'): void;
}
