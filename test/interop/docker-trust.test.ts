// SPDX-License-Identifier: Apache-2.0
// The stock `docker trust` CLI against signet-server (real service, embedded
// store, served over TLS: docker talks to trust servers over https only), with
// signet signing in docker's own trust dir: `docker trust key generate` and
// `signer add` set the repository up, `signet sign` signs a tag as `docker
// trust sign` would, `docker trust inspect` shows it signed by the signer, and
// `docker trust revoke` unsigns it. None of these docker commands needs a
// daemon. Skipped, saying so, where the docker CLI is not installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../client/cli.js';
import { makeApp, type TestApp } from '../server/http/harness.js';
import { sink } from '../client/support/cli-run.js';

const HAS_DOCKER = spawnSync('docker', ['--version'], { stdio: 'ignore' }).status === 0;
const GUN = 'localhost:5000/team/app';
const DIGEST = 'c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2';

interface SignedTag {
  SignedTag: string;
  Digest: string;
  Signers: string[];
}
interface Inspected {
  Name: string;
  SignedTags: SignedTag[];
  Signers: Array<{ Name: string; Keys: Array<{ ID: string }> }>;
}

describe('docker trust against signet-server', { skip: HAS_DOCKER ? false : 'skipped: the docker CLI is not installed' }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-docker-trust-'));
  const home = path.join(tmp, 'home');
  const dockerConfig = path.join(home, '.docker');
  let t: TestApp;
  let server: https.Server;
  let url = '';
  let env: Record<string, string> = {};

  const docker = (args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile('docker', args, { cwd: home, env, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
      );
    });
  const signet = async (args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const out = sink();
    const err = sink();
    const code = await runCli(['-s', url, '--tlscacert', path.join(tmp, 'ca.crt'), '-d', path.join(dockerConfig, 'trust'), ...args], { stdout: out.stream, stderr: err.stream, stdin: new PassThrough(), env: { ...env, CI: 'true' } });
    return { code, stdout: out.text(), stderr: err.text() };
  };
  const inspect = async (): Promise<Inspected> => {
    const r = await docker(['trust', 'inspect', GUN]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as Inspected[])[0]!;
  };

  before(async () => {
    const ssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: tmp, stdio: 'ignore' });
    ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=docker-trust-test-ca']);
    ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    fs.writeFileSync(path.join(tmp, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
    t = await makeApp();
    server = https.createServer({ cert: fs.readFileSync(path.join(tmp, 'server.crt')), key: fs.readFileSync(path.join(tmp, 'server.key')) }, t.app.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    url = `https://127.0.0.1:${port}`;
    // docker trusts a trust server's CA from <config>/tls/<host:port>/ca.crt
    fs.mkdirSync(path.join(dockerConfig, 'tls', `127.0.0.1:${port}`), { recursive: true });
    fs.copyFileSync(path.join(tmp, 'ca.crt'), path.join(dockerConfig, 'tls', `127.0.0.1:${port}`, 'ca.crt'));
    env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      DOCKER_CONFIG: dockerConfig,
      DOCKER_CONTENT_TRUST_SERVER: url,
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'docker-trust-root-pass',
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'docker-trust-repo-pass',
    };
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    await t?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('signer add sets the repository up on signet-server; a tag signet signs is shown signed by the signer; revoke unsigns it', async () => {
    const key = await docker(['trust', 'key', 'generate', 'alice']);
    assert.equal(key.code, 0, key.stderr);
    const added = await docker(['trust', 'signer', 'add', '--key', 'alice.pub', 'alice', GUN]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /Successfully initialized "localhost:5000\/team\/app"[\s\S]*Successfully added signer: alice/);
    const before = await inspect();
    assert.deepEqual(before.SignedTags, []);
    const alice = before.Signers.find((s) => s.Name === 'alice');
    assert.ok(alice !== undefined && alice.Keys.length === 1, JSON.stringify(before));

    // docker's defaults: every top-level delegation the signer's key may sign (targets/alice and targets/releases)
    const signed = await signet(['--output', 'json', 'sign', GUN, '1.0', '--digest', `sha256:${DIGEST}`, '--size', '528']);
    assert.equal(signed.code, 0, signed.stderr);
    assert.deepEqual((JSON.parse(signed.stdout) as { roles: string[] }).roles.sort(), ['targets/alice', 'targets/releases']);
    const after = await inspect();
    assert.deepEqual(after.SignedTags, [{ SignedTag: '1.0', Digest: DIGEST, Signers: ['alice'] }]);

    const revoked = await docker(['trust', 'revoke', '-y', `${GUN}:1.0`]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /Successfully deleted signature for localhost:5000\/team\/app:1\.0/);
    assert.deepEqual((await inspect()).SignedTags, []);
    const listed = await signet(['list', GUN]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.doesNotMatch(listed.stdout, /^1\.0\s/m);
  });
});
