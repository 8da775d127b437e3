/**
 * Live capture sources for `mptcpscope live`:
 *
 * - {@link LiveCaptureSource}: a network interface through libpcap (the `cap` npm package).
 * - {@link ReplayCaptureSource}: a capture file replayed in (scaled) real time, so the live view can be
 *   tried without root.
 *
 * Both implement {@link CaptureSource}: frames reach the sink in arrival order, `data` valid only during the
 * call (the sources copy out of their reused buffers before a frame is queued anywhere).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { openCaptureStream } from './open.js';
import type { CaptureSource, CaptureSummary, Frame, FrameSink, LinkTypeValue } from './types.js';
import { LinkType } from './types.js';

/** What went wrong when opening a live capture, for a message the user can act on. */
export type LiveCaptureErrorKind = 'permission' | 'no-such-device' | 'bad-filter' | 'unsupported-link' | 'other';

/** Default {@link LiveCaptureOptions.queueBytes}: 256 MiB. */
export const DEFAULT_QUEUE_BYTES = 256 << 20;
/** Default {@link LiveCaptureOptions.spoolBytes}: 1 GiB (≈ 9 s of a 120 MB/s capture when the analysis gets nothing done). */
export const DEFAULT_SPOOL_BYTES = 1 << 30;

/** A live capture that could not be started; `kind` classifies libpcap's error text. */
export class LiveCaptureError extends Error {
  constructor(
    readonly kind: LiveCaptureErrorKind,
    message: string,
    /** libpcap's own error text. */
    readonly pcapMessage: string,
  ) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}

/**
 * Classify a libpcap error string (pcap_geterr / pcap_create errbuf) and build a user-facing message.
 * libpcap texts matched: "You don't have permission to perform this capture" / "Operation not permitted"
 * (PCAP_ERROR_PERM_DENIED), "No such device exists" (PCAP_ERROR_NO_SUCH_DEVICE), and pcap_compile's
 * "syntax error" / "illegal token" / "unknown host" etc.
 */
export function classifyPcapError(pcapMessage: string, device: string, filter: string, phase: 'open' | 'filter' = 'open'): LiveCaptureError {
  const m = pcapMessage;
  if (/permission|not permitted|EPERM|EACCES/i.test(m)) {
    return new LiveCaptureError(
      'permission',
      `no permission to capture on ${device}: run as root or give node CAP_NET_RAW (setcap cap_net_raw,cap_net_admin=eip $(command -v node)); libpcap said: ${m}`,
      m,
    );
  }
  if (/no such device|doesn't exist|does not exist|SIOCGIFHWADDR|ENODEV/i.test(m)) {
    return new LiveCaptureError('no-such-device', `unknown interface ${JSON.stringify(device)} (see \`ip link\`); libpcap said: ${m}`, m);
  }
  if (phase === 'filter' || /syntax error|illegal|unknown|parse|expression|bpf/i.test(m)) {
    return new LiveCaptureError('bad-filter', `bad BPF filter expression ${JSON.stringify(filter)}: ${m}`, m);
  }
  return new LiveCaptureError('other', `cannot capture on ${device}: ${m}`, m);
}

/** cap's link-type names (binding.cc) → LINKTYPE_* values. */
const CAP_LINK_TYPES: Record<string, LinkTypeValue> = {
  NULL: LinkType.NULL,
  ETHERNET: LinkType.ETHERNET,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
  RAW: LinkType.RAW,
};

