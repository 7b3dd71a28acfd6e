// SPDX-License-Identifier: Apache-2.0
// The ASN.1 libraries cost 200-300 ms to load: importing shared/crypto must
// not load them; the first certificate or DER signature operation does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

  it('the first DER signature conversion loads them and works', () => {
    const loaded = loadedAfter(`
      const der = crypto.p1363ToDer(Buffer.alloc(64, 1));
      if (!crypto.derToP1363(der, 32).equals(Buffer.alloc(64, 1))) throw new Error('round trip failed');`);
    assert.ok(loaded.includes('asn1-ecc') && loaded.includes('asn1-schema'), loaded.join());
  });
});
