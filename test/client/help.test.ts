// SPDX-License-Identifier: Apache-2.0
// Every command's --help ends with examples, and says what it does.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/paths.js';
import { signet } from './support/cli-run.js';

const COMMANDS = [
  ['init'], ['add'], ['publish'], ['list'], ['lookup'], ['status'], ['reset'],
  ['addhash'], ['remove'], ['verify'], ['sign'], ['witness'], ['delete'],
  ['delegation'], ['delegation', 'list'], ['delegation', 'add'], ['delegation', 'remove'], ['delegation', 'purge'],
];

it('every publishing command has --help with examples', async () => {
  for (const cmd of COMMANDS) {
    const r = await signet([...cmd, '--help']);
    assert.equal(r.code, 0, cmd.join(' '));
    assert.match(r.stdout, new RegExp(`Usage: signet ${cmd.join(' ')}`), cmd.join(' '));
    assert.match(r.stdout, /\nExamples:\n {2}\$ signet /, cmd.join(' '));
  }
});

it('sign says how it names targets, delegation list and key list document their JSON fields', async () => {
  const flat = async (args: string[]): Promise<string> => (await signet(args)).stdout.replace(/\s+/g, ' ');
  assert.match(await flat(['sign', '--help']), /as `docker trust sign` writes it/);
  assert.match(await flat(['list', '--help']), /--output json: an array of \{"name", "role", "length", "hashes"/);
  assert.match(await flat(['delegation', 'list', '--help']), /"role", "paths" \("" = all paths\), "keyIds" \(canonical\), "threshold"/);
  assert.match(await flat(['key', 'list', '--help']), /--output json: an array of \{"keyId" \(canonical\), "role", "gun" \(null for keys of no repository\), "algorithm", "location" \(the key store\), "file" .*"problem"\?/);
});

it('version and --version report the package version, as `notary version` does', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const long = await signet(['version']);
  assert.equal(long.code, 0);
  assert.equal(long.stdout, `signet\n Version:    ${pkg.version}\n Node.js:    ${process.version}\n`);
  const short = await signet(['--version']);
  assert.equal(short.code, 0);
  assert.equal(short.stdout, `signet Version: ${pkg.version}, Node.js: ${process.version}\n`);
});