/** Counters of a live capture. */
export interface LiveCaptureStats {
  /** Frames delivered to the sink. */
  received: number;
  /**
   * Frames the kernel dropped because the capture ring was full: PACKET_STATISTICS tp_drops (what
   * pcap_stats reports as ps_drop on Linux), accumulated; when that cannot be read, the packet socket's
   * `sk_drops` from `ss --packet -m` (which misses ring drops). Null until known.
   */
  dropped: number | null;
  /** Where `dropped` comes from. */
  dropSource: 'PACKET_STATISTICS' | 'sk_drops' | null;
  /** Frames cut because they did not fit cap's buffer (should stay 0). */
  truncated: number;
  /**
   * Frames the capture child dropped because this process did not read them in time: its memory queue and
   * then its spool (see {@link LiveCaptureOptions.queueBytes}, {@link LiveCaptureOptions.spoolBytes}) were full.
   */
  userspaceDropped: number;
  /**
   * Bytes of captured records waiting for this process (the capture child's memory queue plus its spool), as
   * last reported (every 250 ms while nonzero): how far the analysis runs behind the capture. 0 when caught up.
   */
  backlogBytes: number;
  /** The largest {@link backlogBytes} reported since the capture started, bytes. */
  maxBacklogBytes: number;
  /**
   * Frames the capture child had accepted (in the pipe, its memory queue or its spool) but this process had not
   * read when the capture was stopped: discarded, since stop does not wait for a lagging consumer (the child's
   * `sent N` minus the frames read from it). 0 until a capture stopped.
   */
  unreadAtStop: number;
  /** Times the capture was lost (interface down or gone) and reopened. */
  reopened: number;
}

/** Something that happened to the capture itself (not to the traffic). */
export interface CaptureNotice {
  /** `lost`: the handle died (interface down, deleted); `reopened`: capturing again; `waiting`: reopening failed, retrying. */
  kind: 'lost' | 'reopened' | 'waiting';
  /** One line for the user. */
  message: string;
}

export interface LiveCaptureOptions {
  /** Interface name, or `any`. */
  device: string;
  /** BPF filter expression (pcap-filter(7)); default `tcp`. */
  filter?: string;
  /** Kernel capture buffer (pcap_set_buffer_size), bytes. Default 128 MiB (with snaplen 65535 and immediate mode, libpcap's ring holds about buffer/66 KiB frames). */
  bufferSize?: number;
  /**
   * When this process reads more slowly than packets arrive, the capture child keeps the records in memory, up to
   * this many bytes, and hands them on in order as this process catches up. Default 256 MiB.
   */
  queueBytes?: number;
  /**
   * Beyond {@link queueBytes}, the capture child keeps the records in a spool file, up to this many bytes, and
   * hands them on in order: the analysis runs behind (see {@link LiveCaptureStats.backlogBytes}) but loses
   * nothing. Frames are dropped (and counted in {@link LiveCaptureStats.userspaceDropped}) only when both are
   * full. Default 1 GiB; 0 = no spool (drop once the memory queue is full).
   */
  spoolBytes?: number;
  /** Folder of the spool file (created there and unlinked at once, so nothing is left behind). Default os.tmpdir(). */
  spoolDir?: string;
  /** How often the drop counter is read, ms. Default 1000; 0 = never. */
  statsIntervalMs?: number;
  /** Told when the capture is lost and reopened (see {@link CaptureNotice}). */
  onNotice?: (n: CaptureNotice) => void;
  /** Wait between two attempts to reopen a lost capture, ms. Default 1000. */
  reopenMs?: number;
}

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(ev: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
}
interface CapModule {
  Cap: (new () => CapHandle) & { deviceList(): Array<{ name: string }> };
}

let capModule: CapModule | undefined;
/** Closed validation handles and handles whose open failed, never released: cap's binding crashes when it garbage-collects either (see LiveCaptureSource.open/run). One per open attempt. */
const closedHandles: CapHandle[] = [];
function loadCap(): CapModule {
  if (capModule === undefined) capModule = createRequire(import.meta.url)('cap') as CapModule;
  return capModule;
}

/** Names of the interfaces libpcap can capture on (pcap_findalldevs). Empty when cap cannot be loaded. */
export function captureDevices(): string[] {
  try {
    return loadCap().Cap.deviceList().map((d) => d.name);
  } catch {
    return [];
  }
}

/**
 * Read the kernel drop counter of the packet sockets held by process `pid` (sum of `d` in ss's skmem).
 * Resolves null when `ss` fails or shows no packet socket of that process.
 */
