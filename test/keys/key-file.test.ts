// SPDX-License-Identifier: Apache-2.0
// Key file codec against the keys the real notary wrote (fixtures) and against
// standard encoders (node:crypto, openssl).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { KeyStoreError } from '../../shared/errors.js';
import { children, parseOne, readOid, TAG } from '../../shared/crypto/der-tlv.js';
import { encodeEncryptedKeyFile, encodePlainKeyFile, parseKeyFile, unlockKeyFile } from '../../keys/key-file.js';
import { parsePemBlocks } from '../../keys/pem.js';
import { decryptPkcs8, parseEncryptedPkcs8 } from '../../keys/pbes2.js';
import { fromPkcs8, OID, toNotaryPkcs8 } from '../../keys/pkcs8.js';
import { assertKeyPairConsistent, signerFor } from '../../keys/unlock.js';
import { fixture } from '../support/paths.js';
import { FIXTURE_PASS_BY_ROLE, FIXTURE_TRUST_DIRS, fixturePrivateDir, openssl, stripPemHeaders, verifyNotarySignature } from './support/helpers.js';

interface FixtureFile { trust_dir: string; file: string; pem_headers: Record<string, string> }
const derived = JSON.parse(fs.readFileSync(fixture('derived', 'ids-and-hashes.json'), 'utf8')) as { private_key_files: FixtureFile[] };

const fixtureFiles = FIXTURE_TRUST_DIRS.flatMap((d) => fs.readdirSync(fixturePrivateDir(d)).map((f) => ({ dir: d, name: f, path: path.join(fixturePrivateDir(d), f) })));

function plaintextOf(p: string, pass: string): Buffer {
  const file = parseKeyFile(fs.readFileSync(p), p);
  assert.equal(file.content.kind, 'encrypted-pkcs8');
  if (file.content.kind !== 'encrypted-pkcs8') throw new Error('unreachable');
  const plain = decryptPkcs8(file.content.info, pass);
  assert.ok(plain);
  return plain;
}

describe('notary-written key files (fixtures)', () => {
  test('there are 7 fixture key files', () => assert.equal(fixtureFiles.length, 7));

  for (const f of fixtureFiles) {
    test(`${f.dir}/${f.name}: decrypts with the documented passphrase, name = canonical key ID, signs`, async () => {
      const file = parseKeyFile(fs.readFileSync(f.path), f.path);
      const expected = derived.private_key_files.find((x) => x.trust_dir === f.dir && x.file === `private/${f.name}`);
      assert.ok(expected);
      assert.deepEqual({ role: file.role, gun: file.gun }, { role: expected.pem_headers.role, gun: expected.pem_headers.gun });
      const key = unlockKeyFile(file, FIXTURE_PASS_BY_ROLE[file.role!]!, f.path);
      assert.ok(key, 'documented passphrase must decrypt');
      assert.equal(`${publicKeyFromKeyObject(key).id}.key`, f.name);
      assertKeyPairConsistent(key, f.path);
      assert.equal(unlockKeyFile(file, 'not-the-passphrase', f.path), null);
      const data = Buffer.from('{"signed":"bytes"}');
      const sig = await signerFor(key).sign(data);
      assert.equal(sig.method, key.asymmetricKeyType === 'rsa' ? 'rsapss' : 'ecdsa');
      assert.ok(verifyNotarySignature(createPublicKey(key), data, sig));
      assert.ok(!verifyNotarySignature(createPublicKey(key), Buffer.from('other'), sig));
    });
  }

  test('our plaintext PKCS#8 is byte-identical to notary\'s (ECDSA version 1, RSA without NULL)', () => {
    const seen = new Set<string>();
    for (const f of fixtureFiles) {
      const role = parseKeyFile(fs.readFileSync(f.path), f.path).role!;
      const plain = plaintextOf(f.path, FIXTURE_PASS_BY_ROLE[role]!);
      const key = fromPkcs8(plain);
      seen.add(key.asymmetricKeyType!);
      assert.deepEqual(toNotaryPkcs8(key), plain, f.path);
    }
    assert.deepEqual([...seen].sort(), ['ec', 'rsa']);
  });

  test('encryption parameters and DER skeleton match notary: PBES2, PBKDF2-SHA1 (no PRF), 2048 iterations, 8-byte salt, AES-256-CBC', () => {
    const f = fixtureFiles.find((x) => x.dir === 'owner' && x.name.startsWith('9d2559'))!;
    const theirs = parsePemBlocks(fs.readFileSync(f.path, 'utf8'))[0]!.bytes;
    const key = fromPkcs8(plaintextOf(f.path, 'fixture-root-pass'));
    const ours = parsePemBlocks(encodeEncryptedKeyFile(key, 'root', undefined, 'pw'))[0]!.bytes;
    for (const der of [theirs, ours]) {
      const info = parseEncryptedPkcs8(der);
      assert.deepEqual([info.digest, info.iterations, info.salt.length, info.cipher, info.iv.length], ['sha1', 2048, 8, 'aes-256-cbc', 16]);
    }
    // Same length, and equal once salt, IV and ciphertext are blanked: the same ASN.1 down to the byte.
    const blank = (der: Buffer): Buffer => {
      const info = parseEncryptedPkcs8(der);
      const out = Buffer.from(der);
      for (const part of [info.salt, info.iv, info.ciphertext]) out.fill(0, part.byteOffset - der.byteOffset, part.byteOffset - der.byteOffset + part.length);
      return out;
    };
    assert.deepEqual(blank(ours), blank(theirs));
  });

  test('PEM text layout matches notary: sorted headers, blank line, 64-column base64', () => {
    const f = fixtureFiles.find((x) => x.dir === 'owner' && x.name.startsWith('50c5db'))!;
    const theirs = fs.readFileSync(f.path, 'utf8');
    const key = fromPkcs8(plaintextOf(f.path, 'fixture-targets-pass'));
    const ours = encodeEncryptedKeyFile(key, 'targets', 'example.com/app', 'pw');
    const shape = (t: string): string => t.replace(/^[A-Za-z0-9+/=]+$/gm, (l) => `<${l.length}>`);
    assert.equal(shape(ours), shape(theirs));
    assert.match(ours, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com\/app\nrole: targets\n\n/);
  });
});

