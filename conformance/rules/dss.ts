/**
 * DSS-001, DSS-002, DSS-007, DSS-012, DSS-014: data sequence signalling checks that need no data-level
 * timeline (RFC 8684 §3.3; spec §2.5, §1.13).
 *
 * DSS-002 verifies the DSS checksum over whole mappings while streaming: each mapping (DSN, SSN, DLL,
 * checksum) declared on a subflow direction is kept open with a running RFC 1071 sum of the payload
 * bytes seen so far (chunks at odd mapping offsets are byte-swapped, so bytes may arrive in any order;
 * retransmitted bytes are counted once). When all DLL (− 1 for DATA_FIN) bytes were captured the
 * pseudo-header (64-bit DSN, relative SSN, DLL, checksum) is added and the fold must be 0xFFFF.
 * Mappings whose bytes were cut by snaplen or never captured are "not evaluable", never failures.
 * State is bounded: at most {@link MAX_OPEN} open mappings and {@link MAX_DONE} remembered ones per
 * subflow direction.
 */
import type { Frame } from '../../analyzer/capture/types.js';
import { OnesComplementSum, dssPseudoHeaderSum, keyIdsn } from '../../analyzer/crypto/index.js';
import type { Dir, FlowState } from '../../analyzer/model/flow.js';
import type { TcpSegment } from '../../analyzer/wire/types.js';
import type { RuleContext } from '../registry.js';
import { registerDetector } from '../registry.js';
import { FlowMap, checksumNegotiated, expand32, hostOfDir, isSyn, isnOf, relSeq } from './util.js';

export const MAX_OPEN = 64;
export const MAX_DONE = 256;

interface OpenMapping {
  key: string;
  dsn: bigint;
  ssn: number;
  dll: number;
  checksum: number;
  /** Payload bytes the mapping covers (DLL − 1 with DATA_FIN). */
  n: number;
  /** Running 16-bit-folded ones'-complement sum of the payload (at even alignment). */
  sum: number;
  covered: Array<[number, number]>;
  coveredBytes: number;
  frames: number[];
  cut: boolean;
}

interface DirState {
  open: OpenMapping[];
  done: Set<string>;
  doneOrder: string[];
  verified: number;
  failed: number;
  incomplete: number;
}

interface DssFlow {
  dirs: [DirState, DirState];
}

const newDir = (): DirState => ({ open: [], done: new Set(), doneOrder: [], verified: 0, failed: 0, incomplete: 0 });

const fold = (s: number): number => {
  let v = s;
  while (v > 0xffff) v = (v & 0xffff) + Math.floor(v / 0x10000);
  return v;
};
const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >>> 8);

/** Insert [a, b) into sorted disjoint intervals; returns the uncovered parts of [a, b). */
function insertInterval(iv: Array<[number, number]>, a: number, b: number): Array<[number, number]> {
  const gaps: Array<[number, number]> = [];
  let cur = a;
  for (const [x, y] of iv) {
    if (y <= cur) continue;
    if (x >= b) break;
    if (x > cur) gaps.push([cur, Math.min(x, b)]);
    cur = Math.max(cur, y);
    if (cur >= b) break;
  }
  if (cur < b) gaps.push([cur, b]);
  if (gaps.length > 0) {
    iv.push([a, b]);
    iv.sort((p, q) => p[0] - q[0]);
    const merged: Array<[number, number]> = [];
    for (const it of iv) {
      const last = merged[merged.length - 1];
      if (last !== undefined && it[0] <= last[1]) last[1] = Math.max(last[1], it[1]);
      else merged.push([it[0], it[1]]);
    }
    iv.length = 0;
    iv.push(...merged);
  }
  return gaps;
}

