// SPDX-License-Identifier: Apache-2.0
// Bundle the compiled CLI (dist/client/main.js) into dist/bin/signet.mjs (plus chunks),
// which package.json's `bin` points at. Why: Node 20 spends ~1 ms resolving,
// reading and linking each ES module, and the CLI graph is ~120 of them, so an
// unbundled `signet` paid ~200 ms before doing any work (README, "Dependencies").
// Native and lazily required packages stay outside and resolve from node_modules.
// Usage: node scripts/bundle-cli.mjs [outDir of tsc, default dist]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.resolve(root, process.argv[2] ?? 'dist');

await build({
  entryPoints: { signet: path.join(dist, 'client', 'main.js') },
  outdir: path.join(dist, 'bin'),
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  // Code behind a dynamic import() (the policy command and its YAML parser) becomes a chunk loaded on use.
  splitting: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Bundled CommonJS packages call require() for Node built-ins; ES modules have none.
  banner: { js: "import { createRequire as __signetCreateRequire } from 'node:module';\nconst require = __signetCreateRequire(import.meta.url);" },
  external: ['pkcs11js', '@peculiar/*'],
  sourcemap: 'linked',
  logLevel: 'warning',
});
