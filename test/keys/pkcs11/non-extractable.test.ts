// SPDX-License-Identifier: Apache-2.0
// Proof that a private key on the token cannot be read back: for keys the
// store generates and keys it imports, asking the module for CKA_VALUE fails
// with CKR_ATTRIBUTE_SENSITIVE, CKA_SENSITIVE is true and CKA_EXTRACTABLE
// false, and the module refuses to make the key extractable later. Dropping
// either attribute from keys/pkcs11/ec-key.ts makes this test fail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { TokenError } from '../../../shared/errors.js';
import { encodePlainKeyFile } from '../../../keys/key-file.js';
import { CK } from '../../../keys/pkcs11/binding.js';
import type { Pkcs11TokenStore } from '../../../keys/pkcs11/token-store.js';
import { createSoftHsm, softhsmSkip, type SoftHsm } from '../../support/softhsm.js';
import { closeAll, tokenStore } from './helpers.js';

const TRUE = Buffer.from([1]);
const FALSE = Buffer.from([0]);

describe('token private keys are not extractable', { skip: softhsmSkip() }, () => {
  let hsm: SoftHsm;
  let store: Pkcs11TokenStore;

  before(() => {
    hsm = createSoftHsm();
    const t = hsm.createToken('signet-sealed', '4321');
    store = tokenStore({ modulePath: hsm.modulePath, selector: { label: t.label }, pin: t.pin });
  });
  after(async () => {
    await closeAll();
    hsm.remove();
  });

  async function privateObjectAttributes(keyId: string): Promise<{ value: unknown; flags: Buffer[]; madeExtractable: unknown }> {
    return store.session.run(true, (m, s) => {
      const found = m.findObjects(s, [{ type: CK.CKA_CLASS, value: CK.CKO_PRIVATE_KEY }, { type: CK.CKA_ID, value: Buffer.from(keyId, 'hex') }]);
      assert.equal(found.length, 1, 'one private key object under the key ID');
      const obj = found[0]!;
      let value: unknown;
      try {
        value = m.attributes(s, obj, [CK.CKA_VALUE])[0];
      } catch (err) {
        value = err;
      }
      const flags = m.attributes(s, obj, [CK.CKA_SENSITIVE, CK.CKA_EXTRACTABLE, CK.CKA_ALWAYS_SENSITIVE, CK.CKA_NEVER_EXTRACTABLE, CK.CKA_TOKEN, CK.CKA_PRIVATE]);
      let madeExtractable: unknown;
      try {
        m.setAttributes(s, obj, [{ type: CK.CKA_EXTRACTABLE, value: true }]);
        madeExtractable = 'allowed';
      } catch (err) {
        madeExtractable = err;
      }
      return { value, flags, madeExtractable };
    });
  }

  function assertSealed(a: { value: unknown; flags: Buffer[]; madeExtractable: unknown }): void {
    assert.ok(a.value instanceof TokenError, `CKA_VALUE must not be readable, got ${String(a.value)}`);
    assert.equal(a.value.ckr, 'CKR_ATTRIBUTE_SENSITIVE');
    const [sensitive, extractable, , , onToken, isPrivate] = a.flags;
    assert.deepEqual(sensitive, TRUE, 'CKA_SENSITIVE');
    assert.deepEqual(extractable, FALSE, 'CKA_EXTRACTABLE');
    assert.deepEqual(onToken, TRUE, 'CKA_TOKEN');
    assert.deepEqual(isPrivate, TRUE, 'CKA_PRIVATE');
    assert.ok(a.madeExtractable instanceof TokenError, 'the module refuses to make the key extractable');
  }

  test('a generated key: CKA_VALUE is refused, sensitive and never extractable from birth', async () => {
    const pub = await store.generate({ role: 'root' });
    const a = await privateObjectAttributes(pub.id);
    assertSealed(a);
    const [, , alwaysSensitive, neverExtractable] = a.flags;
    assert.deepEqual(alwaysSensitive, TRUE, 'CKA_ALWAYS_SENSITIVE: it never existed in the clear');
    assert.deepEqual(neverExtractable, TRUE, 'CKA_NEVER_EXTRACTABLE');
  });

  test('an imported key is sealed the same way once on the token', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pub = await store.importPem(encodePlainKeyFile(key, 'root', undefined));
    assertSealed(await privateObjectAttributes(pub.id));
  });
});