registerDetector({
  name: 'dss',
  rules: ['DSS-001', 'DSS-002', 'DSS-007', 'DSS-012', 'DSS-014'],
  create(ctx) {
    const flows = new FlowMap<DssFlow>(() => ({ dirs: [newDir(), newDir()] }));
    /** Last expanded DSN / Data ACK per connection root and host (DSS-012 reference). */
    const refs = new WeakMap<FlowState, { dsn: [bigint | undefined, bigint | undefined]; ack: [bigint | undefined, bigint | undefined] }>();

    return {
      onSegment(seg, flow, dir, _time, tracker, frame) {
        const opts = seg.options.mptcp;
        const syn = isSyn(seg);
        let st = flows.peek(flow);
        const root = tracker.connectionRoot(flow);
        const neg = checksumNegotiated(root);

        for (const o of opts) {
          if (o.type === 'DSS') {
            // DSS-014: DSS only after the subflow's MPTCP handshake.
            const synO = flow.syn?.option;
            const saO = flow.synAck;
            let bad: string | undefined;
            if (syn) bad = 'DSS on a SYN';
            else if (flow.syn !== undefined && flow.synOptionsCut !== true && synO === undefined) bad = 'DSS on a plain TCP connection (SYN without MP_CAPABLE / MP_JOIN)';
            else if (synO?.type === 'MP_JOIN' && saO !== undefined && saO.option === undefined) bad = 'DSS on a join subflow whose SYN/ACK had no MP_JOIN';
            if (bad !== undefined) ctx.report({ id: 'DSS-014', frames: [seg.frame], message: bad, evidence: { seen: bad }, key: `${dir}|${bad.slice(0, 16)}` }, flow);

            if (o.dataSequenceNumber !== undefined) {
              // DSS-001: checksum presence iff negotiated.
              if (neg === undefined) ctx.notEvaluable('DSS-001', flow, 'checksum negotiation unknown: MP_CAPABLE SYN / SYN-ACK not captured');
              else if ((o.checksum !== undefined) !== neg) {
                ctx.report({ id: 'DSS-001', frames: [seg.frame], message: `DSS mapping ${o.checksum !== undefined ? 'carries' : 'lacks'} a checksum but checksums were ${neg ? '' : 'not '}negotiated`, evidence: { seen: o.checksum !== undefined ? 'checksum' : 'no checksum', expected: neg ? 'checksum' : 'no checksum' }, key: String(dir) }, flow);
              }
              // DSS-007: DATA_FIN without payload.
              if (o.dataFin && seg.payloadLength === 0 && (o.dataLevelLength ?? 0) !== 0 && (o.subflowSequenceNumber !== 0 || o.dataLevelLength !== 1)) {
                ctx.report({ id: 'DSS-007', frames: [seg.frame], message: `DATA_FIN without payload has SSN ${o.subflowSequenceNumber}, DLL ${o.dataLevelLength} (must be SSN 0, DLL 1)`, evidence: { seen: `SSN ${o.subflowSequenceNumber} DLL ${o.dataLevelLength}`, expected: 'SSN 0 DLL 1' }, key: String(dir) }, flow);
              }
            }
            // DSS-012: 32-bit values must be expandable.
            if (root?.keys !== undefined && ((o.dataSequenceNumber !== undefined && !o.dsn64) || (o.dataAck !== undefined && !o.dataAck64))) {
              check32(ctx, refs, seg, flow, root, dir, o.dataSequenceNumber, o.dsn64, o.dataAck, o.dataAck64);
            } else if (root?.keys !== undefined) {
              const host = hostOfDir(flow, root, dir);
              if (host !== undefined) {
                const r = refs.get(root) ?? { dsn: [undefined, undefined], ack: [undefined, undefined] };
                refs.set(root, r);
                const h = host === 'client' ? 0 : 1;
                if (o.dataSequenceNumber !== undefined) r.dsn[h] = o.dataSequenceNumber;
                if (o.dataAck !== undefined) r.ack[h] = o.dataAck;
              }
            }
          }
        }

        // DSS-002: checksum verification (only when negotiated).
        if (neg !== true || syn) return;
        const isn = isnOf(flow, dir);
        if (isn === undefined) {
          if (seg.payloadLength > 0) ctx.notEvaluable('DSS-002', flow, 'subflow SYN not captured: relative subflow sequence numbers unknown');
          return;
        }
        st ??= flows.get(flow);
        const ds = st.dirs[dir];
        for (const o of opts) {
          if (o.type === 'DSS' && o.dataSequenceNumber !== undefined && o.checksum !== undefined && (o.dataLevelLength ?? 0) > 0) {
            let dsn = o.dataSequenceNumber;
            if (!o.dsn64) {
              const k = root?.keys;
              const host = root !== undefined ? hostOfDir(flow, root, dir) : undefined;
              const idsn = host === 'client' ? k?.clientIdsn : host === 'server' ? k?.serverIdsn : undefined;
              if (idsn === undefined) continue;
              dsn = expand32(idsn + 1n, Number(dsn & 0xffffffffn));
            }
            declare(ds, dsn, o.subflowSequenceNumber ?? 0, o.dataLevelLength!, o.checksum, o.dataFin, seg.frame, flow);
          } else if (o.type === 'MP_CAPABLE' && o.form === 'ack-data' && o.checksum !== undefined && o.sendersKey !== undefined && dir === 0) {
            const v = root?.keys?.version ?? (o.version === 0 ? 0 : 1);
            declare(ds, keyIdsn(o.sendersKey, v) + 1n, 1, o.dataLevelLength ?? 0, o.checksum, false, seg.frame, flow);
          }
        }
        if (seg.payloadLength > 0 && ds.open.length > 0) feed(ds, seg, isn, frame, flow);
      },
      finishConnection(fin, v) {
        for (const f of v.flows) {
          const st = flows.peek(f);
          if (st === undefined) continue;
          for (const ds of st.dirs) {
            ds.incomplete += ds.open.length;
            if (ds.incomplete > 0) {
              fin.notEvaluable('DSS-002', f, `${ds.incomplete} mapping(s) not captured whole (payload cut by snaplen or segments missing); ${ds.verified} verified`);
            }
          }
        }
      },
    };

    function declare(ds: DirState, dsn: bigint, ssn: number, dll: number, checksum: number, dataFin: boolean, frame: number, flow: FlowState): void {
      if (dll === 0) return;
      const n = dataFin ? dll - 1 : dll;
      const key = `${ssn}|${dll}|${dsn}|${checksum}`;
      if (ds.done.has(key) || ds.open.some((m) => m.key === key)) return;
      if (n === 0) {
        // DATA_FIN-only mapping: Linux does not check it (spec §1.13); verify the pseudo-header alone.
        const ok = dssPseudoHeaderSum(dsn, ssn, dll, checksum).folded() === 0xffff;
        finishMapping(ds, { key, dsn, ssn, dll, checksum, n, sum: 0, covered: [], coveredBytes: 0, frames: [frame], cut: false }, ok, flow);
        return;
      }
      if (ds.open.length >= MAX_OPEN) {
        ds.open.shift();
        ds.incomplete++;
      }
      ds.open.push({ key, dsn, ssn, dll, checksum, n, sum: 0, covered: [], coveredBytes: 0, frames: [frame], cut: false });
    }

    function feed(ds: DirState, seg: TcpSegment, isn: number, frame: Frame | undefined, flow: FlowState): void {
      const r = relSeq(seg.seq, isn);
      const capLen = seg.capturedPayloadLength;
      const wireEnd = r + seg.payloadLength;
      const capEnd = r + capLen;
      for (let i = 0; i < ds.open.length; i++) {
        const m = ds.open[i]!;
        const mEnd = m.ssn + m.n;
        if (wireEnd <= m.ssn || r >= mEnd) continue;
        if (frame === undefined || capEnd < Math.min(wireEnd, mEnd)) {
          // Payload cut by the capture (snaplen) inside this mapping: cannot be verified.
          m.cut = true;
        }
        const a = Math.max(r, m.ssn);
        const b = Math.min(capEnd, mEnd);
        if (frame !== undefined && b > a) {
          for (const [x, y] of insertInterval(m.covered, a - m.ssn, b - m.ssn)) {
            const start = seg.payloadOffset + (m.ssn + x - r);
            const s = new OnesComplementSum().add(frame.data, start, start + (y - x)).folded();
            m.sum = fold(m.sum + ((x & 1) === 1 ? swap16(s) : s));
            m.coveredBytes += y - x;
          }
          if (m.frames.length < 2 || m.frames[m.frames.length - 1] !== seg.frame) {
            if (m.frames.length >= 2) m.frames[1] = seg.frame;
            else m.frames.push(seg.frame);
          }
        }
        if (m.coveredBytes >= m.n) {
          ds.open.splice(i, 1);
          i--;
          if (m.cut) {
            ds.incomplete++;
            remember(ds, m.key);
            continue;
          }
          const total = fold(dssPseudoHeaderSum(m.dsn, m.ssn, m.dll, m.checksum).folded() + m.sum);
          finishMapping(ds, m, total === 0xffff, flow);
        }
      }
    }

    function remember(ds: DirState, key: string): void {
      ds.done.add(key);
      ds.doneOrder.push(key);
      if (ds.doneOrder.length > MAX_DONE) ds.done.delete(ds.doneOrder.shift()!);
    }

    function finishMapping(ds: DirState, m: OpenMapping, ok: boolean, flow: FlowState): void {
      remember(ds, m.key);
      if (ok) {
        ds.verified++;
        ctx.pass('DSS-002', flow);
        return;
      }
      ds.failed++;
      ctx.report({
        id: 'DSS-002',
        frames: m.frames,
        message: `DSS checksum mismatch on the mapping DSN ${m.dsn}, SSN ${m.ssn}, length ${m.dll} (payload modified on the path? see MBX-004)`,
        evidence: { dsn: m.dsn.toString(), ssn: m.ssn, dll: m.dll, seen: `0x${m.checksum.toString(16).padStart(4, '0')}`, expected: `0x${(~fold(dssPseudoHeaderSum(m.dsn, m.ssn, m.dll, 0).folded() + m.sum) & 0xffff).toString(16).padStart(4, '0')}` },
      }, flow);
    }
  },
});

