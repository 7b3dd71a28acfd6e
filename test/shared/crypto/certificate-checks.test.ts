// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkDelegationCertificate, checkPathLength, checkRootCertificate, checkSignatureAlgorithm, matchCommonNameToGun } from '../../../shared/crypto/certificate-checks.js';
import { certificateSignerFromKeyObject, createSelfSignedCertificate } from '../../../shared/crypto/x509.js';
import { fixture, FIXTURE_NOW } from '../../support/paths.js';
import { fixtureKeys, opensslCertificate } from './fixture-keys.js';

const GUN = 'example.com/app';
const DAY = 24 * 60 * 60 * 1000;
const LEAF = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=codeSigning'];
const fixtureRoot = (): X509Certificate => fixtureKeys().get('efb000413ad5ca5493e0553395ada497db84ac22a4b371ffadd9096506e9e01a')!.certificates[0]!;

describe('matchCommonNameToGun', () => {
  const cases: [string, string, boolean][] = [
    ['example.com/app', 'example.com/app', true],
    ['example.com/app', 'example.com/app2', false],
    ['example.com/app', 'example.com/ap', false],
    ['example.com/*', 'example.com/app', true],
    ['example.com/**', 'example.com/app', true],
    ['example.com/*', 'example.org/app', false],
    ['example.com/a*', 'example.com/app', true],
    ['*', 'anything/at/all', true],
    ['example.com/app*x', 'example.com/app*x', true],
    ['example.com/app*x', 'example.com/appyx', false],
  ];
  for (const [cn, gun, ok] of cases) it(`${cn} ${ok ? 'matches' : 'does not match'} ${gun}`, () => assert.equal(matchCommonNameToGun(cn, gun), ok));
});

describe('checkRootCertificate', () => {
  let dir = '';
  const make = (name: string, opts: Parameters<typeof opensslCertificate>[2]): X509Certificate => new X509Certificate(opensslCertificate(dir, name, opts));
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'signet-certs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the fixture root certificate for example.com/app at FIXTURE_NOW', () => {
    assert.equal(checkRootCertificate(fixtureRoot(), GUN, FIXTURE_NOW), null);
  });

  it('refuses the fixture root certificate for another GUN', () => {
    assert.match(checkRootCertificate(fixtureRoot(), 'example.com/other', FIXTURE_NOW) ?? '', /common name "example.com\/app" does not match GUN "example.com\/other"/);
  });

  it('allows one day of clock skew on notBefore, not more', () => {
    const notBefore = new Date(fixtureRoot().validFrom).getTime();
    assert.equal(checkRootCertificate(fixtureRoot(), GUN, new Date(notBefore - DAY + 1000)), null);
    assert.match(checkRootCertificate(fixtureRoot(), GUN, new Date(notBefore - DAY - 1000)) ?? '', /not valid until/);
  });

  it('refuses the fixture root certificate once expired', () => {
    const notAfter = new Date(fixtureRoot().validTo).getTime();
    assert.equal(checkRootCertificate(fixtureRoot(), GUN, new Date(notAfter)), null);
    assert.match(checkRootCertificate(fixtureRoot(), GUN, new Date(notAfter + 1000)) ?? '', /expired/);
  });

  it('accepts an openssl leaf certificate shaped like notary root certificates', () => {
    assert.equal(checkRootCertificate(make('leaf', { subject: '/CN=example.com\\/app', ext: LEAF }), GUN, new Date()), null);
  });

  it('refuses an expired openssl certificate', () => {
    const cert = make('expired', { subject: '/CN=example.com\\/app', days: 1, ext: LEAF });
    assert.equal(checkRootCertificate(cert, GUN, new Date()), null);
    assert.match(checkRootCertificate(cert, GUN, new Date(Date.now() + 3 * DAY)) ?? '', /expired at/);
  });

  it('refuses a CA certificate (openssl default CA:TRUE)', () => {
    assert.match(checkRootCertificate(make('ca', { subject: '/CN=example.com\\/app' }), GUN, new Date()) ?? '', /CA certificate/);
  });

  it('reads CA-ness from BasicConstraints as Go does, even without keyCertSign', () => {
    const cert = make('ca-no-certsign', { subject: '/CN=example.com\\/app', ext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature'] });
    assert.equal(cert.ca, false, 'node:crypto does not call it a CA');
    assert.match(checkRootCertificate(cert, GUN, new Date()) ?? '', /CA certificate/);
  });

  it('refuses SHA-1 and MD5 signed certificates', () => {
    const sha1 = make('sha1', { subject: '/CN=example.com\\/app', key: 'rsa:2048', digest: 'sha1', ext: LEAF });
    assert.match(checkRootCertificate(sha1, GUN, new Date()) ?? '', /SHA-1 \(sha1WithRSAEncryption\)/);
    const md5 = make('md5', { subject: '/CN=example.com\\/app', key: 'rsa:2048', digest: 'md5', ext: LEAF });
    assert.match(checkRootCertificate(md5, GUN, new Date()) ?? '', /MD5 \(md5WithRSAEncryption\)/);
  });

  it('accepts RSA-PSS over SHA-256 and refuses RSA-PSS over SHA-1', () => {
    const pss = (digest: string): X509Certificate =>
      make(`pss-${digest}`, { subject: '/CN=example.com\\/app', key: 'rsa:2048', digest, ext: LEAF, extra: ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'] });
    assert.equal(checkRootCertificate(pss('sha256'), GUN, new Date()), null);
    assert.match(checkRootCertificate(pss('sha1'), GUN, new Date()) ?? '', /RSA-PSS over SHA-1/);
  });

  it('refuses an inverted validity window even when now lies in neither bound', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const good = new X509Certificate(
      await createSelfSignedCertificate({ commonName: GUN, publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }), sign: certificateSignerFromKeyObject(privateKey) }),
    );
    // Swap the dates, then re-sign so only the window is wrong.
    const cert = AsnConvert.parse(good.raw, Certificate);
    const { notBefore, notAfter } = cert.tbsCertificate.validity;
    cert.tbsCertificate.validity.notBefore = notAfter;
    cert.tbsCertificate.validity.notAfter = notBefore;
    const tbs = Buffer.from(AsnConvert.serialize(cert.tbsCertificate));
    cert.tbsCertificateRaw = undefined;
    cert.signatureValue = new Uint8Array(cryptoSign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' })).buffer;
    const inverted = new X509Certificate(Buffer.from(AsnConvert.serialize(cert)));
    assert.ok(inverted.verify(publicKey));
    assert.match(checkRootCertificate(inverted, GUN, new Date()) ?? '', /validity window is invalid/);
    assert.match(checkDelegationCertificate(inverted) ?? '', /validity window is invalid/);
  });

  it('refuses RSA keys under 2048 bits and accepts 2048', () => {
    const small = make('rsa1024', { subject: '/CN=example.com\\/app', key: 'rsa:1024', ext: LEAF });
    assert.match(checkRootCertificate(small, GUN, new Date()) ?? '', /RSA key of 1024 bits/);
    assert.equal(checkRootCertificate(make('rsa2048', { subject: '/CN=example.com\\/app', key: 'rsa:2048', ext: LEAF }), GUN, new Date()), null);
  });

  it('refuses an Ed25519 certificate key', () => {
    assert.match(checkRootCertificate(make('ed', { subject: '/CN=example.com\\/app', key: 'ed25519', digest: '', ext: LEAF }), GUN, new Date()) ?? '', /ed25519 key/);
  });

  it('uses the last CN of the subject, as Go does', () => {
    const cert = make('two-cn', { subject: '/CN=example.com\\/app/CN=example.com\\/other', ext: LEAF });
    assert.match(checkRootCertificate(cert, GUN, new Date()) ?? '', /"example.com\/other"/);
    assert.equal(checkRootCertificate(cert, 'example.com/other', new Date()), null);
  });

  it('refuses a certificate without a CN', () => {
    assert.match(checkRootCertificate(make('no-cn', { subject: '/O=example', ext: LEAF }), GUN, new Date()) ?? '', /no common name/);
  });
});

describe('checkDelegationCertificate', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'signet-certs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the fixture delegate certificates, CA:TRUE included', () => {
    for (const name of ['releases', 'jenkins']) {
      const cert = new X509Certificate(readFileSync(fixture('delegate-keys', `${name}.crt`)));
      assert.equal(checkDelegationCertificate(cert), null, name);
    }
  });

  it('ignores expiry, as notary does', async () => {
    // notary checks delegation certificates with checkExpiry=false: the role's own expiry governs.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = await createSelfSignedCertificate({
      commonName: 'delegate',
      publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
      notBefore: new Date('2001-01-01T00:00:00Z'),
      notAfter: new Date('2002-01-01T00:00:00Z'),
      sign: certificateSignerFromKeyObject(privateKey),
    });
    const cert = new X509Certificate(pem);
    assert.equal(checkDelegationCertificate(cert), null);
    assert.match(checkRootCertificate(cert, 'delegate', new Date()) ?? '', /expired at 2002-01-01/);
  });

  it('refuses SHA-1 and short RSA', () => {
    assert.match(checkDelegationCertificate(new X509Certificate(opensslCertificate(dir, 's1', { subject: '/CN=d', digest: 'sha1' }))) ?? '', /SHA-1/);
    assert.match(checkDelegationCertificate(new X509Certificate(opensslCertificate(dir, 'r1', { subject: '/CN=d', key: 'rsa:1024' }))) ?? '', /1024 bits/);
  });
});

