/**
 * Capture child process of {@link LiveCaptureSource} (analyzer/capture/live.ts): opens libpcap through `cap`
 * and streams every packet to stdout as one record: u32 LE captured length, u32 LE seconds, u32 LE
 * nanoseconds (wall clock when read, so a record that waited in the spool keeps its capture time), then the bytes.
 *
 * Why a child: cap's poll callback asserts on a socket error, and the kernel sets ENETDOWN on a packet
 * socket bound to an interface that goes down, so `ip link set IFACE down` aborts the process holding
 * the handle. Here that kills only this child; the parent reports it, keeps what it read and reopens.
 *
 * Back-pressure: records wait in memory (a queue of their own) while the parent reads too slowly, up to the
 * queue limit (bytes, argument 4); beyond it, as dumpcap does for Wireshark (it writes a file the GUI reads
 * behind it), records go to a spool file, an unlinked temporary file in the spool folder (page cache, then
 * disk), and are handed to stdout from there, in order, as the parent catches up. Nothing is lost while the
 * spool holds less than its limit (bytes, argument 5; 0 = no spool). Memory first: the file costs CPU (copies
 * in and out of the page cache), and CPU taken here is what lets the kernel ring overflow (see WINDOW for what
 * was measured). While 1 MiB or more waits (memory queue plus spool), `backlog BYTES` is printed to stderr
 * every 250 ms, and `backlog 0` once it has drained. Only when both are full are records dropped and counted;
 * the count is printed as `userspace-drops N` at most once a second. On SIGTERM or when stdin ends, the last
 * batch is flushed and `sent N` (records handed on, including those still queued or spooled) is printed; what
 * still waited is discarded (the parent counts it as unread at stop).
 *
 * Arguments: device, BPF filter, kernel buffer size, queue limit, spool limit (bytes), spool folder.
 */
import { closeSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(ev: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
}

const [device, filter, bufSize, queueArg, spoolArg, spoolDir] = process.argv.slice(2);
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

/** Bytes kept in memory for a slow parent before records go to the spool (or are dropped). */
const LIMIT = Number(queueArg) > 0 ? Number(queueArg) : 256 << 20;
/**
 * At most this much is handed to stdout at a time; the rest waits in `queue`. Measured at 120 MB/s: while the
 * backlog waited in stdout's own buffer (130–385 MB of it), this process used 0.35–0.52 of a core, against
 * 0.18–0.21 with this window. The likely cause: Node hands everything buffered in a stream to one writev, so with
 * hundreds of 256 KiB pieces buffered every partial write into the 64 KiB pipe passes the whole iovec list again.
 */
const WINDOW = 4 << 20;
/** Records are appended to `batch` and handed on from `start` on, in pieces of ≥ FLUSH_BYTES or every FLUSH_MS. */
const BATCH = 1 << 20;
const FLUSH_BYTES = 256 << 10;
const FLUSH_MS = 2;
let batch = Buffer.allocUnsafe(BATCH);
let start = 0;
let pos = 0;
let dropped = 0;
/** Records handed on (reported as `sent N` on exit, so the parent can count what it never read). */
let sent = 0;
let lastDropReport = 0;
let timer: NodeJS.Timeout | undefined;
const out = process.stdout;

/** Memory queue: pieces of batches not yet handed to stdout, oldest first (`queue[queueHead]`). */
let queue: Buffer[] = [];
let queueHead = 0;
let queueBytes = 0;

/**
 * Spool (see the module comment): bytes `[spoolRead, spoolWrite)` of the file wait, all newer than the memory
 * queue; while any wait there, new records go to the spool too, so the order is kept.
 */
const SPOOL_LIMIT = Math.max(0, Number(spoolArg ?? 0) || 0);
const SPOOL_CHUNK = 1 << 20;
let spoolFd: number | undefined;
let spoolRead = 0;
let spoolWrite = 0;
let lastBacklogReport = 0;
let reportTimer: NodeJS.Timeout | undefined;

function openSpool(): number {
  if (spoolFd !== undefined) return spoolFd;
  const path = join(spoolDir ?? '/tmp', `mptcpscope-spool-${process.pid}-${Date.now()}`);
  spoolFd = openSync(path, 'w+', 0o600);
  unlinkSync(path); // the data lives as long as the descriptor: nothing is left behind, even after SIGKILL
  return spoolFd;
}

let lastBacklog = 0;
/** Below this, bytes waiting are ordinary pipe buffering, reported as 0. */
const BACKLOG_FLOOR = 1 << 20;

/** `backlog BYTES` on stderr: at most every 250 ms, and always when it has just reached 0. */
function reportBacklog(): void {
  const raw = queueBytes + spoolWrite - spoolRead + out.writableLength;
  const backlog = raw < BACKLOG_FLOOR ? 0 : raw;
  const now = Date.now();
  if (backlog === lastBacklog || (backlog !== 0 && now - lastBacklogReport < 250)) return;
  lastBacklogReport = now;
  lastBacklog = backlog;
  process.stderr.write(`backlog ${backlog}\n`);
}

/**
 * Keep stdout fed with up to WINDOW bytes: the memory queue first, then the spool (oldest first); called after
 * every piece handed on and on every 'drain'. Reports the backlog while there is one (a timer re-checks it
 * while only stdout's own buffer is left, so that `backlog 0` is reported).
 */
function pump(): void {
  while (out.writableLength < WINDOW) {
    if (queueHead < queue.length) {
      const b = queue[queueHead]!;
      queue[queueHead++] = undefined as unknown as Buffer;
      queueBytes -= b.length;
      if (queueHead === queue.length) {
        queue = [];
        queueHead = 0;
      }
      out.write(b);
    } else if (spoolFd !== undefined && spoolRead < spoolWrite) {
      const n = Math.min(SPOOL_CHUNK, spoolWrite - spoolRead);
      const b = Buffer.allocUnsafe(n); // stdout keeps it until written: one buffer per chunk
      const got = readSync(spoolFd, b, 0, n, spoolRead);
      if (got <= 0) break;
      spoolRead += got;
      if (spoolRead >= spoolWrite) {
        spoolRead = spoolWrite = 0;
        ftruncateSync(spoolFd, 0);
      }
      out.write(got === n ? b : b.subarray(0, got));
    } else break;
  }
  reportBacklog();
  if (lastBacklog > 0) reportTimer ??= setTimeout(() => ((reportTimer = undefined), pump()), 50);
}
out.on('drain', pump);

/**
 * Hand what was appended since the last flush on: to stdout, the memory queue or the spool (see the module
 * comment). Per-packet writes cost a syscall and a wake-up of the parent each (cap delivers one packet per poll
 * wake-up in immediate mode); on a loaded 2-core machine that CPU came out of the capture itself. The handed
 * part of `batch` is never touched again; a new batch is taken when the rest is too small for the next record.
 */
function flush(): void {
  if (timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
  }
  if (pos === start) return;
  const bytes = batch.subarray(start, pos);
  start = pos;
  if (spoolRead === spoolWrite && (SPOOL_LIMIT === 0 || queueBytes + bytes.length <= LIMIT)) {
    queue.push(bytes);
    queueBytes += bytes.length;
  } else {
    const fd = openSpool();
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, spoolWrite + off);
    spoolWrite += bytes.length;
  }
  pump();
}

/** Whether the next record of `size` bytes has nowhere to go (memory queue and spool both full). */
function full(size: number): boolean {
  const pending = pos - start + size;
  if (spoolRead === spoolWrite && queueBytes + pending <= LIMIT) return false;
  return spoolWrite - spoolRead + pending > SPOOL_LIMIT;
}

cap.on('packet', (nbytes) => {
  if (full(12 + nbytes)) {
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
  if (reportTimer !== undefined) clearTimeout(reportTimer);
  if (spoolFd !== undefined) closeSync(spoolFd);
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