describe('headers by role', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const cases: Record<string, [string, string | undefined, string]> = {
    'root drops the gun': ['root', 'example.com/app', 'role: root\n\n'],
    'targets keeps it': ['targets', 'g', 'gun: g\nrole: targets\n\n'],
    'snapshot keeps it': ['snapshot', 'g', 'gun: g\nrole: snapshot\n\n'],
    'timestamp keeps it': ['timestamp', 'g', 'gun: g\nrole: timestamp\n\n'],
    'delegation drops it': ['targets/releases', 'g', 'role: targets/releases\n\n'],
  };
  for (const [name, [role, gun, headers]] of Object.entries(cases)) {
    test(name, () => assert.ok(encodeEncryptedKeyFile(key, role, gun, 'pw').startsWith(`-----BEGIN ENCRYPTED PRIVATE KEY-----\n${headers}`)));
  }
});

describe('Ed25519', () => {
  test('written with notary\'s OID and 96-byte public‖seed‖public body, read back', () => {
    const key = generateKeyPairSync('ed25519').privateKey;
    const der = toNotaryPkcs8(key);
    const top = children(parseOne(der, TAG.SEQUENCE, 'pkcs8'));
    assert.equal(readOid(children(top[1]!)[0], 'alg'), OID.ED25519_NOTARY);
    const body = top[2]!.value;
    const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12);
    const seed = key.export({ format: 'der', type: 'pkcs8' }).subarray(16);
    assert.deepEqual(body, Buffer.concat([pub, seed, pub]));
    assert.equal(publicKeyFromKeyObject(fromPkcs8(der)).id, publicKeyFromKeyObject(key).id);
  });

  test('a body whose public halves do not belong to the seed is refused', () => {
    const der = Buffer.from(toNotaryPkcs8(generateKeyPairSync('ed25519').privateKey));
    der[der.length - 1]! ^= 1;
    assert.throws(() => fromPkcs8(der), /public key does not belong/);
  });
});

