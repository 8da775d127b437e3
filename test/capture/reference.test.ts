/**
 * Frame-by-frame agreement with tshark/capinfos (Wireshark 4.0.17) on real and derived captures.
 * The expectations are the `*.tshark.json` sidecars recorded by test/capture/data/make-data.sh
 * (commands inside each sidecar); this suite never runs tshark.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCapture } from '../../analyzer/capture/open.js';
import type { DecodeIssue } from '../../analyzer/issue.js';
import { collect, data, dataDir, epochText, fingerprint, haveShared, repoRoot, sidecar, type Collected } from './helpers.js';

/**
 * Records tshark shows that are not packets, so this reader skips them (keeping the frame number as a
 * gap). One line each, with the reason — more transparent than skipping silently.
 */
const NOT_PACKETS: Record<string, Record<number, string>> = {
  'blocks.pcapng': { 15: 'custom block 0x00000BAD (PEN 32473): tshark shows it as a record, it carries no packet' },
};

/** Issues expected on otherwise valid files (everything else must read without any issue). */
const EXPECTED_ISSUES: Record<string, Partial<DecodeIssue>[]> = {
  'blocks.pcapng': [{ layer: 'pcapng', kind: 'unsupported', field: 'block type', frame: 15, offset: 1920 }],
};

const sidecars = readdirSync(dataDir)
  .filter((f) => f.endsWith('.tshark.json'))
  .sort();

function pathOf(file: string): string {
  return file.startsWith('../') ? resolve(repoRoot, file) : data(file);
}

function capinfosPackets(lines: string[]): number | null {
  const l = lines.find((x) => x.startsWith('Number of packets:'));
  return l === undefined ? null : Number(l.split(':')[1]?.trim());
}

describe('agreement with tshark sidecars', () => {
  it('has sidecars to check', () => {
    expect(sidecars.length).toBeGreaterThanOrEqual(20);
  });

  for (const name of sidecars) {
    const sc = sidecar(name);
    const isShared = sc.file.startsWith('../');
    describe.skipIf(isShared && !haveShared)(sc.file, () => {
      let got: Collected;
      it('reads without issues and agrees on totals', async () => {
        got = await collect(openCapture(pathOf(sc.file)));
        const want = EXPECTED_ISSUES[sc.file] ?? [];
        expect(got.summary.issues).toHaveLength(want.length);
        want.forEach((w, i) => expect(got.summary.issues[i]).toMatchObject(w));
        expect(got.issues).toEqual(got.summary.issues); // sink.issue saw the same issues
        expect(got.summary.incomplete).toBe(false);
        const skipped = NOT_PACKETS[sc.file] ?? {};
        const skippedRows = sc.frames.filter((f) => f.n in skipped);
        expect(got.summary.frames).toBe(sc.totals.frames - skippedRows.length);
        expect(got.frames.length).toBe(got.summary.frames);
        const packets = capinfosPackets(sc.capinfos);
        if (packets !== null) expect(got.summary.frames).toBe(packets);
        expect(got.frames.reduce((a, f) => a + f.originalLength, 0)).toBe(sc.totals.sumLen - skippedRows.reduce((a, f) => a + f.len, 0));
        expect(got.frames.reduce((a, f) => a + f.capturedLength, 0)).toBe(sc.totals.sumCapLen - skippedRows.reduce((a, f) => a + f.capLen, 0));
        const last = got.frames[got.frames.length - 1];
        if (last !== undefined && sc.totals.lastTime !== '') expect(epochText(last)).toBe(sc.totals.lastTime);
        const expectedNumbers = sc.frames.filter((f) => !(f.n in skipped)).map((f) => f.n);
        expect(got.frames.slice(0, expectedNumbers.length).map((f) => f.number)).toEqual(expectedNumbers);
      });

      it(`agrees frame by frame on the first ${Math.min(60, sc.frames.length)} frames (time, len, cap_len, interface, comment)`, () => {
        const byNumber = new Map(got.frames.map((f) => [f.number, f]));
        const skipped = NOT_PACKETS[sc.file] ?? {};
        for (const t of sc.frames) {
          const f = byNumber.get(t.n);
          if (t.n in skipped) {
            expect(f, `frame ${t.n}`).toBeUndefined();
            continue;
          }
          expect(f, `frame ${t.n}`).toBeDefined();
          if (f === undefined) continue;
          expect({ n: f.number, time: t.time === '' ? '' : epochText(f), len: f.originalLength, capLen: f.capturedLength, iface: f.interfaceId, comment: f.comment?.split('\n').join('|') ?? null }).toEqual(t);
          if (t.time === '') expect([f.tsSec, f.tsNsec]).toEqual([0, 0]);
          expect(f.data.length).toBe(f.capturedLength);
        }
      });

      it('gives the same frames (SHA-256 over fields and bytes) with 4093-byte read chunks and with reader "pcap-parser"', async () => {
        const ref = await fingerprint(openCapture(pathOf(sc.file)));
        expect(ref.frames).toBe(got.frames.length);
        const small = await fingerprint(openCapture(pathOf(sc.file), { chunkSize: 4093 }));
        expect(small).toEqual(ref);
        // pcap-parser reads µs pcap; for other formats openCapture falls back to the fast readers.
        const viaLib = await fingerprint(openCapture(pathOf(sc.file), { reader: 'pcap-parser' }));
        expect(viaLib).toEqual(ref);
      });
    });
  }
});
