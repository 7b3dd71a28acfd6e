// SPDX-License-Identifier: Apache-2.0
// One test per attack the verifier refuses (TUF's threat list, notary's
// swizzler tests), part 2: signatures and thresholds, delegation path escapes,
// bad root rotations, ordering guards. Each builds a real repository in the
// simulator, corrupts one thing, and asserts the error class and code;
// removing the matching check makes the test fail.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { notaryCodec } from '../../../shared/codec/notary.js';
import {
  BadVersionError,
  DeserializationError,
  RepositoryError,
  StateError,
  UnsignedMetadataError,
} from '../../../shared/errors.js';
import { findTargetsOutsidePaths } from '../../../shared/verify/delegations.js';
import { verifyDelegate } from '../../../shared/verify/threshold.js';
import { RepositorySimulator } from '../../support/repository-simulator.js';
import * as swizzle from '../../support/swizzler.js';

type ErrorClass = new (...args: never[]) => Error;
function rejects(fn: () => unknown, cls: ErrorClass, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.equal((e as { code?: string }).code, code, (e as Error).message);
    if (message !== undefined) assert.match((e as Error).message, message);
    return true;
  });
}

let base: RepositorySimulator;
before(async () => {
  base = await RepositorySimulator.create();
});

describe('signatures', () => {
  it('rejects a timestamp signed by a key the root does not list', async () => {
    const forged = await swizzle.wrongKeySignature(base.file('timestamp'), [RepositorySimulator.newKey('ed25519')]);
    rejects(() => base.trust().updateTimestamp(forged), UnsignedMetadataError, 'THRESHOLD_NOT_MET', /timestamp did not meet the threshold: 0\/1/);
  });

  it('rejects a snapshot whose signature was tampered with', () => {
    const set = base.trust();
    set.updateTimestamp(base.file('timestamp'));
    // Same length, but the hash check comes first; the trusted path reaches the signature check.
    rejects(() => set.updateSnapshot(swizzle.corruptSignatures(base.file('snapshot')), { trusted: true }), UnsignedMetadataError, 'THRESHOLD_NOT_MET');
  });

  it('rejects metadata without signatures', () => {
    rejects(() => base.trust().updateTimestamp(swizzle.dropSignatures(base.file('timestamp'))), UnsignedMetadataError, 'NO_SIGNATURES');
  });

  it('counts the same signature twice only once', async () => {
    const sim = await RepositorySimulator.create();
    const [a, b] = [RepositorySimulator.newKey('ecdsa'), RepositorySimulator.newKey('ecdsa')];
    sim.setKeys('targets', [a, b], 2);
    await sim.publishRoot();
    sim.setKeys('targets', [a], 1); // the simulator signs with a alone, while root asks for 2 of {a, b}
    await sim.publish();
    const root = sim.trust({ version: 2 }).root.signed;
    const targets = notaryCodec.parse(sim.file('targets'), 'targets');
    // The codec refuses a second signature by one key outright...
    assert.throws(() => notaryCodec.parse(swizzle.duplicateSignature(sim.file('targets')), 'targets'), DeserializationError);
    // ...and the threshold counts it once for envelopes built any other way.
    const doubled = { ...targets, signatures: [targets.signatures[0]!, targets.signatures[0]!, targets.signatures[0]!] };
    rejects(() => verifyDelegate('targets', root.keys, root.roles.get('targets')!, doubled), UnsignedMetadataError, 'THRESHOLD_NOT_MET', /1\/2/);
    const set = sim.trust({ version: 2 });
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'));
    rejects(() => set.updateTargets(sim.file('targets')), UnsignedMetadataError, 'THRESHOLD_NOT_MET', /1\/2/);
  });

  it('counts one public key listed under two key IDs (plain key and certificate) once', async () => {
    const sim = await RepositorySimulator.create();
    const plain = RepositorySimulator.newKey('ecdsa');
    const asCert = await RepositorySimulator.certificateFor(plain, 'targets', { notBefore: new Date(sim.now.getTime() - 86400e3), notAfter: new Date(sim.now.getTime() + 86400e6) });
    assert.notEqual(plain.publicKey.id, asCert.publicKey.id);
    sim.setKeys('targets', [plain, asCert], 2);
    await sim.publishRoot();
    await sim.publish(); // signed under both IDs: two valid signatures, one key
    const set = sim.trust();
    set.updateRoot(sim.file('root', 2));
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'));
    rejects(() => set.updateTargets(sim.file('targets')), UnsignedMetadataError, 'THRESHOLD_NOT_MET', /1\/2 distinct keys/);
  });

  it('rejects threshold 2 met by one key', async () => {
    const sim = await RepositorySimulator.create();
    const a = RepositorySimulator.newKey('ecdsa');
    sim.setKeys('targets', [a], 2);
    await sim.publishRoot();
    await sim.publish();
    const set = sim.trust();
    set.updateRoot(sim.file('root', 2));
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'));
    rejects(() => set.updateTargets(sim.file('targets')), UnsignedMetadataError, 'THRESHOLD_NOT_MET', /1\/2/);
  });

  it('rejects a delegation signed by a key its parent does not list for it', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addDelegation('targets/releases', { paths: [''] });
    const [other] = await Promise.all([RepositorySimulator.newCertificateKey('x', { notBefore: new Date(sim.now.getTime() - 86400e3), notAfter: new Date(sim.now.getTime() + 86400e6) })]);
    sim.signWith('targets/releases', [other!]); // a key the parent does not list
    sim.addTarget('targets/releases', 'r', 'r');
    await sim.publish();
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'));
    set.updateTargets(sim.file('targets'));
    rejects(() => set.updateDelegatedTargets(sim.file('targets/releases'), 'targets/releases', 'targets'), UnsignedMetadataError, 'THRESHOLD_NOT_MET', /targets\/releases/);
  });
});

