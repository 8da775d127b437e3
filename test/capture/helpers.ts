/** Shared helpers for the capture-layer tests: paths, collecting frames, sidecars, byte builders. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DecodeIssue } from '../../analyzer/issue.js';
import type { CaptureSource, CaptureSummary, Frame } from '../../analyzer/capture/types.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dataDir = resolve(repoRoot, 'test', 'capture', 'data');
export const sharedDir = resolve(repoRoot, '..', 'shared', 'captures');
export const haveShared = existsSync(resolve(sharedDir, 'linux', '01-basic.client.pcap'));

export const data = (name: string): string => resolve(dataDir, name);
export const shared = (rel: string): string => resolve(sharedDir, rel);

/** A frame with its bytes copied out of the reader's buffer. */
export type KeptFrame = Frame;

export interface Collected {
  frames: KeptFrame[];
  issues: DecodeIssue[];
  summary: CaptureSummary;
}

/** Runs a source, copying every frame's bytes (Frame.data is only valid during the callback). */
export async function collect(src: CaptureSource): Promise<Collected> {
  const frames: KeptFrame[] = [];
  const issues: DecodeIssue[] = [];
  const summary = await src.run({
    frame(f) {
      frames.push({ ...f, data: Uint8Array.from(f.data) });
    },
    issue(i) {
      issues.push(i);
    },
  });
  return { frames, issues, summary };
}

/** tshark's `frame.time_epoch` text for a frame ('' for frames without a timestamp, i.e. SPB). */
export function epochText(f: Pick<Frame, 'tsSec' | 'tsNsec'>): string {
  return `${f.tsSec}.${String(f.tsNsec).padStart(9, '0')}`;
}

export interface SidecarFrame {
  n: number;
  time: string;
  len: number;
  capLen: number;
  iface: number;
  comment: string | null;
}

/** A `*.tshark.json` sidecar written by test/capture/data/make-data.sh. */
export interface Sidecar {
  file: string;
  tshark: string;
  commands: string[];
  capinfos: string[];
  totals: { frames: number; sumLen: number; sumCapLen: number; firstTime: string | null; lastTime: string | null };
  frames: SidecarFrame[];
}

export function sidecar(name: string): Sidecar {
  return JSON.parse(readFileSync(data(name), 'utf8')) as Sidecar;
}

/** Little/big-endian u32/u16 writers for hand-built byte tables. */
export function u32(v: number, le = true): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, le);
  return Array.from(b);
}
export function u16(v: number, le = true): number[] {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, le);
  return Array.from(b);
}
export function bytes(...parts: (number[] | Uint8Array)[]): Uint8Array {
  const all: number[] = [];
  for (const p of parts) all.push(...p);
  return Uint8Array.from(all);
}

/**
 * Runs a source without keeping frames: a SHA-256 over every frame's fields and bytes, plus the
 * summary. Cheap enough for whole multi-MB captures (deep-equal of thousands of byte arrays is not).
 */
export async function fingerprint(src: CaptureSource): Promise<{ digest: string; frames: number; summary: CaptureSummary }> {
  const h = createHash('sha256');
  let frames = 0;
  const summary = await src.run({
    frame(f) {
      frames++;
      h.update(
        `${f.number},${f.tsSec},${f.tsNsec},${f.capturedLength},${f.originalLength},${f.linkType},${f.interfaceId},${f.fileOffset},${f.section ?? '-'},${f.comment ?? '-'},${f.data.length};`,
      );
      h.update(f.data);
    },
  });
  return { digest: h.digest('hex'), frames, summary };
}
