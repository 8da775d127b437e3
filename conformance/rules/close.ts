/**
 * FAIL-001, FAIL-002, FC-001, FC-002, RST-001…RST-003: MP_FAIL, MP_FASTCLOSE and MP_TCPRST
 * (RFC 8684 §3.5–§3.7; spec §2.8, §2.9).
 */
import { TcpRstReason as TCPRST_REASONS } from '../../analyzer/wire/mptcp/mp-tcprst.js';
import { registerDetector } from '../registry.js';
import { FlowMap, checksumNegotiated, hex64, isRst } from './util.js';

interface CloseFlow {
  fail?: { frame: number; dir: 0 | 1; dsn: bigint };
  mapAfterFail?: number;
  infAfterFail?: boolean;
  rstAfterFail?: number;
  fastCloses: Array<{ frame: number; dir: 0 | 1; key: bigint; rst: boolean }>;
  rstAfterFastClose?: boolean;
  dataAfterFastClose?: boolean;
}

registerDetector({
  name: 'close',
  rules: ['FAIL-001', 'FAIL-002', 'FC-001', 'FC-002', 'RST-001', 'RST-002', 'RST-003'],
  create(ctx) {
    const flows = new FlowMap<CloseFlow>(() => ({ fastCloses: [] }));
    return {
      onSegment(seg, flow, dir, _t, tracker) {
        const opts = seg.options.mptcp;
        let st = flows.peek(flow);
        const rst = isRst(seg);
        if (st !== undefined) {
          if (rst && st.fail !== undefined && st.rstAfterFail === undefined) st.rstAfterFail = seg.frame;
          const fc = st.fastCloses[0];
          if (fc !== undefined && seg.frame > fc.frame) {
            if (rst) st.rstAfterFastClose = true;
            if (dir === fc.dir && seg.payloadLength > 0 && st.dataAfterFastClose !== true) {
              st.dataAfterFastClose = true;
              ctx.report({ id: 'FC-002', frames: [seg.frame, fc.frame], message: `${seg.payloadLength} bytes of data after this host sent MP_FASTCLOSE`, evidence: { seen: 'data after MP_FASTCLOSE', expected: 'no more data' } }, flow);
            }
          }
        }
        if (opts.length === 0) return;
        for (const o of opts) {
          switch (o.type) {
            case 'MP_FAIL': {
              st ??= flows.get(flow);
              if (st.fail === undefined) st.fail = { frame: seg.frame, dir, dsn: o.dataSequenceNumber };
              const neg = checksumNegotiated(tracker.connectionRoot(flow));
              ctx.report({
                id: 'FAIL-001',
                severity: neg === false ? 'warning' : 'info',
                frames: [seg.frame],
                message: `MP_FAIL from the ${dir === 0 ? 'subflow initiator' : 'subflow responder'}: checksum failure at DSN ${o.dataSequenceNumber}${neg === false ? ' on a connection without negotiated checksums' : ''}`,
                evidence: { dsn: o.dataSequenceNumber.toString(), rst },
                key: String(dir),
              }, flow);
              break;
            }
            case 'MP_FASTCLOSE':
              st ??= flows.get(flow);
              if (st.fastCloses.length < 8) st.fastCloses.push({ frame: seg.frame, dir, key: o.receiversKey, rst });
              if (rst) st.rstAfterFastClose = true;
              break;
            case 'MP_TCPRST':
              if (!rst) {
                ctx.report({ id: 'RST-001', frames: [seg.frame], message: `MP_TCPRST (reason ${o.reason}) on a segment without RST`, evidence: { seen: 'no RST flag' }, key: String(dir) }, flow);
              } else {
                const name = TCPRST_REASONS[o.reason] ?? 'unknown';
                const uvw = o.flags & 0x0e;
                ctx.report({
                  id: 'RST-002',
                  frames: [seg.frame],
                  message: `MP_TCPRST reason ${o.reason} (${name})${o.transient ? ', transient' : ''}${uvw !== 0 ? `, reserved U/V/W bits 0x${uvw.toString(16)} set` : ''}`,
                  evidence: { reason: o.reason, reasonName: name, transient: o.transient, uvw },
                  key: `${dir}|${o.reason}`,
                }, flow);
              }
              break;
            default:
              if (o.type === 'DSS' && st?.fail !== undefined && dir !== st.fail.dir && o.dataSequenceNumber !== undefined && seg.frame > st.fail.frame) {
                if ((o.dataLevelLength ?? 0) === 0) st.infAfterFail = true;
                else st.mapAfterFail ??= seg.frame;
              }
          }
        }
      },
      finishConnection(fin, v) {
        for (const f of v.flows) {
          const st = flows.peek(f);
          if (st === undefined) continue;
          const fail = st.fail;
          if (fail !== undefined) {
            if (st.mapAfterFail !== undefined && st.infAfterFail !== true && st.rstAfterFail === undefined) {
              fin.report({ id: 'FAIL-002', frames: [st.mapAfterFail, fail.frame], message: `DSS mappings keep flowing after MP_FAIL (DSN ${fail.dsn}) with neither an infinite mapping nor an RST`, evidence: { seen: 'mappings after MP_FAIL', expected: 'infinite mapping or RST' } }, f);
            }
            if (st.rstAfterFail !== undefined && f.tcpRst === undefined && v.conn.version === 1) {
              fin.report({ id: 'RST-003', frames: [st.rstAfterFail, fail.frame], message: 'RST after a checksum failure (MP_FAIL) without MP_TCPRST', evidence: { seen: 'RST without MP_TCPRST', expected: 'MP_TCPRST reason 0x06' } }, f);
            }
          }
          for (const fc of st.fastCloses) {
            const rcv = fin.hostOf(f, fc.dir === 0 ? 1 : 0);
            const keys = v.root?.keys;
            const want = rcv === 'client' ? keys?.clientKey : rcv === 'server' ? keys?.serverKey : undefined;
            if (want === undefined) fin.notEvaluable('FC-001', f, 'receiver key not captured');
            else if (want !== fc.key) {
              fin.report({ id: 'FC-001', frames: [fc.frame], message: `MP_FASTCLOSE carries key ${hex64(fc.key)}, the receiving ${rcv}'s key is ${hex64(want)}`, evidence: { seen: hex64(fc.key), expected: hex64(want) } }, f);
            } else fin.pass('FC-001', f);
          }
          if (st.fastCloses.length > 0 && st.rstAfterFastClose !== true) {
            fin.report({ id: 'FC-002', severity: 'warning', frames: [st.fastCloses[0]!.frame], message: 'no RST follows MP_FASTCLOSE on this subflow before the capture ends', evidence: { seen: 'no RST', expected: 'RST' } }, f);
          }
        }
      },
    };
  },
});
