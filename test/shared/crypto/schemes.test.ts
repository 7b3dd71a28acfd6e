// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { describe, it } from 'node:test';
import { publicKeyFromKeyObject } from '../../../shared/codec/notary-keys.js';
import { derToP1363 } from '../../../shared/crypto/der.js';
import { getScheme, SCHEMES } from '../../../shared/crypto/schemes.js';
import { verifySignature } from '../../../shared/crypto/verify.js';
import type { PublicKey } from '../../../shared/tuf/model.js';

const MESSAGE = Buffer.from('{"_type":"root","spec_version":"1.0.31"}');

describe('scheme table', () => {
  it('holds the Notary methods and the TUF 1.0 schemes', () => {
    assert.deepEqual(
      SCHEMES.map((s) => `${s.dialect}:${s.name}`).sort(),
      [
        'notary:ecdsa',
        'notary:eddsa',
        'notary:pycrypto-pkcs#1 pss',
        'notary:rsapkcs1v15',
        'notary:rsapss',
        'tuf-1:ecdsa-sha2-nistp256',
        'tuf-1:ed25519',
        'tuf-1:rsassa-pss-sha256',
      ],
    );
  });

  it('is frozen, entries included', () => {
    assert.ok(Object.isFrozen(SCHEMES));
    const ecdsa = getScheme('ecdsa')!;
    assert.ok(Object.isFrozen(ecdsa) && Object.isFrozen(ecdsa.keyTypes));
    assert.throws(() => {
      (ecdsa as { ecdsaEncoding?: string }).ecdsaEncoding = 'der';
    }, TypeError);
    assert.throws(() => {
      (ecdsa.keyTypes as string[]).push('rsa');
    }, TypeError);
  });

  it('finds nothing for inherited property names', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) assert.equal(getScheme(name), undefined);
  });

  it('states the notary parameters', () => {
    assert.equal(getScheme('ecdsa')?.ecdsaEncoding, 'ieee-p1363');
    assert.equal(getScheme('rsapss')?.pssVerifySaltLength, 32);
    assert.deepEqual(getScheme('pycrypto-pkcs#1 pss')?.keyTypes, ['rsa']);
    assert.equal(getScheme('pycrypto-pkcs#1 pss')?.signable, false);
  });
});

describe('TUF 1.0 schemes', () => {
  const tuf = (key: PublicKey, scheme: string, keyType = key.keyType): PublicKey => ({ ...key, scheme, keyType });

  it('ed25519 verifies Ed25519 over the message', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const key = tuf(publicKeyFromKeyObject(publicKey), 'ed25519');
    const s = cryptoSign(null, MESSAGE, privateKey);
    assert.equal(verifySignature(key, { keyId: key.id, method: 'ed25519', sig: s }, MESSAGE), true);
    assert.equal(verifySignature(key, { keyId: key.id, method: 'ed25519', sig: s }, Buffer.from('other')), false);
  });

  it('ecdsa-sha2-nistp256 takes DER and refuses raw r‖s', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = tuf(publicKeyFromKeyObject(publicKey), 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256');
    const der = cryptoSign('sha256', MESSAGE, { key: privateKey, dsaEncoding: 'der' });
    assert.equal(verifySignature(key, { keyId: key.id, method: 'ecdsa-sha2-nistp256', sig: der }, MESSAGE), true);
    assert.equal(verifySignature(key, { keyId: key.id, method: 'ecdsa-sha2-nistp256', sig: derToP1363(der, 32) }, MESSAGE), false);
  });

  it('ecdsa-sha2-nistp256 refuses a DER signature with trailing bytes', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = tuf(publicKeyFromKeyObject(publicKey), 'ecdsa-sha2-nistp256', 'ecdsa');
    const der = cryptoSign('sha256', MESSAGE, { key: privateKey, dsaEncoding: 'der' });
    assert.equal(verifySignature(key, { keyId: key.id, method: 'ecdsa-sha2-nistp256', sig: Buffer.concat([der, Buffer.from([0])]) }, MESSAGE), false);
  });

  it('ecdsa-sha2-nistp256 refuses a P-384 key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const key = tuf(publicKeyFromKeyObject(publicKey), 'ecdsa-sha2-nistp256', 'ecdsa');
    const der = cryptoSign('sha256', MESSAGE, { key: privateKey, dsaEncoding: 'der' });
    assert.equal(verifySignature(key, { keyId: key.id, method: 'ecdsa-sha2-nistp256', sig: der }, MESSAGE), false);
    // The same signature under a key without the curve restriction would pass:
    const notary = publicKeyFromKeyObject(publicKey);
    assert.equal(verifySignature(notary, { keyId: notary.id, method: 'ecdsa', sig: derToP1363(der, 48) }, MESSAGE), true);
  });

  it('rsassa-pss-sha256 accepts any salt length (the spec fixes none) and refuses PKCS#1 v1.5', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = tuf(publicKeyFromKeyObject(publicKey), 'rsassa-pss-sha256');
    for (const saltLength of [0, 20, 32, constants.RSA_PSS_SALTLEN_MAX_SIGN]) {
      const s = cryptoSign('sha256', MESSAGE, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      assert.equal(verifySignature(key, { keyId: key.id, method: 'rsassa-pss-sha256', sig: s }, MESSAGE), true, `salt ${saltLength}`);
    }
    const v15 = cryptoSign('sha256', MESSAGE, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
    assert.equal(verifySignature(key, { keyId: key.id, method: 'rsassa-pss-sha256', sig: v15 }, MESSAGE), false);
  });

  it('TUF schemes refuse Notary certificate key types', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key: PublicKey = { ...publicKeyFromKeyObject(publicKey), keyType: 'rsa-x509' };
    const s = cryptoSign('sha256', MESSAGE, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    assert.equal(verifySignature(key, { keyId: key.id, method: 'rsapss', sig: s }, MESSAGE), true);
    assert.equal(verifySignature(key, { keyId: key.id, method: 'rsassa-pss-sha256', sig: s }, MESSAGE), false);
  });
});
