// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { constants, createPrivateKey, generateKeyPairSync, verify as verifyRaw } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { canonicalKeyId, publicKeyFromKeyObject } from '../../../shared/codec/notary-keys.js';
import { createKeyObjectSigner, methodFor } from '../../../shared/crypto/sign.js';
import { verifySignature } from '../../../shared/crypto/verify.js';
import { CryptoError } from '../../../shared/errors.js';
import type { PublicKey } from '../../../shared/tuf/model.js';
import { fixture } from '../../support/paths.js';
import { fixtureKeys, readNotaryKeyFile } from './fixture-keys.js';

const MESSAGE = Buffer.from('{"_type":"Snapshot","version":7}');

describe('methodFor', () => {
  it('maps key algorithms to the methods notary signs with', () => {
    assert.equal(methodFor('ecdsa'), 'ecdsa');
    assert.equal(methodFor('ed25519'), 'eddsa');
    assert.equal(methodFor('rsa'), 'rsapss');
    assert.throws(() => methodFor('unknown'), (e: unknown) => e instanceof CryptoError && e.code === 'UNSUPPORTED_ALGORITHM');
  });
});

describe('createKeyObjectSigner round trips', () => {
  const cases = {
    'ecdsa P-256': generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    'ecdsa P-384': generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    ed25519: generateKeyPairSync('ed25519'),
    'rsa 2048': generateKeyPairSync('rsa', { modulusLength: 2048 }),
  };
  for (const [name, pair] of Object.entries(cases)) {
    it(`${name}: signs with notary's method and verifies`, async () => {
      const publicKey = publicKeyFromKeyObject(pair.publicKey);
      const signer = createKeyObjectSigner(pair.privateKey, publicKey);
      const s = await signer.sign(MESSAGE);
      assert.equal(s.keyId, publicKey.id);
      assert.equal(s.method, methodFor(publicKey.algorithm));
      assert.equal(verifySignature(publicKey, s, MESSAGE), true);
      assert.equal(verifySignature(publicKey, s, Buffer.from('tampered')), false);
    });
  }

  it('ecdsa signatures are raw r‖s of 2·⌈bits/8⌉ bytes', async () => {
    const p256 = cases['ecdsa P-256'];
    const s = await createKeyObjectSigner(p256.privateKey, publicKeyFromKeyObject(p256.publicKey)).sign(MESSAGE);
    assert.equal(s.sig.length, 64);
    assert.ok(verifyRaw('sha256', MESSAGE, { key: p256.publicKey, dsaEncoding: 'ieee-p1363' }, s.sig));
    const p384 = cases['ecdsa P-384'];
    assert.equal((await createKeyObjectSigner(p384.privateKey, publicKeyFromKeyObject(p384.publicKey)).sign(MESSAGE)).sig.length, 96);
  });

  it('rsapss signatures use salt 32 exactly', async () => {
    const pair = cases['rsa 2048'];
    const s = await createKeyObjectSigner(pair.privateKey, publicKeyFromKeyObject(pair.publicKey)).sign(MESSAGE);
    const check = (saltLength: number): boolean => verifyRaw('sha256', MESSAGE, { key: pair.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, s.sig);
    assert.equal(check(32), true);
    assert.equal(check(20), false);
  });

  it('signs other schemes when asked, and TUF keys with their own scheme', async () => {
    const pair = cases['rsa 2048'];
    const key = publicKeyFromKeyObject(pair.publicKey);
    const v15 = await createKeyObjectSigner(pair.privateKey, key, { method: 'rsapkcs1v15' }).sign(MESSAGE);
    assert.equal(v15.method, 'rsapkcs1v15');
    assert.equal(verifySignature(key, v15, MESSAGE), true);
    const ec = cases['ecdsa P-256'];
    const tufKey: PublicKey = { ...publicKeyFromKeyObject(ec.publicKey), scheme: 'ecdsa-sha2-nistp256' };
    const der = await createKeyObjectSigner(ec.privateKey, tufKey).sign(MESSAGE);
    assert.equal(der.method, 'ecdsa-sha2-nistp256');
    assert.equal(der.sig[0], 0x30, 'DER SEQUENCE');
    assert.equal(verifySignature(tufKey, der, MESSAGE), true);
  });

  it('refuses a verify-only or mismatched method', () => {
    const pair = cases['rsa 2048'];
    const key = publicKeyFromKeyObject(pair.publicKey);
    const isUnsupported = (e: unknown): boolean => e instanceof CryptoError && e.code === 'UNSUPPORTED_ALGORITHM';
    assert.throws(() => createKeyObjectSigner(pair.privateKey, key, { method: 'pycrypto-pkcs#1 pss' }), isUnsupported);
    assert.throws(() => createKeyObjectSigner(pair.privateKey, key, { method: 'ecdsa' }), isUnsupported);
    assert.throws(() => createKeyObjectSigner(pair.privateKey, key, { method: 'nope' }), isUnsupported);
  });

  it('refuses RSA keys under 2048 bits', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.throws(
      () => createKeyObjectSigner(small.privateKey, publicKeyFromKeyObject(small.publicKey)),
      (e: unknown) => e instanceof CryptoError && e.code === 'INVALID_KEY' && /2048/.test(e.message),
    );
  });
});