export function packetSocketDrops(pid: number = process.pid): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('ss', ['--packet', '-m', '-p', '-n', '-H'], { timeout: 2000 }, (err, stdout) => {
      if (err !== null) {
        resolve(null);
        return;
      }
      // Each socket: one line with users:((...pid=N...)) then an indented line with skmem:(...,dN).
      const lines = stdout.split('\n');
      let total: number | null = null;
      let mine = false;
      for (const line of lines) {
        if (!/^\s/.test(line) && line.length > 0) mine = line.includes(`pid=${pid},`);
        if (!mine) continue;
        const m = /skmem:\([^)]*\bd(\d+)\)/.exec(line);
        if (m !== null) total = (total ?? 0) + Number(m[1]);
      }
      resolve(total);
    });
  });
}

/**
 * Python helper for {@link packetRingStats}: duplicates the packet sockets of process argv[1] with
 * pidfd_getfd(2) (syscall 438, Linux ≥ 5.6; needs ptrace rights over it, which root has) and reads
 * getsockopt(SOL_PACKET=263, PACKET_STATISTICS=6) → struct tpacket_stats{,_v3} (u32 tp_packets, u32 tp_drops, …).
 * Prints "packets drops" summed over the sockets. The kernel zeroes the counters on each read.
 */
const PACKET_STATS_PY = `
import ctypes, os, socket, struct, sys
pid = int(sys.argv[1])
inodes = set()
with open('/proc/net/packet') as f:
    next(f)
    for line in f:
        parts = line.split()
        if len(parts) >= 9: inodes.add(parts[8])
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(pid)
tot = [0, 0]; n = 0
for fd in os.listdir('/proc/%d/fd' % pid):
    try: link = os.readlink('/proc/%d/fd/%s' % (pid, fd))
    except OSError: continue
    if not (link.startswith('socket:[') and link[8:-1] in inodes): continue
    nfd = libc.syscall(438, pidfd, int(fd), 0)
    if nfd < 0: continue
    try:
        s = socket.socket(fileno=nfd)
        p, d = struct.unpack('II', s.getsockopt(263, 6, 12)[:8])
        tot[0] += p; tot[1] += d; n += 1
        s.detach()
    finally:
        os.close(nfd)
print(n, tot[0], tot[1])
`;

/**
 * Read and reset the libpcap ring counters (PACKET_STATISTICS: tp_packets, tp_drops, what pcap_stats reports
 * as ps_recv / ps_drop on Linux) of the packet sockets held by process `pid`, through a python3 helper.
 * Resolves null when the helper cannot run (no python3, no pidfd_getfd, no permission) or finds no socket.
 * Counters are reset by each read: the caller accumulates.
 */
export function packetRingStats(pid: number = process.pid): Promise<{ packets: number; drops: number } | null> {
  return new Promise((resolve) => {
    execFile('python3', ['-c', PACKET_STATS_PY, String(pid)], { timeout: 3000 }, (err, stdout) => {
      const m = err === null ? /^(\d+) (\d+) (\d+)/.exec(stdout) : null;
      if (m === null || m[1] === '0') resolve(null);
      else resolve({ packets: Number(m[2]), drops: Number(m[3]) });
    });
  });
}

/**
 * A live interface through libpcap (snaplen 65535, promiscuous, immediate mode, non-blocking).
 *
 * cap gives no per-packet timestamp, so frames are stamped with the wall clock when node reads them
 * (µs-precise, by the capture child, later than the kernel's stamp by its event-loop delay). `run` resolves when {@link stop}
 * is called; it rejects with a {@link LiveCaptureError} when the capture cannot be opened.
 */
export class LiveCaptureSource implements CaptureSource {
  readonly name: string;
  readonly stats: LiveCaptureStats = { received: 0, dropped: null, dropSource: null, truncated: 0, userspaceDropped: 0, backlogBytes: 0, maxBacklogBytes: 0, unreadAtStop: 0, reopened: 0 };
  linkType: LinkTypeValue = LinkType.ETHERNET;
  private cap: CapHandle | undefined;
  private finish: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly filter: string;

  constructor(private readonly opts: LiveCaptureOptions) {
    this.name = opts.device;
    this.filter = opts.filter ?? 'tcp';
  }

