/**
 * `mptcpscope diff BEFORE AFTER`: what a device between two capture points changed (options removed or
 * altered, sequence/ACK offsets, payload bytes, splits/merges, address/port translation, packets dropped or
 * added, delay through the device). Streaming, bounded memory (analyzer/middlebox/diff.ts).
 */
import type { Command } from 'commander';
import { type ChangeCount, type DiffResult, diffCaptures } from '../analyzer/middlebox/diff.js';
import { ExitCode } from './exit-codes.js';

interface DiffCliOptions {
  json?: boolean;
  window: string;
  examples: string;
}

export function registerDiff(program: Command, setExit: (code: number) => void): void {
  program
    .command('diff')
    .description('compare two captures of the same traffic taken on either side of a device and report what it changed')
    .argument('<before>', 'capture taken before the device (e.g. client side)')
    .argument('<after>', 'capture taken after the device (e.g. server side)')
    .option('--json', 'JSON output')
    .option('--window <seconds>', 'how long a packet waits for its counterpart (after clock-offset correction)', '5')
    .option('--examples <n>', 'example frame pairs kept per change', '5')
    .addHelpText(
      'after',
      `
Packets are matched by IPv4 ID + TCP sequence number + length (surviving NAT), then by IPv4 ID + flags +
length (sequence rewritten), then by IPv4 ID + sequence number (split/merged). Frame pairs are
(BEFORE frame, AFTER frame). Delays are AFTER time − BEFORE time: forward = packets that went from the
BEFORE side to the AFTER side. Exit codes: 0 compared (even if the device changed things); 2 a file
could not be read.`,
    )
    .action(async (before: string, after: string, opts: DiffCliOptions) => {
      setExit(await runDiff(before, after, opts));
    });
}

async function runDiff(before: string, after: string, opts: DiffCliOptions): Promise<number> {
  const w = Number(opts.window);
  const ex = Number.parseInt(opts.examples, 10);
  if (!Number.isFinite(w) || w <= 0 || !Number.isFinite(ex) || ex < 0) {
    process.stderr.write('mptcpscope diff: --window must be a positive number of seconds and --examples a non-negative integer\n');
    return ExitCode.BAD_INPUT;
  }
  let r: DiffResult;
  try {
    r = await diffCaptures(before, after, { windowSeconds: w, maxExamples: ex });
  } catch (e) {
    process.stderr.write(`mptcpscope diff: ${e instanceof Error ? e.message : String(e)}\n`);
    return ExitCode.BAD_INPUT;
  }
  if (r.before.frames === 0 || r.after.frames === 0) {
    process.stderr.write(`mptcpscope diff: ${r.before.frames === 0 ? before : after}: no frame could be read\n`);
    return ExitCode.BAD_INPUT;
  }
  process.stdout.write(opts.json === true ? `${JSON.stringify(r, null, 2)}\n` : formatDiff(r));
  return ExitCode.OK;
}

const ms = (s: number): string => `${(s * 1000).toFixed(3)} ms`;

function section(title: string, items: ChangeCount[], out: string[]): void {
  if (items.length === 0) return;
  out.push(`${title}:`);
  for (const c of items) {
    const ex = c.examples.map(([b, a]) => `${b || '-'}/${a || '-'}`).join(' ');
    out.push(`  ${c.what}: ${c.count} packet(s)${ex !== '' ? `  [frames before/after: ${ex}]` : ''}`);
  }
}

/** Human-readable report of a {@link DiffResult}. */
export function formatDiff(r: DiffResult): string {
  const out: string[] = [];
  out.push(`BEFORE ${r.before.file}: ${r.before.tcp} TCP segments of ${r.before.frames} frames`);
  out.push(`AFTER  ${r.after.file}: ${r.after.tcp} TCP segments of ${r.after.frames} frames`);
  out.push(
    `matched ${r.matched} segment(s)` +
      (r.matchedBySeqRewrite > 0 ? ` (${r.matchedBySeqRewrite} with rewritten sequence numbers)` : '') +
      (r.matchedByResegment > 0 ? ` (${r.matchedByResegment} resegmented)` : ''),
  );
  const changes: string[] = [];
  section('options removed by the device', r.optionsRemoved, changes);
  section('options added by the device', r.optionsAdded, changes);
  section('addresses/ports translated', r.translations, changes);
  section('sequence numbers shifted', r.seqOffsets, changes);
  section('acknowledgment numbers shifted', r.ackOffsets, changes);
  section('segments split or merged', r.resegmented, changes);
  if (r.payloadChangedSegments > 0) {
    changes.push(`payload modified in ${r.payloadChangedSegments} segment(s):`);
    for (const p of r.payload) {
      const bytes = p.bytes
        .map((b) => `offset ${b.offset} (seq ${(p.seq + b.offset) >>> 0}): 0x${b.before.toString(16).padStart(2, '0')} → 0x${b.after.toString(16).padStart(2, '0')}`)
        .join(', ');
      changes.push(`  ${p.flow} frames ${p.beforeFrame}/${p.afterFrame}: ${bytes}`);
    }
  }
  section('dropped (seen before, not after)', r.dropped, changes);
  section('added (seen after, not before)', r.added, changes);
  if (changes.length === 0) out.push('no change by the device other than TTL/delay');
  else out.push(...changes);
  section('TTL', r.ttl, out);
  if (r.delayForward !== null) out.push(`delay before → after: min ${ms(r.delayForward.min)}, median ${ms(r.delayForward.median)}, max ${ms(r.delayForward.max)} (${r.delayForward.packets} packets)`);
  if (r.delayBackward !== null) out.push(`delay after → before: min ${ms(r.delayBackward.min)}, median ${ms(r.delayBackward.median)}, max ${ms(r.delayBackward.max)} (${r.delayBackward.packets} packets)`);
  if (r.evictedByCap > 0) out.push(`note: ${r.evictedByCap} packet(s) finalised early by the pending cap; raise --window only if clocks differ a lot`);
  return `${out.join('\n')}\n`;
}
