// SPDX-License-Identifier: Apache-2.0
// Threshold counting (notary-wire.md §4.1) on in-memory envelopes with real keys.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UnsignedMetadataError } from '../../../shared/errors.js';
import { canonicalize } from '../../../shared/json/canonical.js';
import type { JSONObject } from '../../../shared/json/types.js';
import type { Envelope, PublicKey, Signature, Targets } from '../../../shared/tuf/model.js';
import { getVerificationResult, verifyDelegate } from '../../../shared/verify/threshold.js';
import { RepositorySimulator, type SimKey } from '../../support/repository-simulator.js';

const TREE: JSONObject = { _type: 'Targets', delegations: { keys: {}, roles: [] }, expires: '2030-01-01T00:00:00Z', targets: {}, version: 1 };
const MODEL: Targets = { type: 'targets', version: 1, expires: { text: '2030-01-01T00:00:00Z', ms: Date.parse('2030-01-01T00:00:00Z') }, targets: new Map(), delegations: null };

function envelope(signatures: readonly Signature[], tree: JSONObject = TREE): Envelope {
  return { signed: MODEL, signedTree: tree, signatures, raw: Buffer.alloc(0) };
}
const sign = (k: SimKey, tree: JSONObject = TREE): Promise<Signature> => k.signer.sign(canonicalize(tree));
const keyMap = (...keys: SimKey[]): Map<string, PublicKey> => new Map(keys.map((k) => [k.publicKey.id, k.publicKey]));

