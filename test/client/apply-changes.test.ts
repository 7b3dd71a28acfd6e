// SPDX-License-Identifier: Apache-2.0
// Change payloads against notary's own change files, and change application
// on the notary-made fixture repository (targets v4 with targets/releases for
// all paths and targets/jenkins for jenkins/). Each refusal here is a check
// that, if removed, lets a publish go out that notary clients would reject
// or that the user did not mean.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { notaryCodec } from '../../shared/codec/notary.js';
import { canonicalKeyId, publicKeyFromCertificatePem } from '../../shared/codec/notary-keys.js';
import type { Envelope, PublicKey, RoleName, Targets } from '../../shared/tuf/model.js';
import { applyChanges, ChangeNotApplicableError } from '../../client/apply-changes.js';
import { parseChange, type Change, type StoredChange } from '../../client/changelist.js';
import {
  delegationAddChanges,
  delegationDeleteChange,
  delegationRemoveChanges,
  encodeDelegationChange,
  parseDelegationChange,
  purgeKeysChange,
  rootRoleChange,
  targetChange,
  witnessChange,
} from '../../client/changes.js';
import { encodeFileMeta } from '../../client/metadata.js';
import { WorkingRepo } from '../../client/working-repo.js';
import { FIXTURE_NOW, fixture } from '../support/paths.js';
import { RepositorySimulator } from '../support/repository-simulator.js';

const RELEASES_CANON = '1d755a178a2a415a21a7fb6e4ddd807bbda71992546368f10c1c982a08d90612';
const JENKINS_CANON = 'a12a59c9425677565613dd32e9eaaff1954bb044d09a966cbf4da4a80c28c3ea';
const TARGETS_KEY = '50c5db8043356e6c1ca87f7a06aa909493c9b12d1153079d790ace59bd826d11';

const bytes = (f: string): Buffer => fs.readFileSync(fixture('server', f));

function repo(): WorkingRepo {
  const root = notaryCodec.parse(bytes('root.json'), 'root');
  const targets = new Map<RoleName, Envelope<Targets>>([
    ['targets', notaryCodec.parse(bytes('targets.json'), 'targets')],
    ['targets/releases', notaryCodec.parse(bytes('targets/releases.json'), 'targets', { roleName: 'targets/releases' })],
    ['targets/jenkins', notaryCodec.parse(bytes('targets/jenkins.json'), 'targets', { roleName: 'targets/jenkins' })],
  ]);
  return new WorkingRepo(root, targets, notaryCodec.parse(bytes('snapshot.json'), 'snapshot'));
}

const stored = (changes: readonly Change[]): StoredChange[] => changes.map((c, i) => ({ ...c, file: `c${i}` }));
const meta = encodeFileMeta({ length: 3, hashes: new Map([['sha256', Buffer.alloc(32, 7)]]) });

async function apply(r: WorkingRepo, changes: readonly Change[], held: readonly string[] = [TARGETS_KEY, RELEASES_CANON, JENKINS_CANON], invalid = new Map<RoleName, Envelope<Targets>>()): Promise<string[]> {
  const warnings: string[] = [];
  await applyChanges(r, stored(changes), {
    gun: 'example.com/app',
    now: FIXTURE_NOW,
    holdsAny: async (keys: readonly PublicKey[]) => keys.some((k) => held.includes(canonicalKeyId(k))),
    invalid,
    warn: (m) => warnings.push(m),
  });
  return warnings;
}

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ChangeNotApplicableError, String(e));
    assert.match(e.message, pattern);
    assert.match(e.message, /Nothing was published/);
    return true;
  });
}

const releasesCert = (): PublicKey => publicKeyFromCertificatePem(fs.readFileSync(fixture('delegate-keys', 'releases.crt'), 'utf8'));

describe('change payloads', () => {
  it('re-encodes notary delegation change files byte for byte', () => {
    const dir = fixture('changelist', '02-delegations');
    for (const f of fs.readdirSync(dir).sort()) {
      const c = parseChange(fs.readFileSync(path.join(dir, f)), f);
      const d = parseDelegationChange(c.data, f);
      assert.deepEqual(encodeDelegationChange(d), c.data, f);
    }
  });

  it('stages what notary stages for delegation add (keys with threshold 1, then paths)', () => {
    const dir = fixture('changelist', '02-delegations');
    const files = fs.readdirSync(dir).sort().slice(0, 2);
    const notary = files.map((f) => parseChange(fs.readFileSync(path.join(dir, f)), f));
    const key = parseDelegationChange(notary[0]!.data, 'x').addKeys[0]!;
    const mine = delegationAddChanges('targets/releases', [key], ['']);
    assert.deepEqual(mine, notary);
  });
});

