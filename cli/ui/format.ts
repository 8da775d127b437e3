/** Small text formatters for the live TUI (units: bytes, bytes/s, seconds). */

const UNITS = ['', 'k', 'M', 'G', 'T'];

/** 1234567 → "1.2M" (SI, 1000-based, like `ss`/`iperf`). */
export function si(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return '—';
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  const s = i === 0 ? String(Math.round(v)) : v.toFixed(v >= 100 ? 0 : digits);
  return (n < 0 ? '-' : '') + s + UNITS[i];
}

/** Payload rate in bits per second: bytes/s → "12.3Mb/s". */
export function rate(bytesPerSecond: number): string {
  return `${si(bytesPerSecond * 8)}b/s`;
}

/** Byte count: "4.9MB". */
export function bytes(n: number): string {
  return `${si(n)}B`;
}

/** Seconds → "1:02:03" / "02:03". */
export function duration(sec: number): string {
  const s = Math.floor(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${String(m).padStart(2, '0')}:${ss}`;
}

const BARS = '▁▂▃▄▅▆▇█';

/** Unicode block sparkline of the last `width` values, scaled to their maximum; blanks when all zero. */
export function sparkline(values: readonly number[], width: number): string {
  const v = values.slice(-width);
  const max = Math.max(0, ...v);
  let out = '';
  for (const x of v) out += max <= 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((x / max) * (BARS.length - 1) + 0.5))];
  return out.padStart(width, ' ');
}

/** Cut or pad to exactly `w` columns (ASCII/BMP text; the TUI uses no wide characters). */
export function fit(s: string, w: number, right = false): string {
  if (w <= 0) return '';
  if (s.length > w) return w === 1 ? '…' : `${s.slice(0, w - 1)}…`;
  return right ? s.padStart(w) : s.padEnd(w);
}
