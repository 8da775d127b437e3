#!/usr/bin/env node
// Entry point for the `mptcpscope` command: runs the compiled CLI (npm run build writes dist/).
// React (under ink, the live TUI) picks its development or production build from NODE_ENV when it is first loaded;
// the development build's checks cost the live view about as much CPU as the packet analysis (bench/live-keepup.ts
// profile), so the command runs the production build unless NODE_ENV says otherwise.
process.env.NODE_ENV ??= 'production';
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv);
