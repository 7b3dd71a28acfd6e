// SPDX-License-Identifier: Apache-2.0
// Passphrase sources: environment variables (Notary's and Docker's), the
// no-TTY / CI exit path, and the interactive prompt on a real pseudo-terminal
// (util-linux `script`), where an echoed passphrase would be visible.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseKeyFile, unlockKeyFile } from '../../keys/key-file.js';
import { envPassphraseRetriever, isCiEnv, passphraseEnvNames, promptPassphraseRetriever, type PassphraseRequest } from '../../keys/passphrase.js';
import { assertRejectsCode, copyFixtureTrustDir, tempDir } from './support/helpers.js';
import { HAS_SCRIPT, terminalRunner } from '../support/terminal.js';

const CHILD = fileURLToPath(new URL('./support/passphrase-child.js', import.meta.url));
const ROOT_ID = '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac';
const req = (role: string, extra: Partial<PassphraseRequest> = {}): PassphraseRequest => ({ keyName: 'abcdef0123', role, createNew: false, attempt: 0, ...extra });

describe('environment variables', () => {
  test('which variables serve which role', () => {
    const table: Record<string, string[]> = {
      root: ['NOTARY_ROOT_PASSPHRASE', 'DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE'],
      targets: ['NOTARY_TARGETS_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'],
      snapshot: ['NOTARY_SNAPSHOT_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'],
      timestamp: [],
      delegation: ['NOTARY_DELEGATION_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'],
      'targets/releases': ['NOTARY_DELEGATION_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'],
      user: ['NOTARY_DELEGATION_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'],
    };
    for (const [role, names] of Object.entries(table)) assert.deepEqual(passphraseEnvNames(role), names, role);
  });

  test('NOTARY_* wins over DOCKER_*; Docker\'s are used alone; empty counts as unset', async () => {
    const both = envPassphraseRetriever({ NOTARY_ROOT_PASSPHRASE: 'n', DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'd', NOTARY_DELEGATION_PASSPHRASE: 'nd', DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'dr' });
    assert.equal(await both(req('root')), 'n');
    assert.equal(await both(req('targets/x')), 'nd');
    assert.equal(await both(req('targets')), 'dr');
    const docker = envPassphraseRetriever({ NOTARY_ROOT_PASSPHRASE: '', DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'd', DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'dr' });
    assert.equal(await docker(req('root')), 'd');
    assert.equal(await docker(req('snapshot')), 'dr');
    assert.equal(await docker(req('delegation')), 'dr');
    // The repository passphrase never opens a root key.
    await assertRejectsCode(envPassphraseRetriever({ DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'dr' })(req('root')), 'PASSPHRASE_REQUIRED', 'NOTARY_ROOT_PASSPHRASE or DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE');
  });

  test('a rejected environment value is not offered again; the error names the variable, not the value', async () => {
    const r = envPassphraseRetriever({ NOTARY_TARGETS_PASSPHRASE: 'hunter2-value' });
    assert.equal(await r(req('targets')), 'hunter2-value');
    const err = await assertRejectsCode(r(req('targets', { attempt: 1 })), 'PASSPHRASE_WRONG', 'NOTARY_TARGETS_PASSPHRASE');
    assert.ok(!err.message.includes('hunter2-value'));
    assert.equal(await r(req('targets', { createNew: true })), 'hunter2-value');
  });

  test('unset → the fallback is asked; without one, PASSPHRASE_REQUIRED names what to set', async () => {
    const seen: PassphraseRequest[] = [];
    const r = envPassphraseRetriever({}, async (q) => { seen.push(q); return 'from-fallback'; });
    assert.equal(await r(req('snapshot')), 'from-fallback');
    assert.equal(seen.length, 1);
    await assertRejectsCode(envPassphraseRetriever({})(req('timestamp')), 'PASSPHRASE_REQUIRED', 'no environment variable covers this role');
  });
});

