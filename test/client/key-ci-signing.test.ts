// SPDX-License-Identifier: Apache-2.0
// docs/ci-sign.sh as written: the owner sets the repository up as
// docs/ci-signing.md says, then the script imports a client-bundle key.pem
// into a scratch trust dir and signs a tag into both CI delegations, with
// the passphrase only in DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../support/paths.js';
import { NOTARY_PASSPHRASES, runNotary, startNotaryServer, type NotaryServer } from './support/notary.js';
import { signet, tmp } from './key-helpers.js';

// The shipped executable: package.json's bin runs this bundle of the same build (scripts/bundle-cli.mjs).
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'signet.cjs');

describe('docs/ci-sign.sh', () => {
  let server: NotaryServer;
  before(async () => {
    server = await startNotaryServer();
  });
  after(async () => {
    await server.stop();
  });

  it('signs a tag into targets/releases and targets/jenkins from a fresh CI workspace', async () => {
    const work = tmp('signet-ci-');
    const gun = 'registry.example.com/team/app';
    const owner = path.join(work, 'owner');
    const bundle = path.join(work, 'bundle');
    fs.mkdirSync(bundle);
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path.join(bundle, 'key.pem')]);
    execFileSync('openssl', ['req', '-new', '-x509', '-key', path.join(bundle, 'key.pem'), '-out', path.join(bundle, 'cert.pem'), '-subj', '/CN=ci', '-days', '30']);
    const o = (...args: string[]) => signet(['-s', server.url, '-d', owner, ...args]);
    assert.equal((await o('init', gun, '-p')).code, 0);
    assert.equal((await o('key', 'rotate', gun, 'snapshot', '-r')).code, 0);
    for (const role of ['targets/releases', 'targets/jenkins']) {
      const r = await o('delegation', 'add', '-p', gun, role, path.join(bundle, 'cert.pem'), '--all-paths');
      assert.equal(r.code, 0, r.stderr);
    }

    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'signet'), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`, { mode: 0o755 });
    const digest = 'sha256:' + 'ab'.repeat(32);
    const r = spawnSync('sh', [path.join(REPO_ROOT, 'docs', 'ci-sign.sh'), gun, '1.0.7', digest, '528'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        HOME: work,
        CI_KEY_PEM: path.join(bundle, 'key.pem'),
        DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'ci-secret-pass',
        NOTARY_SERVER: server.url,
      },
    });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`1\\.0\\.7 ${digest} 528`));
    assert.doesNotMatch(r.stdout + r.stderr, /ci-secret-pass/);
    const listed = runNotary(['list', gun, '-r', 'targets/jenkins'], { trustDir: path.join(work, 'reader'), server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /1\.0\.7 +abab.* +528 +targets\/jenkins/);
    const all = runNotary(['list', gun], { trustDir: path.join(work, 'reader'), server: server.url });
    assert.match(all.stdout, /1\.0\.7 .* targets\/releases/);
  });
});
