// SPDX-License-Identifier: Apache-2.0
// client/registry.ts against a real docker-registry (no auth, token auth,
// htpasswd basic auth) with images pushed over its HTTP API; a scripted stub
// only for a registry that lies about a digest or serves schema1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { LengthOrHashMismatchError, RemoteError, UsageError } from '../../shared/errors.js';
import { createHttpSend } from '../../client/http-transport.js';
import { parseImageReference, registryBaseUrl, registryCredentials, RegistryClient } from '../../client/registry.js';
import { normalizeImageReference } from '../../shared/policy/image-reference.js';
import { REGISTRY_USER, registryUnavailable, TestRegistry, type RegistryAuth } from '../support/registry.js';
import type { Credentials } from '../../client/credentials.js';
import { startStub } from './support/http-stub.js';

const skip = registryUnavailable();
const creds: Credentials = { username: REGISTRY_USER.username, password: REGISTRY_USER.password };

describe('parseImageReference', () => {
  it('forms the GUN as docker does', () => {
    assert.deepEqual(parseImageReference('registry:5000/team/app:1.0'), { registry: 'registry:5000', repository: 'team/app', gun: 'registry:5000/team/app', tag: '1.0' });
    assert.deepEqual(parseImageReference('localhost/app'), { registry: 'localhost', repository: 'app', gun: 'localhost/app' });
    assert.equal(parseImageReference('alpine:3').gun, 'docker.io/library/alpine');
    assert.equal(parseImageReference('index.docker.io/team/app').gun, 'docker.io/team/app');
    assert.equal(parseImageReference('team/app').gun, 'docker.io/team/app', 'first segment without . or : is a path, not a host');
    const d = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseImageReference(`r.example.com/app:v1@${d}`), { registry: 'r.example.com', repository: 'app', gun: 'r.example.com/app', tag: 'v1', digest: d });
  });
  it('names the GUN a policy check of the same image looks up', () => {
    for (const ref of ['alpine:3', 'team/app:v1', 'index.docker.io/team/app:v1', 'localhost:5000/app:v1', '[::1]:5000/team/app:v1', `r.example.com/app:v1@sha256:${'b'.repeat(64)}`]) {
      assert.equal(parseImageReference(ref).gun, normalizeImageReference(ref).gun, ref);
    }
  });
  it('refuses malformed references with a usable message', () => {
    for (const bad of ['Registry.example.com/Team/App:1', 'r.example.com/app:', 'r.example.com/app@sha256:abc', 'r.example.com//app', 'r.example.com/app:-x']) {
      assert.throws(() => parseImageReference(bad), (e: unknown) => e instanceof UsageError && /registry\.example\.com:5000\/team\/app:tag/.test(e.message), bad);
    }
  });
  it('uses https except for loopback registries or when told', () => {
    assert.equal(registryBaseUrl('r.example.com:5000').href, 'https://r.example.com:5000/');
    assert.equal(registryBaseUrl('127.0.0.1:5000').href, 'http://127.0.0.1:5000/');
    assert.equal(registryBaseUrl('localhost:5000').href, 'http://localhost:5000/');
    assert.equal(registryBaseUrl('r.example.com', true).href, 'http://r.example.com/');
    assert.equal(registryBaseUrl('docker.io').href, 'https://registry-1.docker.io/');
  });
  it('takes credentials from SIGNET_REGISTRY_AUTH, else docker config.json', () => {
    const env = { SIGNET_REGISTRY_AUTH: Buffer.from('u:p').toString('base64'), HOME: '/nonexistent' };
    assert.deepEqual(registryCredentials(env, 'r.example.com'), { username: 'u', password: 'p', origin: 'SIGNET_REGISTRY_AUTH' });
    assert.throws(() => registryCredentials({ SIGNET_REGISTRY_AUTH: 'not base64!' }, 'r'), /SIGNET_REGISTRY_AUTH/);
    assert.equal(registryCredentials({ HOME: '/nonexistent' }, 'r.example.com'), null);
  });
});

