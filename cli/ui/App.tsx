/**
 * The `mptcpscope live` terminal UI (ink 6 / React 19).
 *
 * Layout, top to bottom: help line, connection list, subflow table of the selected connection,
 * data-level progress, address events (ADD_ADDR / REMOVE_ADDR / MP_PRIO), findings feed, status bar.
 * Enter toggles a detail view of the selected connection (keys, tokens, handshake, endings).
 * Columns are dropped from the right on narrow terminals; lists are cut to the terminal height.
 */
import { Box, Text, useInput, useStdout } from 'ink';
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { ConnectionView, LiveView, SubflowView } from './state.js';
import { bytes, duration, fit, rate, sparkline } from './format.js';

/** Where the UI gets its data: a view replaced at most ~10 times a second by the controller. */
export interface ViewStore {
  getView(): LiveView;
  subscribe(listener: () => void): () => void;
}

/** A minimal {@link ViewStore}: `set` replaces the view and notifies subscribers. */
export class SimpleViewStore implements ViewStore {
  private listeners = new Set<() => void>();
  constructor(private view: LiveView) {}
  getView = (): LiveView => this.view;
  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
  set(view: LiveView): void {
    this.view = view;
    for (const l of this.listeners) l();
  }
}

export interface AppProps {
  store: ViewStore;
  /** q pressed. */
  onQuit?: () => void;
  /** p pressed; receives the new paused state. */
  onPause?: (paused: boolean) => void;
  /** Columns/rows override (tests); default the terminal's. */
  columns?: number;
  rows?: number;
}

function useTerminalSize(cols?: number, rows?: number): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const [size, setSize] = useState({ columns: stdout.columns ?? 100, rows: stdout.rows ?? 30 });
  useEffect(() => {
    const on = (): void => {
      // A narrower terminal re-wraps the previous frame onto more rows than ink erases: clear it first.
      if (stdout.isTTY === true) stdout.write('\x1b[2J\x1b[3J\x1b[H');
      setSize({ columns: stdout.columns ?? 100, rows: stdout.rows ?? 30 });
    };
    stdout.on('resize', on);
    return () => {
      stdout.off('resize', on);
    };
  }, [stdout]);
  return { columns: cols ?? size.columns, rows: rows ?? size.rows };
}

const STATE_COLOR: Record<string, string> = { established: 'green', handshake: 'yellow', fallback: 'magenta', closed: 'gray', active: 'green', idle: 'yellow', removed: 'red' };
const SEV_COLOR: Record<string, string> = { error: 'red', warning: 'yellow', info: 'cyan', problem: 'magenta', capture: 'gray' };

export function matchesFilter(c: ConnectionView, filter: string): boolean {
  if (filter === '') return true;
  const f = filter.toLowerCase();
  const hay = [c.client, c.server, c.clientToken ?? '', c.serverToken ?? '', c.state, `#${c.id}`, ...c.subflows.flatMap((s) => [s.client, s.server])].join(' ').toLowerCase();
  return hay.includes(f);
}

