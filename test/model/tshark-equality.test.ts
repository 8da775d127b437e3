/**
 * Every fixture capture with a tshark sidecar: connections, subflows per connection, keys, tokens,
 * packets and payload bytes per subflow equal what tshark 4.0.17 reported (mptcp.stream, tcp.stream,
 * tcp.options.mptcp.sendkey/recvkey, mptcp.expected_token, tcp.options.mptcp.recvtok, tcp.len).
 * Where tshark is known to differ, test/known-differences.json says why, and the test checks that
 * the difference is still there (so a stale entry fails).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CaptureAnalysis, analyzeFile } from '../../analyzer/analyze.js';
import type { Connection, Subflow } from '../../analyzer/model/types.js';
import { FIXTURES, type TsharkSidecar, capturesWithSidecars, knownDifferences, readSidecar } from '../helpers/fixtures.js';

const captures = capturesWithSidecars();
const known = knownDifferences();

function check(rel: string, name: string, fn: () => void): void {
  const k = known.find((d) => d.capture === rel && d.check === name);
  if (k === undefined) {
    fn();
    return;
  }
  // A known difference must still be a difference; once fixed, remove it from the list.
  expect(fn, `known difference '${name}' on ${rel} no longer differs (${k.reason}); remove it from test/known-differences.json`).toThrow();
}

/**
 * tshark 4.0 gives no mptcp.stream to a connection whose SYN/ACK came back without MP_CAPABLE; mptcpscope
 * lists it as an MPTCP connection that fell back (the design: every connection whose SYN offered
 * MP_CAPABLE is an MPTCP connection). Those are compared with tshark's plain TCP streams instead.
 */
function fellBackAtSynAck(c: Connection): boolean {
  return c.fallback?.reason === 'syn-ack-without-mp-capable';
}

interface Located {
  conn: Connection;
  sf: Subflow;
}

/** Find our subflow for a tshark tcp.stream: same stream index and same 4-tuple. */
function locate(r: CaptureAnalysis, s: TsharkSidecar['tcpStreams'][number]): Located | undefined {
  for (const conn of r.connections) {
    for (const sf of conn.subflows) {
      const same =
        (sf.client.ip === s.src && sf.client.port === s.srcPort && sf.server.ip === s.dst && sf.server.port === s.dstPort) ||
        (sf.client.ip === s.dst && sf.client.port === s.dstPort && sf.server.ip === s.src && sf.server.port === s.srcPort);
      if (same && sf.tcpStream === s.tcpStream) return { conn, sf };
    }
  }
  return undefined;
}

describe.each(captures)('%s agrees with tshark', (rel) => {
  let r: CaptureAnalysis;
  let t: TsharkSidecar;
  beforeAll(async () => {
    r = await analyzeFile(join(FIXTURES, rel));
    t = readSidecar(rel);
  });

  it('frame count', () => {
    check(rel, 'frames', () => expect(r.frames).toBe(t.frames));
  });

  it('MPTCP connections and subflows per connection', () => {
    check(rel, 'connections', () => {
      const comparable = r.connections.filter((c) => !fellBackAtSynAck(c));
      expect(comparable.length).toBe(t.mptcpStreams.length);
      const ours = comparable.map((c) => c.subflows.map((s) => s.tcpStream).sort((a, b) => a - b)).sort((a, b) => a[0]! - b[0]!);
      const theirs = t.mptcpStreams.map((m) => [...m.tcpStreams].sort((a, b) => a - b)).sort((a, b) => a[0]! - b[0]!);
      expect(ours).toEqual(theirs);
    });
  });

  it('keys and tokens', () => {
    check(rel, 'keys', () => {
      for (const s of t.tcpStreams) {
        if (s.mptcpStream === null) continue;
        const loc = locate(r, s);
        expect(loc, `tcp.stream ${s.tcpStream}`).toBeDefined();
        const { conn, sf } = loc!;
        if (s.sendKey !== null) expect(conn.client.key, `client key, tcp.stream ${s.tcpStream}`).toBe(s.sendKey);
        if (s.recvKey !== null) expect(conn.server.key, `server key, tcp.stream ${s.tcpStream}`).toBe(s.recvKey);
        const tokens = [conn.client.token, conn.server.token];
        for (const tok of s.expectedTokens) expect(tokens, `expected_token ${tok}`).toContain(tok);
        if (s.joinToken !== null) expect(sf.joinToken).toBe(s.joinToken);
      }
    });
  });

  it('packets and payload bytes per subflow', () => {
    check(rel, 'bytes', () => {
      for (const s of t.tcpStreams) {
        if (s.mptcpStream === null) continue;
        const { sf } = locate(r, s)!;
        expect({ packets: sf.packets, bytes: sf.bytes }, `tcp.stream ${s.tcpStream}`).toEqual({
          packets: s.packets,
          bytes: s.payloadBytes,
        });
        if (s.joinBackup !== undefined) expect(sf.kind).toBe('mp_join');
      }
    });
  });

  it('MPTCP options per subtype on each subflow', () => {
    check(rel, 'options', () => {
      for (const s of t.tcpStreams) {
        if (s.mptcpStream === null || s.subtypeCounts === undefined) continue;
        const { sf } = locate(r, s)!;
        expect(sf.optionCounts, `tcp.stream ${s.tcpStream}`).toEqual(s.subtypeCounts);
      }
    });
  });

  it('plain TCP connections are listed apart', () => {
    check(rel, 'plain', () => {
      const plain = t.tcpStreams.filter((s) => s.mptcpStream === null).map((s) => s.tcpStream);
      const ours = [
        ...r.tcpConnections.map((c) => c.tcpStream),
        ...r.connections.filter(fellBackAtSynAck).flatMap((c) => c.subflows.map((s) => s.tcpStream)),
      ];
      expect(ours.sort((a, b) => a - b)).toEqual(plain.sort((a, b) => a - b));
    });
  });
});
