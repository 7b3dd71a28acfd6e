#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The `signet` executable; package.json bin runs its bundle, dist/bin/signet.mjs (scripts/bundle-cli.mjs).
// Exit codes: see client/exit-codes.ts.

import { runCli } from './cli.js';

// A reader that stops early (`signet list … | head`) is not an error: stop quietly, as Go's notary does.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
