// SPDX-License-Identifier: Apache-2.0
// Evaluation over real verified metadata (RepositorySimulator + TrustedMetadataSet).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalKeyId } from '../../../shared/codec/notary-keys.js';
import { createHash } from 'node:crypto';
import { evaluateImage, decideWithoutMetadata, planImage } from '../../../shared/policy/evaluate.js';
import { parsePolicy } from '../../../shared/policy/parse.js';
import { viewFromTrustedSet } from '../../../shared/policy/view.js';
import { RepositorySimulator, type SimKey } from '../../support/repository-simulator.js';

const GUN = 'docker.io/acme/app';
const NOW = new Date('2026-11-23T12:00:00Z');
const digestOf = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

const POLICY = parsePolicy(
  `default: deny
teams: { developer: targets/developer, qa: targets/qa, devops: targets/devops, jenkins: targets/jenkins }
rules:
  - pattern: docker.io/acme/*
    roles: [targets/releases]
    teams: [jenkins]
  - pattern: docker.io/acme/quorum
    teams: [qa, devops, jenkins]
    threshold: 2
  - pattern: docker.io/acme/soft
    teams: [jenkins]
    mode: warn
`,
  'policy.yaml',
);

async function teamRepo(gun = GUN): Promise<{ sim: RepositorySimulator; keys: Record<string, SimKey> }> {
  const sim = await RepositorySimulator.create({ gun, now: NOW });
  const keys: Record<string, SimKey> = {};
  for (const team of ['developer', 'qa', 'devops', 'jenkins']) keys[team] = (await sim.addDelegation(`targets/${team}`, { paths: [''] }))[0]!;
  await sim.addDelegation('targets/releases', { keys: Object.values(keys), paths: [''] });
  await sim.publish();
  return { sim, keys };
}

function check(sim: RepositorySimulator, image: string, explain = false) {
  const set = sim.refresh(sim.trust());
  return evaluateImage(POLICY, image, viewFromTrustedSet(set, sim.gun), { now: NOW, explain });
}

test('signed into targets/releases by a developer alone: denied; once jenkins signs the same digest: allowed', async () => {
  const { sim, keys } = await teamRepo();
  sim.addTarget('targets/releases', 'v1', 'manifest-v1');
  sim.addTarget('targets/developer', 'v1', 'manifest-v1');
  sim.signWith('targets/releases', [keys.developer!]);
  await sim.publish();
  const denied = check(sim, 'acme/app:v1');
  assert.equal(denied.allowed, false);
  assert.equal(denied.rule, 'docker.io/acme/*');
  assert.deepEqual(denied.signedBy, ['targets/releases']);
  assert.match(denied.reasons.join('\n'), /docker\.io\/acme\/app:v1 lacks the signature of targets\/jenkins/);

  sim.addTarget('targets/jenkins', 'v1', 'manifest-v1');
  await sim.publish();
  const allowed = check(sim, 'acme/app:v1', true);
  assert.equal(allowed.allowed, true, allowed.reasons.join('; '));
  assert.equal(allowed.digest, digestOf('manifest-v1'));
  assert.deepEqual(allowed.signedBy, ['targets/releases', 'targets/jenkins']);
  assert.deepEqual(allowed.reasons, []);
  assert.match(allowed.explanation?.join('\n') ?? '', /rule docker\.io\/acme\/\* \(line 4\) is the most specific/);
  // The pinned digest must be the signed one.
  assert.equal(check(sim, `acme/app:v1@${digestOf('manifest-v1')}`).allowed, true);
  const wrongPin = check(sim, `acme/app:v1@${digestOf('other')}`);
  assert.equal(wrongPin.allowed, false);
  assert.match(wrongPin.reasons.join('\n'), /not the requested/);
  // Digest-only references look the digest up in each role.
  assert.equal(check(sim, `acme/app@${digestOf('manifest-v1')}`).allowed, true);
  assert.equal(check(sim, `acme/app@${digestOf('nope')}`).allowed, false);
});

test('different digests in two required roles are denied, naming both', async () => {
  const { sim } = await teamRepo();
  sim.addTarget('targets/releases', 'v2', 'manifest-a');
  sim.addTarget('targets/jenkins', 'v2', 'manifest-b');
  await sim.publish();
  const r = check(sim, 'acme/app:v2');
  assert.equal(r.allowed, false);
  assert.equal(r.digest, null);
  assert.match(r.reasons.join('\n'), /targets\/releases signed sha256:[0-9a-f]{64}; targets\/jenkins signed sha256:/);
});

