/**
 * `mptcpscope analyze` end to end through the built CLI (dist/): output formats, exit codes, and bad
 * input reported with file, frame number and byte offset while the rest is analysed.
 * Expected values come from the fixtures' tshark sidecars and the manifest (tshark 4.0 + kernel counters).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CaptureAnalysis } from '../../analyzer/analyze.js';
import { CSV_COLUMNS } from '../../cli/analyze.js';
import { FIXTURES, REPO_ROOT, readSidecar } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const CLI = join(REPO_ROOT, 'bin', 'mptcpscope.js');
const fx = (rel: string): string => join(FIXTURES, rel);

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function json(...args: string[]): CaptureAnalysis {
  const r = run('analyze', '--json', ...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as CaptureAnalysis;
}

let tmp: string;
beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js'))) {
    const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
  }
  tmp = tempDir('mptcpscope-cli-');
});

describe('analyze output', () => {
  it('--json has the documented fields, equal to tshark for 01-basic', () => {
    const rel = 'shared-linux/01-basic.client.pcap';
    const r = json(fx(rel));
    const t = readSidecar(rel);
    expect(r.schemaVersion).toBe(1);
    expect(r.frames).toBe(t.frames);
    expect(r.errors).toEqual([]);
    expect(r.tcpConnections).toEqual([]);
    expect(r.capture).toMatchObject({ format: 'pcap', linkTypes: [276], snaplen: 200, incomplete: false });
    const c = r.connections[0]!;
    expect(c).toMatchObject({ version: 1, fallback: null, checksum: false, handshake: 'complete' });
    expect(c.client.key).toBe(t.tcpStreams[0]!.sendKey);
    expect(c.server.key).toBe(t.tcpStreams[0]!.recvKey);
    expect(c.client.key).toMatch(/^[0-9a-f]{16}$/);
    expect(c.server.token).toBe(t.tcpStreams[1]!.joinToken);
    expect(c.subflows.map((s) => [s.client.ip, s.client.port, s.server.ip, s.server.port, s.addressId, s.backup, s.packets, s.bytes])).toEqual(
      t.tcpStreams.map((s, i) => [s.src, s.srcPort, s.dst, s.dstPort, i === 0 ? 0 : 2, false, s.packets, s.payloadBytes]),
    );
    // 10 MB upload (manifest: bytes_tx 10000000): all payload goes client → server.
    expect(c.subflows.reduce((a, s) => a + s.bytesClientToServer, 0)).toBe(10_000_000);
    expect(c.ended.how).toBe('DATA_FIN');
  });

  it('every format variant of 01-basic gives the same connections', () => {
    const base = json(fx('shared-linux/01-basic.client.pcap')).connections;
    for (const v of ['01-basic.client.ns.pcap', '01-basic.client.pcapng.gz', '01-basic.client.sll1.pcap']) {
      const r = json(fx(`variants/${v}`));
      expect(r.connections, v).toEqual(base);
    }
    const ng = json(fx('variants/01-basic.server.two-sections.pcapng'));
    expect(ng.capture.sections).toBe(2);
    expect(ng.connections.map((c) => c.subflows.map((s) => s.packets))).toEqual([[5900, 5844]]);
  });

  it('ADD_ADDR, MP_PRIO, REMOVE_ADDR and MP_TCPRST match what tshark and the kernel saw', () => {
    const aa = json(fx('shared-linux/02-add-addr.client.pcap')).connections[0]!;
    // manifest tshark.add_addr: "10.0.4.1 id=2 port=- echo=0": 1, "... echo=1": 1
    expect(aa.addAddr.map((a) => [a.address, a.addressId, a.port ?? null, a.echo, a.by])).toEqual([
      ['10.0.4.1', 2, null, false, 'server'],
      ['10.0.4.1', 2, null, true, 'client'],
    ]);
    expect(aa.subflows[1]!.server).toMatchObject({ ip: '10.0.4.1', addressId: 2 });

    const bp = json(fx('shared-linux/04-backup-prio.client.pcap')).connections[0]!;
    // manifest counters: mp_join_syn_backup 1, mp_prio_backup=1: 1, mp_prio_backup=0: 1
    expect(bp.prio.map((p) => p.backup).sort()).toEqual([false, true]);
    expect(bp.prio.every((p) => p.subflow === 1)).toBe(true);

    const ra = json(fx('shared-linux/03-remove-addr.client.pcap')).connections[0]!;
    expect(ra.removeAddr).toHaveLength(1);
    expect(ra.removeAddr[0]!.addressIds).toEqual([2]);

    // manifest mp_tcprst_reasons {"0x06": 1}: the subflow the kernel reset after the checksum failure.
    const cs = json(fx('shared-linux/15b-csum-corrupt-2sf.server.pcap')).connections[0]!;
    expect(cs.checksum).toBe(true);
    expect(cs.subflows[0]!.ended).toMatchObject({ how: 'MP_TCPRST', reason: 6 });
  });

  it('--csv: one row per subflow with the documented columns', () => {
    const r = run('analyze', '--csv', fx('shared-linux/01-basic.client.pcap'), fx('shared-linux/02-add-addr.client.pcap'));
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(1 + 4);
    const row = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, lines[2]!.split(',')[i]]));
    expect(row).toMatchObject({ subflow: '1', kind: 'mp_join', client_ip: '10.0.2.1', client_address_id: '2', packets: '5844' });
  });

  it('text output names the connection, keys and subflows', () => {
    const r = run('analyze', fx('public-tcpdump/mptcp-v0.pcap'));
    expect(r.code).toBe(0);
    const t = readSidecar('public-tcpdump/mptcp-v0.pcap');
    expect(r.stdout).toContain('MPTCP connection 0 (v0)');
    expect(r.stdout).toContain(`client key ${t.tcpStreams[0]!.sendKey}`);
    expect(r.stdout).toMatch(/mp_join/);
  });
});

describe('bad input', () => {
  it('missing file: exit 2, the file named', () => {
    const r = run('analyze', join(tmp, 'nope.pcap'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.pcap');
  });

  it('garbage and zero-length files: exit 2 with file and offset', () => {
    const g = join(tmp, 'garbage.pcap');
    writeFileSync(g, 'this is not a capture file at all\n');
    const r = run('analyze', g);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/garbage\.pcap: offset 0: .*74 68 69 73/);
    const z = join(tmp, 'empty.pcap');
    writeFileSync(z, '');
    expect(run('analyze', z).code).toBe(2);
  });

  it('a file cut off inside a record: what was read is analysed, the cut is reported with offset, need and have', () => {
    const src = readFileSync(fx('shared-linux/02-add-addr.client.pcap'));
    const cut = join(tmp, 'cut.pcap');
    writeFileSync(cut, src.subarray(0, Math.floor(src.length * 0.6) + 7));
    const r = json(cut);
    expect(r.capture.incomplete).toBe(true);
    expect(r.frames).toBeGreaterThan(1000);
    expect(r.connections).toHaveLength(1);
    expect(r.connections[0]!.client.key).toBe(readSidecar('shared-linux/02-add-addr.client.pcap').tcpStreams[0]!.sendKey);
    const e = r.errors.find((x) => x.layer === 'pcap');
    expect(e).toMatchObject({ kind: 'truncated', capture: true });
    expect(e!.offset).toBeGreaterThan(0);
    expect(e!.need).toBeGreaterThan(e!.have!);
    const text = run('analyze', cut);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('WARNING: the file ends early');
  });

  it('a pcapng block with a lying length is reported with its offset; frames before it are kept', () => {
    const src = Buffer.from(readFileSync(fx('variants/01-basic.server.two-sections.pcapng')));
    // Walk blocks to the 100th EPB and make its total length lie (not a multiple of 4).
    let off = 0;
    let epb = 0;
    while (off < src.length) {
      const type = src.readUInt32LE(off);
      const len = src.readUInt32LE(off + 4);
      if (type === 6 && ++epb === 100) break;
      off += len;
    }
    src.writeUInt32LE(src.readUInt32LE(off + 4) + 1, off + 4);
    const bad = join(tmp, 'lying.pcapng');
    writeFileSync(bad, src);
    const r = json(bad);
    const e = r.errors.find((x) => x.layer === 'pcapng');
    expect(e, JSON.stringify(r.errors.slice(0, 3))).toBeDefined();
    expect(e!.offset).toBe(off);
    expect(r.frames).toBeGreaterThanOrEqual(99);
    expect(r.connections.length).toBeGreaterThan(0);
  });

  it('snaplen truncation is a capture fact, never a protocol error', () => {
    for (const v of ['variants/01-basic.client.snap96.pcap', 'variants/01-basic.server.snap64.pcap']) {
      const r = json(fx(v));
      expect(r.errorCount, v).toBeGreaterThan(0);
      expect(r.errors.every((e) => e.capture === true && e.kind === 'truncated'), v).toBe(true);
    }
    const snap64 = json(fx('variants/01-basic.server.snap64.pcap'));
    expect(snap64.tcpConnections.every((t) => t.optionsCutByCapture === true)).toBe(true);
  });

  it('an option whose length runs past the header is malformed, with frame and offset (tcpdump: [bad opt])', () => {
    const r = json(fx('public-tcpdump/mptcp-dss-oobr.pcap'));
    expect(r.errors[0]).toMatchObject({ layer: 'mptcp', kind: 'malformed', frame: 1, offset: 70 });
  });
});