describe('delegation path escapes', () => {
  it('ignores a target outside the delegation paths, and the server check finds it', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addDelegation('targets/jenkins', { paths: ['jenkins/'] });
    sim.addTarget('targets/jenkins', 'jenkins/build-1', 'b');
    sim.addTarget('targets/jenkins', 'outside', 'o');
    await sim.publish();
    const set = sim.refresh(sim.trust());
    assert.equal(set.lookupTarget('jenkins/build-1')?.role, 'targets/jenkins');
    assert.equal(set.lookupTarget('outside'), undefined);
    assert.deepEqual(set.listTargets().map((t) => t.name), ['jenkins/build-1']);
    assert.deepEqual(findTargetsOutsidePaths(set.getTargets('targets/jenkins')!.signed.targets.keys(), set.scopeOf('targets/jenkins')), ['outside']);
  });

  it('does not let a child widen its parent paths', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addDelegation('targets/jenkins', { paths: ['jenkins/'] });
    await sim.addDelegation('targets/jenkins/wide', { paths: [''] });
    await sim.addDelegation('targets/jenkins/mixed', { paths: ['jenkins/sub/', 'other/'] });
    sim.addTarget('targets/jenkins/wide', 'other/x', 'x');
    sim.addTarget('targets/jenkins/wide', 'jenkins/y', 'y');
    sim.addTarget('targets/jenkins/mixed', 'other/z', 'z');
    sim.addTarget('targets/jenkins/mixed', 'jenkins/sub/w', 'w');
    await sim.publish();
    const set = sim.refresh(sim.trust());
    assert.equal(set.lookupTarget('other/x'), undefined);
    assert.equal(set.lookupTarget('jenkins/y'), undefined); // "" restricted to "jenkins/" leaves nothing (notary)
    assert.equal(set.lookupTarget('other/z'), undefined);
    assert.equal(set.lookupTarget('jenkins/sub/w')?.role, 'targets/jenkins/mixed');
    assert.deepEqual(set.scopeOf('targets/jenkins/mixed').chain.at(-1)?.paths, ['jenkins/sub/']);
    assert.deepEqual(set.listTargets().map((t) => t.name), ['jenkins/sub/w']);
  });

  it('refuses a delegation its parent does not list', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addDelegation('targets/releases', { paths: [''] });
    await sim.publish();
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'));
    set.updateTargets(sim.file('targets'));
    rejects(() => set.updateDelegatedTargets(sim.file('targets/releases'), 'targets/other', 'targets'), RepositoryError, 'BAD_DELEGATION');
    rejects(() => set.updateDelegatedTargets(sim.file('targets/releases'), 'targets/releases/x', 'targets'), RepositoryError, 'BAD_DELEGATION');
  });
});

