/**
 * `mptcpscope timeline FILE`: per-subflow and data-level sequence timelines of the MPTCP connections of
 * a capture, with the multipath metrics (aggregation gain, byte share, failover, per-path RTT),
 * as text, JSON, an event stream (CSV or JSON lines), and plots (SVG, PNG).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { analyzeFile } from '../analyzer/analyze.js';
import type { Connection } from '../analyzer/model/types.js';
import { type ConnectionMetrics, computeMetrics } from '../analyzer/timeline/metrics.js';
import { TimelineObserver } from '../analyzer/timeline/observer.js';
import { SequencePlotCollector, renderSvg, svgToPng, throughputSpec } from '../analyzer/timeline/plot.js';
import type { ConnectionTimeline, TimelineEvent } from '../analyzer/timeline/types.js';
import { ExitCode } from './exit-codes.js';
import { writeJson } from './json-out.js';

/** Columns of `timeline --csv` (one row per event). */
export const TIMELINE_CSV_COLUMNS = [
  'time',
  'frame',
  'connection',
  'subflow',
  'tcp_stream',
  'dir',
  'data_dir',
  'event',
  'seq',
  'ack',
  'len',
  'dsn',
  'data_ack',
  'in_flight',
  'rtt',
  'detail',
] as const;

interface TimelineCliOptions {
  json?: boolean;
  csv?: boolean;
  ndjson?: boolean;
  connection?: string;
  subflow?: string;
  interval: string;
  plot?: string;
  png?: boolean;
  bins: boolean;
}

/** JSON output of `timeline --json`. */
export interface TimelineJson {
  file: string;
  interval: number;
  connections: Array<{ connection: number | null; timeline: ConnectionTimeline; metrics: ConnectionMetrics }>;
}

export function registerTimeline(program: Command, setExit: (code: number) => void): void {
  program
    .command('timeline')
    .description('sequence timelines (subflow and data level) and multipath metrics of a capture; events as CSV/JSON; plots')
    .argument('<file>', 'capture file')
    .option('--json', 'timelines and metrics as JSON')
    .option('--csv', 'events as CSV (one row per event)')
    .option('--ndjson', 'events as JSON lines')
    .option('--connection <id>', 'only this connection (Connection.id of analyze)')
    .option('--subflow <id>', 'only this subflow (Subflow.id within the connection)')
    .option('--interval <seconds>', 'bin width of throughput/goodput series', '0.1')
    .option('--no-bins', 'leave the time bins out of --json')
    .option('--plot <dir>', 'write SVG plots (time-sequence and throughput per connection direction) into dir')
    .option('--png', 'with --plot: also PNG')
    .addHelpText(
      'after',
      `
Events: data, retransmission, reinjection, ack, sack, mapping, data-ack, data-fin, data-fin-ack, rtt,
hole (subflow gap), data-hole, out-of-order. seq/ack are relative subflow sequence numbers, dsn/data_ack
relative Data Sequence Numbers (from the IDSN when the keys are known, else from the first value seen).
Exit codes: 0 done; 2 unreadable input or bad option.`,
    )
    .action(async (file: string, opts: TimelineCliOptions) => {
      setExit(await runTimeline(file, opts));
    });
}

