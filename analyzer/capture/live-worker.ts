/**
 * Capture child process of {@link LiveCaptureSource} (analyzer/capture/live.ts): opens libpcap through `cap`
 * and streams every packet to stdout as one record: u32 LE captured length, u32 LE seconds, u32 LE
 * nanoseconds (wall clock when read), then the bytes. Arguments: device, BPF filter, buffer size (bytes).
 *
 * Why a child: cap's poll callback asserts on a socket error, and the kernel sets ENETDOWN on a packet
 * socket bound to an interface that goes down, so `ip link set IFACE down` aborts the process holding
 * the handle. Here that kills only this child; the parent reports it, keeps what it read and reopens.
 *
 * Back-pressure: when the parent does not read (stdout buffer above 64 MiB), packets are dropped here and
 * counted; the count is printed to stderr as `userspace-drops N` at most once a second. On SIGTERM or
 * when stdin ends, the last batch is flushed and `sent N` (records written to stdout) is printed.
 */
import { createRequire } from 'node:module';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(ev: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
}

const [device, filter, bufSize] = process.argv.slice(2);
const { Cap } = createRequire(import.meta.url)('cap') as { Cap: new () => CapHandle };
const cap = new Cap();
const buffer = Buffer.alloc(65535 + 64);
let link: string;
try {
  link = cap.open(device!, filter!, Number(bufSize), buffer);
} catch (e) {
  process.stderr.write(`open-error ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(3);
}
process.stderr.write(`link ${link}\n`);

const LIMIT = 64 << 20;
/** Records are appended to `batch` and handed to stdout from `start` on, in writes of ≥ FLUSH_BYTES or every FLUSH_MS. */
const BATCH = 1 << 20;
const FLUSH_BYTES = 256 << 10;
const FLUSH_MS = 2;
let batch = Buffer.allocUnsafe(BATCH);
let start = 0;
let pos = 0;
let dropped = 0;
/** Records handed to stdout (reported as `sent N` on exit, so the parent can count what it never read). */
let sent = 0;
let lastDropReport = 0;
let timer: NodeJS.Timeout | undefined;
const out = process.stdout;

/**
 * Hand what was appended since the last flush to stdout. Per-packet writes cost a syscall and a wake-up of the
 * parent each (cap delivers one packet per poll wake-up in immediate mode); on a loaded 2-core machine that CPU
 * came out of the capture itself. The written part of `batch` is never touched again; a new batch is taken when
 * the rest is too small for the next record.
 */
function flush(): void {
  if (timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
  }
  if (pos === start) return;
  out.write(batch.subarray(start, pos));
  start = pos;
}

cap.on('packet', (nbytes) => {
  if (out.writableLength > LIMIT) {
    dropped++;
    const now = Date.now();
    if (now - lastDropReport > 1000) {
      lastDropReport = now;
      process.stderr.write(`userspace-drops ${dropped}\n`);
    }
    return;
  }
  if (pos + 12 + nbytes > batch.length) {
    flush();
    batch = Buffer.allocUnsafe(BATCH);
    start = pos = 0;
  }
  const ms = performance.timeOrigin + performance.now();
  const sec = Math.floor(ms / 1000);
  batch.writeUInt32LE(nbytes, pos);
  batch.writeUInt32LE(sec, pos + 4);
  batch.writeUInt32LE(Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)), pos + 8);
  buffer.copy(batch, pos + 12, 0, nbytes);
  pos += 12 + nbytes;
  sent++;
  if (pos - start >= FLUSH_BYTES) flush();
  else timer ??= setTimeout(flush, FLUSH_MS);
});

const bye = (): void => {
  flush();
  if (dropped > 0) process.stderr.write(`userspace-drops ${dropped}\n`);
  process.stderr.write(`sent ${sent}\n`);
  try {
    cap.close();
  } catch {
    /* closed */
  }
  process.exit(0);
};
process.on('SIGTERM', bye);
process.on('SIGINT', () => {}); // the parent decides when to stop (Ctrl-C reaches the whole process group)
process.stdin.on('end', bye); // parent gone
process.stdin.resume();
