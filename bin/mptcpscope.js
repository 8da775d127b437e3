#!/usr/bin/env node
// Entry point for the `mptcpscope` command: runs the compiled CLI (npm run build writes dist/).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
