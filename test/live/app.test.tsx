/**
 * The live TUI (cli/ui/App.tsx) rendered with ink-testing-library on real captures fed through
 * FramePipeline + LiveState. Every expected value comes from the fixture's tshark sidecar
 * (endpoints, tokens, keys, payload bytes, FIN counts) or its tcpdump sidecar (MP_JOIN address IDs,
 * the REMOVE_ADDR frame and IDs).
 */
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { App, SimpleViewStore } from '../../cli/ui/App.js';
import type { FindingsSource, LiveView, TimelineSource } from '../../cli/ui/state.js';
import type { Finding } from '../../conformance/finding.js';
import { readSidecar } from '../helpers/fixtures.js';
import { feedFixture, itemsAt, tcpdumpFacts } from './helpers.js';

type Stream = ReturnType<typeof readSidecar>['tcpStreams'][number] & { frames: { syn: number; synAck: number }; finPackets: number };

const BASIC = 'shared-linux/01-basic.client.pcap';
const REMOVE = 'shared-linux/03-remove-addr.client.pcap';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

/** Wait (up to 3 s) until ink listens on stdin (useInput's effect ran), so the first key is not lost under load. */
async function inputReady(stdin: NodeJS.EventEmitter): Promise<void> {
  const end = Date.now() + 3000;
  while (stdin.listenerCount('readable') === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 10));
}

/** Wait (up to 3 s) until the rendered frame satisfies `cond`, so a loaded machine does not make the test flaky. */
async function waitFor(frame: () => string | undefined, cond: (s: string) => boolean): Promise<string> {
  const end = Date.now() + 3000;
  let f = frame() ?? '';
  while (!cond(f) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    f = frame() ?? '';
  }
  return f;
}

function streams(rel: string): Stream[] {
  return readSidecar(rel).tcpStreams as Stream[];
}

/** Address IDs of a subflow from tcpdump: (client, server) from the SYN's / SYN/ACK's MP_JOIN; 0/0 for MP_CAPABLE. */
function addressIds(rel: string, s: Stream): [number, number] {
  if (s.synKind === 'mp_capable') return [0, 0];
  const facts = tcpdumpFacts(rel);
  const syn = itemsAt(facts, s.frames.syn).find((i) => i.name === 'join');
  const synAck = itemsAt(facts, s.frames.synAck).find((i) => i.name === 'join');
  if (syn?.id === undefined || synAck?.id === undefined) throw new Error(`no MP_JOIN ids at frames ${s.frames.syn}/${s.frames.synAck}`);
  return [syn.id, synAck.id];
}

function rowOf(frame: string, client: string): string {
  const line = frame.split('\n').find((l) => l.includes(client) && /^\s+\d+\s/.test(l) && !l.includes('→'));
  if (line === undefined) throw new Error(`no subflow row for ${client} in\n${frame}`);
  return line;
}

function renderView(view: LiveView, columns = 140, rows = 40): ReturnType<typeof render> & { store: SimpleViewStore } {
  const store = new SimpleViewStore(view);
  const r = render(<App store={store} columns={columns} rows={rows} />);
  return Object.assign(r, { store });
}

