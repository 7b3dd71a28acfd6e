// SPDX-License-Identifier: Apache-2.0
// Sealing server keys at rest: scrypt -> AES-256-GCM, bound to GUN, role and key ID.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { KeyStoreError } from '../../../shared/errors.js';
import { DEFAULT_KDF, openServerKey, sealServerKey, type KeyBinding } from '../../../server/signer/key-encryption.js';

const KDF = { logN: 10, r: 8, p: 1 };
const binding: KeyBinding = { gun: 'example.com/app', role: 'timestamp', keyId: 'a'.repeat(64) };
const pkcs8 = (): Buffer => generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });

async function assertKeyStoreError(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof KeyStoreError && e.code === code);
}

describe('server key encryption', () => {
  it('round-trips, and the blob holds neither the PKCS#8 bytes nor the raw seed', async () => {
    const der = pkcs8();
    const blob = await sealServerKey(der, 'pass', binding, KDF);
    assert.deepEqual(await openServerKey(blob, 'pass', binding), der);
    const seed = der.subarray(der.length - 32);
    assert.equal(blob.indexOf(seed), -1);
    assert.equal(blob.indexOf(der.subarray(16)), -1);
    // Fresh salt and IV: sealing twice gives different blobs.
    assert.notDeepEqual(await sealServerKey(der, 'pass', binding, KDF), blob);
  });

  it('does not open with a wrong passphrase, and the message names the setting, not the passphrase', async () => {
    const blob = await sealServerKey(pkcs8(), 'right-pass', binding, KDF);
    await assert.rejects(openServerKey(blob, 'wrong-pass', binding), (e: unknown) => {
      assert.ok(e instanceof KeyStoreError && e.code === 'PASSPHRASE_WRONG');
      assert.match(e.message, /SIGNET_SIGNER_KEY_PASSPHRASE/);
      assert.doesNotMatch(e.message, /right-pass|wrong-pass/);
      return true;
    });
  });

  const moved: [string, KeyBinding][] = [
    ['another GUN', { ...binding, gun: 'example.com/other' }],
    ['another key ID', { ...binding, keyId: 'b'.repeat(64) }],
    ['another role', { ...binding, role: 'snapshot' }],
  ];
  for (const [what, other] of moved) {
    it(`does not open when moved to ${what}`, async () => {
      const blob = await sealServerKey(pkcs8(), 'pass', binding, KDF);
      await assertKeyStoreError(openServerKey(blob, 'pass', other), 'PASSPHRASE_WRONG');
    });
  }

  it('detects tampering anywhere in the blob', async () => {
    const blob = await sealServerKey(pkcs8(), 'pass', binding, KDF);
    for (const i of [5, 25, 40, blob.length - 1]) {
      const bad = Buffer.from(blob);
      bad[i]! ^= 1;
      await assertKeyStoreError(openServerKey(bad, 'pass', binding), 'PASSPHRASE_WRONG');
    }
    const wrongFormat = Buffer.from(blob);
    wrongFormat[0] = 9;
    await assertKeyStoreError(openServerKey(wrongFormat, 'pass', binding), 'KEY_FILE_INVALID');
    await assertKeyStoreError(openServerKey(blob.subarray(0, 40), 'pass', binding), 'KEY_FILE_INVALID');
  });

  it('uses scrypt N=2^15, r=8, p=1 by default and refuses weak or absurd parameters', async () => {
    assert.deepEqual(DEFAULT_KDF, { logN: 15, r: 8, p: 1 });
    const blob = await sealServerKey(pkcs8(), 'pass', binding);
    assert.deepEqual([...blob.subarray(0, 4)], [1, 15, 8, 1]);
    await assertKeyStoreError(sealServerKey(pkcs8(), 'pass', binding, { logN: 4, r: 8, p: 1 }), 'KEY_FILE_INVALID');
    const weakened = Buffer.from(blob);
    weakened[1] = 30;
    await assertKeyStoreError(openServerKey(weakened, 'pass', binding), 'KEY_FILE_INVALID');
  });

  it('refuses an empty passphrase: keys are never stored unencrypted', async () => {
    await assertKeyStoreError(sealServerKey(pkcs8(), '', binding, KDF), 'PASSPHRASE_REQUIRED');
  });
});
