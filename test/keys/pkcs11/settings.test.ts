// SPDX-License-Identifier: Apache-2.0
// Client token settings (keys/pkcs11/settings.ts): the config file's pkcs11
// section, the SIGNET_PKCS11_* variables over it, defaults, refusals; the
// client hook adds a token store only when a module is configured; and the
// non-interactive PIN sources.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, TokenError } from '../../../shared/errors.js';
import { FileKeyStore } from '../../../keys/file-store.js';
import { envPinSource, filePinSource, keyStoresWithToken, Pkcs11TokenStore, pinSourceFrom, promptPinSource, tokenSettings } from '../../../keys/pkcs11/index.js';
import { formatKeyLabel, parseKeyLabel } from '../../../keys/pkcs11/key-label.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-pkcs11-settings-'));
process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
function configFile(doc: unknown): string {
  const f = path.join(dir, `config-${n++}.json`);
  fs.writeFileSync(f, JSON.stringify(doc));
  return f;
}
const REQ = { token: 'tok', attempt: 0, finalTry: false };

describe('tokenSettings', () => {
  test('no module, no token: null (and the hook leaves the file store alone)', () => {
    assert.equal(tokenSettings({}), null);
    assert.equal(tokenSettings({}, configFile({ trust_dir: '~/.notary' })), null);
    const files = new FileKeyStore(dir);
    assert.deepEqual(keyStoresWithToken(files, { env: {} }), [files]);
  });

  test('the config file section, with defaults: root keys on the token, no backup, no fallback, touch only for ykcs11', () => {
    const f = configFile({ PKCS11: { Module: '/usr/lib/softhsm/libsofthsm2.so', token: 'signet' } });
    assert.deepEqual(tokenSettings({}, f), { modulePath: '/usr/lib/softhsm/libsofthsm2.so', label: 'signet', roles: ['root'], touch: false, backup: false, fallback: false });
    assert.equal(tokenSettings({ SIGNET_PKCS11_MODULE: '/usr/lib/x86_64-linux-gnu/libykcs11.so' })?.touch, true);
    const full = configFile({ pkcs11: { module: '/m.so', slot: 3, roles: ['root', 'targets'], touch: true, backup: true, fallback: 'files' } });
    assert.deepEqual(tokenSettings({}, full), { modulePath: '/m.so', slot: 3, roles: ['root', 'targets'], touch: true, backup: true, fallback: true });
  });

  test('each SIGNET_PKCS11_* variable overrides its file setting', () => {
    const f = configFile({ pkcs11: { module: '/file.so', token: 'file', roles: ['root'], touch: true, backup: false, fallback: 'none' } });
    const env = { SIGNET_PKCS11_MODULE: '/env.so', SIGNET_PKCS11_TOKEN: 'env', SIGNET_PKCS11_SLOT: '7', SIGNET_PKCS11_ROLES: 'root, targets', SIGNET_PKCS11_TOUCH: '0', SIGNET_PKCS11_BACKUP: 'yes', SIGNET_PKCS11_FALLBACK: 'files' };
    assert.deepEqual(tokenSettings(env, f), { modulePath: '/env.so', label: 'env', slot: 7, roles: ['root', 'targets'], touch: false, backup: true, fallback: true });
  });

  test('unusable settings are ConfigErrors naming the setting; a PIN in the file is refused', () => {
    const bad: Array<[NodeJS.ProcessEnv, unknown, RegExp]> = [
      [{ SIGNET_PKCS11_MODULE: 'libsofthsm2.so' }, {}, /absolute path/],
      [{ SIGNET_PKCS11_MODULE: '/m.so', SIGNET_PKCS11_SLOT: 'one' }, {}, /SIGNET_PKCS11_SLOT/],
      [{ SIGNET_PKCS11_MODULE: '/m.so', SIGNET_PKCS11_FALLBACK: 'yes' }, {}, /"files" or "none"/],
      [{ SIGNET_PKCS11_MODULE: '/m.so', SIGNET_PKCS11_TOUCH: 'maybe' }, {}, /SIGNET_PKCS11_TOUCH=maybe is not a boolean/],
      [{}, { pkcs11: { module: '/m.so', roles: 'root' } }, /pkcs11\.roles must be a list/],
      [{}, { pkcs11: { module: '/m.so', backup: 'true' } }, /pkcs11\.backup must be true or false/],
      [{}, { pkcs11: 'softhsm' }, /pkcs11 must be an object/],
    ];
    for (const [env, doc, re] of bad) assert.throws(() => tokenSettings(env, configFile(doc)), (e: unknown) => e instanceof ConfigError && re.test(e.message), re.source);
    const withPin = configFile({ pkcs11: { module: '/m.so', pin: '123456' } });
    assert.throws(() => tokenSettings({}, withPin), (e: unknown) => e instanceof ConfigError && /SIGNET_PKCS11_PIN/.test(e.message) && !e.message.includes('123456'));
  });

  test('with a module, the hook puts a token store (lazy: nothing is loaded yet) in front of the file store', () => {
    const files = new FileKeyStore(dir);
    const stores = keyStoresWithToken(files, { env: { SIGNET_PKCS11_MODULE: '/nonexistent/module.so', SIGNET_PKCS11_TOKEN: 'lazy' } });
    assert.equal(stores.length, 2);
    assert.ok(stores[0] instanceof Pkcs11TokenStore);
    assert.equal(stores[0].name, 'pkcs11:lazy');
    assert.equal(stores[1], files);
  });
});

