/**
 * TCP header and options: every option kind, MPTCP dispatch, malformed option lengths (gopacket-style
 * messages with the numbers), and snaplen cuts that must be `truncated` + `capture: true`, never
 * `malformed`.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TcpFlag } from '../../analyzer/wire/types.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { fromHex, makeFrame, tcp4Frame, tcp6Frame } from '../helpers/packet-builder.js';
import { readClassicPcap } from '../helpers/pcap-walker.js';
import { run, segOf } from '../helpers/decode.js';


const TCP_AT = 14 + 20; // Ethernet + IPv4
const OPT_AT = TCP_AT + 20;

// A Linux MP_CAPABLE SYN's options: mss 1460, sackOK, TS, nop, wscale 10, mptcp 4 capable v1.
const SYN_OPTS = fromHex('020405b4 0402 080a 2fdc1d18 00000000 01 03030a 1e040101');
// A Linux data segment's options: nop nop TS, DSS ACK64+MAP64 (26) nop nop.
const DATA_OPTS = fromHex('0101 080a 00000001 00000002 1e1a200f c8072fb90edab04e a28e87fddd1d30f2 00000001 2000 0101');

describe('TCP header', () => {
  it('fixed fields, flags incl. NS, window, lengths', () => {
    const { d, issues } = run(tcp4Frame({ srcPort: 33306, dstPort: 10004, seq: 0xfffffff0, ack: 7, flags: TcpFlag.SYN | TcpFlag.ACK | TcpFlag.NS | TcpFlag.ECE, window: 65535, payload: 9 }));
    expect(issues).toEqual([]);
    expect(segOf(d)).toMatchObject({ srcPort: 33306, dstPort: 10004, seq: 0xfffffff0, ack: 7, flags: 0x152, window: 65535, headerLength: 20, payloadLength: 9, capturedPayloadLength: 9, payloadOffset: OPT_AT, headerTruncated: false, frame: 1 });
  });

  it('all option kinds of a Linux SYN, plus MPTCP dispatched', () => {
    const s = segOf(run(tcp4Frame({ flags: TcpFlag.SYN, options: SYN_OPTS })).d);
    expect(s.options).toEqual({ mss: 1460, sackPermitted: true, tsVal: 0x2fdc1d18, tsEcr: 0, windowScale: 10, mptcp: [expect.objectContaining({ type: 'MP_CAPABLE', form: 'syn', offset: OPT_AT + 20, length: 4 })] });
    expect(s.headerLength).toBe(20 + 24);
  });

  it('SACK blocks, TFO, unknown kinds; EOL ends parsing', () => {
    const opts = fromHex('0101 050a 0000012c 00000190 2206 01020304 fd04 abcd 00 1e0c2003 ffffffff');
    const { d, issues } = run(tcp4Frame({ options: opts }));
    expect(issues).toEqual([]);
    expect(segOf(d).options).toEqual({ sack: [[300, 400]], fastOpen: true, otherKinds: [253], mptcp: [] });
  });

  it('two SACK blocks in one option', () => {
    const s = segOf(run(tcp4Frame({ options: fromHex('0101 0512 00000001 00000002 00000003 00000004') })).d);
    expect(s.options.sack).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('several MPTCP options stay in order (DSS + MP_PRIO, 04-backup-prio frame 1320)', () => {
    // tcpdump: "options [nop,nop,TS val … ecr …,mptcp 8 dss ack 583999540,mptcp 3 prio non-backup,nop]"
    const opts = fromHex('0101 080a 00000001 00000002 1e082001 22cf2034 1e0350 01');
    const s = segOf(run(tcp4Frame({ options: opts })).d);
    expect(s.options.mptcp.map((o) => o.type)).toEqual(['DSS', 'MP_PRIO']);
    expect(s.options.mptcp.map((o) => o.offset)).toEqual([OPT_AT + 12, OPT_AT + 20]);
  });

  it('payloadLength from the IP length, capturedPayloadLength from the frame', () => {
    const s = segOf(run(tcp4Frame({ options: DATA_OPTS, payload: 1000 }, {}, { snaplen: 200 })).d);
    expect(s).toMatchObject({ headerLength: 60, payloadLength: 1000, capturedPayloadLength: 200 - TCP_AT - 60, headerTruncated: false });
  });

  it('IPv6 segment', () => {
    const s = segOf(run(tcp6Frame({ options: DATA_OPTS, payload: 4 })).d);
    expect(s).toMatchObject({ ipVersion: 6, headerLength: 60, payloadLength: 4, payloadOffset: 14 + 40 + 60 });
    expect(s.options.mptcp[0]).toMatchObject({ type: 'DSS', offset: 14 + 40 + 20 + 12 });
  });
});

describe('malformed options (bytes present but contradictory)', () => {
  it('MPTCP option length running past the header: gopacket-style message, parsing stops, segment kept', () => {
    // 20 bytes of options: TS (10), then kind 30 claiming 20 bytes with 10 left.
    const opts = fromHex('080a 00000001 00000002 1e14 2003 0000 0000 0000');
    const { d, issues } = run(tcp4Frame({ options: opts, payload: 5 }));
    const s = segOf(d);
    expect(s.options).toEqual({ tsVal: 1, tsEcr: 2, mptcp: [] });
    expect(s.headerTruncated).toBe(false);
    expect(s.payloadLength).toBe(5);
    expect(issues).toEqual([
      { layer: 'tcp', kind: 'malformed', field: 'option 30 length', message: 'option kind 30 length 20 exceeds remaining 10 bytes', file: 'x.pcap', frame: 1, offset: OPT_AT + 10, need: 20, have: 10 },
    ]);
  });

  it('option length 0 / 1: malformed, stop', () => {
    for (const len of [0, 1]) {
      const { d, issues } = run(tcp4Frame({ options: [2, 4, 5, 0xb4, 8, len, 0, 0] }));
      expect(segOf(d).options.mss).toBe(1460);
      expect(issues).toMatchObject([{ layer: 'tcp', kind: 'malformed', field: 'option 8 length', message: `option kind 8 length ${len} is less than 2`, offset: OPT_AT + 4 }]);
    }
  });

  it('kind byte in the last header byte without its length byte', () => {
    const { issues } = run(tcp4Frame({ options: [1, 1, 1, 30] }));
    expect(issues).toMatchObject([{ layer: 'tcp', kind: 'malformed', message: 'option kind 30 has no length byte (1 byte left)', offset: OPT_AT + 3 }]);
  });

  it('known option with a wrong length: reported, parsing goes on', () => {
    const { d, issues } = run(tcp4Frame({ options: fromHex('0203 05 0303 0a 0403 00 1e040101') , flags: TcpFlag.SYN }));
    const s = segOf(d);
    expect(s.options.mss).toBeUndefined();
    expect(s.options.sackPermitted).toBeUndefined();
    expect(s.options.windowScale).toBe(10);
    expect(s.options.mptcp).toHaveLength(1);
    expect(issues.map((i) => i.message)).toEqual(['option kind 2 (MSS) length 3, expected 4', 'option kind 4 (SACK permitted) length 3, expected 2']);
  });

  it('MALFORMED MPTCP option: the issue carries file, frame and the option offset', () => {
    const { d, issues } = run(tcp4Frame({ options: fromHex('0101 1e0c 1000 e47f0142 1b665a18'), flags: TcpFlag.ACK }, {}, { number: 42 }));
    expect(segOf(d).options.mptcp[0]).toMatchObject({ type: 'MALFORMED', subtype: 1, offset: OPT_AT + 2 });
    expect(issues).toEqual([{ layer: 'mptcp', kind: 'malformed', field: 'MP_JOIN length', message: 'MP_JOIN length 12 (SYN form) seen on a non-SYN segment', file: 'x.pcap', frame: 42, offset: OPT_AT + 2 }]);
  });

  it('data offset < 5: malformed, error', () => {
    const { d, issues } = run(tcp4Frame({ dataOffset: 4 }));
    expect(d).toEqual({ kind: 'error' });
    expect(issues).toMatchObject([{ layer: 'tcp', kind: 'malformed', field: 'data offset', offset: TCP_AT + 12 }]);
  });

  it('data offset beyond the segment: malformed, segment kept with payload 0', () => {
    const { d, issues } = run(tcp4Frame({ dataOffset: 15, options: [1, 1, 1, 1] }));
    expect(issues).toMatchObject([{ layer: 'tcp', kind: 'malformed', field: 'data offset', message: 'data offset 15 (60 bytes) exceeds the 24-byte segment' }]);
    expect(segOf(d)).toMatchObject({ headerLength: 60, payloadLength: 0, capturedPayloadLength: 0, headerTruncated: false });
  });

  it('IP payload shorter than a TCP header: malformed, error', () => {
    const { d, issues } = run(tcp4Frame({}, { totalLength: 30 }));
    expect(d).toEqual({ kind: 'error' });
    expect(issues).toMatchObject([{ layer: 'tcp', kind: 'malformed', field: 'header', need: 20, have: 10 }]);
  });
});

describe('snaplen cuts are capture facts: truncated + capture: true, never malformed', () => {
  it('cut inside the MPTCP option', () => {
    const { d, issues } = run(tcp4Frame({ options: DATA_OPTS, payload: 100 }, {}, { snaplen: OPT_AT + 20 }));
    const s = segOf(d);
    expect(s.headerTruncated).toBe(true);
    expect(s.options).toEqual({ tsVal: 1, tsEcr: 2, mptcp: [] });
    expect(s).toMatchObject({ payloadLength: 100, capturedPayloadLength: 0 });
    expect(issues).toEqual([
      { layer: 'tcp', kind: 'truncated', field: 'options', message: 'TCP header cut by the capture: 60 bytes, 40 captured', file: 'x.pcap', frame: 1, offset: TCP_AT, need: 60, have: 40, capture: true },
    ]);
  });

  it('every cut point inside the header and options', () => {
    const full = tcp4Frame({ options: DATA_OPTS, payload: 50 });
    for (let snap = TCP_AT; snap < full.data.length; snap++) {
      const { d, issues } = run(tcp4Frame({ options: DATA_OPTS, payload: 50 }, {}, { snaplen: snap }));
      expect(issues.every((i) => i.kind === 'truncated' && i.capture === true), `snaplen ${snap}`).toBe(true);
      if (snap < TCP_AT + 20) {
        expect(d.kind).toBe('error');
        expect(issues).toHaveLength(1);
      } else {
        const s = segOf(d);
        expect(s.headerTruncated).toBe(snap < TCP_AT + 60);
        expect(issues).toHaveLength(snap < TCP_AT + 60 ? 1 : 0);
        expect(s.options.mptcp.length).toBe(snap >= OPT_AT + 12 + 26 ? 1 : 0);
        expect(s.payloadLength).toBe(50);
      }
    }
  });

  it('a malformed length is still malformed when the frame is also cut (both numbers are known)', () => {
    const opts = fromHex('080a 00000001 00000002 1e14 2003 0000 0000 0000');
    const { issues } = run(tcp4Frame({ options: opts, payload: 100 }, {}, { snaplen: OPT_AT + 12 + 1 + 20 }));
    expect(issues.map((i) => `${i.kind}${i.capture === true ? '/capture' : ''}`)).toEqual(['malformed']);
  });

  it('cut inside the fixed header: truncated capture issue, no segment', () => {
    const { d, issues } = run(tcp4Frame({}, {}, { snaplen: TCP_AT + 14 }));
    expect(d).toEqual({ kind: 'error' });
    expect(issues).toMatchObject([{ layer: 'tcp', kind: 'truncated', field: 'header', capture: true, need: 20, have: 14, offset: TCP_AT }]);
  });

  it('real capture (01-basic.client, SLL2) re-cut at every snaplen 40..110: no malformed issue ever', () => {
    const { frames } = readClassicPcap(join(REPO_ROOT, '..', 'shared', 'captures', 'linux', '01-basic.client.pcap'));
    const sample = frames.slice(0, 400);
    let truncatedHeaders = 0;
    for (let snap = 40; snap <= 110; snap += 3) {
      for (const f of sample) {
        const cut = makeFrame(f.data.slice(0, Math.min(snap, f.data.length)), f.linkType, { number: f.number, originalLength: f.originalLength });
        const { d, issues } = run(cut);
        for (const i of issues) expect(i.kind === 'truncated' && i.capture === true, JSON.stringify(i)).toBe(true);
        if (d.kind === 'tcp' && d.segment.headerTruncated) truncatedHeaders++;
      }
    }
    expect(truncatedHeaders).toBeGreaterThan(1000);
  });
});
