// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign, X509Certificate, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { canonicalKeyId, publicKeyFromCertificatePem } from '../../../shared/codec/notary-keys.js';
import { p1363ToDer } from '../../../shared/crypto/der.js';
import {
  certificateSignerFromKeyObject,
  certificateToPem,
  checkRootCertificate,
  createSelfSignedCertificate,
  ROOT_CERTIFICATE_VALIDITY_MS,
} from '../../../shared/crypto/x509.js';
import { CryptoError, KeyStoreError, TokenError } from '../../../shared/errors.js';
import { fixture } from '../../support/paths.js';
import { fixtureKeys, openssl, withTempDir } from './fixture-keys.js';

const GUN = 'example.com/app';
const spkiOf = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

function fixtureRootCertificate(): X509Certificate {
  return fixtureKeys().get('efb000413ad5ca5493e0553395ada497db84ac22a4b371ffadd9096506e9e01a')!.certificates[0]!;
}

const der = (pem: string): Buffer => new X509Certificate(pem).raw;
const asn = (raw: Buffer): Certificate => AsnConvert.parse(raw, Certificate);
const field = (value: object): string => Buffer.from(AsnConvert.serialize(value)).toString('hex');

describe('createSelfSignedCertificate', () => {
  it('makes an ECDSA certificate that openssl reads as notary makes them', async () => {
    const pem = await createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(ec.publicKey), sign: certificateSignerFromKeyObject(ec.privateKey) });
    await withTempDir((dir) => {
      const file = path.join(dir, 'root.crt');
      writeFileSync(file, pem);
      const text = openssl('x509', '-in', file, '-noout', '-text');
      assert.match(text, /Version: 3 \(0x2\)/);
      assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
      assert.match(text, /Issuer: CN = example.com\/app\n/);
      assert.match(text, /Subject: CN = example.com\/app\n/);
      assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
      assert.match(text, /X509v3 Extended Key Usage: \n\s+Code Signing\n/);
      assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
      assert.doesNotMatch(text, /Key Identifier/);
      // openssl agrees the self-signature is valid
      assert.match(openssl('verify', '-CAfile', file, '-partial_chain', file), /: OK/);
    });
    assert.equal(checkRootCertificate(new X509Certificate(pem), GUN, new Date()), null);
  });

  it('matches the fixture root certificate field for field except key, serial, dates and signature', async () => {
    const fixtureCert = asn(fixtureRootCertificate().raw);
    const ours = asn(der(await createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(ec.publicKey), sign: certificateSignerFromKeyObject(ec.privateKey) })));
    const a = ours.tbsCertificate;
    const b = fixtureCert.tbsCertificate;
    assert.equal(a.version, b.version);
    assert.equal(field(a.signature), field(b.signature));
    assert.equal(field(a.issuer), field(b.issuer));
    assert.equal(field(a.subject), field(b.subject));
    assert.equal(field(a.extensions!), field(b.extensions!));
    assert.equal(field(ours.signatureAlgorithm), field(fixtureCert.signatureAlgorithm));
    assert.equal(new Uint8Array(a.serialNumber).length <= 17, true);
    assert.equal(a.validity.notBefore.utcTime !== undefined && a.validity.notAfter.utcTime !== undefined, true, 'UTCTime before 2050');
  });

  it('writes PEM in Go layout: 64-character lines and a final newline', async () => {
    const pem = await createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(ec.publicKey), sign: certificateSignerFromKeyObject(ec.privateKey) });
    const lines = pem.split('\n');
    assert.equal(lines[0], '-----BEGIN CERTIFICATE-----');
    assert.ok(pem.endsWith('\n-----END CERTIFICATE-----\n'));
    const body = lines.slice(1, -2);
    assert.ok(body.slice(0, -1).every((l) => l.length === 64));
    assert.ok(body.at(-1)!.length <= 64 && body.at(-1)!.length > 0);
    // Same layout as the fixture: re-encoding the fixture DER gives back its PEM text exactly.
    const fixturePem = Buffer.from(fixtureKeys().get('efb000413ad5ca5493e0553395ada497db84ac22a4b371ffadd9096506e9e01a')!.publicValue, 'base64').toString('utf8');
    assert.equal(certificateToPem(fixtureRootCertificate().raw), fixturePem);
  });

  it('defaults to 3650 days from now and takes explicit dates, truncated to seconds', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const cert = new X509Certificate(await createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(ec.publicKey), sign: certificateSignerFromKeyObject(ec.privateKey) }));
    const from = Date.parse(cert.validFrom);
    assert.ok(from >= before && from <= Date.now());
    assert.equal(Date.parse(cert.validTo) - from, ROOT_CERTIFICATE_VALIDITY_MS);
    const explicit = new X509Certificate(
      await createSelfSignedCertificate({
        commonName: GUN,
        publicKeySpki: spkiOf(ec.publicKey),
        notBefore: new Date('2040-01-02T03:04:05.678Z'),
        notAfter: new Date('2051-01-01T00:00:00Z'),
        sign: certificateSignerFromKeyObject(ec.privateKey),
      }),
    );
    assert.equal(new Date(explicit.validFrom).toISOString(), '2040-01-02T03:04:05.000Z');
    assert.equal(new Date(explicit.validTo).toISOString(), '2051-01-01T00:00:00.000Z');
    assert.ok(asn(explicit.raw).tbsCertificate.validity.notAfter.generalTime !== undefined, 'GeneralizedTime from 2050');
  });

  it('makes RSA certificates with sha256WithRSAEncryption and a NULL parameter', async () => {
    const pem = await createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(rsa.publicKey), sign: certificateSignerFromKeyObject(rsa.privateKey) });
    const cert = asn(der(pem));
    assert.equal(field(cert.signatureAlgorithm), '300d06092a864886f70d01010b0500');
    assert.equal(checkRootCertificate(new X509Certificate(pem), GUN, new Date()), null);
  });

  it('writes a wildcard CN as UTF8String, as Go does', async () => {
    const pem = await createSelfSignedCertificate({ commonName: 'example.com/*', publicKeySpki: spkiOf(ec.publicKey), sign: certificateSignerFromKeyObject(ec.privateKey) });
    const cn = asn(der(pem)).tbsCertificate.subject[0]![0]!.value;
    assert.equal(cn.utf8String, 'example.com/*');
    assert.equal(checkRootCertificate(new X509Certificate(pem), 'example.com/app', new Date()), null);
  });

  it('accepts a token-style raw r‖s signer through p1363ToDer', async () => {
    const sign = async (tbs: Buffer): Promise<Buffer> => p1363ToDer(cryptoSign('sha256', tbs, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }));
    const pem = await createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(ec.publicKey), sign });
    assert.ok(new X509Certificate(pem).verify(ec.publicKey));
  });

  const failsWith = (code: string) => (e: unknown) => e instanceof CryptoError && e.code === code;

  it('refuses a signature that does not verify: raw r‖s, wrong key, PSS for RSA', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bad: Record<string, [KeyObject, (tbs: Buffer) => Promise<Buffer>]> = {
      'raw r‖s': [ec.publicKey, async (tbs) => cryptoSign('sha256', tbs, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })],
      'another key': [ec.publicKey, certificateSignerFromKeyObject(other.privateKey)],
      'RSA-PSS': [rsa.publicKey, async (tbs) => cryptoSign('sha256', tbs, { key: rsa.privateKey, padding: 6, saltLength: 32 })],
    };
    for (const [name, [pub, sign]] of Object.entries(bad)) {
      await assert.rejects(createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(pub), sign }), failsWith('SIGNING_FAILED'), name);
    }
  });

  it('wraps a failing signer', async () => {
    await assert.rejects(
      createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(ec.publicKey), sign: async () => Promise.reject(new Error('token removed')) }),
      (e: unknown) => failsWith('SIGNING_FAILED')(e) && (e as Error).cause instanceof Error,
    );
  });

  it("passes a key store's own error (a missing or wrong PIN, a passphrase) through unchanged", async () => {
    for (const own of [new TokenError('PASSPHRASE_REQUIRED', 'token t needs its user PIN: set SIGNET_PKCS11_PIN'), new KeyStoreError('PASSPHRASE_WRONG', 'wrong passphrase')]) {
      await assert.rejects(createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(ec.publicKey), sign: async () => Promise.reject(own) }), (e: unknown) => e === own);
    }
  });

  it('refuses Ed25519 and short RSA keys, empty CN and inverted dates', async () => {
    const ed = generateKeyPairSync('ed25519');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const sign = certificateSignerFromKeyObject(ec.privateKey);
    await assert.rejects(createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(ed.publicKey), sign }), failsWith('UNSUPPORTED_ALGORITHM'));
    await assert.rejects(createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(small.publicKey), sign }), failsWith('INVALID_KEY'));
    await assert.rejects(createSelfSignedCertificate({ commonName: GUN, publicKeySpki: Buffer.from('3000', 'hex'), sign }), failsWith('INVALID_KEY'));
    await assert.rejects(createSelfSignedCertificate({ commonName: '', publicKeySpki: spkiOf(ec.publicKey), sign }), failsWith('INVALID_CERTIFICATE'));
    const when = new Date('2030-01-01T00:00:00Z');
    await assert.rejects(createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(ec.publicKey), notBefore: when, notAfter: when, sign }), failsWith('INVALID_CERTIFICATE'));
  });

  it('the notary CLI (Go crypto/x509) accepts our certificates and re-encodes them to the same PEM', async () => {
    await withTempDir(async (dir) => {
      const trustDir = path.join(dir, 'trust');
      cpSync(fixture('trust_dir', 'owner'), trustDir, { recursive: true });
      const ours: string[] = [];
      for (const [role, pair] of [
        ['targets/ec', ec],
        ['targets/rsa', rsa],
      ] as const) {
        const pem = await createSelfSignedCertificate({ commonName: role, publicKeySpki: spkiOf(pair.publicKey), sign: certificateSignerFromKeyObject(pair.privateKey) });
        ours.push(pem);
        const certFile = path.join(dir, `${role.replace('/', '-')}.crt`);
        writeFileSync(certFile, pem);
        // `delegation add` without -p only stages a change: it parses and validates
        // the certificate with notary's own code (ParsePEMPublicKey, ValidateCertificate).
        const out = execFileSync('notary', ['-d', trustDir, '-s', 'http://127.0.0.1:1', 'delegation', 'add', 'example.com/app', role, certFile, '--all-paths'], { encoding: 'utf8' });
        assert.match(out, new RegExp(canonicalKeyId(publicKeyFromCertificatePem(pem))));
      }
      const changes = path.join(trustDir, 'tuf', 'example.com', 'app', 'changelist');
      const staged = readdirSync(changes)
        .map((f) => JSON.parse(Buffer.from((JSON.parse(readFileSync(path.join(changes, f), 'utf8')) as { data: string }).data, 'base64').toString('utf8')) as { add_keys?: { keyval: { public: string } }[] })
        .flatMap((d) => d.add_keys ?? [])
        .map((k) => Buffer.from(k.keyval.public, 'base64').toString('utf8'));
      assert.deepEqual(staged.sort(), ours.sort(), 'notary stores the very PEM text we produced');
    });
  });

  it('uses a fresh random serial each time', async () => {
    const make = async (): Promise<string> =>
      new X509Certificate(await createSelfSignedCertificate({ commonName: GUN, publicKeySpki: spkiOf(ec.publicKey), sign: certificateSignerFromKeyObject(ec.privateKey) })).serialNumber;
    const [a, b] = [await make(), await make()];
    assert.notEqual(a, b);
    assert.ok(a.length >= 24 && a.length <= 34, `serial ${a} is about 128 bits`);
  });
});
