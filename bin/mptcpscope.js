#!/usr/bin/env node
// Entry point for the `mptcpscope` command: runs the compiled CLI (npm run build writes dist/).
// React (under ink, the live TUI) picks its development or production build from NODE_ENV when it is first loaded.
// The development build's extra checks showed in the profile of `live` during a transfer (React's reconciler
// 312 → 119 ms of samples with the production build, bench/README.md), so the command runs the production build
// unless NODE_ENV says otherwise (the tests set NODE_ENV=test).
process.env.NODE_ENV ??= 'production';
// A reader that went away (`mptcpscope … | head`): stop quietly, as tcpdump and tshark do, instead of an
// unhandled EPIPE stack trace.
process.stdout.on('error', (e) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv);
