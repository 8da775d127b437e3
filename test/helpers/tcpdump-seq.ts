/**
 * Test-only: TCP sequence facts from a tcpdump text sidecar (`tcpdump -# -n -r FILE`, gzip), derived
 * independently of mptcpscope's decoder: per direction (`src > dst` as printed), data segments with
 * tcpdump's relative sequence numbers, retransmissions (a segment starting below the highest end seen),
 * the SACK blocks the peer sent, and SEQ→ACK RTT samples (newest fully acknowledged segment, none when
 * an acknowledged segment was retransmitted: Karn's rule). Times are seconds of the day (µs).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface TcpdumpSeqDir {
  dataSegments: number;
  payloadBytes: number;
  retransmissions: number;
  /** Retransmissions whose original was seen while the peer's SACK reached beyond it without covering it. */
  retransmissionsSackedBeyond: number;
  /** Retransmissions that filled a sequence gap (the original was never seen). */
  holeFills: number;
  sackSegments: number;
  rttSamples: number[];
}

const LINE = /^\s*(\d+)\s+(\d\d):(\d\d):(\d\d\.\d+) .*?IP6? (\S+) > (\S+?): Flags \[([^\]]*)\](?:, seq (\d+)(?::(\d+))?)?(?:, ack (\d+))?.*, length (\d+)/;
const SACK = /sack \d+ ((?:\{\d+:\d+\})+)/;

/** Per-direction sequence facts of a tcpdump text file (`.tcpdump.txt.gz`), keyed `src > dst`. */
export function tcpdumpSeq(path: string): Map<string, TcpdumpSeqDir> {
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const out = new Map<string, TcpdumpSeqDir>();
  interface St { d: TcpdumpSeqDir; holes: Array<[number, number]>; high: number; q: Array<{ end: number; t: number; retx: boolean }>; una: number; sackHigh: number; sack: Array<[number, number]> }
  const st = new Map<string, St>();
  const get = (k: string): St => {
    let s = st.get(k);
    if (s === undefined) {
      s = { d: { dataSegments: 0, payloadBytes: 0, retransmissions: 0, retransmissionsSackedBeyond: 0, holeFills: 0, sackSegments: 0, rttSamples: [] }, holes: [], high: -1, q: [], una: -1, sackHigh: -1, sack: [] };
      st.set(k, s);
      out.set(k, s.d);
    }
    return s;
  };
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const t = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
    const fwd = get(`${m[5]} > ${m[6]}`);
    const rev = get(`${m[6]} > ${m[5]}`);
    const len = Number(m[11]);
    const syn = m[7]!.includes('S');
    // Data (relative sequence numbers "seq a:b"; the SYN's absolute one has no colon).
    if (len > 0 && m[9] !== undefined && !syn) {
      const s = Number(m[8]);
      const e = Number(m[9]);
      fwd.d.dataSegments++;
      fwd.d.payloadBytes += len;
      if (fwd.high >= 0 && s > fwd.high) fwd.holes.push([fwd.high, s]);
      const retx = s < fwd.high;
      if (retx) {
        fwd.d.retransmissions++;
        // Gap filling: the bytes of [s, e) that lie in a hole (never seen before) leave the hole list.
        let overlap = 0;
        const rest: Array<[number, number]> = [];
        for (const [l, r] of fwd.holes) {
          const o = Math.min(r, e) - Math.max(l, s);
          if (o <= 0) {
            rest.push([l, r]);
            continue;
          }
          overlap += o;
          if (l < s) rest.push([l, s]);
          if (r > e) rest.push([e, r]);
        }
        fwd.holes = rest;
        if (overlap > 0) fwd.d.holeFills++;
        else if (fwd.sackHigh > s && s >= fwd.una && !fwd.sack.some(([l, r]) => l <= s && e <= r)) fwd.d.retransmissionsSackedBeyond++;
        for (const q of fwd.q) if (q.end > s && q.end - len <= e) q.retx = true;
      }
      if (e > fwd.high) {
        fwd.high = e;
        fwd.q.push({ end: e, t, retx });
      }
    }
    // ACK of the reverse direction's data (relative ack numbers once the handshake is done).
    if (m[10] !== undefined && !syn && rev.high >= 0) {
      const a = Number(m[10]);
      if (a > rev.una) {
        rev.una = a;
        let sample: { end: number; t: number; retx: boolean } | undefined;
        let karn = false;
        while (rev.q.length > 0 && rev.q[0]!.end <= a) {
          const q = rev.q.shift()!;
          if (q.retx) karn = true;
          sample = q;
        }
        if (sample !== undefined && !karn) rev.d.rttSamples.push(t - sample.t);
      }
      const sk = SACK.exec(line);
      if (sk !== null) {
        rev.d.sackSegments++;
        rev.sack = [...sk[1]!.matchAll(/\{(\d+):(\d+)\}/g)].map((b) => [Number(b[1]), Number(b[2])] as [number, number]);
        // D-SACK (first block below the cumulative ACK) does not move the SACK high edge.
        for (const [i, [l, r]] of rev.sack.entries()) if (!(i === 0 && r <= a) && r > rev.sackHigh && r > l) rev.sackHigh = r;
      }
    }
  }
  return out;
}

/** The median of a list of numbers. */
export function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}
