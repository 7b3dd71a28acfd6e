// SPDX-License-Identifier: Apache-2.0
// The entry of the `signet` CLI. package.json's bin is dist/bin/signet.cjs (client/bin.cts), which runs
// this module's bundle, dist/bin/signet-cli.cjs (scripts/bundle-cli.mjs). A CommonJS bundle has no
// top-level await, hence the promise.
// Exit codes: see client/exit-codes.ts.

import { runCli } from './cli.js';

// A reader that stops early (`signet list … | head`) is not an error: stop quietly, as Go's notary does.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }).then((code) => {
  process.exitCode = code;
});
