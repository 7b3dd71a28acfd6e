// SPDX-License-Identifier: Apache-2.0
// The installed `signet` is the esbuild bundle of the CLI (scripts/bundle-cli.mjs):
// package.json points at it, it runs on its own, and the policy command's
// chunk (loaded on use) is found beside it. docs/ci-sign.sh's test drives it
// through a whole signing flow against notary-server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../support/paths.js';

const BUNDLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'signet.mjs');

test('package.json bin is the bundle, which is executable and runs', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.equal(pkg.bin.signet, 'dist/bin/signet.mjs');
  assert.ok((fs.statSync(BUNDLE).mode & 0o111) !== 0, 'the bundle is executable');
  const help = spawnSync(BUNDLE, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  for (const command of ['init', 'publish', 'sign', 'delegation', 'policy']) assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
});

test('the policy command loads its chunk from beside the bundle', () => {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'signet-bin-'));
  try {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'default: maybe\n');
    const r = spawnSync(process.execPath, [BUNDLE, '-d', dir, 'policy', 'check', 'example.com/app:1', '--policy', path.join(dir, 'bad.yaml'), '--offline'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', CI: 'true', HOME: dir } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /bad\.yaml:1/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