describe('createKeyObjectSigner key checks', () => {
  const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('refuses a private key that does not match, naming both key IDs', () => {
    const publicA = publicKeyFromKeyObject(a.publicKey);
    const idB = publicKeyFromKeyObject(b.publicKey).id;
    assert.throws(
      () => createKeyObjectSigner(b.privateKey, publicA),
      (e: unknown) => e instanceof CryptoError && e.code === 'INVALID_KEY' && e.message.includes(publicA.id) && e.message.includes(idB),
    );
  });

  it('refuses a public key in place of the private key', () => {
    assert.throws(() => createKeyObjectSigner(a.publicKey, publicKeyFromKeyObject(a.publicKey)), (e: unknown) => e instanceof CryptoError && e.code === 'INVALID_KEY');
  });

  it('never puts private key material in its error messages', () => {
    const pem = a.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const body = pem.split('\n')[1]!;
    try {
      createKeyObjectSigner(a.privateKey, publicKeyFromKeyObject(b.publicKey));
      assert.fail('expected a mismatch');
    } catch (e) {
      assert.ok(e instanceof CryptoError);
      assert.ok(!e.message.includes(body.slice(0, 16)));
    }
  });
});

describe('signing with the notary fixture keys', () => {
  const keys = fixtureKeys();

  it('the fixture targets key (encrypted PKCS#8) signs under its key ID and verifies', async () => {
    const id = '50c5db8043356e6c1ca87f7a06aa909493c9b12d1153079d790ace59bd826d11';
    const privateKey = readNotaryKeyFile(`trust_dir/owner/private/${id}.key`, 'fixture-targets-pass');
    const signer = createKeyObjectSigner(privateKey, keys.get(id)!);
    const s = await signer.sign(MESSAGE);
    assert.equal(s.keyId, id);
    assert.equal(verifySignature(keys.get(id)!, s, MESSAGE), true);
  });

  it('the fixture root key signs under its certificate TUF ID, not its canonical ID', async () => {
    const rootCert = keys.get('efb000413ad5ca5493e0553395ada497db84ac22a4b371ffadd9096506e9e01a')!;
    const canonical = canonicalKeyId(rootCert);
    const privateKey = readNotaryKeyFile(`trust_dir/owner/private/${canonical}.key`, 'fixture-root-pass');
    const s = await createKeyObjectSigner(privateKey, rootCert).sign(MESSAGE);
    assert.equal(s.keyId, rootCert.id);
    assert.notEqual(s.keyId, canonical);
    assert.equal(s.method, 'ecdsa');
    assert.equal(verifySignature(rootCert, s, MESSAGE), true);
  });

  it('delegate certificate keys (ecdsa-x509, rsa-x509) sign with ecdsa and rsapss', async () => {
    for (const [name, id, method] of [
      ['releases', '73e915f6', 'ecdsa'],
      ['jenkins', 'f9d6ce1a', 'rsapss'],
    ] as const) {
      const key = [...keys.values()].find((k) => k.id.startsWith(id))!;
      const privateKey = createPrivateKey(readFileSync(fixture('delegate-keys', `${name}.key`)));
      const s = await createKeyObjectSigner(privateKey, key).sign(MESSAGE);
      assert.equal(s.keyId, key.id);
      assert.equal(s.method, method);
      assert.equal(verifySignature(key, s, MESSAGE), true);
    }
  });

  it('refuses the releases private key for the jenkins certificate', () => {
    const jenkins = [...keys.values()].find((k) => k.id.startsWith('f9d6ce1a'))!;
    const releasesKey = createPrivateKey(readFileSync(fixture('delegate-keys', 'releases.key')));
    assert.throws(() => createKeyObjectSigner(releasesKey, jenkins), (e: unknown) => e instanceof CryptoError && e.code === 'INVALID_KEY' && e.message.includes(jenkins.id));
  });
});
