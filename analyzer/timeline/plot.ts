/**
 * Plots of the timelines, as Vega-Lite specs rendered headless to SVG (vega's SVG string renderer,
 * no browser) and to PNG with resvg:
 * - time–sequence graph per connection and data direction (tcptrace/mptcptrace style): relative DSN
 *   against time, one colour per subflow, the Data ACK as a step line, reinjections and subflow
 *   retransmissions marked;
 * - throughput per subflow over time, with the data-level goodput.
 *
 * {@link SequencePlotCollector} consumes TimelineEvents while streaming and keeps a bounded,
 * time-bucketed summary (at most ~2×{@link MAX_BUCKETS} buckets per connection direction, and a sampled
 * set of markers), so plotting a long capture does not keep one point per packet.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { TimelineEvent, TimelineResult } from './types.js';

/** Buckets on the time axis per connection direction before they are merged pairwise. */
export const MAX_BUCKETS = 1500;
/** Markers (reinjections / retransmissions) kept per connection direction before sampling. */
export const MAX_MARKERS = 3000;

interface SeqSeries {
  t0: number;
  width: number;
  /** bucket → tcpStream → [min DSN, max DSN end]. */
  data: Map<number, Map<number, [number, number]>>;
  ack: Map<number, number>;
  markers: Array<{ t: number; dsn: number; kind: 'reinjection' | 'retransmission'; tcpStream: number }>;
  stride: number;
  seen: number;
}

/** Streaming, bounded collector of time–sequence points; pass `collector.onEvent` as TimelineOptions.onEvent. */
export class SequencePlotCollector {
  private readonly series = new Map<string, SeqSeries>();
  private readonly t0ByRoot = new Map<number, number>();

  constructor(private readonly filter?: (e: TimelineEvent) => boolean) {}