  /** Open the device now (throws {@link LiveCaptureError}); `run` opens it itself when this was not called. */
  open(): void {
    if (this.cap !== undefined) return;
    const { device } = this.opts;
    let mod: CapModule;
    try {
      mod = loadCap();
    } catch (e) {
      throw new LiveCaptureError('other', `libpcap binding (cap) not available: ${e instanceof Error ? e.message : String(e)}`, '');
    }
    const names = captureDevices();
    if (names.length > 0 && !names.includes(device)) {
      throw new LiveCaptureError('no-such-device', `unknown interface ${JSON.stringify(device)}; available: ${names.join(', ')}`, '');
    }
    const cap = new mod.Cap();
    const buffer = Buffer.alloc(65535 + 64);
    let link: string;
    try {
      // Only validates device and filter (the child captures): a small ring, not the 128 MiB one, whose setup
      // cost ≈ 0.7 s of CPU at start-up (profile of `live -i`).
      link = cap.open(device, this.filter, Math.min(this.opts.bufferSize ?? 128 * 1024 * 1024, 1 << 20), buffer);
    } catch (e) {
      // Do not call cap.close() here: after a failed open the binding's poll handle was never initialised
      // and close() aborts the process (uv_poll_stop assertion). The binding's destructor calls close() too,
      // so the failed object is kept referenced (never garbage-collected); the half-open pcap handle is small.
      closedHandles.push(cap);
      const msg = e instanceof Error ? e.message : String(e);
      throw classifyPcapError(msg, device, this.filter);
    }
    const lt = CAP_LINK_TYPES[link];
    if (lt === undefined) {
      cap.close();
      closedHandles.push(cap);
      throw new LiveCaptureError('unsupported-link', `interface ${device} has an unsupported link type (${link})`, link);
    }
    this.linkType = lt;
    this.cap = cap;
  }

  private child: ChildProcess | undefined;
  private stopped = false;
  private reopenTimer: NodeJS.Timeout | undefined;

