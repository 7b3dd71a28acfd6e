// SPDX-License-Identifier: Apache-2.0
// Build the installed `signet` (package.json bin) from the compiled CLI in dist/:
//   dist/bin/signet-cli.cjs        one CommonJS bundle of dist/client/main.js. Why: Node 20
//                                  spends ~1 ms resolving, reading and linking each ES module,
//                                  and the CLI graph is ~120 of them (~200 ms unbundled).
//   dist/bin/signet-cli.cjs.cache  V8 code cache of that bundle with every function compiled,
//                                  so no command parses or compiles the CLI at start-up.
//   dist/bin/signet.cjs            the executable (client/bin.cts) that runs the two.
// The policy command and the proxy support (client/proxy.ts, used only when a proxy
// variable is set) stay lazy: esbuild evaluates a dynamically imported module on
// first use. Native and lazily required packages stay outside and resolve from
// node_modules, and so does the YAML parser: only the policy command needs it, and
// bundled it was a third of the bundle and of the code cache every command loads.
// Usage: node scripts/bundle-cli.mjs [outDir of tsc, default dist]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.resolve(root, process.argv[2] ?? 'dist');
const outDir = path.join(dist, 'bin');
const bundle = path.join(outDir, 'signet-cli.cjs');

// Outputs of earlier layouts (an ES module bundle with chunks) must not linger beside this one.
fs.rmSync(outDir, { recursive: true, force: true });

// Node built-ins that are imported when a module loads but used only on paths a command rarely takes:
// commander's child_process (executable subcommands; signet has none; signet's own docker credential
// helpers run only when a server asks for a login), read's readline (only when
// prompting) and https for the transport (only for TLS servers). Loading them cost every command
// a few milliseconds; these stand-ins load them on first call. Code that starts importing another
// name from them fails this build ("No matching export").
const LAZY_BUILTINS = { child_process: ['spawn', 'spawnSync'], readline: ['createInterface'], https: ['request'] };
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${Object.keys(LAZY_BUILTINS).join('|')})$`);
    b.onResolve({ filter }, (args) => (args.namespace === 'lazy-builtin' ? undefined : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: LAZY_BUILTINS[args.path].map((f) => `export function ${f}(...a) { return require('node:${args.path}').${f}(...a); }`).join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

await build({
  entryPoints: [path.join(dist, 'client', 'main.js')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // createRequire(import.meta.url) in the sources: a CommonJS bundle knows its own file.
  define: { 'import.meta.url': '__signetBundleUrl' },
  banner: { js: "const __signetBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  external: ['pkcs11js', '@peculiar/*', 'yaml'],
  plugins: [lazyBuiltins],
  sourcemap: 'linked',
  logLevel: 'warning',
});

// vm.Script (client/bin.cts) has no loader for import(); every dynamic import must be bundled.
if (/\bimport\(/.test(fs.readFileSync(bundle, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, ''))) {
  throw new Error(`${bundle} still holds a dynamic import(); bundle that module or require() it`);
}

const bin = path.join(outDir, 'signet.cjs');
fs.copyFileSync(path.join(dist, 'client', 'bin.cjs'), bin);
fs.chmodSync(bin, 0o755);

// The cache is made in a child process with functions compiled eagerly (--no-lazy) and
// serialised after lazy compilation is switched back on, so its V8 flag hash is that of a
// plain `node`; a second child checks that V8 accepts it. Without a usable cache the CLI
// still works, only its start-up is slower, so a failure here is a warning, not an error.
const MAKE_CACHE = `
const fs = require('node:fs'), vm = require('node:vm'), v8 = require('node:v8'), { wrap } = require('node:module');
const [file, out] = process.argv.slice(1);
v8.setFlagsFromString('--no-lazy');
const script = new vm.Script(wrap(fs.readFileSync(file, 'utf8')), { filename: file });
v8.setFlagsFromString('--lazy');
fs.writeFileSync(out, script.createCachedData());`;
const CHECK_CACHE = `
const fs = require('node:fs'), vm = require('node:vm'), { wrap } = require('node:module');
const [file, cache] = process.argv.slice(1);
const script = new vm.Script(wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData: fs.readFileSync(cache) });
process.exit(script.cachedDataRejected ? 3 : 0);`;
const cache = `${bundle}.cache`;
const tmp = `${cache}.tmp`;
const made = spawnSync(process.execPath, ['-e', MAKE_CACHE, bundle, tmp], { stdio: 'inherit' });
const checked = made.status === 0 ? spawnSync(process.execPath, ['-e', CHECK_CACHE, bundle, tmp], { stdio: 'inherit' }) : made;
if (checked.status === 0) fs.renameSync(tmp, cache);
else {
  fs.rmSync(tmp, { force: true });
  console.warn(`bundle-cli: no V8 code cache for ${bundle} (exit ${checked.status}); signet works, but starts ~25 ms slower`);
}
