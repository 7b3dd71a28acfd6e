#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The `signet` executable (package.json bin, copied to dist/bin/signet.cjs by
// scripts/bundle-cli.mjs). It runs the CLI bundle beside it, signet-cli.cjs,
// with the V8 code cache the build made for it, signet-cli.cjs.cache: V8 then
// deserialises bytecode instead of parsing and compiling ~500 KB of JavaScript,
// which took ~25 ms of every command (README, "Start-up"). A missing or
// rejected cache (another Node.js version, say) costs only that time: V8
// compiles the source as usual. Nothing is written here at run time.

import fs = require('node:fs');
import path = require('node:path');
import vm = require('node:vm');
import nodeModule = require('node:module');

type ModuleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

const bundle = path.join(__dirname, 'signet-cli.cjs');
const source = fs.readFileSync(bundle, 'utf8');
let cachedData: Buffer | undefined;
try {
  cachedData = fs.readFileSync(`${bundle}.cache`);
} catch {
  cachedData = undefined; // no cache: compile from source
}
// The same wrapper Node puts around a CommonJS module, so the bundle runs as if required.
const script = new vm.Script(nodeModule.wrap(source), { filename: bundle, ...(cachedData === undefined ? {} : { cachedData }) });
const cli = { exports: {} };
(script.runInThisContext() as ModuleFunction)(cli.exports, nodeModule.createRequire(bundle), cli, bundle, __dirname);