async function runTimeline(file: string, opts: TimelineCliOptions): Promise<number> {
  const interval = Number(opts.interval);
  if (!(interval > 0)) return usage(`--interval must be a positive number of seconds, got '${opts.interval}'`);
  const connSel = opts.connection !== undefined ? Number.parseInt(opts.connection, 10) : undefined;
  const subSel = opts.subflow !== undefined ? Number.parseInt(opts.subflow, 10) : undefined;
  if (connSel !== undefined && !(connSel >= 0)) return usage(`--connection must be a non-negative integer`);
  if (subSel !== undefined && !(subSel >= 0)) return usage(`--subflow must be a non-negative integer`);
  const events = opts.csv === true || opts.ndjson === true;

  // Pass 1 (events or plots): the connection model, to label events with Connection.id / Subflow.id.
  let ids = new Map<number, { conn: number; sub: number }>();
  let connections: Connection[];
  try {
    if (events || opts.plot !== undefined) {
      const a = await analyzeFile(file, { maxErrors: 0 });
      ids = idMap(a.connections);
    }
    const out: string[] = [];
    const csvRows: unknown[][] = [];
    const flush = (): void => {
      if (csvRows.length > 0) out.push(stringify(csvRows));
      csvRows.length = 0;
      if (out.length > 0) process.stdout.write(out.join(''));
      out.length = 0;
    };
    const keep = (e: TimelineEvent): boolean => {
      const id = ids.get(e.tcpStream) ?? ids.get(e.root);
      if (connSel !== undefined && id?.conn !== connSel) return false;
      if (subSel !== undefined && ids.get(e.tcpStream)?.sub !== subSel) return false;
      return true;
    };
    const collector = opts.plot !== undefined ? new SequencePlotCollector(keep) : undefined;
    if (opts.csv === true) out.push(stringify([[...TIMELINE_CSV_COLUMNS]]));
    const onEvent =
      events || collector !== undefined
        ? (e: TimelineEvent): void => {
            collector?.onEvent(e);
            if (!events || !keep(e)) return;
            const id = ids.get(e.tcpStream);
            const row = {
              time: e.time,
              frame: e.frame,
              connection: ids.get(e.root)?.conn ?? id?.conn ?? null,
              subflow: id?.sub ?? null,
              tcp_stream: e.tcpStream,
              dir: e.dir,
              data_dir: e.dataDir,
              event: e.type,
              seq: e.seq ?? null,
              ack: e.ack ?? null,
              len: e.len ?? null,
              dsn: e.dsn ?? null,
              data_ack: e.dataAck ?? null,
              in_flight: e.inFlight ?? null,
              rtt: e.rtt ?? null,
              detail: e.detail ?? null,
            };
            if (opts.csv === true) csvRows.push(TIMELINE_CSV_COLUMNS.map((c) => row[c] ?? ''));
            else out.push(`${JSON.stringify(row)}\n`);
            if (out.length + csvRows.length >= 4096) flush();
          }
        : undefined;
    const obs = new TimelineObserver(onEvent !== undefined ? { interval, onEvent } : { interval });
    const a = await analyzeFile(file, { maxErrors: 0, observers: [obs] });
    flush();
    connections = a.connections;
    if (ids.size === 0) ids = idMap(connections);
    const result = obs.result({ connections, tcpConnections: a.tcpConnections });
    const metrics = computeMetrics(result, (t, d) => obs.rttHistogram(t, d));
    const sel = result.connections
      .map((c, i) => ({ c, m: metrics[i]! }))
      .filter(({ c }) => connSel === undefined || c.connection === connSel)
      .map(({ c, m }) => (subSel === undefined ? { c, m } : { c: { ...c, subflows: c.subflows.filter((s) => s.subflow === subSel) }, m }));
    if (opts.plot !== undefined && collector !== undefined) {
      mkdirSync(opts.plot, { recursive: true });
      for (const { c } of sel) {
        const label = (ts: number): string => {
          const sf = c.subflows.find((s) => s.tcpStream === ts) ?? result.connections.find((x) => x === c)?.subflows.find((s) => s.tcpStream === ts);
          return sf !== undefined ? `subflow ${sf.subflow ?? '?'} ${sf.client}→${sf.server}${sf.backup ? ' (backup)' : ''}` : `tcp.stream ${ts}`;
        };
        const cid = c.connection ?? c.rootTcpStream;
        for (const dd of [0, 1] as const) {
          const dirName = dd === 0 ? 'client→server' : 'server→client';
          const seq = collector.timeSequenceSpec(c.rootTcpStream, dd, `connection ${cid} ${dirName}: time–sequence (DSN)`, label);
          const tp = throughputSpec(result, c.rootTcpStream, dd, `connection ${cid} ${dirName}: throughput per subflow`, label);
          for (const [name, spec] of [
            [`connection-${cid}-${dd === 0 ? 'c2s' : 's2c'}-sequence`, seq],
            [`connection-${cid}-${dd === 0 ? 'c2s' : 's2c'}-throughput`, tp],
          ] as const) {
            if (spec === undefined) continue;
            if (c.data[dd].uniqueBytes === 0) continue;
            const svg = await renderSvg(spec);
            writeFileSync(join(opts.plot, `${name}.svg`), svg);
            if (opts.png === true) writeFileSync(join(opts.plot, `${name}.png`), await svgToPng(svg));
          }
        }
      }
    }
    if (events) return ExitCode.OK;
    if (opts.json === true) {
      const j: TimelineJson = {
        file,
        interval,
        connections: sel.map(({ c, m }) => ({ connection: c.connection ?? null, timeline: opts.bins ? c : withoutBins(c), metrics: m })),
      };
      await writeJson(process.stdout, j, 2);
      return ExitCode.OK;
    }
    process.stdout.write(text(file, sel));
    return ExitCode.OK;
  } catch (e) {
    process.stderr.write(`mptcpscope timeline: ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return ExitCode.BAD_INPUT;
  }
}

function usage(msg: string): number {
  process.stderr.write(`mptcpscope timeline: ${msg}\n`);
  return ExitCode.BAD_INPUT;
}

function idMap(connections: Connection[]): Map<number, { conn: number; sub: number }> {
  const m = new Map<number, { conn: number; sub: number }>();
  for (const c of connections) for (const s of c.subflows) m.set(s.tcpStream, { conn: c.id, sub: s.id });
  return m;
}

function withoutBins(c: ConnectionTimeline): ConnectionTimeline {
  return {
    ...c,
    subflows: c.subflows.map((s) => ({ ...s, dirs: [{ ...s.dirs[0], bins: [] }, { ...s.dirs[1], bins: [] }] })),
    data: [
      { ...c.data[0], bins: [], shareBins: [] },
      { ...c.data[1], bins: [], shareBins: [] },
    ],
  };
}

const ms = (s: number | undefined): string => (s === undefined ? '-' : `${(s * 1000).toFixed(3)} ms`);
const mbps = (bps: number | undefined): string => (bps === undefined ? '-' : `${((bps * 8) / 1e6).toFixed(2)} Mbit/s`);

function text(file: string, sel: Array<{ c: ConnectionTimeline; m: ConnectionMetrics }>): string {
  const lines: string[] = [`${file}: ${sel.length} MPTCP connection(s) with timelines`];
  for (const { c, m } of sel) {
    lines.push('', `connection ${c.connection ?? '?'} (tcp.stream ${c.rootTcpStream}), keys ${c.keysKnown ? 'known' : 'unknown'}`);
    for (const d of m.directions) {
      const dd = c.data[d.dataDir];
      lines.push(
        `  ${d.dataDir === 0 ? 'client→server' : 'server→client'}: ${d.bytes} bytes in ${d.duration.toFixed(3)} s, goodput ${mbps(d.goodput)}` +
          `, aggregation gain ${d.aggregationGain?.toFixed(2) ?? '-'}; reinjections ${d.reinjections.count} (${d.reinjections.needed} needed, ${d.reinjections.spurious} spurious)` +
          `; data-level out-of-order ${d.outOfOrder.segments} segments; DATA_FIN ${dd.dataFin ? `frame ${dd.dataFin.frame}` : '-'}` +
          `${dd.dataFinAck ? ` acked frame ${dd.dataFinAck.frame}` : ''}`,
      );
      for (const s of d.subflows) lines.push(`    subflow ${s.subflow ?? '?'} (tcp.stream ${s.tcpStream}): ${(s.share * 100).toFixed(1)} % of the bytes, goodput ${mbps(s.goodput)}`);
    }
    for (const f of m.failovers) {
      lines.push(
        `  failover of tcp.stream ${f.tcpStream}: reinjection ${ms(f.timeToReinjection)} after its last delivered data, goodput recovered after ${ms(f.timeToRecovery)}` +
          ` (SRTT ${ms(f.srtt)}, RTO ${ms(f.rto)})`,
      );
    }
    const t = new Table({ head: ['path (local ↔ remote)', 'backup', 'RTT min', 'median', 'p95', 'retrans', 'throughput'], style: { head: [], border: [] } });
    for (const p of m.paths) {
      t.push([`${p.local} ↔ ${p.remote}`, p.backup ? 'yes' : 'no', ms(p.rtt.min), ms(p.rtt.median), ms(p.rtt.p95), `${(p.retransmissionRate * 100).toFixed(2)} %`, mbps(p.throughput)]);
    }
    lines.push(t.toString());
  }
  return `${lines.join('\n')}\n`;
}
