#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The `signet` executable (package.json bin -> dist/client/main.js).
// Exit codes: see client/exit-codes.ts.

import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