describe('live TUI on 01-basic (2 subflows, upload)', () => {
  it('shows the connection, both subflows with addresses, address IDs, end state and byte shares', async () => {
    const sc = streams(BASIC);
    const state = await feedFixture(BASIC);
    const { lastFrame, unmount } = renderView(state.sample().view);
    const out = lastFrame()!;
    const s0 = sc.find((s) => s.synKind === 'mp_capable')!;
    // Connection row: endpoints of the initial subflow and MPTCP v1 (MP_CAPABLE version in the sidecar).
    expect(out).toContain(`${s0.src}:${s0.srcPort} → ${s0.dst}:${s0.dstPort}`);
    expect(out).toMatch(new RegExp(`v${(s0 as unknown as { mpCapableVersion: number }).mpCapableVersion}\\s+0/${sc.length}`));
    const total = sc.reduce((a, s) => a + s.payloadBytes, 0);
    for (const s of sc) {
      const row = rowOf(out, `${s.src}:${s.srcPort}`);
      expect(row).toContain(`${s.dst}:${s.dstPort}`);
      const [c, sv] = addressIds(BASIC, s);
      expect(row).toContain(`${c}/${sv}`);
      // Both directions sent FIN (finPackets 2 in the sidecar): the subflow is closed by FIN.
      if (s.finPackets === 2) expect(row).toContain('closed:FIN');
      expect(row).toMatch(new RegExp(`\\s${Math.round((s.payloadBytes / total) * 100)}%$`));
    }
    unmount();
  });

  it('Enter shows keys and tokens of the selected connection', async () => {
    const sc = streams(BASIC);
    const s0 = sc.find((s) => s.synKind === 'mp_capable')!;
    const join = sc.find((s) => s.synKind === 'mp_join')!;
    const state = await feedFixture(BASIC);
    const { lastFrame, stdin, unmount } = renderView(state.sample().view);
    await inputReady(stdin);
    stdin.write('\r');
    const out = await waitFor(lastFrame, (f) => f.includes('key '));
    expect(out).toContain(`key ${s0.sendKey}`);
    expect(out).toContain(`key ${s0.recvKey}`);
    // The MP_JOIN SYN carries the server's token.
    expect(out).toMatch(new RegExp(`server .*token ${join.joinToken}`));
    unmount();
  });

  it('filter (/) hides connections that do not match; narrow terminals keep every line within the width', async () => {
    const sc = streams(BASIC);
    const state = await feedFixture(BASIC);
    const view = state.sample().view;
    const { lastFrame, stdin, unmount } = renderView(view);
    await inputReady(stdin);
    stdin.write('/');
    await waitFor(lastFrame, (f) => f.includes('filter: '));
    stdin.write('192.0.2.77'); // one chunk, as a paste (ink reads one chunk per event)
    await waitFor(lastFrame, (f) => f.includes('filter: 192.0.2.77'));
    stdin.write('\r');
    expect(await waitFor(lastFrame, (f) => f.includes('no connection matches'))).toContain('no connection matches the filter');
    unmount();

    for (const width of [50, 70]) {
      const r = renderView(view, width, 24);
      const lines = r.lastFrame()!.split('\n');
      for (const l of lines) expect([...l].length).toBeLessThanOrEqual(width);
      expect(r.lastFrame()).toContain('q quit'); // help line still there
      // The subflows stay listed (one row each).
      const s1 = sc.find((s) => s.synKind === 'mp_join')!;
      if (width >= 56) expect(r.lastFrame()).toMatch(new RegExp(`\\s${addressIds(BASIC, s1).join('/')}\\s`));
      r.unmount();
    }
  });

  it('p pauses (callback and PAUSED in the status bar), q quits', async () => {
    const state = await feedFixture(BASIC, 200);
    const calls: string[] = [];
    const store = new SimpleViewStore(state.sample().view);
    const r = render(<App store={store} columns={120} rows={30} onPause={(p) => calls.push(`pause:${p}`)} onQuit={() => calls.push('quit')} />);
    await inputReady(r.stdin);
    r.stdin.write('p');
    expect(await waitFor(r.lastFrame, (f) => f.includes('PAUSED'))).toContain('PAUSED');
    r.stdin.write('q');
    for (let i = 0; i < 150 && calls.length < 2; i++) await tick();
    expect(calls).toEqual(['pause:true', 'quit']);
    // The status bar counts the frames fed (200) and shows no drop counter for a replay.
    expect(r.lastFrame()).toMatch(/200 frames .* drops —/);
    r.unmount();
  });

  it('the status bar says how far the analysis runs behind the capture (the capture child\'s backlog), only while it does, and that the capture is still opening', async () => {
    const state = await feedFixture(BASIC, 200);
    state.dropped = 0;
    state.backlogBytes = 150_000_000;
    const behind = render(<App store={new SimpleViewStore(state.sample().view)} columns={120} rows={30} />);
    expect(behind.lastFrame()).toMatch(/drops 0 {2}behind 150(\.0)?MB/);
    expect(state.statsEvent()).toMatchObject({ type: 'stats', frames: 200, dropped: 0, backlogBytes: 150_000_000 });
    behind.unmount();
    state.backlogBytes = 0;
    const caughtUp = render(<App store={new SimpleViewStore(state.sample().view)} columns={120} rows={30} />);
    expect(caughtUp.lastFrame()).toMatch(/drops 0 /);
    expect(caughtUp.lastFrame()).not.toContain('behind');
    expect(caughtUp.lastFrame()).not.toContain('opening');
    caughtUp.unmount();
    // Until the capture child has opened the interface, the status bar says so.
    state.opening = true;
    const opening = render(<App store={new SimpleViewStore(state.sample().view)} columns={120} rows={30} />);
    expect(opening.lastFrame()).toMatch(/drops 0 {2}opening the capture…/);
    opening.unmount();
  });
});

