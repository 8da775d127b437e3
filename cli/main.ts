/**
 * mptcpscope command line: `mptcpscope <command> [options]`.
 * Commands live one per file in cli/; this file only wires them to commander.
 */
import { Command, CommanderError } from 'commander';
import { registerAnalyze } from './analyze.js';
import { registerCheck } from './check.js';
import { registerDiff } from './diff.js';
import { ExitCode } from './exit-codes.js';
import { registerGate } from './gate.js';
import { registerLab } from './lab.js';
import { registerLive } from './live.js';
import { registerTimeline } from './timeline.js';

export const VERSION = '0.1.0';

/** Build the commander program. Exposed for tests (which call `main` with an argv array). */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name('mptcpscope')
    .description('Multipath TCP (RFC 8684 v1 / RFC 6824 v0) capture analyzer and conformance tester')
    .version(VERSION)
    .addHelpText(
      'after',
      `
Exit codes:
  0  analysed (or: check/gate passed)
  1  check/gate failed
  2  bad usage, or unreadable/unsupported input`,
    )
    .exitOverride();
  registerAnalyze(program, setExit);
  registerCheck(program, setExit);
  registerDiff(program, setExit);
  registerGate(program, setExit);
  registerLab(program, setExit);
  registerLive(program, setExit);
  registerTimeline(program, setExit);
  return program;
}

/** Run the CLI; returns the process exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  let code: number = ExitCode.OK;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit with code 0 through here.
      return e.exitCode === 0 ? ExitCode.OK : ExitCode.BAD_INPUT;
    }
    process.stderr.write(`mptcpscope: ${e instanceof Error ? e.message : String(e)}\n`);
    return ExitCode.BAD_INPUT;
  }
  return code;
}
