// SPDX-License-Identifier: Apache-2.0
// The ASN.1 libraries cost 100-300 ms to load: importing shared/crypto must
// not load them, nor must checking a certificate (what every verification of
// a root does); making a certificate or a DER signature conversion does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fixture } from '../../support/paths.js';

const CRYPTO = fileURLToPath(new URL('../../../shared/crypto/index.js', import.meta.url));

/** Runs `body` in a fresh node process after importing shared/crypto; prints the loaded @peculiar packages. */
function loadedAfter(body: string): string[] {
  const script = `
    import { createRequire } from 'node:module';
    const crypto = await import(${JSON.stringify(CRYPTO)});
    ${body}
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('@peculiar'));
    console.log(JSON.stringify([...new Set(loaded.map((p) => /@peculiar\\/([a-z0-9-]+)/.exec(p)[1]))].sort()));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
}

describe('lazy ASN.1 libraries', () => {
  it('importing shared/crypto loads none of them', () => {
    assert.deepEqual(loadedAfter(''), []);
  });

  it('checking a root certificate loads none of them', () => {
    const loaded = loadedAfter(`
      const { readFileSync } = await import('node:fs');
      const { X509Certificate } = await import('node:crypto');
      const cert = new X509Certificate(readFileSync(${JSON.stringify(fixture('delegate-keys', 'releases.crt'))}));
      const why = crypto.checkRootCertificate(cert, 'example.com/app', new Date());
      if (typeof why !== 'string' || !why.includes('CA certificate')) throw new Error('unexpected verdict ' + why);`);
    assert.deepEqual(loaded, []);
  });

  it('the first DER signature conversion loads them and works', () => {
    const loaded = loadedAfter(`
      const der = crypto.p1363ToDer(Buffer.alloc(64, 1));
      if (!crypto.derToP1363(der, 32).equals(Buffer.alloc(64, 1))) throw new Error('round trip failed');`);
    assert.ok(loaded.includes('asn1-ecc') && loaded.includes('asn1-schema'), loaded.join());
  });
});