describe('bad root rotations', () => {
  it('rejects a new root not signed by the trusted root keys', async () => {
    const sim = await RepositorySimulator.create();
    const fresh = await sim.rotateKeys('root');
    await sim.publishRoot({ signers: fresh });
    rejects(() => sim.trust().updateRoot(sim.file('root', 2)), UnsignedMetadataError, 'THRESHOLD_NOT_MET', /could not rotate trust to root version 2.*0\/1 signed/);
  });

  it('rejects a root version jump', async () => {
    const sim = await RepositorySimulator.create();
    await sim.publishRoot({ version: 3 });
    rejects(() => sim.trust().updateRoot(sim.file('root', 3)), BadVersionError, 'VERSION_JUMP', /expected version 2/);
  });

  it('rejects a root rollback and a replay of the trusted root', async () => {
    const sim = await RepositorySimulator.create();
    await sim.publishRoot();
    const set = sim.trust({ version: 2 });
    rejects(() => set.updateRoot(sim.file('root', 1)), BadVersionError, 'VERSION_ROLLBACK');
    rejects(() => set.updateRoot(sim.file('root', 2)), BadVersionError, 'VERSION_EQUAL');
  });

  it('rejects a new root not signed by its own keys', async () => {
    const sim = await RepositorySimulator.create();
    const old = [...sim.root.keys];
    await sim.rotateKeys('root');
    await sim.publishRoot({ signers: old });
    rejects(() => sim.trust().updateRoot(sim.file('root', 2)), UnsignedMetadataError, 'THRESHOLD_NOT_MET', /root did not meet the threshold: 0\/1/);
  });

  it('rejects a root key whose certificate names another GUN', async () => {
    const sim = await RepositorySimulator.create();
    sim.setKeys('root', [await sim.newRootKey({ commonName: 'example.com/other' })]);
    await sim.publishRoot();
    rejects(() => sim.trust().updateRoot(sim.file('root', 2)), RepositoryError, 'BAD_ROOT', /does not match GUN/);
  });

  it('rejects a plain (non-certificate) root key', async () => {
    const sim = await RepositorySimulator.create();
    sim.setKeys('root', [RepositorySimulator.newKey('ecdsa')]);
    await sim.publishRoot();
    rejects(() => sim.trust().updateRoot(sim.file('root', 2)), RepositoryError, 'BAD_ROOT', /not a certificate/);
  });

  it('accepts a wildcard certificate CN that prefixes the GUN', async () => {
    const sim = await RepositorySimulator.create();
    sim.setKeys('root', [await sim.newRootKey({ commonName: 'example.com/*' })]);
    await sim.publishRoot();
    assert.doesNotThrow(() => sim.refresh(sim.trust()));
  });

  it('accepts an old root whose certificate has expired as the signer of the next root (notary quirk)', async () => {
    const sim = await RepositorySimulator.create();
    const shortLived = await sim.newRootKey({ notBefore: new Date(sim.now.getTime() - 30 * 86400e3), notAfter: new Date(sim.now.getTime() - 86400e3) });
    sim.setKeys('root', [shortLived]);
    await sim.publishRoot(); // v2 with an expired certificate
    await sim.rotateKeys('root');
    await sim.publishRoot(); // v3 signed by v2's expired key and the new one
    const set = sim.trust({ version: 1 });
    set.updateRoot(sim.file('root', 2));
    set.updateRoot(sim.file('root', 3));
    assert.doesNotThrow(() => set.updateTimestamp(sim.file('timestamp')));
  });
});

describe('state guards and stale root', () => {
  it('enforces the update order', () => {
    const set = base.trust();
    assert.throws(() => set.updateSnapshot(base.file('snapshot')), StateError);
    assert.throws(() => set.updateTargets(base.file('targets')), StateError);
    set.updateTimestamp(base.file('timestamp'));
    assert.throws(() => set.updateRoot(base.file('root', 1)), StateError);
    assert.throws(() => set.updateTargets(base.file('targets')), StateError);
    set.updateSnapshot(base.file('snapshot'));
    assert.throws(() => set.updateTimestamp(base.file('timestamp')), StateError);
    assert.throws(() => set.updateDelegatedTargets(base.file('targets'), 'targets/x', 'targets'), StateError);
    set.updateTargets(base.file('targets'));
    assert.throws(() => set.updateSnapshot(base.file('snapshot')), StateError);
  });

  it('reports a stale root when the snapshot records another root', async () => {
    const sim = await RepositorySimulator.create();
    await sim.rotateKeys('root');
    await sim.publishRoot();
    await sim.publish();
    const stale = sim.trust();
    stale.updateTimestamp(sim.file('timestamp'));
    stale.updateSnapshot(sim.file('snapshot'));
    assert.equal(stale.rootUpdateNeeded(), true);
    const fresh = sim.trust({ version: 2 });
    fresh.updateTimestamp(sim.file('timestamp'));
    fresh.updateSnapshot(sim.file('snapshot'));
    assert.equal(fresh.rootUpdateNeeded(), false);
  });
});