/** DSS-012: a 32-bit DSN / Data ACK farther than 2^30 from the last value of its space is treated as ambiguous. */
function check32(
  ctx: RuleContext,
  refs: WeakMap<FlowState, { dsn: [bigint | undefined, bigint | undefined]; ack: [bigint | undefined, bigint | undefined] }>,
  seg: TcpSegment,
  flow: FlowState,
  root: FlowState,
  dir: Dir,
  dsn: bigint | undefined,
  dsn64: boolean,
  ack: bigint | undefined,
  ack64: boolean,
): void {
  const host = hostOfDir(flow, root, dir);
  const k = root.keys;
  if (host === undefined || k === undefined) return;
  const h = host === 'client' ? 0 : 1;
  const r = refs.get(root) ?? { dsn: [undefined, undefined], ack: [undefined, undefined] };
  refs.set(root, r);
  const own = host === 'client' ? k.clientIdsn : k.serverIdsn;
  const peer = host === 'client' ? k.serverIdsn : k.clientIdsn;
  if (dsn !== undefined) check32One(ctx, r, h, seg, flow, dsn, dsn64, 'dsn', own);
  if (ack !== undefined) check32One(ctx, r, h, seg, flow, ack, ack64, 'ack', peer);
}

/**
 * One value of {@link check32}. expand32(ref, low) lies within ±2^31 of ref, so its distance to ref is the signed
 * 32-bit difference of the low halves: computed on numbers (perf: one BigInt per value instead of expand32's six).
 */
