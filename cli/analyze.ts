/**
 * `mptcpscope analyze FILE...`: MPTCP connections of capture files, as text, JSON or CSV.
 */
import { stat } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { type AnalyzeOptions, type CaptureAnalysis, analyzeFile } from '../analyzer/analyze.js';
import type { FinalModel } from '../analyzer/model/tracker.js';
import { formatIssue } from '../analyzer/issue.js';
import { analyzeFilesParallel, defaultJobs } from '../analyzer/parallel.js';
import type { Connection, Ending, Subflow } from '../analyzer/model/types.js';
import type { ConnectionMetrics } from '../analyzer/timeline/metrics.js';
import { TimelineObserver } from '../analyzer/timeline/observer.js';
import { ExitCode } from './exit-codes.js';
import { NdjsonWriter, writeJson } from './json-out.js';
import { StreamedMetrics, emptyMetrics, metricsByConnection } from './stream-metrics.js';

const LINK_TYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'EN10MB',
  12: 'RAW',
  14: 'RAW',
  101: 'RAW',
  108: 'LOOP',
  113: 'LINUX_SLL',
  228: 'IPV4',
  229: 'IPV6',
  276: 'LINUX_SLL2',
};

/** Files larger than this get a progress bar when stderr is a terminal. */
const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

interface AnalyzeCliOptions {
  json?: boolean;
  ndjson?: boolean;
  csv?: boolean;
  maxErrors: string;
  progress: boolean;
  tcp?: boolean;
  maxFlows?: string;
  retireAfter?: string;
  timeline?: boolean;
  jobs?: string;
}

export function registerAnalyze(program: Command, setExit: (code: number) => void): void {
  program
    .command('analyze')
    .description('decode capture files (pcap, pcap-ns, pcapng, gzip) and show their MPTCP connections')
    .argument('<file...>', 'capture files')
    .option('--json', 'JSON output (one object per file; an array when several files)')
    .option('--ndjson', "JSON lines, streamed: a 'connection' (or 'tcpConnection') line per connection as soon as it is retired and final (with --timeline: with its metrics), then the ones still open at the end, then a 'capture' line (counts, errors); memory does not follow the number of connections. Files one after another; not with --json, --csv")
    .option('--csv', 'CSV output, one row per subflow')
    .option('--tcp', 'also list the plain TCP connections (text output)')
    .option('--max-errors <n>', 'keep at most n decode errors per file in the report', '1000')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--timeline', 'also build the sequence timelines: multipath metrics per connection (aggregation gain, byte share, failovers, per-path RTT / retransmissions / throughput) in the text and as connections[].metrics in --json')
    .option('--max-flows <n>', 'state limit: most TCP flows held at once; older closed/idle flows are evicted and counted (default 250000)')
    .option('--retire-after <seconds>', "seconds of capture time a finished connection is kept after its last segment before its state is summarised and released ('never': keep all to the end)", '10')
    .option('--jobs <n>', 'with several files: analyse up to n files at once in worker threads (default: the available cores; 1 = one by one)')
    .addHelpText(
      'after',
      `
Exit codes: 0 analysed (even with decode errors in some frames); 2 a file could not be read
(missing, unreadable, not a capture, or no frame could be read).`,
    )
    .action(async (files: string[], opts: AnalyzeCliOptions) => {
      setExit(await runAnalyze(files, opts));
    });
}

