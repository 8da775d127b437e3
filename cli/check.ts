/**
 * `mptcpscope check FILE...`: conformance findings (rule catalogue ../shared/spec/mptcp-rules.md §2)
 * grouped by connection; `--json`, `--junit FILE`, `--policy FILE`.
 * Exit: 0 no finding fails the policy; 1 some finding has action `error`; 2 unusable input or policy.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { formatIssue } from '../analyzer/issue.js';
import { type CheckResult, checkFile } from '../conformance/engine.js';
import { DEFAULT_POLICY, type Policy, loadPolicy } from '../conformance/policy.js';
import { type JudgedResult, judge } from '../conformance/report/apply.js';
import { toJson } from '../conformance/report/json.js';
import { toJunit } from '../conformance/report/junit.js';
import { formatText } from '../conformance/report/text.js';
import { ExitCode } from './exit-codes.js';
import { type GateCliOptions, runCheckExpect } from './gate.js';
import { writeJson } from './json-out.js';

interface CheckCliOptions {
  expect?: string;
  json?: boolean;
  junit?: string;
  policy?: string;
}

export function registerCheck(program: Command, setExit: (code: number) => void): void {
  program
    .command('check')
    .description('check captures against the MPTCP rule catalogue (RFC 8684 / RFC 6824): HMACs, DSS checksums, handshake, fallback, …')
    .argument('<file...>', 'capture files')
    .option('--json', 'JSON output (one object per file; an array when several files)')
    .option('--junit <file>', 'also write JUnit XML (one testcase per rule and connection)')
    .option('--policy <file>', 'policy JSON: {"rules": {"DSS-002": "warn", "FB": "error", "middlebox": "ignore"}, "severity": {"warning": "error"}}')
    .option('--expect <file>', 'judge the captures against a fixture\'s expect.json (docs/expect.md): counts, fallback, required/forbidden rules, metric bounds')
    .addHelpText(
      'after',
      `
Exit codes: 0 no finding fails the policy (default: error-severity findings fail); 1 at least one does;
2 a file could not be read or the policy file is invalid.
With --expect: 0 every expectation holds and no unexpected finding fails the policy; 1 otherwise;
2 invalid expect.json (file and JSON path), or no captures[] entry for a capture's file name.`,
    )
    .action(async (files: string[], opts: CheckCliOptions) => {
      if (opts.expect !== undefined) {
        const o: GateCliOptions = {};
        if (opts.json === true) o.json = true;
        if (opts.junit !== undefined) o.junit = opts.junit;
        if (opts.policy !== undefined) o.policy = opts.policy;
        setExit((await runCheckExpect(opts.expect, files, o)).exitCode);
        return;
      }
      setExit(await runCheck(files, opts));
    });
}

/** Run `check`; returns the exit code. */
export async function runCheck(files: string[], opts: CheckCliOptions): Promise<number> {
  let policy: Policy = DEFAULT_POLICY;
  if (opts.policy !== undefined) {
    try {
      policy = await loadPolicy(opts.policy);
    } catch (e) {
      process.stderr.write(`mptcpscope check: --policy ${opts.policy}: ${e instanceof Error ? e.message : String(e)}\n`);
      return ExitCode.BAD_INPUT;
    }
  }
  const judged: JudgedResult[] = [];
  let bad = false;
  for (const file of files) {
    let r: CheckResult;
    try {
      r = await checkFile(file);
    } catch (e) {
      process.stderr.write(`mptcpscope check: ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
      bad = true;
      continue;
    }
    if (r.analysis.frames === 0 && r.analysis.errorCount > 0) {
      const first = r.analysis.errors[0];
      process.stderr.write(`mptcpscope check: ${file}: not a readable capture${first ? `: ${formatIssue(first)}` : ''}\n`);
      bad = true;
      continue;
    }
    if (r.analysis.capture.incomplete) process.stderr.write(`mptcpscope check: ${file}: capture cut off or corrupt; checked up to the cut\n`);
    judged.push(judge(r, policy));
  }
  if (opts.json === true) {
    const objs = judged.map(toJson);
    await writeJson(process.stdout, files.length === 1 ? (objs[0] ?? null) : objs, 2);
  } else {
    for (const j of judged) process.stdout.write(`${formatText(j)}\n`);
  }
  if (opts.junit !== undefined) {
    try {
      await writeFile(opts.junit, toJunit(judged));
    } catch (e) {
      process.stderr.write(`mptcpscope check: --junit ${opts.junit}: ${e instanceof Error ? e.message : String(e)}\n`);
      return ExitCode.BAD_INPUT;
    }
  }
  if (bad) return ExitCode.BAD_INPUT;
  return judged.some((j) => j.failing > 0) ? ExitCode.FAILED : ExitCode.OK;
}