export function App({ store, onQuit, onPause, columns: colsOverride, rows: rowsOverride }: AppProps): React.JSX.Element {
  const view = useSyncExternalStore(store.subscribe, store.getView);
  const { columns, rows } = useTerminalSize(colsOverride, rowsOverride);
  const [selectedKey, setSelectedKey] = useState<number | null>(null);
  const [details, setDetails] = useState(false);
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState<string | null>(null);

  const visible = view.connections.filter((c) => matchesFilter(c, filter));
  let selIndex = visible.findIndex((c) => c.key === selectedKey);
  if (selIndex < 0) selIndex = visible.length > 0 ? 0 : -1;
  const selected = selIndex >= 0 ? visible[selIndex] : undefined;

  // Key handling reads refs, not render-time state: under load ink may call a handler from an older
  // render, and a stale `editing`/`paused` would drop what was typed.
  const editingRef = useRef<string | null>(null);
  const pausedRef = useRef(false);
  const filterRef = useRef('');
  const setEdit = (v: string | null): void => {
    editingRef.current = v;
    setEditing(v);
  };
  const navRef = useRef({ visible, selIndex });
  navRef.current = { visible, selIndex };

  useInput((input, key) => {
    const ed = editingRef.current;
    if (ed !== null) {
      if (key.return) {
        filterRef.current = ed;
        setFilter(ed);
        setEdit(null);
      } else if (key.escape) setEdit(null);
      else if (key.backspace || key.delete) setEdit(ed.slice(0, -1));
      else if (input !== '' && !key.ctrl && !key.meta) setEdit(ed + input);
      return;
    }
    const { visible: vis, selIndex: sel } = navRef.current;
    if (input === 'q' || (key.ctrl && input === 'c')) onQuit?.();
    else if (input === 'p') {
      pausedRef.current = !pausedRef.current;
      setPaused(pausedRef.current);
      onPause?.(pausedRef.current);
    } else if (input === '/') setEdit(filterRef.current);
    else if (key.return) setDetails((d) => !d);
    else if (key.escape) setDetails(false);
    else if (key.upArrow && vis.length > 0) setSelectedKey(vis[Math.max(0, sel - 1)]!.key);
    else if (key.downArrow && vis.length > 0) setSelectedKey(vis[Math.min(vis.length - 1, sel + 1)]!.key);
  });

  const narrow = columns < 80;
  const veryNarrow = columns < 56;
  // Rows: help 1, status 1, headers, then split the rest between connections, subflows, findings.
  const budget = Math.max(6, rows - 2);
  const connRows = Math.max(1, Math.min(visible.length, Math.floor(budget / 4)));
  const start = Math.max(0, Math.min(selIndex - connRows + 1, visible.length - connRows));
  const shown = visible.slice(start, start + connRows);

  return (
    <Box flexDirection="column" width={columns}>
      <Text inverse>{fit(`${narrow ? ' ↑/↓ select  ⏎ details  p pause  / filter  q quit' : ' mptcpscope live — ↑/↓ select  Enter details  p pause  / filter  q quit'}${filter !== '' ? `  [filter: ${filter}]` : ''}`, columns)}</Text>
      {editing !== null ? <Text color="cyan">{fit(`filter: ${editing}▏ (Enter apply, Esc cancel)`, columns)}</Text> : null}
      <Text bold>{connHeader(columns, narrow, veryNarrow)}</Text>
      {visible.length === 0 ? <Text dimColor>{view.connections.length === 0 ? '  (no MPTCP connection yet)' : '  (no connection matches the filter)'}</Text> : null}
      {shown.map((c) => (
        <Text key={c.key} inverse={c === selected} color={c === selected ? undefined : STATE_COLOR[c.state]}>
          {connRow(c, columns, narrow, veryNarrow)}
        </Text>
      ))}
      {visible.length > shown.length ? <Text dimColor>{`  … ${visible.length - shown.length} more`}</Text> : null}
      {selected !== undefined ? (details ? <Details c={selected} columns={columns} /> : <SubflowTable c={selected} columns={columns} narrow={narrow} veryNarrow={veryNarrow} hasTimeline={view.hasTimeline} />) : null}
      {selected !== undefined && !veryNarrow ? <DataLevel c={selected} hasTimeline={view.hasTimeline} columns={columns} /> : null}
      {selected !== undefined ? <AddressEvents c={selected} columns={columns} max={Math.max(1, Math.floor(budget / 8))} /> : null}
      <Findings view={view} columns={columns} max={Math.max(1, Math.floor(budget / 6))} />
      <StatusBar view={view} columns={columns} paused={paused || view.status.paused} />
    </Box>
  );
}

function connHeader(columns: number, narrow: boolean, veryNarrow: boolean): string {
  if (veryNarrow) return fit('  #  state       sf  rate', columns);
  const base = `  ${fit('#', 3)} ${fit('state', 15)} ${fit('ver', 3)} ${fit('sf', 5)} ${fit('throughput', 11, true)} ${fit('bytes', 8, true)} ${fit('find', 4, true)}`;
  return fit(narrow ? base : `${base}  client → server`, columns);
}

function connRow(c: ConnectionView, columns: number, narrow: boolean, veryNarrow: boolean): string {
  const st = c.state === 'closed' && c.endedHow !== undefined ? `closed:${c.endedHow}` : c.state;
  const sf = `${c.activeSubflows}/${c.subflows.length}`;
  if (veryNarrow) return fit(`  ${fit(String(c.id), 2)} ${fit(st, 11)} ${fit(sf, 3)} ${rate(c.rate)}`, columns);
  const ver = c.version === null ? '?' : `v${c.version}`;
  const base = `  ${fit(String(c.id), 3)} ${fit(st, 15)} ${fit(ver, 3)} ${fit(sf, 5)} ${fit(rate(c.rate), 11, true)} ${fit(bytes(c.bytes), 8, true)} ${fit(String(c.findings), 4, true)}`;
  return fit(narrow ? base : `${base}  ${c.client} → ${c.server}`, columns);
}

