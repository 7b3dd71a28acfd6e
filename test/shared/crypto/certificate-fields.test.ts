// SPDX-License-Identifier: Apache-2.0
// The small DER reader behind the certificate rules, checked against the
// @peculiar ASN.1 schema parser on every certificate we can make or find, and
// fuzzed: damaged DER is a DerError, never another exception.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicConstraints, Certificate, id_ce_basicConstraints } from '@peculiar/asn1-x509';
import fc from 'fast-check';
import { readCertificateFields } from '../../../shared/crypto/certificate-fields.js';
import { DerError } from '../../../shared/crypto/der-tlv.js';
import { fixture } from '../../support/paths.js';
import { fixtureKeys, opensslCertificate } from './fixture-keys.js';

/** The same fields read with the schema library. */
function reference(der: Buffer): { commonNames: string[]; isCa: boolean; maxPathLen: number | null; notBefore: number; notAfter: number; inner: Buffer; outer: Buffer } {
  const cert = AsnConvert.parse(der, Certificate);
  const commonNames: string[] = [];
  for (const rdn of cert.tbsCertificate.subject) for (const atv of rdn) if (atv.type === '2.5.4.3') commonNames.push(atv.value.toString());
  let isCa = false;
  let maxPathLen: number | null = null;
  for (const ext of cert.tbsCertificate.extensions ?? []) {
    if (ext.extnID !== id_ce_basicConstraints) continue;
    const bc = AsnConvert.parse(ext.extnValue, BasicConstraints);
    isCa = bc.cA;
    maxPathLen = bc.pathLenConstraint ?? null;
  }
  return {
    commonNames,
    isCa,
    maxPathLen,
    notBefore: cert.tbsCertificate.validity.notBefore.getTime().getTime(),
    notAfter: cert.tbsCertificate.validity.notAfter.getTime().getTime(),
    inner: Buffer.from(AsnConvert.serialize(cert.tbsCertificate.signature)),
    outer: Buffer.from(AsnConvert.serialize(cert.signatureAlgorithm)),
  };
}

describe('readCertificateFields', () => {
  let dir = '';
  const certs: Array<[string, Buffer]> = [];
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'signet-cert-fields-'));
    const make = (name: string, opts: Parameters<typeof opensslCertificate>[2]) => certs.push([name, new X509Certificate(opensslCertificate(dir, name, opts)).raw]);
    make('ec-leaf', { subject: '/CN=example.com\\/app', ext: ['basicConstraints=critical,CA:FALSE'] });
    make('ca-default', { subject: '/O=Org/CN=first/CN=last' });
    make('rsa-pss', { subject: '/CN=pss', key: 'rsa:2048', digest: 'sha256', extra: ['-sigopt', 'rsa_padding_mode:pss'] });
    make('rsa-sha1', { subject: '/CN=old', key: 'rsa:2048', digest: 'sha1' });
    make('ed25519', { subject: '/CN=ed', key: 'ed25519', digest: '' });
    make('utf8-cn', { subject: '/CN=r\u00e9pertoire', extra: ['-utf8'] });
    make('no-cn', { subject: '/O=nobody', ext: ['basicConstraints=CA:TRUE,pathlen:2'] });
    make('pathlen-0', { subject: '/CN=ca0', ext: ['basicConstraints=critical,CA:TRUE,pathlen:0'] });
    make('after-2050', { subject: '/CN=long', days: 12000 });
    for (const [i, k] of [...fixtureKeys().values()].entries()) for (const c of k.certificates ?? []) certs.push([`fixture-${i}`, c.raw]);
    for (const name of ['releases.crt', 'jenkins.crt']) certs.push([name, new X509Certificate(readFileSync(fixture('delegate-keys', name))).raw]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what the schema parser reads, on every certificate', () => {
    assert.ok(certs.length >= 10, `only ${certs.length} certificates`);
    for (const [name, der] of certs) {
      const ours = readCertificateFields(der);
      const ref = reference(der);
      assert.deepEqual(ours.commonNames, ref.commonNames, name);
      assert.equal(ours.isCa, ref.isCa, name);
      assert.equal(ours.maxPathLen, ref.maxPathLen, name);
      assert.equal(ours.notBefore.getTime(), ref.notBefore, name);
      assert.equal(ours.notAfter.getTime(), ref.notAfter, name);
      assert.deepEqual(ours.innerSignature.raw, ref.inner, name);
      assert.deepEqual(ours.outerSignature.raw, ref.outer, name);
    }
    const byName = new Map(certs);
    assert.deepEqual(readCertificateFields(byName.get('ca-default')!).commonNames, ['first', 'last']);
    assert.equal(readCertificateFields(byName.get('ca-default')!).isCa, true);
    assert.equal(readCertificateFields(byName.get('ec-leaf')!).isCa, false);
    assert.equal(readCertificateFields(byName.get('ec-leaf')!).maxPathLen, null);
    assert.equal(readCertificateFields(byName.get('no-cn')!).maxPathLen, 2);
    assert.equal(readCertificateFields(byName.get('pathlen-0')!).maxPathLen, 0);
    assert.deepEqual(readCertificateFields(byName.get('utf8-cn')!).commonNames, ['r\u00e9pertoire']);
    assert.ok(readCertificateFields(byName.get('after-2050')!).notAfter.getUTCFullYear() > 2050);
  });

  it('refuses trailing bytes, truncation and indefinite lengths', () => {
    const der = certs[0]![1];
    assert.throws(() => readCertificateFields(Buffer.concat([der, Buffer.from([0])])), DerError);
    assert.throws(() => readCertificateFields(der.subarray(0, der.length - 1)), DerError);
    const indefinite = Buffer.from(der);
    indefinite[1] = 0x80;
    assert.throws(() => readCertificateFields(indefinite), DerError);
  });

  it('damaged DER is a DerError or still a certificate, never another error', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (which, at, byte) => {
        const der = Buffer.from(certs[which % certs.length]![1]);
        der[at % der.length] = byte;
        try {
          readCertificateFields(der);
        } catch (error) {
          assert.ok(error instanceof DerError, String(error));
        }
      }),
      { numRuns: 3000 },
    );
  });
});