  /**
   * Capture until {@link stop}. The device is opened here first (errors reject with a LiveCaptureError), then
   * captured by a child process (analyzer/capture/live-worker.ts) so that a handle lost when the interface
   * goes down ends only the child: `onNotice` is told, frames read so far stay delivered, and the capture is
   * reopened every `reopenMs` until it works again (same interface, frame numbers continue).
   */
  run(sink: FrameSink): Promise<CaptureSummary> {
    try {
      this.open();
    } catch (e) {
      return Promise.reject(e);
    }
    // The in-process handle only validated the device and filter; the child captures. The closed handle is
    // kept referenced: cap's binding crashes (SIGSEGV) when a closed Cap object is garbage-collected.
    if (this.cap !== undefined) {
      try {
        this.cap.close();
      } catch {
        /* closed */
      }
      closedHandles.push(this.cap);
    }
    this.cap = undefined;
    const stats = this.stats;
    const linkType = this.linkType;
    let number = 0;
    const onRecord = (data: Uint8Array, sec: number, nsec: number): void => {
      const frame: Frame = {
        number: ++number,
        tsSec: sec,
        tsNsec: nsec,
        capturedLength: data.length,
        originalLength: data.length,
        linkType,
        interfaceId: 0,
        data,
        fileOffset: -1,
      };
      stats.received++;
      sink.frame(frame);
    };
    const start = (reopen: boolean): void => {
      if (this.stopped) return;
      const child = spawnCaptureChild(
        [
          this.opts.device,
          this.filter,
          this.opts.bufferSize ?? 128 * 1024 * 1024,
          this.opts.queueBytes ?? DEFAULT_QUEUE_BYTES,
          this.opts.spoolBytes ?? DEFAULT_SPOOL_BYTES,
          this.opts.spoolDir ?? tmpdir(),
        ],
        onRecord,
      );
      this.child = child.proc;
      let opened = false;
      child.onLine((line) => {
        if (line.startsWith('link ')) {
          opened = true;
          this.capturing = true;
          if (reopen) {
            stats.reopened++;
            this.opts.onNotice?.({ kind: 'reopened', message: `capturing on ${this.opts.device} again` });
          }
        } else if (line.startsWith('userspace-drops ')) stats.userspaceDropped = Number(line.slice(16)) + this.droppedBefore;
        else if (line.startsWith('backlog ')) {
          const n = Number(line.slice(8));
          if (Number.isSafeInteger(n) && n >= 0) {
            stats.backlogBytes = n;
            if (n > stats.maxBacklogBytes) stats.maxBacklogBytes = n;
          }
        }
        else if (line.startsWith('sent ') && this.stopped) {
          const n = Number(line.slice(5));
          if (Number.isSafeInteger(n) && n > child.read()) stats.unreadAtStop += n - child.read();
        }
      });
      child.proc.on('close', (code, signal) => {
        this.capturing = false;
        this.droppedBefore = stats.userspaceDropped;
        if (this.child === child.proc) this.child = undefined;
        if (this.stopped) {
          stats.backlogBytes = 0; // what still waited is counted in unreadAtStop
          this.finish?.();
          this.finish = undefined;
          return;
        }
        const why = child.stderr().includes('Assertion') || signal === 'SIGABRT' ? 'the interface went down or was removed (the kernel reported ENETDOWN on the capture socket)' : child.stderr().trim().split('\n').pop() ?? `capture process ended (${code ?? signal})`;
        this.opts.onNotice?.(opened ? { kind: 'lost', message: `capture on ${this.opts.device} lost after frame ${number}: ${why}; reopening` } : { kind: 'waiting', message: `cannot reopen ${this.opts.device} yet: ${why.replace(/^open-error /, '')}` });
        this.reopenTimer = setTimeout(() => start(true), this.opts.reopenMs ?? 1000);
      });
    };
    start(false);
    const interval = this.opts.statsIntervalMs ?? 1000;
    if (interval > 0) {
      const poll = (): void => {
        void this.refreshDrops();
      };
      poll();
      this.timer = setInterval(poll, interval);
    }
    return new Promise((resolve) => {
      this.finish = () => {
        resolve({
          file: this.name,
          format: 'live',
          gzip: false,
          byteOrder: 'little',
          interfaces: [{ id: 0, linkType, snaplen: 65535, name: this.name, tsUnitsPerSecond: 1e6, tsOffsetSec: 0 }],
          frames: stats.received,
          bytes: 0,
          sections: 1,
          issues: [],
          incomplete: false,
        });
      };
    });
  }

  private droppedBefore = 0;

  /**
   * True while the capture child has its capture open (from its `link` report until it exits): packets sent
   * before that are not seen. Opening a 128 MiB ring takes the child up to a second.
   */
  capturing = false;

  /** True once {@link stop} was called. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Read the drop counter of the capture child once more (for a final figure), then resolve. */
  async refreshDrops(): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    const st = this.stats;
    if (st.dropSource !== 'sk_drops') {
      const r = await packetRingStats(pid);
      if (r !== null) {
        st.dropSource = 'PACKET_STATISTICS';
        st.dropped = (st.dropped ?? 0) + r.drops;
        return;
      }
      if (st.dropSource === 'PACKET_STATISTICS') return; // transient failure; keep the sum
    }
    const d = await packetSocketDrops(pid);
    if (d !== null) {
      st.dropSource = 'sk_drops';
      st.dropped = d;
    }
  }

  /** Stop capturing (idempotent); `run` resolves once the capture child has handed over its last frames. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.reopenTimer !== undefined) clearTimeout(this.reopenTimer);
    if (this.child !== undefined) {
      // Frames still queued in the pipe are not waited for (a lagging consumer would delay the exit by seconds);
      // what was delivered so far is kept. 'close' resolves run.
      this.child.stdout?.destroy();
      this.child.kill('SIGTERM');
      return;
    }
    if (this.cap !== undefined) {
      try {
        this.cap.close();
      } catch {
        /* ignore */
      }
      closedHandles.push(this.cap);
      this.cap = undefined;
    }
    const f = this.finish;
    this.finish = undefined;
    f?.();
  }
}

export interface ReplayOptions {
  /** Time scale: 2 = twice as fast as captured; Infinity = as fast as possible. Default 1. */
  speed?: number;
  /** Longest pause between two frames, seconds of replay time (idle gaps are shortened). Default 5. */
  maxGap?: number;
}

