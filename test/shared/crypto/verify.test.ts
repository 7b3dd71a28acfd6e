// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign as cryptoSign, verify as verifyRaw, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { makeNotaryPublicKey, publicKeyFromKeyObject } from '../../../shared/codec/notary-keys.js';
import { p1363ToDer } from '../../../shared/crypto/der.js';
import { toKeyObject, verifySignature } from '../../../shared/crypto/verify.js';
import type { PublicKey, Signature } from '../../../shared/tuf/model.js';
import { fixtureSignatures } from './fixture-keys.js';

const MESSAGE = Buffer.from('{"_type":"Targets","version":1}');
const sig = (keyId: string, method: string, bytes: Buffer): Signature => ({ keyId, method, sig: bytes });

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ecKey = publicKeyFromKeyObject(ec.publicKey);
const ec384Key = publicKeyFromKeyObject(ec384.publicKey);
const edKey = publicKeyFromKeyObject(ed.publicKey);
const rsaKey = publicKeyFromKeyObject(rsa.publicKey);

const ecdsaRaw = (k: KeyObject, m = MESSAGE): Buffer => cryptoSign('sha256', m, { key: k, dsaEncoding: 'ieee-p1363' });
const pss = (k: KeyObject, saltLength: number, m = MESSAGE): Buffer =>
  cryptoSign('sha256', m, { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });

describe('verifySignature against the notary fixtures', () => {
  const all = fixtureSignatures();

  it('covers every method and key type the fixtures use', () => {
    const seen = new Set(all.map((f) => `${f.file}:${f.signature.method}:${f.key.keyType}`));
    for (const expected of [
      'root.json:ecdsa:ecdsa-x509',
      'targets.json:ecdsa:ecdsa',
      'snapshot.json:eddsa:ed25519',
      'timestamp.json:eddsa:ed25519',
      'targets/releases.json:ecdsa:ecdsa-x509',
      'targets/jenkins.json:rsapss:rsa-x509',
    ]) {
      assert.ok(seen.has(expected), `fixture signature ${expected} present`);
    }
  });

  for (const f of all) {
    it(`accepts ${f.signature.method} on ${f.file} by its ${f.key.keyType} key`, () => {
      assert.equal(verifySignature(f.key, f.signature, f.message), true);
    });
    it(`rejects ${f.signature.method} on ${f.file} with one message byte changed`, () => {
      const tampered = Buffer.from(f.message);
      tampered[tampered.length - 2]! ^= 0x01;
      assert.equal(verifySignature(f.key, f.signature, tampered), false);
    });
    it(`rejects ${f.signature.method} on ${f.file} with one signature bit flipped`, () => {
      const bad = Buffer.from(f.signature.sig);
      bad[10]! ^= 0x01;
      assert.equal(verifySignature(f.key, { ...f.signature, sig: bad }, f.message), false);
    });
  }

  it('rejects a fixture signature presented under another method of the same family', () => {
    const jenkins = all.find((f) => f.file === 'targets/jenkins.json')!;
    // rsapss signature checked as PKCS#1 v1.5 fails; pycrypto refuses rsa-x509 keys outright.
    assert.equal(verifySignature(jenkins.key, { ...jenkins.signature, method: 'rsapkcs1v15' }, jenkins.message), false);
    assert.equal(verifySignature(jenkins.key, { ...jenkins.signature, method: 'pycrypto-pkcs#1 pss' }, jenkins.message), false);
    const ts = all.find((f) => f.file === 'timestamp.json')!;
    assert.equal(verifySignature(ts.key, { ...ts.signature, method: 'ed25519' }, ts.message), true, 'TUF ed25519 = notary eddsa bytes');
    assert.equal(verifySignature(ts.key, { ...ts.signature, method: 'ecdsa' }, ts.message), false);
  });

  it('refuses the fixture ECDSA signature re-encoded as DER under method ecdsa', () => {
    const t = all.find((f) => f.file === 'targets.json')!;
    assert.equal(verifySignature(t.key, { ...t.signature, sig: p1363ToDer(t.signature.sig) }, t.message), false);
  });
});

