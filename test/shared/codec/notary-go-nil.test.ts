// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { fixture } from '../../support/paths.js';

test('a delegation whose last key was purged ("keyids":null, as Go writes a nil slice) parses with no keys', () => {
  const original = fs.readFileSync(fixture('server', 'targets.json'), 'utf8');
  const edited = original.replace(/"keyids":\["[0-9a-f]{64}"\],"name":"targets\/jenkins"/, '"keyids":null,"name":"targets/jenkins"');
  assert.notEqual(edited, original);
  const env = notaryCodec.parse(Buffer.from(edited), 'targets');
  const jenkins = env.signed.delegations?.roles.find((r) => r.name === 'targets/jenkins');
  assert.deepEqual(jenkins?.keyIds, []);
  // The signed tree keeps the null, so signatures are checked over what Go signed.
  assert.match(notaryCodec.signedBytes(env.signedTree).toString(), /"keyids":null,"name":"targets\/jenkins"/);
});

test('targets whose last delegation was removed ("roles":null, as Go writes a nil slice) parse with no delegations', () => {
  const original = fs.readFileSync(fixture('server', 'targets.json'), 'utf8');
  const parsed = JSON.parse(original) as { signed: { delegations: { roles: unknown } } };
  parsed.signed.delegations.roles = null;
  const env = notaryCodec.parse(Buffer.from(JSON.stringify(parsed)), 'targets');
  assert.deepEqual(env.signed.delegations?.roles, []);
  assert.match(notaryCodec.signedBytes(env.signedTree).toString(), /"roles":null/);
});
