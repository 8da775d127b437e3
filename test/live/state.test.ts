/**
 * LiveState (cli/ui/state.ts) and ReplayCaptureSource (analyzer/capture/live.ts) on real captures.
 * Throughput is checked against the tcpdump sidecar (per-frame `length` and timestamps), replayed frames
 * against the file reader's own frames (bytes copied out of the reused buffer), pause/resume functionally.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FramePipeline } from '../../analyzer/analyze.js';
import { ReplayCaptureSource } from '../../analyzer/capture/live.js';
import { openCapture } from '../../analyzer/capture/open.js';
import type { Frame } from '../../analyzer/capture/types.js';
import { LiveState, type LiveView } from '../../cli/ui/state.js';
import { FIXTURES } from '../helpers/fixtures.js';

const BASIC = 'shared-linux/01-basic.client.pcap';

/** tcpdump -# -n -tt-less lines: frame → { seconds of day, src endpoint, dst endpoint, length }. */
function tcpdumpLines(rel: string): Map<number, { t: number; src: string; dst: string; len: number }> {
  const text = gunzipSync(readFileSync(join(FIXTURES, `${rel}.tcpdump.txt.gz`))).toString('utf8');
  const out = new Map<number, { t: number; src: string; dst: string; len: number }>();
  const re = /^\s*(\d+)\s+(\d\d):(\d\d):(\d\d\.\d+) .*?IP (\S+)\.(\d+) > (\S+)\.(\d+):.*length (\d+)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m === null) continue;
    out.set(Number(m[1]), { t: Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]), src: `${m[5]}:${m[6]}`, dst: `${m[7]}:${m[8]}`, len: Number(m[9]) });
  }
  return out;
}

describe('LiveState throughput', () => {
  it('subflow rates = payload bytes between two samples / time between them (tcpdump sidecar)', async () => {
    const N1 = 2000;
    const N2 = 4000;
    const path = join(FIXTURES, BASIC);
    const state = new LiveState(new FramePipeline(path), { source: BASIC });
    let second: LiveView | undefined;
    await openCapture(path).run({
      frame: (f) => {
        if (f.number > N2) return;
        state.onFrame(f);
        if (f.number === N1) state.sample();
        if (f.number === N2) second = state.sample().view;
      },
    });
    const td = tcpdumpLines(BASIC);
    const dt = td.get(N2)!.t - td.get(N1)!.t;
    const conn = second!.connections[0]!;
    expect(conn.subflows).toHaveLength(2);
    let sum = 0;
    for (const s of conn.subflows) {
      let bytes = 0;
      for (let n = N1 + 1; n <= N2; n++) {
        const l = td.get(n);
        if (l !== undefined && ((l.src === s.client && l.dst === s.server) || (l.src === s.server && l.dst === s.client))) bytes += l.len;
      }
      expect(bytes).toBeGreaterThan(0);
      expect(Math.abs(s.rate - bytes / dt) / (bytes / dt)).toBeLessThan(1e-6);
      expect(s.history[s.history.length - 1]).toBe(s.rate);
      sum += s.rate;
    }
    expect(conn.rate).toBeCloseTo(sum, 6);
    expect(second!.status.frames).toBe(N2);
  });
});

describe('ReplayCaptureSource', () => {
  it('delivers every frame of the file with its number, timestamp and bytes (copied before queuing)', async () => {
    const path = join(FIXTURES, 'shared-linux/03-remove-addr.client.pcap');
    const expected: Frame[] = [];
    await openCapture(path).run({ frame: (f) => expected.push({ ...f, data: f.data.slice() }) });
    const got: Frame[] = [];
    const summary = await new ReplayCaptureSource(path, { speed: Number.POSITIVE_INFINITY }).run({ frame: (f) => got.push(f) });
    expect(summary.frames).toBe(expected.length);
    expect(got.length).toBe(expected.length);
    for (let i = 0; i < got.length; i += 97) {
      const a = got[i]!;
      const b = expected[i]!;
      expect([a.number, a.tsSec, a.tsNsec, a.capturedLength]).toEqual([b.number, b.tsSec, b.tsNsec, b.capturedLength]);
      expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    }
  });

  it('pause holds frames back until resume; stop ends the replay early', async () => {
    const path = join(FIXTURES, 'shared-linux/03-remove-addr.client.pcap');
    const src = new ReplayCaptureSource(path, { speed: Number.POSITIVE_INFINITY });
    let n = 0;
    src.pause();
    const run = src.run({
      frame: () => {
        n++;
        if (n === 100) src.stop();
      },
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(n).toBe(0);
    src.resume();
    await run;
    expect(n).toBe(100); // stopped right after the 100th of the file's 6183 frames
  });
});