async function runAnalyze(files: string[], opts: AnalyzeCliOptions): Promise<number> {
  const maxErrors = Number.parseInt(opts.maxErrors, 10);
  if (!Number.isFinite(maxErrors) || maxErrors < 0) {
    process.stderr.write(`mptcpscope analyze: --max-errors must be a non-negative integer, got '${opts.maxErrors}'\n`);
    return ExitCode.BAD_INPUT;
  }
  const maxFlows = opts.maxFlows === undefined ? undefined : Number.parseInt(opts.maxFlows, 10);
  if (maxFlows !== undefined && (!Number.isFinite(maxFlows) || maxFlows < 1)) {
    process.stderr.write(`mptcpscope analyze: --max-flows must be a positive integer, got '${opts.maxFlows}'\n`);
    return ExitCode.BAD_INPUT;
  }
  const retireAfter = opts.retireAfter === undefined ? undefined : opts.retireAfter === 'never' ? Number.POSITIVE_INFINITY : Number(opts.retireAfter);
  if (retireAfter !== undefined && !(retireAfter >= 0)) {
    process.stderr.write(`mptcpscope analyze: --retire-after must be a number of seconds ≥ 0 or 'never', got '${opts.retireAfter}'\n`);
    return ExitCode.BAD_INPUT;
  }
  const limits: Pick<AnalyzeOptions, 'maxFlows' | 'retireAfter'> = {};
  if (maxFlows !== undefined) limits.maxFlows = maxFlows;
  if (retireAfter !== undefined) limits.retireAfter = retireAfter;
  const jobs = opts.jobs === undefined ? defaultJobs() : Number.parseInt(opts.jobs, 10);
  if (!Number.isFinite(jobs) || jobs < 1) {
    process.stderr.write(`mptcpscope analyze: --jobs must be a positive integer, got '${opts.jobs}'\n`);
    return ExitCode.BAD_INPUT;
  }
  if (opts.ndjson === true) {
    const other = opts.json === true ? '--json' : opts.csv === true ? '--csv' : undefined;
    if (other !== undefined) {
      process.stderr.write(`mptcpscope analyze: --ndjson and ${other} do not go together\n`);
      return ExitCode.BAD_INPUT;
    }
    return runNdjson(files, maxErrors, limits, opts.timeline === true);
  }
  // Several files: analysed in worker threads, printed in input order (the same output as one by one).
  // The workers run the plain analysis only: --timeline (metrics from an observer in this thread) goes one by one.
  const parallel = files.length > 1 && jobs > 1 && opts.timeline !== true ? await analyzeFilesParallel(files, { maxErrors, ...limits }, jobs) : undefined;
  const results: CaptureAnalysis[] = [];
  let exit: number = ExitCode.OK;
  for (const [i, file] of files.entries()) {
    let result: CaptureAnalysis;
    const obs = opts.timeline === true ? new TimelineObserver() : undefined;
    try {
      const p = parallel?.[i];
      if (p === undefined) result = await analyzeWithProgress(file, maxErrors, opts.progress, limits, obs);
      else if ('error' in p) throw new Error(p.error);
      else result = p.analysis;
    } catch (e) {
      process.stderr.write(`mptcpscope analyze: ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
      exit = ExitCode.BAD_INPUT;
      continue;
    }
    if (unusable(result)) {
      exit = ExitCode.BAD_INPUT;
      const first = result.errors[0];
      process.stderr.write(`mptcpscope analyze: ${file}: not a readable capture${first ? `: ${formatIssue(first)}` : ''}\n`);
      if (opts.json !== true && opts.csv !== true) continue;
    }
    const metrics = obs === undefined ? undefined : metricsByConnection(obs, result);
    if (metrics !== undefined && opts.json === true) {
      result = { ...result, connections: result.connections.map((c) => ({ ...c, metrics: metrics.get(c.id) ?? emptyMetrics(c) })) };
    }
    results.push(result);
    if (opts.json !== true && opts.csv !== true) process.stdout.write(renderText(result, opts.tcp === true, metrics));
  }
  if (opts.json === true) {
    const out = results.length === 1 && files.length === 1 ? results[0] : results;
    await writeJson(process.stdout, out, 2);
  } else if (opts.csv === true) {
    process.stdout.write(renderCsv(results));
  }
  return exit;
}

/**
 * `analyze --ndjson`: each file read once, its connections written as JSON lines while it is read (retired,
 * final models: TrackerOptions.onFinal), then those still open at the end, then one 'capture' line: the
 * CaptureAnalysis without the two lists, with `streamed` counts. Connection `id`s are left out (positions in
 * first-appearance order, which a stream cannot know; `subflows[0].tcpStream` names a connection as in tshark).
 */
async function runNdjson(files: string[], maxErrors: number, limits: Pick<AnalyzeOptions, 'maxFlows' | 'retireAfter'>, timeline: boolean): Promise<number> {
  const out = new NdjsonWriter(process.stdout);
  let exit: number = ExitCode.OK;
  for (const file of files) {
    let connections = 0;
    let tcpConnections = 0;
    const obs = timeline ? new TimelineObserver() : undefined;
    const metrics = obs !== undefined ? new StreamedMetrics(obs) : undefined;
    const emit = (m: FinalModel): void => {
      if (m.connection !== undefined) {
        const { id: _id, ...connection } = m.connection;
        if (metrics !== undefined) out.record({ record: 'connection', file, connection: { ...connection, metrics: metrics.of(m.connection) } });
        else out.record({ record: 'connection', file, connection });
        connections++;
      } else if (m.tcpConnection !== undefined) {
        out.record({ record: 'tcpConnection', file, tcpConnection: m.tcpConnection });
        tcpConnections++;
      }
    };
    let result: CaptureAnalysis;
    try {
      result = await analyzeFile(file, { maxErrors, ...limits, onFinal: emit, drain: () => out.drain(), ...(obs !== undefined ? { observers: [obs] } : {}) });
    } catch (e) {
      await out.end();
      process.stderr.write(`mptcpscope analyze: ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
      exit = ExitCode.BAD_INPUT;
      continue;
    }
    metrics?.end(result);
    for (const connection of result.connections) emit({ connection });
    for (const tcpConnection of result.tcpConnections) emit({ tcpConnection });
    const { connections: _c, tcpConnections: _t, ...rest } = result;
    out.record({ record: 'capture', file, ...rest, streamed: { connections, tcpConnections } });
    await out.end();
    if (unusable(result)) {
      exit = ExitCode.BAD_INPUT;
      const first = result.errors[0];
      process.stderr.write(`mptcpscope analyze: ${file}: not a readable capture${first ? `: ${formatIssue(first)}` : ''}\n`);
    }
  }
  return exit;
}

/** A file is unusable when no frame could be read and the reader reported a problem. */
function unusable(r: CaptureAnalysis): boolean {
  return r.frames === 0 && r.errorCount > 0;
}

async function analyzeWithProgress(
  file: string,
  maxErrors: number,
  progress: boolean,
  limits: Pick<AnalyzeOptions, 'maxFlows' | 'retireAfter'>,
  observer?: TimelineObserver,
): Promise<CaptureAnalysis> {
  let bar: cliProgress.SingleBar | undefined;
  if (progress && process.stderr.isTTY === true) {
    const size = (await stat(file)).size;
    if (size >= PROGRESS_MIN_BYTES) {
      bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: `${file} [{bar}] {percentage}% {value}/{total} MB`, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.ceil(size / 1e6), 0);
    }
  }
  try {
    return await analyzeFile(file, {
      maxErrors,
      ...(observer !== undefined ? { observers: [observer] } : {}),
      ...limits,
      ...(bar ? { onProgress: (off: number) => bar?.update(Math.floor(off / 1e6)) } : {}),
    });
  } finally {
    bar?.stop();
  }
}