test('a quorum rule (2 of qa, devops, jenkins) behaves as written', async () => {
  const { sim } = await teamRepo('docker.io/acme/quorum');
  sim.addTarget('targets/qa', 'v1', 'm1');
  await sim.publish();
  assert.equal(check(sim, 'acme/quorum:v1').allowed, false, 'one of three');
  sim.addTarget('targets/devops', 'v1', 'other');
  await sim.publish();
  assert.equal(check(sim, 'acme/quorum:v1').allowed, false, 'two roles, two digests');
  sim.addTarget('targets/jenkins', 'v1', 'm1');
  await sim.publish();
  const r = check(sim, 'acme/quorum:v1');
  assert.equal(r.allowed, true, r.reasons.join('; '));
  assert.deepEqual(r.signedBy, ['targets/qa', 'targets/jenkins']);
  assert.equal(r.rule, 'docker.io/acme/quorum', 'the exact pattern beats docker.io/acme/*');
  // The tag pinned to the quorum's digest (what the mutating webhook writes) is allowed as the tag is;
  // pinned to the dissenting digest it is denied, naming who signed what.
  const pinned = check(sim, `acme/quorum:v1@${digestOf('m1')}`);
  assert.equal(pinned.allowed, true, pinned.reasons.join('; '));
  const dissent = check(sim, `acme/quorum:v1@${digestOf('other')}`);
  assert.equal(dissent.allowed, false);
  assert.match(dissent.reasons.join('\n'), /targets\/qa signed v1 as sha256:[0-9a-f]{64}, not the requested/);
});

test('a target outside the role\'s delegated paths does not count as its signature', async () => {
  const sim = await RepositorySimulator.create({ gun: 'docker.io/acme/soft', now: NOW });
  await sim.addDelegation('targets/jenkins', { paths: ['release-'] });
  sim.addTarget('targets/jenkins', 'v1', 'm1');
  await sim.publish();
  const r = check(sim, 'acme/soft:v1');
  assert.equal(r.mode, 'warn');
  assert.equal(r.allowed, true, 'warn mode allows');
  assert.match(r.reasons.join('\n'), /lacks the signature of targets\/jenkins/, 'but reports what enforce would refuse');
});

test('pinned root keys and maximum metadata age', async () => {
  const { sim } = await teamRepo();
  sim.addTarget('targets/releases', 'v1', 'm');
  sim.addTarget('targets/jenkins', 'v1', 'm');
  await sim.publish();
  const set = sim.refresh(sim.trust());
  const rootId = set.root.signed.roles.get('root')!.keyIds[0]!;
  const pinned = (ids: string, age = '') =>
    parsePolicy(`rules:\n  - pattern: docker.io/acme/app\n    roles: [targets/releases, targets/jenkins]\n    pinnedRootKeys: [${ids}]\n${age}`, 'p.yaml');
  assert.equal(evaluateImage(pinned(rootId), 'acme/app:v1', viewFromTrustedSet(set, GUN), { now: NOW }).allowed, true);
  // the canonical ID of the same key, as `signet key list` and `init` print it, pins it too
  const canonical = canonicalKeyId(set.root.signed.keys.get(rootId)!);
  assert.notEqual(canonical, rootId, 'the root key is a certificate, whose ID differs');
  assert.equal(evaluateImage(pinned(canonical), 'acme/app:v1', viewFromTrustedSet(set, GUN), { now: NOW }).allowed, true);
  const other = evaluateImage(pinned('b'.repeat(64)), 'acme/app:v1', viewFromTrustedSet(set, GUN), { now: NOW });
  assert.equal(other.allowed, false);
  assert.match(other.reasons[0] ?? '', /not signed by any key pinned/);
  const aged = pinned(rootId, '    maxMetadataAge: 1h\n');
  const signedAt = new Date(NOW.getTime() - 2 * 3600_000);
  const old = evaluateImage(aged, 'acme/app:v1', viewFromTrustedSet(set, GUN, { timestampSignedAt: signedAt }), { now: NOW });
  assert.equal(old.allowed, false);
  assert.match(old.reasons[0] ?? '', /7200 s old, older than the 3600 s/);
  assert.equal(evaluateImage(aged, 'acme/app:v1', viewFromTrustedSet(set, GUN), { now: NOW }).allowed, false, 'unknown age is refused');
});

test('no matching rule follows the default; failures deny, internal ones even in warn mode', () => {
  const plan = planImage(POLICY, 'nginx:1');
  const r = decideWithoutMetadata(POLICY, plan, null, { now: NOW });
  assert.equal(r.allowed, false);
  assert.equal(r.rule, null);
  assert.match(r.reasons[0] ?? '', /no policy rule matches docker\.io\/library\/nginx and the default is deny/);
  const allowAll = parsePolicy('default: allow\n', 'p.yaml');
  assert.equal(evaluateImage(allowAll, 'nginx', undefined, { now: NOW }).allowed, true);
  assert.equal(evaluateImage(allowAll, 'Bad_Ref', undefined, { now: NOW }).allowed, false, 'a malformed reference is never allowed');
  const soft = planImage(POLICY, 'acme/soft:v1');
  assert.equal(decideWithoutMetadata(POLICY, soft, { reason: 'timestamp expired', internal: false }, { now: NOW }).allowed, true);
  assert.equal(decideWithoutMetadata(POLICY, soft, { reason: 'timed out', internal: true }, { now: NOW }).allowed, false);
  assert.equal(decideWithoutMetadata(POLICY, planImage(POLICY, 'acme/app:v1'), { reason: 'x', internal: false }, { now: NOW }).allowed, false);
});