describe('live TUI on 03-remove-addr', () => {
  const sc = streams(REMOVE);
  const facts = tcpdumpFacts(REMOVE);
  const removeFrame = [...facts].find(([, items]) => items.some((i) => i.name === 'rem-addr'))![0];
  const removed = itemsAt(facts, removeFrame).find((i) => i.name === 'rem-addr')!.ids!;
  const join = sc.find((s) => s.synKind === 'mp_join')!;
  const initial = sc.find((s) => s.synKind === 'mp_capable')!;

  it('before the REMOVE_ADDR: 2 active subflows', async () => {
    const state = await feedFixture(REMOVE, join.frames.syn + 50);
    const { lastFrame, unmount } = renderView(state.sample().view);
    const out = lastFrame()!;
    expect(out).toMatch(/established\s+v1\s+2\/2/);
    expect(rowOf(out, `${join.src}:${join.srcPort}`)).toContain('active');
    expect(rowOf(out, `${initial.src}:${initial.srcPort}`)).toContain('active');
    unmount();
  });

  it('at the REMOVE_ADDR: the event is listed and the subflow with that address ID is marked removed', async () => {
    const state = await feedFixture(REMOVE, removeFrame);
    const { lastFrame, unmount } = renderView(state.sample().view);
    const out = lastFrame()!;
    expect(out).toContain(`frame ${removeFrame}: REMOVE_ADDR id ${removed.join(',')} by client`);
    const [joinClientId] = addressIds(REMOVE, join);
    expect(removed).toContain(joinClientId);
    expect(rowOf(out, `${join.src}:${join.srcPort}`)).toContain('removed');
    expect(rowOf(out, `${initial.src}:${initial.srcPort}`)).toContain('active');
    expect(out).toMatch(/established\s+v1\s+1\/2/);
    unmount();
  });
});

describe('live TUI optional sources', () => {
  it('shows RTT, retransmissions, data-level progress and findings when sources are attached', async () => {
    const finding: Finding = { id: 'DSS-010', rfc: 'RFC 8684 §3.3', severity: 'warning', group: 'sequence', frames: [42], connection: 0, subflow: 1, message: 'test finding' };
    const timeline: TimelineSource = {
      subflow: (_c, s) => ({ rttMs: 20 + s, retransmissions: 3 + s }),
      dataLevel: () => ({ dsn: '1000', dataAck: '900', reinjections: 7 }),
    };
    const findings: FindingsSource = { findings: () => [finding] };
    const state = await feedFixture(BASIC, 100, { timeline, findings });
    const { view, events } = state.sample();
    const { lastFrame, unmount } = renderView(view);
    const out = lastFrame()!;
    expect(out).toMatch(/21ms\s+4\s/); // subflow 1: 21 ms, 4 retransmissions
    expect(out).toContain('DSN 1000  Data ACK 900  reinjections 7');
    expect(out).toContain('DSS-010');
    expect(out).toMatch(/v1\s+\S+\s+\S+\s+\S+\s+1\s/); // findings count 1 on connection 0
    expect(events.filter((e) => e.type === 'finding')).toHaveLength(1);
    unmount();
  });
});

describe('App on 15b with the streaming findings feed, at every width', () => {
  it('no line is wider than the terminal; the share column and the findings (severity, rule, frame) stay visible', async () => {
    const { FramePipeline } = await import('../../analyzer/analyze.js');
    const { attachFindings } = await import('../../cli/ui/findings-source.js');
    const { attachTimeline } = await import('../../cli/ui/timeline-source.js');
    const { LiveState } = await import('../../cli/ui/state.js');
    const { openCapture } = await import('../../analyzer/capture/open.js');
    const { checkFile } = await import('../../conformance/engine.js');
    const { join } = await import('node:path');
    const { FIXTURES } = await import('../helpers/fixtures.js');
    const path = join(FIXTURES, 'shared-linux/15b-csum-corrupt-2sf.client.pcap');
    const pipe = new FramePipeline(path);
    const findings = attachFindings(pipe, path);
    const state = new LiveState(pipe, { source: '15b', timeline: attachTimeline(pipe), findings });
    await openCapture(path).run({ frame: (f) => state.onFrame(f) });
    state.ended = true;
    findings.finish();
    const view = state.sample().view;
    const check = await checkFile(path);
    for (const columns of [40, 50, 56, 60, 70, 80, 100, 120, 140, 200]) {
      const r = renderView(view, columns, 40);
      const frame = r.lastFrame() ?? '';
      for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(columns);
      expect(frame).toContain(`Findings (${check.findings.length})`);
      const first = check.findings[check.findings.length - 1]!;
      if (columns >= 50) expect(frame).toMatch(new RegExp(`${first.severity}\\s+${first.id}\\s+#0 frame ${first.frames[0]}`));
      if (columns >= 56) expect(frame).toMatch(/\d+%/); // the share column
      r.unmount();
    }
  });
});