/**
 * A capture file replayed in (scaled) real time. Frames keep their file timestamps; `run` delivers each
 * when its time (relative to the first frame, divided by `speed`) has come. Memory stays bounded: the file
 * is read in 64 KiB chunks and reading waits while more than a few thousand frames are queued.
 * {@link pause}/{@link resume} stop and restart the clock; {@link stop} ends the replay early.
 */
export class ReplayCaptureSource implements CaptureSource {
  readonly name: string;
  private readonly speed: number;
  private readonly maxGap: number;
  private readonly queue: Frame[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private drained: (() => void) | undefined;
  private stopped = false;
  private paused = false;
  /** Replay-clock origin: wall ms at which capture-time `t0` is due. */
  private originWall = 0;
  private t0 = Number.NaN;
  private pausedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly HIGH = 4096;

  constructor(
    private readonly path: string,
    opts: ReplayOptions = {},
  ) {
    this.name = path;
    this.speed = opts.speed !== undefined && opts.speed > 0 ? opts.speed : 1;
    this.maxGap = opts.maxGap ?? 5;
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.pausedAt = Date.now();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.originWall += Date.now() - this.pausedAt;
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
    this.drained?.();
  }

  private async *chunks(): AsyncGenerator<Uint8Array> {
    const rs = createReadStream(this.path, { highWaterMark: 64 * 1024 });
    try {
      for await (const c of rs) {
        if (this.stopped) return;
        while (this.queue.length - this.head > this.HIGH && !this.stopped) {
          await new Promise<void>((r) => {
            this.drained = r;
          });
          this.drained = undefined;
        }
        if (this.stopped) return;
        yield c as Buffer;
      }
    } finally {
      rs.destroy();
    }
  }

  async run(sink: FrameSink): Promise<CaptureSummary> {
    const src = openCaptureStream(this.chunks(), this.path);
    let reading = true;
    let gapShift = 0; // seconds of capture time skipped because of maxGap
    let lastT = Number.NaN;
    let dueFrame: Frame | undefined;
    let dueT = 0;
    const pump = async (): Promise<void> => {
      for (;;) {
        if (this.stopped) return;
        if (this.paused || this.head >= this.queue.length) {
          if (!reading && this.head >= this.queue.length) return;
          await new Promise<void>((r) => {
            this.wake = r;
          });
          this.wake = undefined;
          continue;
        }
        const f = this.queue[this.head]!;
        if (dueFrame !== f) {
          // First look at this frame: place it on the replay clock once.
          let t = f.tsSec + f.tsNsec / 1e9;
          if (Number.isNaN(this.t0)) {
            this.t0 = t;
            this.originWall = Date.now();
            lastT = t;
          }
          if (t - lastT > this.maxGap) gapShift += t - lastT - this.maxGap;
          t -= gapShift;
          dueT = t;
          dueFrame = f;
        }
        const due = this.originWall + ((dueT - this.t0) * 1000) / this.speed;
        const wait = due - Date.now();
        if (wait > 1 && Number.isFinite(this.speed)) {
          await new Promise<void>((r) => {
            this.wake = r;
            this.timer = setTimeout(r, Math.min(wait, 250));
          });
          this.wake = undefined;
          continue; // re-check pause/stop, then the same frame
        }
        lastT = f.tsSec + f.tsNsec / 1e9;
        this.queue[this.head++] = undefined as unknown as Frame;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        if (this.queue.length - this.head <= this.HIGH / 2) this.drained?.();
        sink.frame(f);
        // Yield to the event loop now and then so the UI and key handling stay responsive.
        if ((f.number & 255) === 0) await new Promise<void>((r) => setImmediate(r));
      }
    };
    const pumping = pump();
    const summary = await src.run({
      frame: (f) => {
        // The reader's buffer is reused: copy the bytes of every queued frame.
        this.queue.push({ ...f, data: new Uint8Array(f.data) });
        this.wake?.();
      },
      issue: (i) => sink.issue?.(i),
    });
    reading = false;
    this.wake?.();
    await pumping;
    if (this.timer !== undefined) clearTimeout(this.timer);
    return summary;
  }
}

/** The compiled worker next to this module (dist/), or dist/'s copy when running from the TypeScript sources. */
function workerPath(): string {
  const here = fileURLToPath(new URL('./live-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  return here.replace(/([\\/])analyzer([\\/])capture([\\/])live-worker\.js$/, '$1dist$1analyzer$2capture$3live-worker.js');
}

/**
 * Parser of the capture child's record stream (analyzer/capture/live-worker.ts): u32 LE captured length, u32 LE
 * seconds, u32 LE nanoseconds, then that many bytes, cut anywhere by pipe reads. Returns the function to call
 * with each read, in order; `onRecord` gets each complete record. Records wholly inside one read are views of
 * that read's buffer (each pipe read is a fresh buffer nothing reuses); a record cut by the end of a read is
 * copied once into a buffer of its own length (the rest of the read never is: an earlier version concatenated
 * the cut tail with the whole next read, copying most bytes a second time with GSO-sized packets).
 */
export function captureRecordParser(onRecord: (data: Uint8Array, sec: number, nsec: number) => void): (chunk: Buffer) => void {
  /** A record cut by the end of a pipe read: its bytes so far (`pending`, `have` of them) and its header. */
  let pending: Buffer | undefined;
  let have = 0;
  let head: Buffer | undefined;
  return (chunk: Buffer): void => {
    let o = 0;
    if (head !== undefined && head.length < 12) {
      // The cut fell inside the 12-byte header: complete it first.
      const take = Math.min(12 - head.length, chunk.length);
      head = Buffer.concat([head, chunk.subarray(0, take)]);
      o = take;
      if (head.length < 12) return;
      pending = Buffer.allocUnsafe(head.readUInt32LE(0));
      have = 0;
    }
    if (pending !== undefined && head !== undefined) {
      // Only the cut record is copied (into a buffer of its own size), never the rest of the read.
      const take = Math.min(pending.length - have, chunk.length - o);
      chunk.copy(pending, have, o, o + take);
      have += take;
      o += take;
      if (have < pending.length) return;
      onRecord(new Uint8Array(pending.buffer, pending.byteOffset, pending.length), head.readUInt32LE(4), head.readUInt32LE(8));
      pending = head = undefined;
    }
    while (chunk.length - o >= 12) {
      const len = chunk.readUInt32LE(o);
      if (chunk.length - o < 12 + len) break;
      // A view, not a copy: every pipe read is a fresh buffer that nothing reuses.
      onRecord(new Uint8Array(chunk.buffer, chunk.byteOffset + o + 12, len), chunk.readUInt32LE(o + 4), chunk.readUInt32LE(o + 8));
      o += 12 + len;
    }
    if (o < chunk.length) {
      head = Buffer.from(chunk.subarray(o, Math.min(o + 12, chunk.length)));
      o += head.length;
      if (head.length === 12) {
        pending = Buffer.allocUnsafe(head.readUInt32LE(0));
        have = chunk.length - o;
        chunk.copy(pending, 0, o);
      }
    }
  };
}

/** Start a capture child and parse its record stream (see live-worker.ts, {@link captureRecordParser}). */
function spawnCaptureChild(
  args: [device: string, filter: string, bufferSize: number, queueBytes: number, spoolBytes: number, spoolDir: string],
  onRecord: (data: Uint8Array, sec: number, nsec: number) => void,
): { proc: ChildProcess; onLine(cb: (line: string) => void): void; stderr(): string; read(): number } {
  const proc = spawn(process.execPath, [workerPath(), ...args.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let read = 0;
  const parse = captureRecordParser((data, sec, nsec) => {
    read++;
    onRecord(data, sec, nsec);
  });
  proc.stdout!.on('data', parse);
  proc.stdin!.on('error', () => {});
  let err = '';
  let partial = '';
  const cbs: Array<(l: string) => void> = [];
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (s: string) => {
    if (err.length < 65536) err += s;
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) for (const cb of cbs) cb(l);
  });
  return { proc, onLine: (cb) => cbs.push(cb), stderr: () => err, read: () => read };
}
