/**
 * Property tests (fast-check): the decoders never throw, whatever the bytes; every MALFORMED MPTCP
 * option comes with an issue at its offset; snaplen cuts of real frames only ever give
 * `truncated` + `capture: true`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../analyzer/capture/types.js';
import { LinkType } from '../../analyzer/capture/types.js';
import type { DecodeIssue } from '../../analyzer/issue.js';
import { decodeMptcpOption } from '../../analyzer/wire/mptcp/decode.js';
import { decodePacket } from '../../analyzer/wire/packet.js';
import type { PacketDecode } from '../../analyzer/wire/types.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { ethernet, ipv4, ipv6, makeFrame, tcp } from '../helpers/packet-builder.js';
import { readClassicPcap } from '../helpers/pcap-walker.js';

const RUNS = 3000;

const ctxArb = fc.record({
  syn: fc.boolean(),
  ack: fc.boolean(),
  version: fc.constantFrom(undefined, 0 as const, 1 as const),
  payloadLength: fc.nat(70000),
});

function checkMptcp(r: ReturnType<typeof decodeMptcpOption>, offset: number, length: number): void {
  expect(r.option.type === 'MALFORMED').toBe(r.issue !== undefined);
  expect(Object.is(r.option.offset, offset)).toBe(true);
  expect(Object.is(r.option.length, length)).toBe(true);
  if (r.issue !== undefined) {
    expect(r.issue).toMatchObject({ layer: 'mptcp', kind: 'malformed' });
    expect(Object.is(r.issue.offset, offset)).toBe(true);
    expect(typeof r.issue.field).toBe('string');
    expect(r.issue.message.length).toBeGreaterThan(0);
  }
}

/** Checks every frame-level decode must satisfy. */
function checkPacket(d: PacketDecode, issues: DecodeIssue[], f: Frame): void {
  for (const i of issues) {
    expect(i.message).not.toContain('internal decoder error');
    expect(i.frame).toBe(f.number);
    expect(i.file).toBe('fuzz');
    expect(i.offset).toBeGreaterThanOrEqual(0);
    expect(i.offset).toBeLessThanOrEqual(Math.max(f.data.length, 0) + 64);
  }
  if (d.kind === 'tcp') {
    const s = d.segment;
    expect(s.capturedPayloadLength).toBeLessThanOrEqual(s.payloadLength + 0);
    expect(s.capturedPayloadLength).toBeGreaterThanOrEqual(0);
    for (const o of s.options.mptcp) {
      if (o.type === 'MALFORMED') expect(issues.some((i) => i.layer === 'mptcp' && i.offset === o.offset)).toBe(true);
      expect(o.offset + o.length).toBeLessThanOrEqual(f.data.length);
    }
  }
}

describe('decodeMptcpOption never throws', () => {
  it('random bytes, offsets and lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.oneof(fc.integer({ min: -4, max: 70 }), fc.double()), fc.oneof(fc.integer({ min: -4, max: 70 }), fc.double()), ctxArb, (b, off, len, ctx) => {
        checkMptcp(decodeMptcpOption(b, off, len, ctx), off, len);
      }),
      { numRuns: RUNS },
    );
  });

  it('well-framed options of every subtype with random bodies and lengths', () => {
    fc.assert(
      fc.property(fc.nat(15), fc.integer({ min: 2, max: 40 }), fc.uint8Array({ minLength: 40, maxLength: 40 }), ctxArb, (subtype, len, body, ctx) => {
        const b = new Uint8Array(len);
        b.set(body.subarray(0, len));
        b[0] = 30;
        b[1] = len;
        if (len > 2) b[2] = (subtype << 4) | (body[0]! & 0x0f);
        checkMptcp(decodeMptcpOption(b, 0, len, ctx), 0, len);
      }),
      { numRuns: RUNS },
    );
  });
});

const LINK_TYPES = [LinkType.NULL, LinkType.ETHERNET, LinkType.RAW_12, LinkType.RAW_14, LinkType.RAW, LinkType.LOOP, LinkType.LINUX_SLL, LinkType.IPV4, LinkType.IPV6, LinkType.LINUX_SLL2, 147, 0xffff];

