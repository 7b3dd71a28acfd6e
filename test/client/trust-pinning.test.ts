// SPDX-License-Identifier: Apache-2.0
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkRootPinning, pinModeFor } from '../../client/trust-pinning.js';
import type { TrustPinningConfig } from '../../client/config.js';
import { newRoot, signMetadata } from '../../client/metadata.js';
import { makeNotaryPublicKey, publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { notaryCodec } from '../../shared/codec/notary.js';
import { certificateToPem, createKeyObjectSigner } from '../../shared/crypto/index.js';
import { ConfigError, RepositoryError } from '../../shared/errors.js';
import type { Envelope, Root } from '../../shared/tuf/model.js';
import { fixture } from '../support/paths.js';

const GUN = 'example.com/pinned';
const cfg = (c: Partial<{ certs: Record<string, string[]>; ca: Record<string, string>; disableTofu: boolean }>): TrustPinningConfig => ({
  certs: new Map(Object.entries(c.certs ?? {})),
  ca: new Map(Object.entries(c.ca ?? {})),
  disableTofu: c.disableTofu ?? false,
});
const untrusted = (re: RegExp) => (e: unknown): boolean => e instanceof RepositoryError && e.code === 'UNTRUSTED_ROOT' && re.test(e.message);

describe('pinModeFor', () => {
  it('follows notary precedence: exact certs, longest wildcard, longest CA prefix, TOFU', () => {
    const c = cfg({ certs: { 'a/b': ['1'], 'a/*': ['2'], 'a/b*': ['3'] }, ca: { 'a/': '/ca1', 'a/b/': '/ca2' } });
    assert.deepEqual(pinModeFor('a/b', c), { kind: 'certs', source: 'trust_pinning.certs["a/b"]', keyIds: ['1'] });
    assert.deepEqual(pinModeFor('a/bc', c), { kind: 'certs', source: 'trust_pinning.certs["a/b*"]', keyIds: ['3'] });
    assert.deepEqual(pinModeFor('a/x', c), { kind: 'certs', source: 'trust_pinning.certs["a/*"]', keyIds: ['2'] });
    const caOnly = cfg({ ca: { 'a/': '/ca1', 'a/b/': '/ca2' } });
    assert.deepEqual(pinModeFor('a/b/c', caOnly), { kind: 'ca', source: 'trust_pinning.ca["a/b/"]', caFile: '/ca2' });
    assert.deepEqual(pinModeFor('z', caOnly), { kind: 'tofu' });
  });
});

describe('checkRootPinning', () => {
  let dir = '';
  let chained: Envelope<Root>;
  // a little after the certificates are made (their notBefore is the moment openssl runs)
  const now = new Date(Date.now() + 5 * 60_000);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-pin-'));
    const ssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    fs.writeFileSync(path.join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    fs.writeFileSync(path.join(dir, 'leaf.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n');
    ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=Pin Root CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    ssl('req', ...ec, '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=Pin Intermediate');
    ssl('x509', '-req', '-in', 'int.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'int.crt', '-days', '30', '-extfile', 'ca.ext');
    ssl('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${GUN.replace(/\//g, '\\/')}`);
    ssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'int.crt', '-CAkey', 'int.key', '-CAcreateserial', '-out', 'leaf.crt', '-days', '30', '-extfile', 'leaf.ext');
    ssl('req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.crt', '-days', '30', '-subj', '/CN=Other CA', '-addext', 'basicConstraints=critical,CA:TRUE');
    // The root key: leaf + intermediate bundle in Go's PEM layout, as notary stores certificate chains.
    const der = (f: string): Buffer => new X509Certificate(fs.readFileSync(path.join(dir, f))).raw;
    const bundle = certificateToPem(der('leaf.crt')) + certificateToPem(der('int.crt'));
    const rootKey = makeNotaryPublicKey('ecdsa-x509', Buffer.from(bundle).toString('base64'));
    const leafPrivate = createPrivateKey(fs.readFileSync(path.join(dir, 'leaf.key')));
    const other = publicKeyFromKeyObject(createPrivateKey(fs.readFileSync(path.join(dir, 'other.key'))));
    const root = newRoot({ root: [rootKey], targets: other, snapshot: other, timestamp: other }, now);
    chained = await signMetadata(root, [createKeyObjectSigner(leafPrivate, rootKey)]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('accepts a root certificate that chains to the pinned CA through its bundled intermediate', () => {
    checkRootPinning(chained, { gun: GUN, config: cfg({ ca: { 'example.com/': path.join(dir, 'ca.crt') } }), firstUse: true, now });
  });

  it('refuses it when the pinned CA is another one', () => {
    assert.throws(
      () => checkRootPinning(chained, { gun: GUN, config: cfg({ ca: { 'example.com/': path.join(dir, 'other.crt') } }), firstUse: true, now }),
      untrusted(/no certificate chaining to the CA pinned by trust_pinning\.ca\["example\.com\/"\]/),
    );
  });

  it('refuses a chain once the CA is no longer valid', () => {
    const later = new Date(now.getTime() + 60 * 24 * 3600 * 1000);
    assert.throws(() => checkRootPinning(chained, { gun: GUN, config: cfg({ ca: { 'example.com/': path.join(dir, 'ca.crt') } }), firstUse: true, now: later }), ConfigError);
  });

  it('reports an unreadable CA bundle as a config problem', () => {
    assert.throws(() => checkRootPinning(chained, { gun: GUN, config: cfg({ ca: { example: path.join(dir, 'missing.crt') } }), firstUse: true, now }), ConfigError);
  });

  it('pins by TUF key ID of the certificate bundle, not the canonical ID', () => {
    const keyId = chained.signed.roles.get('root')!.keyIds[0]!;
    checkRootPinning(chained, { gun: GUN, config: cfg({ certs: { [GUN]: [keyId] } }), firstUse: false, now });
    assert.throws(() => checkRootPinning(chained, { gun: GUN, config: cfg({ certs: { [GUN]: ['ab'] } }), firstUse: false, now }), untrusted(/none of the key IDs pinned/));
  });

  it('needs the root threshold among pinned keys: a pinned key that did not sign does not count', async () => {
    const fixtureRoot = notaryCodec.parse(fs.readFileSync(fixture('server', 'root.json')), 'root');
    const signedByOther = { ...fixtureRoot, signatures: [] };
    assert.throws(
      () =>
        checkRootPinning(signedByOther, {
          gun: 'example.com/app',
          config: cfg({ certs: { 'example.com/app': ['efb000413ad5ca5493e0553395ada497db84ac22a4b371ffadd9096506e9e01a'] } }),
          firstUse: true,
          now,
        }),
      untrusted(/not signed by its threshold/),
    );
  });

  it('TOFU: anything on first use unless disable_tofu; later roots always', () => {
    checkRootPinning(chained, { gun: GUN, config: cfg({}), firstUse: true, now });
    assert.throws(() => checkRootPinning(chained, { gun: GUN, config: cfg({ disableTofu: true }), firstUse: true, now }), untrusted(/disable_tofu/));
    checkRootPinning(chained, { gun: GUN, config: cfg({ disableTofu: true }), firstUse: false, now });
  });
});