describe('PIN sources', () => {
  test('environment: used once, never retried after the token refused it; unset without a fallback names the variable', async () => {
    const src = envPinSource({ SIGNET_PKCS11_PIN: '2580' });
    assert.equal(await src(REQ), '2580');
    await assert.rejects(src({ ...REQ, attempt: 1 }), (e: unknown) => e instanceof TokenError && e.code === 'PASSPHRASE_WRONG' && !e.message.includes('2580'));
    await assert.rejects(envPinSource({})(REQ), (e: unknown) => e instanceof TokenError && e.code === 'PASSPHRASE_REQUIRED' && /SIGNET_PKCS11_PIN/.test(e.message));
    assert.equal(await envPinSource({ SIGNET_PKCS11_PIN: '' }, 'SIGNET_PKCS11_PIN', async () => 'from-fallback')(REQ), 'from-fallback');
  });

  test('file: the first line; a missing or empty file is PASSPHRASE_REQUIRED; pinSourceFrom parses env:/file:', async () => {
    const f = path.join(dir, 'pin');
    fs.writeFileSync(f, '97531\nignored\n');
    assert.equal(await filePinSource(f)(REQ), '97531');
    assert.equal(await pinSourceFrom(`file:${f}`)(REQ), '97531');
    assert.equal(await pinSourceFrom('env:MY_PIN', { MY_PIN: '1111' })(REQ), '1111');
    fs.writeFileSync(f, '\n');
    await assert.rejects(filePinSource(f)(REQ), (e: unknown) => e instanceof TokenError && e.code === 'PASSPHRASE_REQUIRED');
    await assert.rejects(filePinSource(path.join(dir, 'absent'))(REQ), (e: unknown) => e instanceof TokenError && /ENOENT/.test(e.message));
    assert.throws(() => pinSourceFrom('123456'), (e: unknown) => e instanceof TokenError && /env:NAME/.test(e.message) && !e.message.includes('123456'));
  });

  test('the prompt never asks without a terminal or with CI=true', async () => {
    const notTty = Object.assign(new (await import('node:stream')).PassThrough(), { isTTY: false });
    await assert.rejects(promptPinSource({ input: notTty, env: {} })(REQ), (e: unknown) => e instanceof TokenError && e.code === 'PASSPHRASE_REQUIRED' && /SIGNET_PKCS11_PIN/.test(e.message));
    const tty = Object.assign(new (await import('node:stream')).PassThrough(), { isTTY: true });
    await assert.rejects(promptPinSource({ input: tty, env: { CI: 'true' } })(REQ), (e: unknown) => e instanceof TokenError && e.code === 'PASSPHRASE_REQUIRED');
  });
});

describe('key labels', () => {
  test('round trip; foreign labels are not ours; spaces cannot be stored', () => {
    const createdAt = new Date('2026-11-23T12:00:00.000Z');
    assert.equal(formatKeyLabel({ role: 'root', createdAt }), 'root  2026-11-23T12:00:00.000Z');
    assert.deepEqual(parseKeyLabel(formatKeyLabel({ role: 'timestamp', gun: 'example.com:5000/app', createdAt })), { role: 'timestamp', gun: 'example.com:5000/app', createdAt });
    for (const foreign of ['', 'root', 'my key', 'root x 2026-11-23', 'ro ot  2026-11-23T12:00:00.000Z']) assert.equal(parseKeyLabel(foreign), null, foreign);
    assert.throws(() => formatKeyLabel({ role: 'targets', gun: 'a b', createdAt }), /spaces/);
  });
});