  readonly onEvent = (e: TimelineEvent): void => {
    if (this.filter !== undefined && !this.filter(e)) return;
    if (e.type !== 'data' && e.type !== 'retransmission' && e.type !== 'reinjection' && e.type !== 'data-ack') return;
    let t0 = this.t0ByRoot.get(e.root);
    if (t0 === undefined) {
      t0 = e.time;
      this.t0ByRoot.set(e.root, t0);
    }
    const key = `${e.root}|${e.dataDir}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = { t0, width: 0.001, data: new Map(), ack: new Map(), markers: [], stride: 1, seen: 0 };
      this.series.set(key, s);
    }
    const t = e.time - s.t0;
    const b = Math.floor(t / s.width);
    if (e.type === 'data-ack') {
      if (e.dataAck !== undefined) s.ack.set(b, Math.max(s.ack.get(b) ?? 0, e.dataAck));
    } else if (e.dsn !== undefined) {
      const end = e.dsn + (e.len ?? 0);
      let m = s.data.get(b);
      if (m === undefined) {
        m = new Map();
        s.data.set(b, m);
      }
      const v = m.get(e.tcpStream);
      if (v === undefined) m.set(e.tcpStream, [e.dsn, end]);
      else {
        if (e.dsn < v[0]) v[0] = e.dsn;
        if (end > v[1]) v[1] = end;
      }
      if (e.type !== 'data') {
        s.seen++;
        if (s.seen % s.stride === 0) {
          s.markers.push({ t, dsn: e.dsn, kind: e.type, tcpStream: e.tcpStream });
          if (s.markers.length > MAX_MARKERS) {
            s.markers = s.markers.filter((_, i) => i % 2 === 0);
            s.stride *= 2;
          }
        }
      }
    }
    if (s.data.size > MAX_BUCKETS * 2 || s.ack.size > MAX_BUCKETS * 2) coarsen(s);
  };

  /** Connection roots (initial subflow tcpStream) and data directions that have points. */
  keys(): Array<{ root: number; dataDir: 0 | 1 }> {
    return [...this.series.entries()]
      .filter(([, s]) => s.data.size > 0)
      .map(([k]) => {
        const [r, d] = k.split('|');
        return { root: Number(r), dataDir: d === '1' ? 1 : 0 };
      });
  }

  /**
   * Vega-Lite spec of the time–sequence graph of one connection direction. `label(tcpStream)` names
   * subflows in the legend. Returns undefined when there is nothing to plot.
   */
  timeSequenceSpec(root: number, dataDir: 0 | 1, title: string, label: (tcpStream: number) => string = (t) => `tcp.stream ${t}`): TopLevelSpec | undefined {
    const s = this.series.get(`${root}|${dataDir}`);
    if (s === undefined || s.data.size === 0) return undefined;
    const MB = 1e6;
    const seg: Array<Record<string, number | string>> = [];
    for (const [b, m] of [...s.data.entries()].sort((x, y) => x[0] - y[0])) {
      for (const [ts, [lo, hi]] of m) seg.push({ t: (b + 0.5) * s.width, lo: lo / MB, hi: hi / MB, subflow: label(ts) });
    }
    const ack: Array<Record<string, number>> = [];
    let last = -1;
    for (const [b, a] of [...s.ack.entries()].sort((x, y) => x[0] - y[0])) {
      if (a <= last) continue;
      last = a;
      ack.push({ t: (b + 1) * s.width, ack: a / MB });
    }
    const marks = s.markers.map((m) => ({ t: m.t, dsn: m.dsn / MB, kind: m.kind, subflow: label(m.tcpStream) }));
    const x = { field: 't', type: 'quantitative', title: 'time since first data (s)' } as const;
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      width: 900,
      height: 500,
      background: 'white',
      layer: [
        {
          data: { values: seg },
          mark: { type: 'rule', strokeWidth: 3 },
          encoding: {
            x,
            y: { field: 'lo', type: 'quantitative', title: 'relative Data Sequence Number (MB)' },
            y2: { field: 'hi' },
            color: { field: 'subflow', type: 'nominal', title: 'subflow', legend: { labelLimit: 400 } },
          },
        },
        {
          data: { values: ack },
          mark: { type: 'line', interpolate: 'step-after', color: '#555555', strokeWidth: 1, strokeDash: [4, 2] },
          encoding: { x, y: { field: 'ack', type: 'quantitative' } },
        },
        {
          data: { values: marks },
          mark: { type: 'point', filled: false, size: 60, strokeWidth: 1.5 },
          encoding: {
            x,
            y: { field: 'dsn', type: 'quantitative' },
            shape: { field: 'kind', type: 'nominal', title: 'marked', scale: { domain: ['reinjection', 'retransmission'], range: ['cross', 'triangle-up'] } },
            stroke: { field: 'kind', type: 'nominal', legend: null, scale: { domain: ['reinjection', 'retransmission'], range: ['#000000', '#d62728'] } },
          },
        },
      ],
      resolve: { scale: { color: 'independent' } },
    } as TopLevelSpec;
  }
}

function coarsen(s: SeqSeries): void {
  s.width *= 2;
  const data = new Map<number, Map<number, [number, number]>>();
  for (const [b, m] of s.data) {
    const nb = Math.floor(b / 2);
    let d = data.get(nb);
    if (d === undefined) {
      d = new Map();
      data.set(nb, d);
    }
    for (const [ts, [lo, hi]] of m) {
      const v = d.get(ts);
      if (v === undefined) d.set(ts, [lo, hi]);
      else {
        if (lo < v[0]) v[0] = lo;
        if (hi > v[1]) v[1] = hi;
      }
    }
  }
  s.data = data;
  const ack = new Map<number, number>();
  for (const [b, a] of s.ack) {
    const nb = Math.floor(b / 2);
    ack.set(nb, Math.max(ack.get(nb) ?? 0, a));
  }
  s.ack = ack;
}

/**
 * Vega-Lite spec of throughput per subflow over time for one connection of a timeline result:
 * payload bits per second on the wire per subflow (data direction `dataDir`), and the data-level goodput.
 */
export function throughputSpec(result: TimelineResult, root: number, dataDir: 0 | 1, title: string, label: (tcpStream: number) => string = (t) => `tcp.stream ${t}`): TopLevelSpec | undefined {
  const c = result.connections.find((x) => x.rootTcpStream === root);
  if (c === undefined) return undefined;
  const iv = result.interval;
  const d = c.data[dataDir];
  const t0 = d.bins[0]?.[0] ?? c.subflows[0]?.dirs[0].bins[0]?.[0];
  if (t0 === undefined) return undefined;
  // Bins are sparse (only bins with bytes): fill the zeros over the connection's whole span so a step line
  // drops to 0 while a subflow is silent.
  const series: Array<{ name: string; bins: Map<number, number> }> = [];
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  const add = (name: string, bins: Array<[number, number]>): void => {
    const m = new Map<number, number>();
    for (const [t, bytes] of bins) {
      const i = Math.round((t - t0) / iv);
      m.set(i, (m.get(i) ?? 0) + bytes);
      if (i < lo) lo = i;
      if (i > hi) hi = i;
    }
    series.push({ name, bins: m });
  };
  for (const sf of c.subflows) {
    for (const sd of sf.dirs) if (sd.dataDir === dataDir) add(label(sf.tcpStream), sd.bins.map(([t, b]) => [t, b]));
  }
  add('data-level goodput', d.bins);
  if (!(hi >= lo)) return undefined;
  const rows: Array<Record<string, number | string>> = [];
  for (const s of series) {
    for (let i = lo; i <= hi + 1; i++) rows.push({ t: i * iv, mbps: ((s.bins.get(i) ?? 0) * 8) / iv / 1e6, series: s.name });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 900,
    height: 400,
    background: 'white',
    data: { values: rows },
    mark: { type: 'line', point: false, interpolate: 'step-after' },
    encoding: {
      x: { field: 't', type: 'quantitative', title: `time since first data (s), ${iv * 1000} ms bins` },
      y: { field: 'mbps', type: 'quantitative', title: 'Mbit/s' },
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 400, orient: 'bottom', columns: 1 } },
      strokeDash: { condition: { test: "datum.series === 'data-level goodput'", value: [6, 3] }, value: [1, 0] },
    },
  } as TopLevelSpec;
}

/** Renders a Vega-Lite spec to an SVG string (headless: vega's string renderer, no DOM, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG string to PNG bytes with resvg (system fonts). */
export async function svgToPng(svg: string, width = 1800): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const r = new Resvg(svg, { fitTo: { mode: 'width', value: width }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return Buffer.from(r.render().asPng());
}