function SubflowTable({ c, columns, narrow, veryNarrow: tiny, hasTimeline }: { c: ConnectionView; columns: number; narrow: boolean; veryNarrow: boolean; hasTimeline: boolean }): React.JSX.Element {
  // Column widths that fit: the fixed columns, then the sparkline, then the two addresses if there is room;
  // below the fixed columns' width, the compact layout (sf, state, rate, share).
  const stateW = columns >= 100 ? 16 : 12;
  const fixed = 45 + stateW;
  const veryNarrow = tiny || columns < fixed + 1;
  let spark = narrow ? 8 : 16;
  const addrW = Math.min(23, Math.floor((columns - fixed - spark) / 2) - 1);
  const showAddr = !narrow && addrW >= 15;
  if (!showAddr) spark = Math.max(0, Math.min(spark, columns - fixed - 1));
  const head = veryNarrow
    ? `  sf  state    rate        share`
    : `  ${fit('sf', 3)} ${showAddr ? `${fit('client', addrW)} ${fit('server', addrW)} ` : ''}${fit('id c/s', 6)} ${fit('B', 1)} ${fit('state', stateW)} ${fit('', spark)} ${fit('rate', 10, true)} ${fit('RTT', 6, true)} ${fit('rtx', 4, true)} ${fit('share', 5, true)}`;
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>{fit(`Subflows of connection ${c.id}${hasTimeline ? '' : ' (RTT/rtx: timeline not available)'}`, columns)}</Text>
      <Text dimColor>{fit(head, columns)}</Text>
      {c.subflows.map((s) => (
        <Text key={s.tcpStream} color={STATE_COLOR[s.state]}>
          {fit(subflowRow(s, showAddr, veryNarrow, spark, addrW, stateW), columns)}
        </Text>
      ))}
    </Box>
  );
}

function subflowRow(s: SubflowView, showAddr: boolean, veryNarrow: boolean, spark: number, addrW: number, stateW: number): string {
  const st = s.state === 'closed' ? `closed:${s.endedHow ?? '?'}` : s.state;
  const share = `${Math.round(s.share * 100)}%`;
  if (veryNarrow) return `  ${fit(String(s.id), 3)} ${fit(st, 8)} ${fit(rate(s.rate), 11)} ${share}`;
  const ids = `${s.clientAddressId ?? '?'}/${s.serverAddressId ?? '?'}`;
  const rtt = s.rttMs !== undefined ? rttText(s.rttMs) : '—';
  const rtx = s.retransmissions !== undefined ? String(s.retransmissions) : '—';
  return `  ${fit(String(s.id), 3)} ${showAddr ? `${fit(s.client, addrW)} ${fit(s.server, addrW)} ` : ''}${fit(ids, 6)} ${s.backup ? 'B' : ' '} ${fit(st, stateW)} ${spark > 0 ? sparkline(s.history, spark) : ''} ${fit(rate(s.rate), 10, true)} ${fit(rtt, 6, true)} ${fit(rtx, 4, true)} ${fit(share, 5, true)}`;
}

function DataLevel({ c, hasTimeline, columns }: { c: ConnectionView; hasTimeline: boolean; columns: number }): React.JSX.Element {
  const d = c.dataLevel;
  const text =
    d === undefined
      ? `Data level: ${hasTimeline ? 'no DSS mapping yet' : 'DSN / Data ACK / reinjections — (timeline not available)'}`
      : `Data level: DSN ${d.dsn ?? '—'}  Data ACK ${d.dataAck ?? '—'}  reinjections ${d.reinjections ?? '—'}`;
  return <Text>{fit(text, columns)}</Text>;
}

function AddressEvents({ c, columns, max }: { c: ConnectionView; columns: number; max: number }): React.JSX.Element | null {
  const m = c.model;
  const lines: Array<{ frame: number; text: string }> = [];
  for (const a of m.addAddr) lines.push({ frame: a.frame, text: `ADD_ADDR${a.echo ? ' (echo)' : ''} id ${a.addressId} ${a.address}${a.port !== undefined ? `:${a.port}` : ''} by ${a.by}` });
  for (const r of m.removeAddr) lines.push({ frame: r.frame, text: `REMOVE_ADDR id ${r.addressIds.join(',')} by ${r.by}` });
  for (const p of m.prio) lines.push({ frame: p.frame, text: `MP_PRIO backup=${p.backup ? 1 : 0} on subflow ${p.subflow} by ${p.by}` });
  if (m.fallback !== null) lines.push({ frame: m.fallback.frame, text: `FALLBACK ${m.fallback.reason}: ${m.fallback.detail}` });
  if (lines.length === 0) return null;
  lines.sort((a, b) => a.frame - b.frame);
  return (
    <Box flexDirection="column">
      {lines.slice(-max).map((l) => (
        <Text key={`${l.frame}-${l.text}`} color="cyan">
          {fit(`  frame ${l.frame}: ${l.text}`, columns)}
        </Text>
      ))}
    </Box>
  );
}