let ec: SimKey, ed: SimKey, rsa: SimKey, ecAsCert: SimKey;
before(async () => {
  [ec, ed, rsa] = [RepositorySimulator.newKey('ecdsa'), RepositorySimulator.newKey('ed25519'), RepositorySimulator.newKey('rsa')];
  ecAsCert = await RepositorySimulator.certificateFor(ec, 'x', { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2040-01-01T00:00:00Z') });
});

describe('getVerificationResult', () => {
  it('counts ecdsa, eddsa and rsapss signatures of distinct keys', async () => {
    const sigs = await Promise.all([sign(ec), sign(ed), sign(rsa)]);
    const r = getVerificationResult(keyMap(ec, ed, rsa), { keyIds: [ec.publicKey.id, ed.publicKey.id, rsa.publicKey.id], threshold: 3 }, envelope(sigs), { role: 'targets' });
    assert.equal(r.verified, true);
    assert.deepEqual(r.validKeyIds, [ec.publicKey.id, ed.publicKey.id, rsa.publicKey.id]);
    assert.equal(r.failure, null);
  });

  it('ignores signatures by keys outside the role, even when the delegator lists the key', async () => {
    const sigs = await Promise.all([sign(ec), sign(ed)]);
    const r = getVerificationResult(keyMap(ec, ed), { keyIds: [ec.publicKey.id], threshold: 2 }, envelope(sigs), { role: 'targets' });
    assert.equal(r.verified, false);
    assert.deepEqual(r.validKeyIds, [ec.publicKey.id]);
    assert.equal(r.failure?.code, 'THRESHOLD_NOT_MET');
    assert.match(r.failure?.message ?? '', /targets .*1\/2/);
  });

  it('counts one key listed as a plain key and as a certificate once', async () => {
    const sigs = await Promise.all([sign(ec), sign(ecAsCert)]);
    const roleKeys = { keyIds: [ec.publicKey.id, ecAsCert.publicKey.id], threshold: 2 };
    const r = getVerificationResult(keyMap(ec, ecAsCert), roleKeys, envelope(sigs));
    assert.equal(r.verified, false);
    assert.deepEqual(r.validKeyIds, [ec.publicKey.id]);
    assert.deepEqual(r.unsignedKeyIds, [ecAsCert.publicKey.id]);
    assert.equal(getVerificationResult(keyMap(ec, ecAsCert), { ...roleKeys, threshold: 1 }, envelope(sigs)).verified, true);
  });

  it('counts a repeated signature once and a role listing one key ID twice once', async () => {
    const s = await sign(ec);
    assert.equal(getVerificationResult(keyMap(ec), { keyIds: [ec.publicKey.id, ec.publicKey.id], threshold: 2 }, envelope([s, s])).verified, false);
  });

  it('fails the whole check when a key is listed under an ID that is not its own (INVALID_KEY_ID)', async () => {
    const sigs = await Promise.all([sign(ec), sign(ed)]);
    // ed's key listed under ec's ID: a signature with that ID must not count as ec.
    const keys = new Map([[ec.publicKey.id, ed.publicKey], [ed.publicKey.id, ed.publicKey]]);
    const forged: Signature = { ...sigs[1]!, keyId: ec.publicKey.id };
    const r = getVerificationResult(keys, { keyIds: [ec.publicKey.id, ed.publicKey.id], threshold: 1 }, envelope([forged, sigs[1]!]));
    assert.equal(r.verified, false);
    assert.equal(r.failure?.code, 'INVALID_KEY_ID');
  });

  it('refuses no signatures and thresholds below 1', async () => {
    assert.equal(getVerificationResult(keyMap(ec), { keyIds: [ec.publicKey.id], threshold: 1 }, envelope([])).failure?.code, 'NO_SIGNATURES');
    const s = await sign(ec);
    for (const threshold of [0, -1, 1.5, Number.NaN]) {
      const r = getVerificationResult(keyMap(ec), { keyIds: [ec.publicKey.id], threshold }, envelope([s]));
      assert.equal(r.verified, false, `threshold ${threshold}`);
      assert.equal(r.failure?.code, 'THRESHOLD_NOT_MET');
    }
  });

  it('checks signatures over the canonical signed tree, so any change to it breaks them', async () => {
    const s = await sign(ec);
    const changed = { ...TREE, version: 2 };
    assert.equal(getVerificationResult(keyMap(ec), { keyIds: [ec.publicKey.id], threshold: 1 }, envelope([s], changed)).verified, false);
    // The codec's cached signedBytes win over the tree.
    const cached = { ...envelope([s], changed), signedBytes: canonicalize(TREE) };
    assert.equal(getVerificationResult(keyMap(ec), { keyIds: [ec.publicKey.id], threshold: 1 }, cached).verified, true);
  });

  it('reports a tree that cannot be canonicalised instead of throwing', async () => {
    const s = await sign(ec);
    const r = getVerificationResult(keyMap(ec), { keyIds: [ec.publicKey.id], threshold: 1 }, envelope([s], { ...TREE, x: 1.5 }));
    assert.equal(r.verified, false);
    assert.equal(r.failure?.code, 'CANONICAL_JSON');
  });

  it('verifies exactly when at least `threshold` distinct role keys signed (property)', async () => {
    const pool = [ec, ed, rsa, RepositorySimulator.newKey('ed25519'), RepositorySimulator.newKey('ecdsa')];
    const sigs = await Promise.all(pool.map((k) => sign(k)));
    fc.assert(
      fc.property(fc.subarray([0, 1, 2, 3, 4], { minLength: 1 }), fc.subarray([0, 1, 2, 3, 4]), fc.integer({ min: 1, max: 5 }), fc.array(fc.nat(4), { maxLength: 3 }), (role, signed, threshold, dups) => {
        const signatures = [...signed, ...dups.filter((d) => signed.includes(d))].map((i) => sigs[i]!);
        const r = getVerificationResult(keyMap(...pool), { keyIds: role.map((i) => pool[i]!.publicKey.id), threshold }, envelope(signatures));
        const distinct = role.filter((i) => signed.includes(i)).length;
        return r.verified === distinct >= threshold && (signatures.length === 0 || r.validKeyIds.length === distinct);
      }),
      { numRuns: 60 },
    );
  });
});

describe('verifyDelegate', () => {
  it('throws UnsignedMetadataError naming the role and n/threshold', async () => {
    const s = await sign(ec);
    assert.throws(
      () => verifyDelegate('targets/releases', keyMap(ec, ed), { keyIds: [ec.publicKey.id, ed.publicKey.id], threshold: 2 }, envelope([s])),
      (e: unknown) => e instanceof UnsignedMetadataError && e.code === 'THRESHOLD_NOT_MET' && /targets\/releases/.test(e.message) && /1\/2/.test(e.message),
    );
    assert.equal(verifyDelegate('targets', keyMap(ec), { keyIds: [ec.publicKey.id], threshold: 1 }, envelope([s])).verified, true);
  });
});
