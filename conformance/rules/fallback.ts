/**
 * FB-001…FB-005: fallback to plain TCP (RFC 8684 §3.1, §3.7; spec §2.3).
 * FB-006 (join subflows never fall back) needs mapping coverage and waits for analyzer/timeline/.
 */
import { registerDetector } from '../registry.js';
import { FlowMap, isSyn } from './util.js';

interface FbFlow {
  /** Frame of the infinite mapping sent in each direction. */
  infinite: [number | undefined, number | undefined];
  /** Last frame with payload, per direction. */
  lastPayload: [number, number];
}

registerDetector({
  name: 'fallback',
  rules: ['FB-001', 'FB-002', 'FB-003', 'FB-004', 'FB-005'],
  create(ctx) {
    const flows = new FlowMap<FbFlow>(() => ({ infinite: [undefined, undefined], lastPayload: [0, 0] }));
    return {
      onSegment(seg, flow, dir) {
        const st = flows.get(flow);
        if (seg.payloadLength > 0) st.lastPayload[dir] = seg.frame;
        const opts = seg.options.mptcp;
        if (opts.length === 0) return;
        // FB-004 (a): MPTCP options after a SYN/ACK without MP_CAPABLE.
        const sa = flow.synAck;
        if (!isSyn(seg) && flow.syn?.option?.type === 'MP_CAPABLE' && sa !== undefined && sa.option === undefined && seg.frame > sa.frame) {
          ctx.report({ id: 'FB-004', frames: [seg.frame], message: `MPTCP option ${opts[0]!.type} after the connection fell back at the SYN/ACK (frame ${sa.frame})`, evidence: { seen: opts.map((o) => o.type).join(','), expected: 'no MPTCP options' }, key: `a${dir}` }, flow);
        }
        for (const o of opts) {
          if (o.type !== 'DSS' || o.dataSequenceNumber === undefined) continue;
          const dll = o.dataLevelLength ?? 0;
          if (dll === 0) {
            if (st.infinite[dir] === undefined) st.infinite[dir] = seg.frame;
            // FB-005: checksum of an infinite mapping must be 0.
            if (o.checksum !== undefined && o.checksum !== 0) {
              ctx.report({ id: 'FB-005', frames: [seg.frame], message: `infinite mapping with non-zero checksum 0x${o.checksum.toString(16)}`, evidence: { seen: o.checksum, expected: 0 } }, flow);
            }
          } else if (st.infinite[dir] !== undefined && seg.frame > st.infinite[dir]!) {
            // FB-004 (b): DSS mapping after an infinite mapping from the same host.
            ctx.report({ id: 'FB-004', frames: [seg.frame, st.infinite[dir]!], message: `DSS mapping (DSN ${o.dataSequenceNumber}, length ${dll}) after this host sent an infinite mapping`, evidence: { seen: `mapping length ${dll}`, expected: 'no mappings after fallback' }, key: `b${dir}` }, flow);
          }
        }
      },
      finishConnection(fin, v) {
        for (const f of v.flows) {
          const synO = f.syn?.option;
          if (synO?.type !== 'MP_CAPABLE') continue;
          const sa = f.synAck;
          if (sa === undefined) {
            fin.notEvaluable('FB-001', f, 'SYN/ACK not captured');
            continue;
          }
          if (sa.option === undefined) {
            fin.report({ id: 'FB-001', frames: [sa.frame, f.syn!.frame], message: 'fallback at the SYN/ACK: the SYN offered MP_CAPABLE, the SYN/ACK has none (plain TCP server or option stripped)', evidence: { syn: 'MP_CAPABLE', synAck: 'no MP_CAPABLE' } }, f);
            continue;
          }
          if (sa.option.type !== 'MP_CAPABLE') continue;
          const third = f.thirdAck;
          if (third === undefined) {
            fin.notEvaluable('FB-002', f, 'third ACK not captured');
            continue;
          }
          if (third.option === undefined) {
            // Asymmetric: the initiator keeps sending MPTCP options while the responder sends none.
            const asym = f.lastMptcp[0] > third.frame && f.lastMptcp[1] <= third.frame;
            fin.report({
              id: 'FB-002',
              severity: asym ? 'warning' : 'info',
              frames: [third.frame, sa.frame],
              message: asym
                ? 'asymmetric fallback: the third ACK has no MP_CAPABLE, the responder sends plain TCP, but the initiator keeps sending MPTCP options'
                : 'fallback at the third ACK: the SYN/ACK carried MP_CAPABLE, the third ACK does not (option stripped, or initiator fell back)',
              evidence: { synAck: 'MP_CAPABLE', thirdAck: 'no MP_CAPABLE' },
            }, f);
            continue;
          }
          // FB-003: a side sends plain TCP after a complete MPTCP handshake and never MPTCP again.
          for (const dir of [0, 1] as const) {
            const p = f.firstPlain[dir];
            if (p !== undefined && p > third.frame && f.lastMptcp[dir] < p) {
              fin.report({ id: 'FB-003', frames: [p], message: `fallback after the handshake: the ${dir === 0 ? 'client' : 'server'} sends plain TCP from frame ${p} on (MPTCP options stripped on data, or infinite-mapping fallback)`, evidence: { side: dir === 0 ? 'client' : 'server', lastMptcpFrame: f.lastMptcp[dir] } }, f);
            }
          }
        }
        // FB-005: infinite mapping while another subflow of the connection carries the same host's data.
        if (v.flows.length >= 2) {
          for (const f of v.flows) {
            const st = flows.peek(f);
            if (st === undefined) continue;
            for (const dir of [0, 1] as const) {
              const inf = st.infinite[dir];
              if (inf === undefined) continue;
              const host = fin.hostOf(f, dir);
              for (const g of v.flows) {
                if (g === f) continue;
                const gs = flows.peek(g);
                if (gs === undefined) continue;
                for (const gd of [0, 1] as const) {
                  if (fin.hostOf(g, gd) === host && gs.lastPayload[gd] > inf) {
                    fin.report({ id: 'FB-005', frames: [inf, gs.lastPayload[gd]], message: `infinite mapping while subflow ${g.tcpStream} (tcp.stream) still carries this host's data`, evidence: { seen: 'data on another subflow after the infinite mapping', expected: 'one subflow in use' }, key: `${dir}` }, f);
                  }
                }
              }
            }
          }
        }
      },
    };
  },
});