describe('checkSignatureAlgorithm and checkPathLength (for token-signing chains)', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'signet-certs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const make = (name: string, opts: Parameters<typeof opensslCertificate>[2]): X509Certificate => new X509Certificate(opensslCertificate(dir, name, opts));

  it('refuses SHA-1 and MD5 signatures by name, accepts SHA-256', () => {
    assert.equal(checkSignatureAlgorithm(make('ok', { subject: '/CN=ok' })), null);
    assert.equal(checkSignatureAlgorithm(make('s1', { subject: '/CN=s1', digest: 'sha1' })), 'certificate is signed with SHA-1 (ecdsa-with-SHA1); reissue it with SHA-256');
    assert.equal(checkSignatureAlgorithm(make('m5', { subject: '/CN=m5', key: 'rsa:2048', digest: 'md5' })), 'certificate is signed with MD5 (md5WithRSAEncryption); reissue it with SHA-256');
  });

  it('holds a CA to its pathLenConstraint; no constraint means no limit', () => {
    const zero = make('pl0', { subject: '/CN=pl0', ext: ['basicConstraints=critical,CA:TRUE,pathlen:0'] });
    assert.equal(checkPathLength(zero, 0), null);
    assert.match(checkPathLength(zero, 1) ?? '', /allows at most 0 intermediate CA certificate\(s\) below it \(pathLenConstraint\) but the chain has 1/);
    const two = make('pl2', { subject: '/CN=pl2', ext: ['basicConstraints=critical,CA:TRUE,pathlen:2'] });
    assert.equal(checkPathLength(two, 2), null);
    assert.match(checkPathLength(two, 3) ?? '', /at most 2/);
    assert.equal(checkPathLength(make('any', { subject: '/CN=any', ext: ['basicConstraints=critical,CA:TRUE'] }), 7), null);
  });
});
