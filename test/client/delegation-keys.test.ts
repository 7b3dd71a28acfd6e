// SPDX-License-Identifier: Apache-2.0
// Keys for `delegation add`, read from PEM files: a certificate must be valid
// when it is added (notary checks that too), with a day's leeway for clocks;
// a public key must be strong enough; anything else is refused naming the file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readDelegationKey } from '../../client/delegation-keys.js';
import { certificateSignerFromKeyObject, createSelfSignedCertificate } from '../../shared/crypto/index.js';
import { UsageError } from '../../shared/errors.js';
import { fixture } from '../support/paths.js';

const DAY_MS = 86_400_000;
const NOW = new Date('2026-06-01T00:00:00Z');

describe('readDelegationKey', () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-dkeys-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const certificate = async (name: string, notBefore: Date, notAfter: Date): Promise<string> => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = await createSelfSignedCertificate({ commonName: 'delegate', publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }), notBefore, notAfter, sign: certificateSignerFromKeyObject(privateKey) });
    const file = path.join(dir, `${name}.crt`);
    fs.writeFileSync(file, pem);
    return file;
  };
  const refused = (file: string, pattern: RegExp): void => {
    assert.throws(() => readDelegationKey(file, NOW), (e: unknown) => e instanceof UsageError && e.message.startsWith(`${file}`) && pattern.test(e.message));
  };

  it('accepts a certificate valid now, or starting within a day', async () => {
    assert.equal(readDelegationKey(await certificate('valid', new Date(NOW.getTime() - DAY_MS), new Date(NOW.getTime() + 365 * DAY_MS)), NOW).keyType, 'ecdsa-x509');
    assert.equal(readDelegationKey(await certificate('skewed', new Date(NOW.getTime() + DAY_MS / 2), new Date(NOW.getTime() + 365 * DAY_MS)), NOW).keyType, 'ecdsa-x509');
  });

  it('refuses a certificate that expired or is not valid yet', async () => {
    refused(await certificate('expired', new Date('2020-01-01T00:00:00Z'), new Date('2021-01-01T00:00:00Z')), /expired at 2021-01-01T00:00:00.000Z; make a new certificate/);
    refused(await certificate('future', new Date(NOW.getTime() + 2 * DAY_MS), new Date(NOW.getTime() + 365 * DAY_MS)), /not valid until .* more than a day after/);
  });

  it('reads the fixture public keys and certificates', () => {
    assert.equal(readDelegationKey(fixture('delegate-keys', 'releases.crt'), new Date()).keyType, 'ecdsa-x509');
  });

  it('refuses a file without PEM, with broken PEM, or with another block type', () => {
    const write = (name: string, text: string): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      return file;
    };
    refused(write('none.pem', 'hello'), /holds no PEM block/);
    refused(write('broken.pem', '-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n'), /invalid base64/);
    refused(write('other.pem', '-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n'), /unsupported PEM block type "EC PRIVATE KEY"/);
  });
});