function endingText(e: Ending): string {
  let s: string = e.how;
  if (e.how === 'MP_TCPRST') s += ` ${e.reason} (${e.reasonName})`;
  if (e.by !== undefined) s += ` by ${e.by}`;
  if (e.frame !== undefined) s += ` #${e.frame}`;
  return s;
}

/** cli-table3 options: colours only on a terminal. */
function tableStyle(): { style: { head: string[]; border: string[] } } | Record<string, never> {
  return process.stdout.isTTY === true ? {} : { style: { head: [], border: [] } };
}

function ep(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function renderText(r: CaptureAnalysis, listTcp: boolean, metrics?: Map<number, ConnectionMetrics>): string {
  const out: string[] = [];
  const c = r.capture;
  const links = c.linkTypes.map((l) => LINK_TYPE_NAMES[l] ?? `linktype ${l}`).join(', ');
  const fmt = `${c.format}${c.gzip ? '+gzip' : ''}${c.format === 'pcapng' ? ` (${c.sections} section${c.sections === 1 ? '' : 's'})` : ''}`;
  out.push(`${c.file}: ${fmt}, ${c.byteOrder}-endian, ${links}, snaplen ${c.snaplen || 'unset'}`);
  const k = r.counts;
  out.push(
    `  ${r.frames} frames: ${k.tcp} TCP, ${k.ipOther} other IP, ${k.ipFragments} IP fragments, ${k.nonIp} non-IP, ${k.undecodable} undecodable; ${k.truncatedByCapture} cut by snaplen`,
  );
  out.push(`  ${r.connections.length} MPTCP connection(s), ${r.tcpConnections.length} plain TCP connection(s)`);
  const cut = r.tcpConnections.filter((t) => t.optionsCutByCapture === true).length;
  if (cut > 0) {
    out.push(`  ${cut} of the plain TCP connection(s) had their SYN options cut by the snaplen: whether they offered MPTCP is unknown`);
  }
  if (c.incomplete) out.push('  WARNING: the file ends early or is corrupt; everything before that point was analysed');
  for (const conn of r.connections) {
    out.push('', ...renderConnection(conn));
    if (metrics !== undefined) out.push(...renderMetrics(conn, metrics.get(conn.id)));
  }
  if (listTcp && r.tcpConnections.length > 0) {
    out.push('', 'Plain TCP connections:');
    const t = new Table({ head: ['stream', 'client', 'server', 'pkts', 'bytes', 'ended'], ...tableStyle() });
    for (const tc of r.tcpConnections) {
      t.push([tc.tcpStream, ep(tc.client.ip, tc.client.port), ep(tc.server.ip, tc.server.port), tc.packets, tc.bytes, endingText(tc.ended)]);
    }
    out.push(t.toString());
  }
  if (r.errorCount > 0) {
    out.push('', `Decode problems: ${r.errorCount}`);
    for (const g of r.errorGroups) {
      const where = g.firstFrame !== undefined ? `first at frame ${g.firstFrame}` : 'file level';
      const tag = g.capture ? ' (capture artefact, not a protocol error)' : '';
      out.push(`  ${g.count} × ${g.layer} ${g.kind}${g.field ? ` [${g.field}]` : ''}${tag}, ${where}: ${g.example}`);
    }
    const shown = r.errors.slice(0, 5);
    for (const e of shown) out.push(`    ${formatIssue(e)}`);
    if (r.errorCount > shown.length) out.push(`    … (${r.errorCount - shown.length} more; --json lists up to --max-errors)`);
  }
  return `${out.join('\n')}\n`;
}

function renderConnection(conn: Connection): string[] {
  const lines: string[] = [];
  const version = conn.version === null ? 'v?' : `v${conn.version}`;
  const cl = conn.client.ip !== undefined && conn.client.port !== undefined ? ep(conn.client.ip, conn.client.port) : '?';
  const sv = conn.server.ip !== undefined && conn.server.port !== undefined ? ep(conn.server.ip, conn.server.port) : '?';
  lines.push(
    `MPTCP connection ${conn.id} (${version}): ${cl} -> ${sv}, handshake ${conn.handshake}, checksum ${conn.checksum === null ? '?' : conn.checksum ? 'on' : 'off'}, ${conn.subflows.length} subflow(s), ${(conn.end - conn.start).toFixed(3)} s, ended ${endingText(conn.ended)}`,
  );
  lines.push(
    `  fallback: ${conn.fallback === null ? 'none' : `${conn.fallback.reason} at frame ${conn.fallback.frame} (${conn.fallback.detail})`}`,
  );
  const keyLine = (name: string, h: Connection['client']): string =>
    `  ${name} key ${h.key ?? 'unknown'}  token ${h.token ?? 'unknown'}  IDSN ${h.idsn ?? 'unknown'}`;
  lines.push(keyLine('client', conn.client), keyLine('server', conn.server));
  const t = new Table({
    head: ['sf', 'stream', 'kind', 'client (addr id)', 'server (addr id)', 'backup', 'pkts', 'bytes c>s', 'bytes s>c', 'secs', 'ended'],
    ...tableStyle(),
  });
  for (const s of conn.subflows) t.push(subflowRow(s));
  lines.push(
    t
      .toString()
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  for (const a of conn.addAddr) {
    lines.push(
      `  ADD_ADDR #${a.frame} by ${a.by}: id ${a.addressId} ${a.address}${a.port !== undefined ? ` port ${a.port}` : ''}${a.echo ? ' (echo)' : ''}${a.hmac ? ` hmac ${a.hmac}` : ''}`,
    );
  }
  for (const a of conn.removeAddr) lines.push(`  REMOVE_ADDR #${a.frame} by ${a.by}: id ${a.addressIds.join(', ')}`);
  for (const p of conn.prio) lines.push(`  MP_PRIO #${p.frame} by ${p.by} on subflow ${p.subflow}: backup=${p.backup ? 1 : 0}`);
  return lines;
}

const mbit = (bytesPerSec: number): string => `${((bytesPerSec * 8) / 1e6).toFixed(2)} Mbit/s`;
/** Seconds as ms with a precision that keeps sub-millisecond values readable (0.037 ms, 12.3 ms, 250 ms). */
const ms = (s: number): string => {
  const v = s * 1000;
  return `${v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ms`;
};

/** Text lines of a connection's timeline metrics (analyze --timeline). */
function renderMetrics(conn: Connection, m: ConnectionMetrics | undefined): string[] {
  if (m === undefined || (m.directions.length === 0 && m.paths.length === 0)) return ['  timeline: no data-level traffic tracked'];
  const sfId = (ts: number): string => {
    const s = conn.subflows.find((x) => x.tcpStream === ts);
    return s === undefined ? `stream ${ts}` : `sf ${s.id}`;
  };
  const dirName = (d: 0 | 1): string => (d === 0 ? 'client→server' : 'server→client');
  const lines: string[] = [];
  for (const d of m.directions) {
    const parts = [`  timeline ${dirName(d.dataDir)}: ${d.bytes} bytes in ${d.duration.toFixed(3)} s`];
    if (d.goodput !== undefined) parts.push(`goodput ${mbit(d.goodput)}`);
    if (d.aggregationGain !== undefined) parts.push(`aggregation gain ${d.aggregationGain.toFixed(2)} (best ${sfId(d.bestSubflow!)})`);
    parts.push(`share ${d.subflows.map((s) => `${sfId(s.tcpStream)} ${(100 * s.share).toFixed(1)} %${s.goodput !== undefined ? ` (${mbit(s.goodput)})` : ''}`).join(', ')}`);
    const ri = d.reinjections;
    parts.push(`reinjections ${ri.count} (${ri.needed} needed, ${ri.spurious} spurious, ${ri.bytes} bytes)`);
    if (d.outOfOrder.segments > 0) parts.push(`out of order at the data level ${d.outOfOrder.segments} segments`);
    lines.push(parts.join('; '));
  }
  for (const p of m.paths) {
    const rtt = p.rtt.samples > 0 ? `RTT min ${ms(p.rtt.min!)} / median ${ms(p.rtt.median!)} / p95 ${ms(p.rtt.p95!)} (${p.rtt.samples} samples)` : 'RTT no samples';
    lines.push(
      `  path ${p.local} -> ${p.remote} (${p.tcpStreams.map(sfId).join(', ')}${p.backup ? ', backup' : ''}): ${rtt}, retransmissions ${(100 * p.retransmissionRate).toFixed(2)} %${p.throughput !== undefined ? `, ${mbit(p.throughput)}` : ''}`,
    );
  }
  for (const f of m.failovers) {
    const parts = [`  failover ${sfId(f.tcpStream)} ${dirName(f.dataDir)} (${f.cause ?? 'stopped'}): last delivered at +${(f.lastDelivered - conn.start).toFixed(3)} s`];
    if (f.timeToReinjection !== undefined) parts.push(`reinjection after ${ms(f.timeToReinjection)} (${f.reinjectedBytes} bytes)`);
    else parts.push('no reinjection');
    if (f.timeToTakeover !== undefined) parts.push(`other subflows carried new data after ${ms(f.timeToTakeover)}`);
    if (f.timeToRecovery !== undefined) parts.push(`goodput recovered after ${ms(f.timeToRecovery)}`);
    if (f.resumed !== undefined) parts.push(`resumed after ${ms(f.resumed - f.lastDelivered)}`);
    if (f.srtt !== undefined) parts.push(`SRTT ${ms(f.srtt)}, RTO ${ms(f.rto!)}`);
    lines.push(parts.join(', '));
  }
  return lines;
}

function subflowRow(s: Subflow): Array<string | number> {
  const id = (a?: number): string => (a === undefined ? '' : ` (${a})`);
  return [
    s.id,
    s.tcpStream,
    s.kind,
    `${ep(s.client.ip, s.client.port)}${id(s.client.addressId)}`,
    `${ep(s.server.ip, s.server.port)}${id(s.server.addressId)}`,
    s.backup ? 'yes' : 'no',
    s.packets,
    s.bytesClientToServer,
    s.bytesServerToClient,
    (s.end - s.start).toFixed(3),
    endingText(s.ended),
  ];
}

/** CSV columns, one row per subflow (documented in docs/analyze-json.md). */
export const CSV_COLUMNS = [
  'file',
  'connection',
  'version',
  'fallback',
  'client_key',
  'client_token',
  'server_key',
  'server_token',
  'subflow',
  'tcp_stream',
  'kind',
  'client_ip',
  'client_port',
  'client_address_id',
  'server_ip',
  'server_port',
  'server_address_id',
  'backup',
  'packets',
  'bytes',
  'bytes_client_to_server',
  'bytes_server_to_client',
  'start',
  'end',
  'ended',
] as const;

function renderCsv(results: CaptureAnalysis[]): string {
  const rows: Array<Array<string | number>> = [];
  for (const r of results) {
    for (const c of r.connections) {
      for (const s of c.subflows) {
        rows.push([
          r.capture.file,
          c.id,
          c.version ?? '',
          c.fallback?.reason ?? '',
          c.client.key ?? '',
          c.client.token ?? '',
          c.server.key ?? '',
          c.server.token ?? '',
          s.id,
          s.tcpStream,
          s.kind,
          s.client.ip,
          s.client.port,
          s.client.addressId ?? '',
          s.server.ip,
          s.server.port,
          s.server.addressId ?? '',
          s.backup ? 1 : 0,
          s.packets,
          s.bytes,
          s.bytesClientToServer,
          s.bytesServerToClient,
          s.start.toFixed(6),
          s.end.toFixed(6),
          s.ended.how,
        ]);
      }
    }
  }
  return stringify(rows, { header: true, columns: [...CSV_COLUMNS] });
}
