// SPDX-License-Identifier: Apache-2.0
// Token behaviour SoftHSM2 cannot produce on demand (a locked PIN, a full
// token, a PIN pad, a dropped session, a faulty signature), injected into
// the real module's calls; everything else runs on a real SoftHSM2 token.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { encodePlainKeyFile } from '../../../keys/key-file.js';
import { CK, type Pkcs11Binding } from '../../../keys/pkcs11/binding.js';
import type { PinRequest } from '../../../keys/pkcs11/pin.js';
import { createSoftHsm, softhsmSkip, type SoftHsm, type TestToken } from '../../support/softhsm.js';
import { assertNotaryEcdsa, ckr, closeAll, faultyModule, rejectsToken, tokenStore, type StoreSetup } from './helpers.js';

const DATA = Buffer.from('payload');

describe('token faults', { skip: softhsmSkip() }, () => {
  let hsm: SoftHsm;
  let t: TestToken;
  let keyId: string;
  const setup = (overrides?: (real: Pkcs11Binding) => Partial<Pkcs11Binding>, extra: Partial<StoreSetup> = {}): StoreSetup => ({
    modulePath: hsm.modulePath,
    selector: { label: t.label },
    pin: t.pin,
    ...(overrides === undefined ? {} : { openModule: faultyModule(overrides) }),
    ...extra,
  });
  const withFlags = (add: number) => (real: Pkcs11Binding): Partial<Pkcs11Binding> => ({ tokenInfo: (slot) => ({ ...real.tokenInfo(slot), flags: real.tokenInfo(slot).flags | add }) });

  before(async () => {
    hsm = createSoftHsm();
    t = hsm.createToken('signet-faults', '8642');
    keyId = (await tokenStore(setup()).generate({ role: 'root' })).id;
  });
  // login state is per process and token: start each case logged out
  beforeEach(closeAll);
  after(async () => {
    await closeAll();
    hsm.remove();
  });

  test('a locked PIN is reported before any PIN is asked for or tried', async () => {
    let asked = 0;
    const store = tokenStore(setup(withFlags(CK.CKF_USER_PIN_LOCKED), { pin: async () => { asked++; return t.pin; } }));
    await rejectsToken((await store.getSigner(keyId)).sign(DATA), 'TOKEN_LOCKED', 'CKR_PIN_LOCKED', /unblock it with the security officer PIN or PUK/);
    assert.equal(asked, 0);
  });

  test('a token that locks at this login: TOKEN_LOCKED with the remedy', async () => {
    const store = tokenStore(setup(() => ({ login: () => { throw ckr('CKR_PIN_LOCKED', 'log in'); } })));
    await rejectsToken((await store.getSigner(keyId)).sign(DATA), 'TOKEN_LOCKED', 'CKR_PIN_LOCKED', /locked after too many wrong PINs/);
  });

  test('a prompted PIN is asked again after a wrong one (up to 3 times), and the last try is announced', async () => {
    const seen: PinRequest[] = [];
    const answers = ['0000', t.pin];
    const store = tokenStore(setup(undefined, { pin: async (r) => { seen.push(r); return answers[r.attempt]!; } }));
    const pub = (await store.tokenKeys()).find((k) => k.keyId === keyId)!.publicKey;
    assertNotaryEcdsa(await (await store.getSigner(keyId)).sign(DATA), DATA, pub);
    assert.deepEqual(seen.map((r) => [r.token, r.attempt]), [['signet-faults', 0], ['signet-faults', 1]]);
    await closeAll();
    const wrong: number[] = [];
    const stubborn = tokenStore(setup(withFlags(CK.CKF_USER_PIN_FINAL_TRY), { pin: async (r) => { wrong.push(r.attempt); assert.equal(r.finalTry, true); return '0000'; } }));
    await rejectsToken((await stubborn.getSigner(keyId)).sign(DATA), 'PASSPHRASE_WRONG', 'CKR_PIN_INCORRECT');
    assert.deepEqual(wrong, [0, 1, 2]);
  });

  test('a PIN pad: no PIN is asked, the user is told to use the pad', async () => {
    const pins: Array<string | null> = [];
    const notices: string[] = [];
    const store = tokenStore(
      setup((real) => ({ ...withFlags(CK.CKF_PROTECTED_AUTHENTICATION_PATH)(real), login: (s, pin) => { pins.push(pin); real.login(s, t.pin); } }), {
        pin: async () => { throw new Error('must not be asked'); },
        notify: (m) => notices.push(m),
      }),
    );
    await (await store.getSigner(keyId)).sign(DATA);
    assert.deepEqual(pins, [null]);
    assert.deepEqual(notices, ['Enter the PIN of token signet-faults on its PIN pad.']);
  });

  test('a full token: TOKEN_FULL saying what to do, for generation and import; a half-imported key is removed', async () => {
    const gen = tokenStore(setup(() => ({ generateKeyPair: async () => { throw ckr('CKR_DEVICE_MEMORY', 'generate a key on the token'); } })));
    await rejectsToken(gen.generate({ role: 'root' }), 'TOKEN_FULL', 'CKR_DEVICE_MEMORY', /no room for another key; remove a key/);
    let creates = 0;
    const imp = tokenStore(
      setup((real) => ({
        createObject: (s, tpl) => {
          if (++creates === 2) throw ckr('CKR_DEVICE_MEMORY', 'store the key on the token');
          return real.createObject(s, tpl);
        },
      })),
    );
    const before = (await imp.list()).length;
    await rejectsToken(imp.importPem(encodePlainKeyFile(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'root', undefined)), 'TOKEN_FULL');
    const privates = await imp.session.run(true, (m, s) => m.findObjects(s, [{ type: CK.CKA_CLASS, value: CK.CKO_PRIVATE_KEY }]).length);
    assert.equal(privates, 1, 'only the key made in `before` has a private object');
    assert.equal((await imp.list()).length, before);
  });

  test('a token that will not take the key ID: the generated pair is deleted again', async () => {
    const store = tokenStore(setup(() => ({ setAttributes: () => { throw ckr('CKR_ATTRIBUTE_READ_ONLY', 'label the key'); } })));
    await rejectsToken(store.generate({ role: 'root' }), 'TOKEN', 'CKR_ATTRIBUTE_READ_ONLY');
    const objects = await store.session.run(true, (m, s) => m.findObjects(s, [{ type: CK.CKA_TOKEN, value: true }]).length);
    assert.equal(objects, 2, 'only the pair made in `before` is left');
  });

  test('SECURITY: a signature from the token that does not verify is never handed out', async () => {
    const store = tokenStore(setup((real) => ({ sign: async (s, mech, key, data) => { const sig = await real.sign(s, mech, key, data); sig[10] = sig[10]! ^ 1; return sig; } })));
    await rejectsToken((await store.getSigner(keyId)).sign(DATA), 'TOKEN', undefined, /does not verify/);
  });

  test('a key deleted by another session between the search and the reading of its attributes is left out; the others still list and sign', async () => {
    const victim = (await tokenStore(setup()).generate({ role: 'root' })).id;
    await closeAll(); // logged out again, as the other session logs in below
    let armed = true;
    const store = tokenStore(
      setup((real) => ({
        findObjects: (s, tpl) => {
          const found = real.findObjects(s, tpl);
          if (armed && tpl.some((a) => a.type === CK.CKA_CLASS && a.value === CK.CKO_PUBLIC_KEY)) {
            armed = false;
            // what `signet key remove` in another process does right after this search, through a second
            // logged-in session: the handles found are now stale
            const slot = real.slots().find((x) => real.tokenInfo(x).label === t.label)!;
            const other = real.openSession(slot);
            real.login(other, t.pin);
            for (const o of real.findObjects(other, [{ type: CK.CKA_TOKEN, value: true }, { type: CK.CKA_ID, value: Buffer.from(victim, 'hex') }])) real.destroyObject(other, o);
            real.closeSession(other);
          }
          return found;
        },
      })),
    );
    const listed = await store.list();
    assert.equal(armed, false, 'the deletion happened');
    assert.ok(!listed.some((k) => k.keyId === victim));
    assert.ok(listed.some((k) => k.keyId === keyId));
    const pub = listed.find((k) => k.keyId === keyId)!;
    assert.equal(pub.problem, undefined);
    assertNotaryEcdsa(await (await store.getSigner(keyId)).sign(DATA), DATA, (await store.tokenKeys()).find((k) => k.keyId === keyId)!.publicKey);
  });

  test('a session the module dropped is reopened once', async () => {
    let drops = 1;
    const store = tokenStore(setup((real) => ({ findObjects: (s, tpl) => { if (drops-- > 0) throw ckr('CKR_SESSION_HANDLE_INVALID', 'search the token'); return real.findObjects(s, tpl); } })));
    assert.ok(await store.has(keyId));
  });
});