describe('no prompt without a terminal, or in CI', () => {
  test('stdin not a TTY → PASSPHRASE_REQUIRED, nothing written', async () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (d: Buffer) => { written += d.toString(); });
    const input = Object.assign(new PassThrough(), { isTTY: false });
    await assertRejectsCode(promptPassphraseRetriever({ input, output: out, env: {} })(req('root')), 'PASSPHRASE_REQUIRED', 'NOTARY_ROOT_PASSPHRASE');
    assert.equal(written, '');
  });

  test('CI=true → PASSPHRASE_REQUIRED even on a TTY', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    input.write('typed-anyway\n'); // were it to prompt, this line would answer it
    await assertRejectsCode(promptPassphraseRetriever({ input, output: new PassThrough(), env: { CI: 'true' } })(req('targets')), 'PASSPHRASE_REQUIRED', 'NOTARY_TARGETS_PASSPHRASE');
  });

  test('isCiEnv: CI=1/true/True/yes (or a CI system\'s name) is CI; 0/false/no/empty/unset is not', () => {
    for (const v of ['1', 'true', 'True', 'TRUE', 'yes', 'woodpecker']) assert.equal(isCiEnv({ CI: v }), true, `CI=${v}`);
    for (const v of ['0', 'false', 'False', 'no', 'off', '', ' ']) assert.equal(isCiEnv({ CI: v }), false, `CI=${JSON.stringify(v)}`);
    assert.equal(isCiEnv({}), false, 'unset');
  });

  for (const ci of ['1', 'True', 'yes']) {
    test(`CI=${ci} → PASSPHRASE_REQUIRED even on a TTY, as CI=true`, async () => {
      const input = Object.assign(new PassThrough(), { isTTY: true });
      input.write('typed-anyway\n');
      await assertRejectsCode(promptPassphraseRetriever({ input, output: new PassThrough(), env: { CI: ci } })(req('targets')), 'PASSPHRASE_REQUIRED', 'NOTARY_TARGETS_PASSPHRASE');
    });
  }

  for (const [name, env] of [['stdin is a pipe', {}], ['CI=true', { CI: 'true' }]] as const) {
    test(`a CLI process whose ${name} exits with PASSPHRASE_REQUIRED naming the variable, without prompting`, () => {
      const dir = copyFixtureTrustDir('owner');
      const res = spawnSync(process.execPath, [CHILD, 'unlock', dir, ROOT_ID], { input: 'fixture-root-pass\n', encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '', ...env } });
      assert.equal(res.status, 3, res.stderr);
      assert.match(res.stderr, /^PASSPHRASE_REQUIRED: a passphrase is needed to unlock the root key 9d2559c: set NOTARY_ROOT_PASSPHRASE or DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE/);
      assert.doesNotMatch(res.stderr, /Enter passphrase/);
      assert.equal(res.stdout, '');
    });
  }

  test('with the variable set the same CLI process succeeds', () => {
    const dir = copyFixtureTrustDir('owner');
    const res = spawnSync(process.execPath, [CHILD, 'unlock', dir, ROOT_ID], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '', NOTARY_ROOT_PASSPHRASE: 'fixture-root-pass' } });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `OK unlocked ${ROOT_ID}\n`);
  });
});

const onTerminal = terminalRunner(CHILD);

describe('interactive prompt on a real terminal', { skip: !HAS_SCRIPT && 'util-linux script not installed' }, () => {
  test('unlock: a wrong passphrase, then the right one; nothing typed is echoed', async () => {
    const dir = copyFixtureTrustDir('owner');
    const { status, output } = await onTerminal(['unlock', dir, ROOT_ID], [
      [/Enter passphrase for root key 9d2559c: /, 'typed-wrong-secret'],
      [/Passphrase incorrect\. Please retry\.\r?\n[\s\S]*Enter passphrase for root key 9d2559c: /, 'fixture-root-pass'],
    ]);
    assert.equal(status, 0, output);
    assert.match(output, new RegExp(`OK unlocked ${ROOT_ID}`));
    assert.doesNotMatch(output, /typed-wrong-secret|fixture-root-pass/);
  });

  test('CI=true on a terminal: PASSPHRASE_REQUIRED naming the variable, no prompt', async () => {
    const { status, output } = await onTerminal(['unlock', copyFixtureTrustDir('owner'), ROOT_ID], [], { CI: 'true' });
    assert.equal(status, 3, output);
    assert.match(output, /PASSPHRASE_REQUIRED: .*NOTARY_ROOT_PASSPHRASE/);
    assert.doesNotMatch(output, /Enter passphrase/);
  });

  test('three wrong passphrases → PASSPHRASE_WRONG', async () => {
    const dir = copyFixtureTrustDir('owner');
    const { status, output } = await onTerminal(['unlock', dir, ROOT_ID], [
      [/Enter passphrase/, 'bad-1'],
      [/Enter passphrase/, 'bad-2'],
      [/Enter passphrase/, 'bad-3'],
    ]);
    assert.equal(status, 3, output);
    assert.match(output, /PASSPHRASE_WRONG: wrong passphrase for .* after 3 attempts/);
  });

  test('new key: too short and mismatched entries are retried, then the key is written under the confirmed passphrase', async () => {
    const dir = tempDir();
    const { status, output } = await onTerminal(['generate', dir, 'targets/releases'], [
      [/Enter passphrase for new targets\/releases key [0-9a-f]{7}: /, 'short'],
      [/too short[\s\S]*Enter passphrase for new/, 'first-long-secret'],
      [/Repeat passphrase for new/, 'second-long-secret'],
      [/do not match[\s\S]*Enter passphrase for new/, 'agreed-long-secret'],
      [/Repeat passphrase for new/, 'agreed-long-secret'],
    ]);
    assert.equal(status, 0, output);
    assert.doesNotMatch(output, /long-secret|short\r/);
    const id = /OK generated ([0-9a-f]{64})/.exec(output)![1]!;
    const p = path.join(dir, 'private', `${id}.key`);
    const file = parseKeyFile(fs.readFileSync(p), p);
    assert.ok(unlockKeyFile(file, 'agreed-long-secret', p));
    assert.equal(unlockKeyFile(file, 'first-long-secret', p), null);
  });
});