describe('standard forms are read too', () => {
  const forms: Array<[string, () => { pem: string; pass?: string; key: ReturnType<typeof generateKeyPairSync>['privateKey'] }]> = [
    ['RFC 8410 Ed25519 PKCS#8', () => { const key = generateKeyPairSync('ed25519').privateKey; return { key, pem: key.export({ format: 'pem', type: 'pkcs8' }) as string }; }],
    ['RSA PKCS#8 with NULL parameters', () => { const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey; return { key, pem: key.export({ format: 'pem', type: 'pkcs8' }) as string }; }],
    ['EC PKCS#8 version 0 (node)', () => { const key = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey; return { key, pem: key.export({ format: 'pem', type: 'pkcs8' }) as string }; }],
    ['node encrypted PKCS#8 (PRF hmacWithSHA256)', () => { const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey; return { key, pass: 'pw', pem: key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string }; }],
    ['node encrypted PKCS#8 with AES-128-CBC', () => { const key = generateKeyPairSync('ed25519').privateKey; return { key, pass: 'pw', pem: key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-128-cbc', passphrase: 'pw' }) as string }; }],
    ['openssl pkcs8 -v2 aes256 -v2prf hmacWithSHA512', () => {
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const pem = openssl(['pkcs8', '-topk8', '-v2', 'aes256', '-v2prf', 'hmacWithSHA512', '-passout', 'pass:pw'], key.export({ format: 'pem', type: 'pkcs8' })).toString();
      return { key, pass: 'pw', pem };
    }],
  ];
  for (const [name, make] of forms) {
    test(name, () => {
      const { key, pem, pass } = make();
      const file = parseKeyFile(Buffer.from(pem), 'x');
      const got = unlockKeyFile(file, pass ?? '', 'x');
      assert.ok(got);
      assert.equal(publicKeyFromKeyObject(got).id, publicKeyFromKeyObject(key).id);
      if (pass !== undefined) assert.equal(unlockKeyFile(file, 'wrong', 'x'), null);
    });
  }

  test('the unencrypted export form is PKCS#8 node and openssl read once the headers are stripped', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pem = encodePlainKeyFile(key, 'targets', 'g');
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\ngun: g\nrole: targets\n\n/);
    const back = createPrivateKey(stripPemHeaders(pem));
    assert.equal(publicKeyFromKeyObject(back).id, publicKeyFromKeyObject(key).id);
    assert.match(openssl(['pkey', '-noout', '-text'], stripPemHeaders(pem)).toString(), /Private-Key: \(256 bit/);
  });
});

describe('garbage in, KEY_FILE_INVALID out', () => {
  const isInvalid = (e: unknown): boolean => e instanceof KeyStoreError && e.code === 'KEY_FILE_INVALID' && e.message.includes('/some/file.key');

  test('arbitrary bytes never crash the parser', () => {
    const pemish = fc
      .array(fc.constantFrom('-----BEGIN PRIVATE KEY-----', '-----END PRIVATE KEY-----', '-----BEGIN EC PRIVATE KEY-----', '-----END EC PRIVATE KEY-----', 'role: x', 'role: y', 'Proc-Type: 4,ENCRYPTED', 'DEK-Info: AES-256-CBC,00', '', 'MAA=', 'AAAA', '=', ':', '\r'), { maxLength: 12 })
      .map((lines) => new TextEncoder().encode(lines.join('\n')));
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), pemish), (bytes) => {
      assert.throws(() => parseKeyFile(Buffer.from(bytes), '/some/file.key'), isInvalid);
    }), { numRuns: 300 });
  });

  test('arbitrary bytes inside every key PEM armor', () => {
    const types = ['ENCRYPTED PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY', 'ED25519 PRIVATE KEY'];
    fc.assert(fc.property(fc.constantFrom(...types), fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.boolean(), (type, bytes, encrypted) => {
      const headers = encrypted && type.length < 20 ? 'Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n' : 'role: root\n\n';
      const text = `-----BEGIN ${type}-----\n${headers}${Buffer.from(bytes).toString('base64')}\n-----END ${type}-----\n`;
      try {
        const file = parseKeyFile(Buffer.from(text), '/some/file.key');
        // A structurally valid encrypted container may parse; decrypting garbage must then fail cleanly.
        assert.notEqual(file.content.kind, 'plain');
        try {
          assert.equal(unlockKeyFile(file, 'pw', '/some/file.key'), null);
        } catch (e) {
          assert.ok(isInvalid(e), String(e));
        }
      } catch (e) {
        assert.ok(isInvalid(e), String(e));
      }
    }), { numRuns: 300 });
  });

  test('single-byte corruptions of a notary key file: KEY_FILE_INVALID or a failed unlock, never a crash', () => {
    const f = fixtureFiles.find((x) => x.name.startsWith('50c5db'))!;
    const der = parsePemBlocks(fs.readFileSync(f.path, 'utf8'))[0]!.bytes;
    fc.assert(fc.property(fc.nat({ max: der.length - 1 }), fc.integer({ min: 1, max: 255 }), (pos, x) => {
      const bad = Buffer.from(der);
      bad[pos]! ^= x;
      const text = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${bad.toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
      try {
        const key = unlockKeyFile(parseKeyFile(Buffer.from(text), '/some/file.key'), 'fixture-targets-pass', '/some/file.key');
        // Usually null (padding or DER broken). A garbled block can still decode to some key; the
        // stores' ID and pair checks (tested elsewhere) stand between such a key and a signature.
        assert.ok(key === null || key.type === 'private');
      } catch (e) {
        assert.ok(isInvalid(e), String(e));
      }
    }), { numRuns: 200 });
  });

  test('a private scalar paired with another key\'s public point is refused', () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'sec1' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'sec1' });
    const mixed = Buffer.concat([a.subarray(0, a.length - 65), b.subarray(b.length - 65)]);
    const key = createPrivateKey({ key: mixed, format: 'der', type: 'sec1' });
    assert.throws(() => assertKeyPairConsistent(key, '/k.key'), (e: unknown) => e instanceof KeyStoreError && e.code === 'KEY_FILE_INVALID' && e.message.includes('/k.key'));
  });

  test('a PEM with two private keys is refused; an EC PARAMETERS block before the key is skipped', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'sec1' }) as string;
    assert.throws(() => parseKeyFile(Buffer.from(pem + pem), '/some/file.key'), /2 private key blocks/);
    const params = openssl(['ecparam', '-name', 'prime256v1']).toString();
    assert.equal(parseKeyFile(Buffer.from(params + pem), 'x').content.kind, 'plain');
  });
});
