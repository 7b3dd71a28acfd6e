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

// Exit as soon as the command is done and its output is flushed: letting Node tear down the heap
// of a large publish took ~10 ms more, and no command leaves work running behind it.
const flushed = (stream: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => stream.write('', () => resolve()));
void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }).then(async (code) => {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
});
