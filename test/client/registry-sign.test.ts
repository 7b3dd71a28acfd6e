// SPDX-License-Identifier: Apache-2.0
// `signet sign <registry>/<repo>:<tag>` without --digest: a real docker-registry
// behind token auth holds a pushed image; the real notary-server is the trust
// server; the real `notary list` must show the tag with the registry's digest.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../client/exit-codes.js';
import { REGISTRY_USER, registryUnavailable, TestRegistry } from '../support/registry.js';
import { notaryAsync, signet } from './support/cli-run.js';
import { startNotaryServer, type NotaryServer } from './support/notary.js';
import { startStub } from './support/http-stub.js';

const skip = registryUnavailable();
const AUTH = Buffer.from(`${REGISTRY_USER.username}:${REGISTRY_USER.password}`).toString('base64');

describe('sign a pushed image: digest and size from the registry', { skip: skip ?? false }, () => {
  let reg: TestRegistry;
  let server: NotaryServer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-regsign-'));
  const trust = path.join(tmp, 'trust');
  let gun: string;

  before(async () => {
    [reg, server] = await Promise.all([TestRegistry.start('token'), startNotaryServer()]);
    gun = `${reg.host}/team/app`;
  });
  after(async () => {
    await Promise.all([reg?.stop(), server?.stop()]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const s = (args: string[], env: Record<string, string> = {}) => signet(['-s', server.url, '-d', trust, ...args], { env });
  const notaryList = async (): Promise<string> => {
    const r = await notaryAsync(['list', gun], { trustDir: path.join(tmp, `reader-${Math.random()}`), server: server.url });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  it('signs the registry\'s digest under the docker GUN; notary list shows it', async () => {
    const image = await reg.pushImage('team/app', '1.0', 'one');
    const init = await s(['init', gun, '-p']);
    assert.equal(init.code, EXIT.OK, init.stderr);
    const r = await s(['--output', 'json', 'sign', `${gun}:1.0`], { SIGNET_REGISTRY_AUTH: AUTH });
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { gun, tag: '1.0', digest: image.digest, size: image.size, roles: ['targets'], published: JSON.parse(r.stdout).published });
    assert.match(await notaryList(), new RegExp(`^1\\.0\\s+${image.digest.slice(7)}\\s+${image.size}\\s+targets$`, 'm'));
  });

  it('takes the login from docker config.json; an OCI manifest; a retag re-signs the new digest', async () => {
    const dockerConfig = path.join(tmp, 'docker');
    fs.mkdirSync(dockerConfig);
    fs.writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: AUTH } } }));
    const image = await reg.pushImage('team/app', '1.0', 'two', 'oci');
    const r = await s(['sign', `${gun}:1.0`], { DOCKER_CONFIG: dockerConfig });
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, new RegExp(`Signed 1\\.0 \\(${image.digest}, ${image.size} bytes\\) into targets`));
    assert.match(await notaryList(), new RegExp(`^1\\.0\\s+${image.digest.slice(7)}\\s+${image.size}\\s+targets$`, 'm'));
  });

  it('without registry credentials: exit 3, nothing signed; an unknown tag: exit 7', async () => {
    await reg.pushImage('team/app', '2.0', 'three');
    const locked = await s(['sign', `${gun}:2.0`]);
    assert.equal(locked.code, EXIT.CREDENTIALS, locked.stderr);
    assert.match(locked.stderr, /SIGNET_REGISTRY_AUTH/);
    const missing = await s(['sign', `${gun}:9.9`], { SIGNET_REGISTRY_AUTH: AUTH });
    assert.equal(missing.code, EXIT.NOT_FOUND, missing.stderr);
    assert.doesNotMatch(await notaryList(), /^(2\.0|9\.9)\s/m);
  });

  it('a registry whose digest header lies: exit 4, nothing signed', async () => {
    const body = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}');
    const stub = await startStub((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json', 'docker-content-digest': `sha256:${'0'.repeat(64)}` }).end(body);
    });
    try {
      const lying = `${new URL(stub.url).host}/team/app`;
      const r = await s(['sign', `${lying}:1.0`]);
      assert.equal(r.code, EXIT.VERIFICATION, r.stderr);
      assert.match(r.stderr, /hashes to sha256:[0-9a-f]{64}; the registry or a proxy altered it, nothing was signed/);
      assert.equal(fs.existsSync(path.join(trust, 'tuf', ...lying.split('/'))), false, 'no trust data touched');
    } finally {
      await stub.close();
    }
  });

  it('usage: a GUN and tag still need --digest and --size; half of them is refused', async () => {
    const noDigest = await s(['sign', gun, '3.0']);
    assert.equal(noDigest.code, EXIT.USAGE);
    assert.match(noDigest.stderr, /needs --digest and --size; or name the pushed image as one argument/);
    const half = await s(['sign', `${gun}:3.0`, '--size', '10']);
    assert.equal(half.code, EXIT.USAGE);
    const noTag = await s(['sign', gun]);
    assert.equal(noTag.code, EXIT.USAGE);
    assert.match(noTag.stderr, /name the tag to sign/);
  });
});