describe('verifySignature: ecdsa', () => {
  it('accepts raw r‖s of exactly 64 bytes for P-256 and 96 for P-384', () => {
    assert.equal(verifySignature(ecKey, sig(ecKey.id, 'ecdsa', ecdsaRaw(ec.privateKey)), MESSAGE), true);
    const s384 = ecdsaRaw(ec384.privateKey);
    assert.equal(s384.length, 96);
    assert.equal(verifySignature(ec384Key, sig(ec384Key.id, 'ecdsa', s384), MESSAGE), true);
  });

  it('refuses a DER signature even though it is valid', () => {
    const der = cryptoSign('sha256', MESSAGE, { key: ec.privateKey, dsaEncoding: 'der' });
    assert.equal(verifySignature(ecKey, sig(ecKey.id, 'ecdsa', der), MESSAGE), false);
  });

  it('refuses a raw signature with a byte added or removed', () => {
    const raw = ecdsaRaw(ec.privateKey);
    assert.equal(verifySignature(ecKey, sig(ecKey.id, 'ecdsa', Buffer.concat([raw, Buffer.from([0])])), MESSAGE), false);
    assert.equal(verifySignature(ecKey, sig(ecKey.id, 'ecdsa', raw.subarray(0, 63)), MESSAGE), false);
  });

  it('refuses an ECDSA signature over SHA-512 (notary always hashes with SHA-256)', () => {
    const s = cryptoSign('sha512', MESSAGE, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(verifySignature(ecKey, sig(ecKey.id, 'ecdsa', s), MESSAGE), false);
  });
});

describe('verifySignature: rsapss, rsapkcs1v15, pycrypto', () => {
  it('accepts PSS with salt 32 and refuses salt 20, 0 and the maximum', () => {
    assert.equal(verifySignature(rsaKey, sig(rsaKey.id, 'rsapss', pss(rsa.privateKey, 32)), MESSAGE), true);
    for (const salt of [0, 20, 33, constants.RSA_PSS_SALTLEN_MAX_SIGN]) {
      assert.equal(verifySignature(rsaKey, sig(rsaKey.id, 'rsapss', pss(rsa.privateKey, salt)), MESSAGE), false, `salt ${salt}`);
    }
  });

  it('accepts PKCS#1 v1.5 SHA-256 only under rsapkcs1v15', () => {
    const s = cryptoSign('sha256', MESSAGE, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PADDING });
    assert.equal(verifySignature(rsaKey, sig(rsaKey.id, 'rsapkcs1v15', s), MESSAGE), true);
    assert.equal(verifySignature(rsaKey, sig(rsaKey.id, 'rsapss', s), MESSAGE), false);
  });

  it('accepts the legacy pycrypto method only for an rsa key holding PEM, as notary', () => {
    const s = pss(rsa.privateKey, 32);
    // notary pem-decodes `public` for this method, so an ordinary DER rsa key never verifies.
    assert.equal(verifySignature(rsaKey, sig(rsaKey.id, 'pycrypto-pkcs#1 pss', s), MESSAGE), false);
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const pemKey: PublicKey = { ...rsaKey, publicValue: Buffer.from(pem).toString('base64') };
    assert.equal(verifySignature(pemKey, sig(pemKey.id, 'pycrypto-pkcs#1 pss', s), MESSAGE), true);
    assert.equal(verifySignature(pemKey, sig(pemKey.id, 'pycrypto-pkcs#1 pss', pss(rsa.privateKey, 20)), MESSAGE), false);
  });

  it('refuses a PSS signature with its leading zero byte stripped (OpenSSL alone accepts it; Go does not)', () => {
    let message = MESSAGE;
    let s = pss(rsa.privateKey, 32, message);
    for (let i = 0; s[0] !== 0 && i < 5000; i++) {
      message = Buffer.from(`message ${i}`);
      s = pss(rsa.privateKey, 32, message);
    }
    assert.equal(s[0], 0, 'found a signature starting with 0x00');
    const short = s.subarray(1);
    const rawVerdict = verifyRaw('sha256', message, { key: rsa.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, short);
    assert.equal(rawVerdict, true, 'node:crypto accepts the 255-byte form');
    assert.equal(verifySignature(rsaKey, sig(rsaKey.id, 'rsapss', short), message), false);
    assert.equal(verifySignature(rsaKey, sig(rsaKey.id, 'rsapss', s), message), true);
    assert.equal(verifySignature(rsaKey, sig(rsaKey.id, 'rsapss', Buffer.concat([Buffer.from([0]), s])), message), false);
  });

  it('refuses RSA keys under 2048 bits for every RSA method, even with a valid signature', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const smallKey = publicKeyFromKeyObject(small.publicKey);
    assert.equal(toKeyObject(smallKey), null);
    assert.equal(verifySignature(smallKey, sig(smallKey.id, 'rsapss', pss(small.privateKey, 32)), MESSAGE), false);
    const v15 = cryptoSign('sha256', MESSAGE, { key: small.privateKey, padding: constants.RSA_PKCS1_PADDING });
    assert.equal(verifySignature(smallKey, sig(smallKey.id, 'rsapkcs1v15', v15), MESSAGE), false);
  });
});