describe('decodePacket never throws', () => {
  it('random bytes on every link type', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LINK_TYPES), fc.uint8Array({ maxLength: 200 }), fc.nat(100), (lt, data, extra) => {
        const f = makeFrame(data, lt, { originalLength: data.length + extra });
        const issues: DecodeIssue[] = [];
        checkPacket(decodePacket(f, 'fuzz', issues), issues, f);
      }),
      { numRuns: RUNS },
    );
  });

  it('valid Ethernet/IP headers with random TCP header bytes, options and cuts', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.uint8Array({ maxLength: 40 }),
        fc.nat(0x1ff),
        fc.option(fc.nat(15), { nil: undefined }),
        fc.nat(300),
        fc.option(fc.nat(400), { nil: undefined }),
        fc.option(fc.nat(0xffff), { nil: undefined }),
        (v6, opts, flags, doff, payload, snaplen, ipLen) => {
          const seg = tcp({ options: opts, noPad: opts.length % 2 === 0, flags, dataOffset: doff, payload });
          const frameBytes = v6 ? ethernet(ipv6(seg, { payloadLength: ipLen }), 0x86dd) : ethernet(ipv4(seg, { totalLength: ipLen }), 0x0800);
          const f = makeFrame(frameBytes, LinkType.ETHERNET, { snaplen });
          const issues: DecodeIssue[] = [];
          checkPacket(decodePacket(f, 'fuzz', issues), issues, f);
        },
      ),
      { numRuns: RUNS },
    );
  });

  // Real frames: every tcpdump test capture, and the first frames of a Linux capture.
  const realFrames: Array<{ file: string; frame: Frame }> = [];
  const tdDir = join(REPO_ROOT, '..', 'shared', 'captures', 'public', 'tcpdump');
  for (const name of readdirSync(tdDir).filter((n) => n.endsWith('.pcap'))) {
    for (const frame of readClassicPcap(join(tdDir, name)).frames) realFrames.push({ file: name, frame });
  }
  for (const frame of readClassicPcap(join(REPO_ROOT, '..', 'shared', 'captures', 'linux', '02-add-addr.client.pcap')).frames.slice(0, 200)) {
    realFrames.push({ file: '02-add-addr.client.pcap', frame });
  }

  it('random snaplen cuts of real frames: only truncated + capture issues (except the one malformed capture)', () => {
    fc.assert(
      fc.property(fc.nat(realFrames.length - 1), fc.nat(200), (i, cutAt) => {
        const { file, frame } = realFrames[i]!;
        const snap = Math.min(cutAt, frame.data.length);
        const f = makeFrame(frame.data.slice(0, snap), frame.linkType, { number: frame.number, originalLength: frame.originalLength });
        const issues: DecodeIssue[] = [];
        const d = decodePacket(f, 'fuzz', issues);
        checkPacket(d, issues, f);
        if (file !== 'mptcp-dss-oobr.pcap' || snap < 74) {
          for (const is of issues) expect(is.kind === 'truncated' && is.capture === true, `${file}#${frame.number} cut ${snap}: ${is.message}`).toBe(true);
        }
        if (d.kind === 'tcp') expect(d.segment.headerTruncated).toBe(d.segment.payloadOffset > snap);
      }),
      { numRuns: RUNS },
    );
  });

  it('random byte mutations of real frames', () => {
    fc.assert(
      fc.property(fc.nat(realFrames.length - 1), fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { minLength: 1, maxLength: 6 }), (i, muts) => {
        const { frame } = realFrames[i]!;
        const data = frame.data.slice();
        for (const [pos, val] of muts) if (data.length > 0) data[pos % data.length] = val;
        const f = makeFrame(data, frame.linkType, { number: frame.number, originalLength: frame.originalLength });
        const issues: DecodeIssue[] = [];
        checkPacket(decodePacket(f, 'fuzz', issues), issues, f);
      }),
      { numRuns: RUNS },
    );
  });
});
