// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatImageReference, normalizeImageReference, parseImageName } from '../../../shared/policy/image-reference.js';

const HEX = 'a'.repeat(64);

test('references normalise as Docker does', () => {
  assert.deepEqual(normalizeImageReference('alpine'), { gun: 'docker.io/library/alpine', tag: 'latest' });
  assert.deepEqual(normalizeImageReference('alpine:3.20'), { gun: 'docker.io/library/alpine', tag: '3.20' });
  assert.deepEqual(normalizeImageReference('team/app'), { gun: 'docker.io/team/app', tag: 'latest' });
  assert.deepEqual(normalizeImageReference('index.docker.io/team/app:v1'), { gun: 'docker.io/team/app', tag: 'v1' });
  assert.deepEqual(normalizeImageReference('localhost/app'), { gun: 'localhost/app', tag: 'latest' });
  assert.deepEqual(normalizeImageReference('registry.example.com:5000/team/app:v2'), { gun: 'registry.example.com:5000/team/app', tag: 'v2' });
  assert.deepEqual(normalizeImageReference(`host:5000/app@sha256:${HEX}`), { gun: 'host:5000/app', digest: `sha256:${HEX}` });
  assert.deepEqual(normalizeImageReference(`app:v1@sha256:${HEX}`), { gun: 'docker.io/library/app', tag: 'v1', digest: `sha256:${HEX}` });
});

test('a host in other case is the same registry (a rule for it cannot be escaped that way)', () => {
  assert.deepEqual(normalizeImageReference('REGISTRY.Example.COM/team/app:v1'), { gun: 'registry.example.com/team/app', tag: 'v1' });
  assert.deepEqual(normalizeImageReference('INDEX.DOCKER.IO/team/app'), { gun: 'docker.io/team/app', tag: 'latest' });
  assert.deepEqual(normalizeImageReference('Docker.io/alpine'), { gun: 'docker.io/library/alpine', tag: 'latest' });
  assert.deepEqual(normalizeImageReference('[FE80::1]:5000/app'), { gun: '[fe80::1]:5000/app', tag: 'latest' });
});

test('an IPv6 registry is a registry; the raw parse keeps the tag as written', () => {
  assert.deepEqual(normalizeImageReference('[::1]:5000/team/app:v1'), { gun: '[::1]:5000/team/app', tag: 'v1' });
  assert.deepEqual(parseImageName('[fe80::1]/app'), { registry: '[fe80::1]', repository: 'app', gun: '[fe80::1]/app' });
  assert.deepEqual(parseImageName('alpine'), { registry: 'docker.io', repository: 'library/alpine', gun: 'docker.io/library/alpine' });
  assert.throws(() => parseImageName('[::g]:5000/app'), /not a valid host/);
});

test('malformed references are refused with the reason', () => {
  assert.throws(() => normalizeImageReference('Alpine'), /lower case/);
  assert.throws(() => normalizeImageReference('alpine@sha512:abcd'), /not sha256/);
  assert.throws(() => normalizeImageReference(`alpine@sha256:${'A'.repeat(64)}`), /not sha256/);
  assert.throws(() => normalizeImageReference('alpine:-bad'), /tag/);
  assert.throws(() => normalizeImageReference('a//b'), /path component/);
  assert.throws(() => normalizeImageReference(''), /1 to 1024/);
  assert.throws(() => normalizeImageReference('-host.com/app'), /registry/);
});

test('normalising is idempotent on the canonical form (property)', () => {
  const comp = fc.stringMatching(/^[a-z0-9]{1,8}(?:[_-][a-z0-9]{1,5})?$/); // no dot: a dotted first component is a registry
  const arb = fc.record({
    host: fc.option(fc.constantFrom('registry.example.com', 'localhost:5000', 'r.io'), { nil: undefined }),
    path: fc.array(comp, { minLength: 1, maxLength: 3 }),
    tag: fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/), { nil: undefined }),
  });
  fc.assert(
    fc.property(arb, ({ host, path, tag }) => {
      const ref = `${host === undefined ? '' : host + '/'}${path.join('/')}${tag === undefined ? '' : ':' + tag}`;
      const n = normalizeImageReference(ref);
      assert.deepEqual(normalizeImageReference(formatImageReference(n)), n);
      assert.equal(n.tag, tag ?? 'latest');
      assert.ok(n.gun.startsWith(host ?? 'docker.io/'));
    }),
    { numRuns: 200 },
  );
});