describe('verifySignature: method and key must match', () => {
  const cases: Record<string, [PublicKey, string, () => Buffer]> = {
    'eddsa with an ecdsa key': [ecKey, 'eddsa', () => cryptoSign(null, MESSAGE, ed.privateKey)],
    'ecdsa with an ed25519 key': [edKey, 'ecdsa', () => ecdsaRaw(ec.privateKey)],
    'ecdsa with an rsa key': [rsaKey, 'ecdsa', () => ecdsaRaw(ec.privateKey)],
    'rsapss with an ecdsa key': [ecKey, 'rsapss', () => pss(rsa.privateKey, 32)],
    'an unknown method': [ecKey, 'ecdsa-sha512', () => ecdsaRaw(ec.privateKey)],
    'a prototype property as method': [ecKey, 'constructor', () => ecdsaRaw(ec.privateKey)],
    'a __proto__ method': [ecKey, '__proto__', () => ecdsaRaw(ec.privateKey)],
  };
  for (const [name, [key, method, make]] of Object.entries(cases)) {
    it(`returns false for ${name}`, () => assert.equal(verifySignature(key, sig(key.id, method, make()), MESSAGE), false));
  }

  it('returns false for an unknown key type and for a key without SPKI', () => {
    const unknown = makeNotaryPublicKey('dsa', 'AAAA');
    assert.equal(toKeyObject(unknown), null);
    assert.equal(verifySignature(unknown, sig(unknown.id, 'ecdsa', ecdsaRaw(ec.privateKey)), MESSAGE), false);
    const lying: PublicKey = { ...ecKey, algorithm: 'rsa' };
    assert.equal(verifySignature(lying, sig(ecKey.id, 'rsapss', ecdsaRaw(ec.privateKey)), MESSAGE), false);
  });

  it('refuses a key whose algorithm disagrees with its keytype (an inconsistent codec)', () => {
    const v15 = cryptoSign('sha256', MESSAGE, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PADDING });
    const confused: PublicKey = { ...rsaKey, keyType: 'ecdsa' };
    assert.equal(verifySignature(confused, sig(confused.id, 'ecdsa', v15), MESSAGE), false);
    assert.equal(verifySignature(confused, sig(confused.id, 'ecdsa-sha2-nistp256', v15), MESSAGE), false);
  });

  it('refuses a method other than the TUF 1.0 key scheme', () => {
    const tufKey: PublicKey = { ...edKey, scheme: 'ed25519' };
    const s = cryptoSign(null, MESSAGE, ed.privateKey);
    assert.equal(verifySignature(tufKey, sig(tufKey.id, 'ed25519', s), MESSAGE), true);
    assert.equal(verifySignature(tufKey, sig(tufKey.id, 'eddsa', s), MESSAGE), false);
  });

  it('never throws, whatever the signature bytes and method', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom('ecdsa', 'eddsa', 'rsapss', 'rsapkcs1v15', 'pycrypto-pkcs#1 pss', 'ed25519', 'ecdsa-sha2-nistp256', 'rsassa-pss-sha256', 'x'), fc.constantFrom(ecKey, edKey, rsaKey), (bytes, method, key) => {
        assert.equal(verifySignature(key, sig(key.id, method, Buffer.from(bytes)), MESSAGE), false);
      }),
      { numRuns: 150 },
    );
  });
});

describe('toKeyObject', () => {
  it('parses each PublicKey object once', () => {
    const a = toKeyObject(ecKey);
    assert.ok(a !== null);
    assert.equal(toKeyObject(ecKey), a);
    const copy: PublicKey = { ...ecKey };
    assert.notEqual(toKeyObject(copy), a, 'a distinct PublicKey object gets its own entry');
    assert.equal(a.asymmetricKeyType, 'ec');
  });

  it('refuses curves Go cannot parse (secp256k1)', () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const key = publicKeyFromKeyObject(k1.publicKey);
    assert.equal(toKeyObject(key), null);
    assert.equal(verifySignature(key, sig(key.id, 'ecdsa', ecdsaRaw(k1.privateKey)), MESSAGE), false);
  });
});
