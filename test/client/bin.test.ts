// SPDX-License-Identifier: Apache-2.0
// The installed `signet` is dist/bin/signet.cjs (client/bin.cts), which runs the
// esbuild bundle of the CLI beside it with the V8 code cache the build made
// (scripts/bundle-cli.mjs): package.json points at it, it runs on its own, V8
// accepts the cache, and without the cache it still works. docs/ci-sign.sh's
// test drives it through a whole signing flow against notary-server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../support/paths.js';
import { HAS_SCRIPT, terminalRunner } from '../support/terminal.js';

const BIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin');
const BIN = path.join(BIN_DIR, 'signet.cjs');
const BUNDLE = path.join(BIN_DIR, 'signet-cli.cjs');

function tempDir(): string {
  return fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'signet-bin-'));
}

test('package.json bin is the executable, which runs the bundle', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.equal(pkg.bin.signet, 'dist/bin/signet.cjs');
  assert.ok((fs.statSync(BIN).mode & 0o111) !== 0, 'the bin is executable');
  const help = spawnSync(BIN, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  for (const command of ['init', 'publish', 'sign', 'delegation', 'policy']) assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
});

test('V8 accepts the code cache built for the bundle', () => {
  // What client/bin.cts does; a cache V8 rejects would silently cost every command its compile time.
  const script = new vm.Script(nodeModule.wrap(fs.readFileSync(BUNDLE, 'utf8')), { filename: BUNDLE, cachedData: fs.readFileSync(`${BUNDLE}.cache`) });
  assert.equal(script.cachedDataRejected, false);
});

test('without its code cache the CLI still runs (V8 compiles the bundle)', () => {
  const dir = tempDir();
  try {
    for (const f of ['signet.cjs', 'signet-cli.cjs']) fs.copyFileSync(path.join(BIN_DIR, f), path.join(dir, f));
    const r = spawnSync(process.execPath, [path.join(dir, 'signet.cjs'), '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: signet/);
    // A cache for other bytes is rejected by V8, not run.
    fs.writeFileSync(path.join(dir, 'signet-cli.cjs.cache'), Buffer.alloc(4096, 1));
    const bad = spawnSync(process.execPath, [path.join(dir, 'signet.cjs'), '--help'], { encoding: 'utf8' });
    assert.equal(bad.status, 0, bad.stderr);
    assert.match(bad.stdout, /^Usage: signet/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the policy command and its YAML parser run from the bundle', () => {
  const dir = tempDir();
  try {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'default: maybe\n');
    const r = spawnSync(process.execPath, [BIN, '-d', dir, 'policy', 'check', 'example.com/app:1', '--policy', path.join(dir, 'bad.yaml'), '--offline'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', CI: 'true', HOME: dir } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /bad\.yaml:1/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundle prompts on a terminal (readline, which it loads only when asked)', { skip: !HAS_SCRIPT && 'util-linux script not installed' }, async () => {
  const dir = tempDir();
  try {
    const { status, output } = await terminalRunner(BIN)(['-d', dir, 'key', 'generate'], [
      [/Enter passphrase for new root key [0-9a-f]{7}: /, 'bundle-prompt-secret'],
      [/Repeat passphrase for new root key/, 'bundle-prompt-secret'],
    ], { HOME: dir });
    assert.equal(status, 0, output);
    assert.doesNotMatch(output, /bundle-prompt-secret/);
    assert.equal(fs.readdirSync(path.join(dir, 'private')).filter((f) => f.endsWith('.key')).length, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundle talks TLS through node:https, which it loads only when asked', () => {
  const dir = tempDir();
  try {
    // Nothing listens on port 1: the https request is made (and refused), not a stand-in failure.
    const r = spawnSync(process.execPath, [BIN, '-s', 'https://127.0.0.1:1', '-d', dir, 'list', 'example.com/app'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', CI: 'true', HOME: dir } });
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /cannot reach the trust server at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('with HOME unset the trust dir is <cwd>/.notary, where notary 0.7 puts it', () => {
  const dir = tempDir();
  try {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTARY_ROOT_PASSPHRASE: 'home-unset-root-pass', CI: 'true' };
    const r = spawnSync(process.execPath, [BIN, 'key', 'generate'], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const id = /keyID: ([0-9a-f]{64})/.exec(r.stdout)?.[1];
    assert.ok(id !== undefined, r.stdout);
    assert.ok(fs.existsSync(path.join(dir, '.notary', 'private', `${id}.key`)), 'the key is under <cwd>/.notary');
    const notary = spawnSync('notary', ['key', 'list'], { cwd: dir, env, encoding: 'utf8' });
    if (notary.error === undefined) assert.match(notary.stdout, new RegExp(`root\\s+${id}`), 'notary finds it in the same place');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