function check32One(
  ctx: RuleContext,
  r: { dsn: [bigint | undefined, bigint | undefined]; ack: [bigint | undefined, bigint | undefined] },
  h: 0 | 1,
  seg: TcpSegment,
  flow: FlowState,
  val: bigint,
  is64: boolean,
  space: 'dsn' | 'ack',
  idsn: bigint | undefined,
): void {
  if (is64) {
    r[space][h] = val;
    return;
  }
  const ref = r[space][h] ?? (idsn !== undefined ? idsn + 1n : undefined);
  if (ref === undefined) {
    ctx.notEvaluable('DSS-012', flow, 'no reference to expand 32-bit values (keys not captured)');
    return;
  }
  const low = Number(val & 0xffffffffn);
  let diff = low - Number(ref & 0xffffffffn);
  if (diff > 0x80000000) diff -= 0x100000000;
  else if (diff < -0x80000000) diff += 0x100000000;
  const x = BigInt.asUintN(64, ref + BigInt(diff));
  if (Math.abs(diff) > 0x40000000) {
    ctx.report({ id: 'DSS-012', severity: 'warning', frames: [seg.frame], message: `32-bit ${space === 'dsn' ? 'DSN' : 'Data ACK'} 0x${low.toString(16)} is ${Math.abs(diff)} away from the last value ${ref}: cannot be expanded reliably`, evidence: { seen: String(low), reference: ref.toString() }, key: space }, flow);
  }
  r[space][h] = x;
}