function Details({ c, columns }: { c: ConnectionView; columns: number }): React.JSX.Element {
  const m = c.model;
  const lines = [
    `Connection ${c.id}: MPTCP ${m.version === null ? '?' : `v${m.version}`}, handshake ${m.handshake}, checksums ${m.checksum === null ? '?' : m.checksum ? 'on' : 'off'}`,
    `  client ${c.client}  key ${m.client.key ?? '—'}  token ${m.client.token ?? '—'}  IDSN ${m.client.idsn ?? '—'}`,
    `  server ${c.server}  key ${m.server.key ?? '—'}  token ${m.server.token ?? '—'}  IDSN ${m.server.idsn ?? '—'}`,
    `  frames ${m.firstFrame}–${m.lastFrame}  ended ${m.ended.how}${m.ended.frame !== undefined ? ` (frame ${m.ended.frame})` : ''}${m.fallback !== null ? `  fallback ${m.fallback.reason} at frame ${m.fallback.frame}` : ''}`,
    ...c.subflows.map(
      (s) => `  subflow ${s.id} (tcp.stream ${s.tcpStream}, ${s.kind}): ${s.client} → ${s.server}  ${s.packets} pkts ${bytes(s.bytes)}  ${s.endedHow ?? s.state}`,
    ),
  ];
  return (
    <Box flexDirection="column" marginTop={1}>
      {lines.map((l, i) => (
        <Text key={i}>{fit(l, columns)}</Text>
      ))}
    </Box>
  );
}

/** Smoothed RTT, ms → "45µs" / "3.2ms" / "120ms" (sub-millisecond RTTs are common on a LAN or veth). */
export function rttText(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  return `${ms.toFixed(ms < 10 ? 1 : 0)}ms`;
}

/** One line of the findings feed: a conformance finding or a decode problem. */
interface FeedLine {
  severity: string;
  id: string;
  connection?: number;
  frame?: number;
  message: string;
  occurrences?: number;
}

/** The newest `max` feed lines: findings (as reported) and decode problems, merged by frame. */
export function feedLines(view: LiveView, max: number): FeedLine[] {
  const out: FeedLine[] = [];
  for (const f of view.findings.slice(-max)) {
    const l: FeedLine = { severity: f.severity, id: f.id, message: f.message };
    if (f.connection !== undefined) l.connection = f.connection;
    if (f.frames[0] !== undefined) l.frame = f.frames[0];
    const occ = f.evidence?.occurrences;
    if (typeof occ === 'number' && occ > 1) l.occurrences = occ;
    out.push(l);
  }
  for (const p of view.problems.slice(-max)) {
    const l: FeedLine = { severity: p.capture === true ? 'capture' : 'problem', id: `${p.layer}/${p.kind}`, message: p.message };
    if (p.frame !== undefined) l.frame = p.frame;
    out.push(l);
  }
  out.sort((a, b) => (a.frame ?? 0) - (b.frame ?? 0));
  return out.slice(-max);
}

function Findings({ view, columns, max }: { view: LiveView; columns: number; max: number }): React.JSX.Element | null {
  const problems = view.status.problems;
  const title = `Findings (${view.hasFindings ? view.findings.length : 'conformance checks not attached'})${problems > 0 ? `  problems ${problems}` : ''}`;
  const lines = feedLines(view, max);
  return (
    <Box flexDirection="column">
      <Text bold>{fit(title, columns)}</Text>
      {lines.map((f, i) => (
        <Text key={i} color={SEV_COLOR[f.severity]}>
          {fit(`  ${f.severity.padEnd(7)} ${f.id.padEnd(8)} #${f.connection ?? '-'} frame ${f.frame ?? '?'}: ${f.message}${f.occurrences !== undefined ? ` (×${f.occurrences})` : ''}`, columns)}
        </Text>
      ))}
    </Box>
  );
}

function StatusBar({ view, columns, paused }: { view: LiveView; columns: number; paused: boolean }): React.JSX.Element {
  const s = view.status;
  const drops = s.dropped === null ? '—' : String(s.dropped);
  // The figures first, the source name last: a narrow terminal cuts the name, not the drop counter.
  const text = ` ${Math.round(s.packetsPerSecond)} pkt/s  ${s.frames} frames  ${bytes(s.bytes)}  drops ${drops}${s.backlogBytes > 0 ? `  behind ${bytes(s.backlogBytes)}` : ''}${s.opening ? '  opening the capture…' : ''}  ${duration(s.elapsed)}${paused ? '  PAUSED' : ''}${s.ended ? '  (end of capture)' : ''}${s.notice !== undefined ? `  ${s.notice}` : ''}  ${s.source}`;
  return (
    <Text inverse color={s.dropped !== null && s.dropped > 0 ? 'red' : undefined}>
      {fit(text, columns)}
    </Text>
  );
}