describe('change payloads (property)', () => {
  it('delegation data round-trips and is the JSON Go writes (member order, omitted empties)', () => {
    const key = releasesCert();
    const text = fc.string({ unit: 'grapheme', maxLength: 12 });
    fc.assert(
      fc.property(
        fc.record({
          threshold: fc.nat({ max: 5 }),
          addKeys: fc.boolean().map((b) => (b ? [key] : [])),
          removeKeys: fc.array(fc.stringMatching(/^[0-9a-f]{64}$/), { maxLength: 2 }),
          addPaths: fc.array(text, { maxLength: 3 }),
          removePaths: fc.array(text, { maxLength: 3 }),
          clearPaths: fc.boolean(),
        }),
        (d) => {
          const bytes = encodeDelegationChange(d);
          const back = parseDelegationChange(bytes, 'prop');
          assert.deepEqual({ ...back, addKeys: back.addKeys.map((k) => k.id) }, { ...d, addKeys: d.addKeys.map((k) => k.id) });
          const doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
          const order = ['new_name', 'threshold', 'add_keys', 'remove_keys', 'add_paths', 'remove_paths', 'clear_paths'];
          assert.deepEqual(Object.keys(doc), order.filter((k) => k in doc));
          assert.equal('threshold' in doc, d.threshold > 0);
          assert.equal('add_paths' in doc, d.addPaths.length > 0);
          assert.doesNotMatch(bytes.toString('utf8'), /[<>&]/, 'Go escapes HTML characters');
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('applying changes', () => {
  it('adds a target to a delegation within its paths and marks only that role dirty', async () => {
    const r = repo();
    await apply(r, [targetChange('create', 'targets/jenkins', 'jenkins/build-43', meta)]);
    assert.equal(r.roles.get('targets/jenkins')!.dirty, true);
    assert.ok(r.roles.get('targets/jenkins')!.targets.has('jenkins/build-43'));
    assert.equal(r.roles.get('targets')!.dirty, false);
  });

  it('refuses a target outside the delegation paths (as notary: "Could not add all targets")', async () => {
    await refused(apply(repo(), [targetChange('create', 'targets/jenkins', 'outside-jenkins-paths', meta)]), /outside the paths delegated to targets\/jenkins \("jenkins\/"\)/);
  });

  it('checks every target path against the scope, also after the role was found writable', async () => {
    const ok = targetChange('create', 'targets/jenkins', 'jenkins/build-43', meta);
    await refused(apply(repo(), [ok, targetChange('create', 'targets/jenkins', 'outside-jenkins-paths', meta)]), /^staged change #1 .*outside the paths delegated/);
  });

  it('a delegation change between target changes is honoured: a target for the deleted role is refused', async () => {
    const changes = [targetChange('create', 'targets/jenkins', 'jenkins/build-43', meta), delegationDeleteChange('targets/jenkins'), targetChange('create', 'targets/jenkins', 'jenkins/build-44', meta)];
    await refused(apply(repo(), changes), /^staged change #2 .*targets\/jenkins is not delegated/);
  });

  it('refuses a target for a delegation that does not exist', async () => {
    await refused(apply(repo(), [targetChange('create', 'targets/gone', 'x', meta)]), /targets\/gone is not delegated/);
  });

  it('refuses a target when no key for the role is held', async () => {
    await refused(apply(repo(), [targetChange('create', 'targets/releases', 'r2', meta)], [TARGETS_KEY]), /you hold no private key for targets\/releases/);
  });

  it('names the change number and the reset command', async () => {
    await refused(apply(repo(), [targetChange('create', 'targets', 'ok', meta), targetChange('create', 'targets/gone', 'x', meta)]), /staged change #1 .*signet reset example\.com\/app -n 1/);
  });

  it('refuses, naming the change, a target another tool staged that notary could not sign (control character, non-integer custom data)', async () => {
    // as another tool could write it: encodeFileMeta itself refuses such custom data
    const withCustom = Buffer.from(JSON.stringify({ ...(JSON.parse(meta.toString()) as object), custom: { f: 1.5 } }));
    await refused(apply(repo(), [targetChange('create', 'targets', 'ok', meta), targetChange('create', 'targets', 'tab\there', meta)]), /^staged change #1 .*contains a control character.*signet reset example\.com\/app -n 1/);
    await refused(apply(repo(), [targetChange('create', 'targets', 'cust', withCustom)]), /^staged change #0 .*custom data in c0 cannot be signed: .*integers only/);
  });

  it('a change to a role the refresh skipped keeps its content when only its expiry failed, and starts afresh (with a warning) when its keys changed', async () => {
    const skippedRepo = (): WorkingRepo => {
      const root = notaryCodec.parse(bytes('root.json'), 'root');
      const targets = new Map<RoleName, Envelope<Targets>>([
        ['targets', notaryCodec.parse(bytes('targets.json'), 'targets')],
        ['targets/jenkins', notaryCodec.parse(bytes('targets/jenkins.json'), 'targets', { roleName: 'targets/jenkins' })],
      ]);
      return new WorkingRepo(root, targets, notaryCodec.parse(bytes('snapshot.json'), 'snapshot'));
    };
    const current = notaryCodec.parse(bytes('targets/releases.json'), 'targets', { roleName: 'targets/releases' });
    const held = [...current.signed.targets.keys()];
    assert.ok(held.length > 0);
    // signed by the releases key the delegation lists: skipped for expiry only
    const expired = skippedRepo();
    await apply(expired, [targetChange('create', 'targets/releases', 'releases/new', meta)], undefined, new Map([['targets/releases', current]]));
    const revived = expired.roles.get('targets/releases')!;
    assert.deepEqual([...revived.targets.keys()].sort(), [...held, 'releases/new'].sort());
    assert.equal(revived.dirty, true);
    const removed = skippedRepo();
    await apply(removed, [targetChange('delete', 'targets/releases', held[0]!, null)], undefined, new Map([['targets/releases', current]]));
    assert.equal(removed.roles.get('targets/releases')!.targets.has(held[0]!), false);
    // signed by another key than the delegation lists now: not carried over, and said so
    const rekeyed = skippedRepo();
    const other = notaryCodec.parse(bytes('targets/jenkins.json'), 'targets', { roleName: 'targets/jenkins' });
    const warnings = await apply(rekeyed, [targetChange('create', 'targets/releases', 'releases/new', meta)], undefined, new Map([['targets/releases', { ...other, signed: { ...other.signed, targets: current.signed.targets } }]]));
    assert.deepEqual([...rekeyed.roles.get('targets/releases')!.targets.keys()], ['releases/new']);
    assert.match(warnings.join('\n'), /targets\/releases's current metadata no longer verifies under its delegation's keys, so its \d+ target\(s\) are not carried over; .*signet witness example\.com\/app targets\/releases/);
  });

  it('removing an absent target is a no-op, as in notary', async () => {
    const r = repo();
    await apply(r, [targetChange('delete', 'targets/releases', 'never-there', null)]);
    assert.equal(r.roles.get('targets/releases')!.dirty, false);
  });

  it('deletes a delegation: gone from its parent, its unused key dropped, its snapshot entry marked', async () => {
    const r = repo();
    await apply(r, [delegationDeleteChange('targets/jenkins')]);
    const t = r.roles.get('targets')!;
    assert.deepEqual(t.roles.map((x) => x.name), ['targets/releases']);
    assert.equal(t.keys.size, 1);
    assert.ok(r.deleted.has('targets/jenkins'));
    assert.equal(r.roles.has('targets/jenkins'), false);
  });

  it('refuses delegation changes without the parent key', async () => {
    await refused(apply(repo(), [delegationDeleteChange('targets/jenkins')], [RELEASES_CANON]), /you hold no private key for targets /);
  });

  it('refuses deleting a delegation that is already gone', async () => {
    await refused(apply(repo(), [delegationDeleteChange('targets/gone')]), /nothing to delete/);
  });

  it('adds a delegation with keys and paths, and a nested one within its parent paths only', async () => {
    const r = repo();
    const key = releasesCert();
    await apply(r, delegationAddChanges('targets/jenkins/nightly', [key], ['jenkins/nightly/']));
    const j = r.roles.get('targets/jenkins')!;
    assert.deepEqual(j.roles.map((x) => [x.name, x.paths, x.keyIds, x.threshold]), [['targets/jenkins/nightly', ['jenkins/nightly/'], [key.id], 1]]);
    assert.equal(j.keys.get(key.id)?.keyType, 'ecdsa-x509');
    await refused(apply(repo(), delegationAddChanges('targets/jenkins/wide', [key], ['other/'])), /paths "other\/" are outside the paths of its delegator targets\/jenkins/);
  });

  it('adding a key to an existing delegation keeps its threshold (delegation add stages 1; notary keeps the role\'s own too)', async () => {
    const r = repo();
    const [a, b, c] = [RepositorySimulator.newKey('ecdsa').publicKey, RepositorySimulator.newKey('ecdsa').publicKey, RepositorySimulator.newKey('ecdsa').publicKey];
    await apply(r, [{ action: 'create', role: 'targets/team', type: 'delegation', path: '', data: encodeDelegationChange({ threshold: 2, addKeys: [a, b] }) }]);
    const team = (): { keyIds: readonly string[]; threshold: number } => r.roles.get('targets')!.roles.find((x) => x.name === 'targets/team')!;
    assert.equal(team().threshold, 2);
    await apply(r, delegationAddChanges('targets/team', [c], undefined));
    assert.deepEqual([team().keyIds.length, team().threshold], [3, 2]);
  });

  it('refuses creating a delegation without keys', async () => {
    await refused(apply(repo(), delegationAddChanges('targets/new', [], ['x/'])), /adds no keys/);
  });

  it('removes keys by canonical ID and refuses IDs the delegation does not have', async () => {
    const r = repo();
    await apply(r, delegationAddChanges('targets/releases', [publicKeyFromCertificatePem(fs.readFileSync(fixture('delegate-keys', 'jenkins.crt'), 'utf8'))], undefined));
    await apply(r, delegationRemoveChanges('targets/releases', [RELEASES_CANON], [], false));
    const rel = r.roles.get('targets')!.roles.find((x) => x.name === 'targets/releases')!;
    assert.equal(rel.keyIds.length, 1);
    assert.equal(canonicalKeyId(r.roles.get('targets')!.keys.get(rel.keyIds[0]!)!), JENKINS_CANON);
    await refused(apply(repo(), delegationRemoveChanges('targets/releases', ['ab'.repeat(32)], [], false)), /has no key abab/);
    await refused(apply(repo(), delegationRemoveChanges('targets/releases', [RELEASES_CANON], [], false)), /without keys/);
  });

  it('removes and clears paths', async () => {
    const r = repo();
    await apply(r, [...delegationRemoveChanges('targets/jenkins', [], [], true), ...delegationAddChanges('targets/jenkins', [], ['ci/'])]);
    assert.deepEqual(r.roles.get('targets')!.roles.find((x) => x.name === 'targets/jenkins')!.paths, ['ci/']);
  });

  it('purges a key from every delegation that lists it', async () => {
    const r = repo();
    await apply(r, delegationAddChanges('targets/releases', [publicKeyFromCertificatePem(fs.readFileSync(fixture('delegate-keys', 'jenkins.crt'), 'utf8'))], undefined));
    await apply(r, [purgeKeysChange([RELEASES_CANON])]);
    const t = r.roles.get('targets')!;
    assert.deepEqual(t.roles.find((x) => x.name === 'targets/releases')!.keyIds.map((id) => canonicalKeyId(t.keys.get(id)!)), [JENKINS_CANON]);
    assert.equal([...t.keys.values()].some((k) => canonicalKeyId(k) === RELEASES_CANON), false);
  });

  it('refuses a purge that would leave a delegation below its threshold, naming the remedy (as delegation remove does)', async () => {
    const r = repo();
    await refused(apply(r, [purgeKeysChange([RELEASES_CANON])]), /leave targets\/releases with 0 key\(s\) for a threshold of 1; add its new key first/);
    assert.equal(r.roles.get('targets')!.roles.find((x) => x.name === 'targets/releases')!.keyIds.length, 1, 'nothing purged');
  });

  it('witness marks a valid role dirty and revives an invalid one when its keys allow', async () => {
    const r = repo();
    await apply(r, [witnessChange('targets/releases')]);
    assert.equal(r.roles.get('targets/releases')!.dirty, true);
    const partial = repo();
    const invalid = partial.roles.get('targets/jenkins')!;
    partial.roles.delete('targets/jenkins');
    await refused(apply(partial, [witnessChange('targets/jenkins')]), /no metadata on the server/);
    const env = notaryCodec.parse(bytes('targets/jenkins.json'), 'targets', { roleName: 'targets/jenkins' });
    await apply(partial, [witnessChange('targets/jenkins')], undefined, new Map([['targets/jenkins', env]]));
    assert.deepEqual([...partial.roles.get('targets/jenkins')!.targets.keys()], [...invalid.targets.keys()]);
    await refused(apply(repo(), [witnessChange('targets/gone')]), /not delegated/);
  });

  it('a root role change replaces the keys of that role and re-signs root and targets', async () => {
    const r = repo();
    const key = releasesCert();
    await apply(r, [rootRoleChange('targets', [key])]);
    assert.deepEqual(r.root.roles.get('targets')!.keyIds, [key.id]);
    assert.equal(r.root.keys.has(TARGETS_KEY), false);
    assert.equal(r.root.dirty, true);
    assert.equal(r.roles.get('targets')!.dirty, true);
  });

  it('refuses change types notary does not define', async () => {
    await refused(apply(repo(), [{ action: 'create', role: 'snapshot', type: 'witness', path: '', data: null }]), /no change of type "witness" on scope "snapshot"/);
  });
});