for (const auth of ['none', 'token', 'basic'] as RegistryAuth[]) {
  describe(`resolveManifest against docker-registry (auth: ${auth})`, { skip: skip ?? false }, () => {
    let reg: TestRegistry;
    before(async () => {
      reg = await TestRegistry.start(auth);
    });
    after(async () => {
      await reg?.stop();
    });
    const client = (c: Credentials | null = auth === 'none' ? null : creds) => new RegistryClient({ send: createHttpSend(), credentials: c });

    it('returns the digest and size the registry stored, for Docker and OCI manifests', async () => {
      const docker = await reg.pushImage('team/app', '1.0', 'a');
      const oci = await reg.pushImage('team/app', '2.0', 'b', 'oci');
      const c = client();
      assert.deepEqual(await c.resolveManifest(parseImageReference(`${reg.host}/team/app:1.0`)), { digest: docker.digest, size: docker.size, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' });
      assert.deepEqual(await c.resolveManifest(parseImageReference(`${reg.host}/team/app:2.0`)), { digest: oci.digest, size: oci.size, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
      const byDigest = await c.resolveManifest(parseImageReference(`${reg.host}/team/app@${docker.digest}`));
      assert.equal(byDigest.digest, docker.digest);
      // tag@digest: the tag is what gets signed, so it must hold that digest
      assert.equal((await c.resolveManifest(parseImageReference(`${reg.host}/team/app:1.0@${docker.digest}`))).digest, docker.digest);
      await assert.rejects(
        c.resolveManifest(parseImageReference(`${reg.host}/team/app:1.0@${oci.digest}`)),
        (e: unknown) => e instanceof LengthOrHashMismatchError && e.message.includes(`team/app:1.0@${oci.digest} hashes to ${docker.digest}`) && /the tag 1\.0 points elsewhere now/.test(e.message),
      );
      if (auth === 'token') assert.ok(reg.tokenRequests.some((t) => t.status === 200 && t.scope === 'repository:team/app:pull'), JSON.stringify(reg.tokenRequests));
    });

    it('reports an unknown tag as not found', async () => {
      await assert.rejects(client().resolveManifest(parseImageReference(`${reg.host}/team/app:nope`)), (e: unknown) => e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND' && /push the image first/.test(e.message));
    });

    if (auth !== 'none') {
      it('refuses without credentials and with wrong ones, naming where to put them', async () => {
        await reg.pushImage('team/locked', '1', 'c');
        const ref = parseImageReference(`${reg.host}/team/locked:1`);
        for (const c of [null, { username: REGISTRY_USER.username, password: 'wrong' }]) {
          await assert.rejects(client(c).resolveManifest(ref), (e: unknown) => e instanceof RemoteError && e.code === 'AUTH_REQUIRED' && /SIGNET_REGISTRY_AUTH/.test(e.message) && !e.message.includes('wrong'));
        }
      });
    }
  });
}

describe('resolveManifest against no registry', () => {
  it('names the registry, not the trust server, when it cannot be reached', async () => {
    const stub = await startStub(() => undefined);
    const host = new URL(stub.url).host;
    await stub.close();
    await assert.rejects(
      new RegistryClient({ send: createHttpSend(), credentials: null }).resolveManifest(parseImageReference(`${host}/app:1`)),
      (e: unknown) => e instanceof RemoteError && e.code === 'NETWORK' && e.message.startsWith(`cannot reach the registry at http://${host}`),
    );
  });
});

describe('resolveManifest against a lying registry', () => {
  const body = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}');
  const real = 'sha256:' + createHash('sha256').update(body).digest('hex');

  it('refuses a Docker-Content-Digest that is not the hash of the body', async () => {
    const stub = await startStub((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json', 'docker-content-digest': `sha256:${'0'.repeat(64)}` }).end(body);
    });
    try {
      const host = new URL(stub.url).host;
      await assert.rejects(new RegistryClient({ send: createHttpSend(), credentials: null }).resolveManifest(parseImageReference(`${host}/app:1`)), (e: unknown) => e instanceof LengthOrHashMismatchError && /nothing was signed/.test(e.message));
    } finally {
      await stub.close();
    }
  });

  it('refuses a body that is not the pinned digest, and schema1 manifests', async () => {
    let type = 'application/vnd.docker.distribution.manifest.v2+json';
    const stub = await startStub((_req, res) => {
      res.writeHead(200, { 'content-type': type }).end(body);
    });
    try {
      const host = new URL(stub.url).host;
      const c = new RegistryClient({ send: createHttpSend(), credentials: null });
      assert.equal((await c.resolveManifest(parseImageReference(`${host}/app:1`))).digest, real, 'no header: the computed digest');
      await assert.rejects(c.resolveManifest(parseImageReference(`${host}/app@sha256:${'1'.repeat(64)}`)), LengthOrHashMismatchError);
      type = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
      await assert.rejects(c.resolveManifest(parseImageReference(`${host}/app:1`)), /not an OCI or Docker v2 manifest/);
      assert.match(stub.requests[0]?.headers.accept ?? '', /application\/vnd\.oci\.image\.index\.v1\+json.*application\/vnd\.docker\.distribution\.manifest\.v2\+json/);
    } finally {
      await stub.close();
    }
  });
});
