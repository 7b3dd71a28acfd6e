// SPDX-License-Identifier: Apache-2.0
// signet-server with its timestamp and snapshot keys on a SoftHSM2 token:
// the ServerSigner contract over the token, the --pkcs11-* settings, startup
// refused on a bad PIN, and the stock notary CLI publishing through the
// server and verifying timestamps and snapshots signed on the token (the
// database holds no server key rows).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, TokenError } from '../../../shared/errors.js';
import { parseServerArgs, type ServerConfig } from '../../../server/config.js';
import { startServer, type RunningServer } from '../../../server/main.js';
import { openPkcs11Signer, type Pkcs11Signer } from '../../../server/signer/pkcs11-signer.js';
import { openStore } from '../../../server/storage/open-store.js';
import { createSoftHsm, softhsmSkip, type SoftHsm, type TestToken } from '../../support/softhsm.js';
import { captureLogger, templateDataDir, tempDir } from '../http/harness.js';

const NOTARY_ENV = { NOTARY_ROOT_PASSPHRASE: 'hsm-root-pass', NOTARY_TARGETS_PASSPHRASE: 'hsm-targets-pass', NOTARY_SNAPSHOT_PASSPHRASE: 'hsm-snapshot-pass' };

/** The notary CLI, asynchronously: the server under test runs in this process and must keep answering. */
function runNotary(args: readonly string[], opts: { trustDir: string; server: string; env?: Record<string, string> }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('notary', ['-d', opts.trustDir, '-s', opts.server, ...args], { timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.trustDir, ...opts.env } }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

function config(argv: string[], env: NodeJS.ProcessEnv = {}): ServerConfig {
  const r = parseServerArgs(argv, env);
  assert.equal(r.kind, 'config');
  return (r as { config: ServerConfig }).config;
}

describe('--pkcs11-* settings', () => {
  test('a module replaces the signer passphrase; token, slot and PIN source are read and checked', () => {
    const c = config(['--pkcs11-module', '/usr/lib/softhsm/libsofthsm2.so', '--pkcs11-token', 'srv', '--pkcs11-slot', '0']);
    assert.deepEqual(c.pkcs11, { modulePath: '/usr/lib/softhsm/libsofthsm2.so', label: 'srv', slot: 0, pinSource: 'env:SIGNET_PKCS11_PIN' });
    assert.equal(config([], { SIGNET_PKCS11_MODULE: '/m.so', SIGNET_PKCS11_PIN_SOURCE: 'file:/run/secrets/pin', SIGNET_SIGNER_KEY_PASSPHRASE: 'x' }).pkcs11?.pinSource, 'file:/run/secrets/pin');
    assert.equal(config([], { SIGNET_SIGNER_KEY_PASSPHRASE: 'x' }).pkcs11, undefined);
    assert.throws(() => config(['--pkcs11-module', 'relative.so']), (e: unknown) => e instanceof ConfigError && /absolute path/.test(e.message));
    assert.throws(() => config(['--pkcs11-module', '/m.so', '--pkcs11-pin-source', '1234']), (e: unknown) => e instanceof ConfigError && /env:NAME .* or file:PATH/.test(e.message) && !e.message.includes('1234'));
    assert.throws(() => config(['--pkcs11-module', '/m.so', '--pkcs11-slot', 'first']), ConfigError);
    assert.throws(() => config([]), (e: unknown) => e instanceof ConfigError && /encrypted at rest/.test(e.message), 'without a module the passphrase is still required');
  });
});

describe('signet-server with timestamp/snapshot keys on a token', { skip: softhsmSkip() }, () => {
  let hsm: SoftHsm;
  let tok: TestToken;
  let signer: Pkcs11Signer;

  before(async () => {
    hsm = createSoftHsm();
    tok = hsm.createToken('signet-server', '55555');
    signer = await openPkcs11Signer({ modulePath: hsm.modulePath, label: tok.label, env: { SIGNET_PKCS11_PIN: tok.pin } });
  });
  after(async () => {
    await signer.close();
    hsm.remove();
  });

  test('ServerSigner contract: keys per GUN and role, oldest first, signers only for their own GUN and role', async () => {
    assert.deepEqual(await signer.listKeys('example.com/a', 'timestamp'), []);
    const first = await signer.createKey('example.com/a', 'timestamp');
    await new Promise((r) => setTimeout(r, 5));
    const second = await signer.createKey('example.com/a', 'timestamp');
    const snap = await signer.createKey('example.com/a', 'snapshot');
    assert.deepEqual((await signer.listKeys('example.com/a', 'timestamp')).map((k) => k.publicKey.id), [first.id, second.id]);
    assert.deepEqual((await signer.listKeys('example.com/a', 'snapshot')).map((k) => k.publicKey.id), [snap.id]);
    assert.deepEqual(await signer.listKeys('example.com/b', 'timestamp'), []);
    assert.equal(await signer.getSigner('example.com/b', 'timestamp', first.id), null, 'another GUN');
    assert.equal(await signer.getSigner('example.com/a', 'snapshot', first.id), null, 'another role');
    assert.equal(await signer.getSigner('example.com/a', 'timestamp', 'ab'.repeat(32)), null);
    const s = (await signer.getSigner('example.com/a', 'timestamp', first.id))!;
    const sig = await s.sign(Buffer.from('timestamp bytes'));
    assert.equal(sig.method, 'ecdsa');
    assert.ok(verify('sha256', Buffer.from('timestamp bytes'), { key: createPublicKey({ key: first.spki!, format: 'der', type: 'spki' }), dsaEncoding: 'ieee-p1363' }, sig.sig));
    assert.equal(signer.location, 'pkcs11:signet-server');
  });

  test('forgetKeys drops every key of a deleted GUN from the token, and only those', async () => {
    const kept = await signer.createKey('example.com/keep', 'timestamp');
    await signer.createKey('example.com/gone', 'timestamp');
    await signer.createKey('example.com/gone', 'snapshot');
    await signer.forgetKeys('example.com/gone');
    assert.deepEqual(await signer.listKeys('example.com/gone', 'timestamp'), []);
    assert.deepEqual(await signer.listKeys('example.com/gone', 'snapshot'), []);
    assert.deepEqual((await signer.listKeys('example.com/keep', 'timestamp')).map((k) => k.publicKey.id), [kept.id]);
  });

  test('a wrong PIN or a missing token stops the server at startup', async () => {
    await assert.rejects(openPkcs11Signer({ modulePath: hsm.modulePath, label: 'absent', env: {} }), (e: unknown) => e instanceof TokenError && e.code === 'TOKEN_MISSING');
    const data = await templateDataDir();
    try {
      const c = config(['--listen', '127.0.0.1:0', '--data-dir', data.dataDir, '--pkcs11-module', hsm.modulePath, '--pkcs11-token', tok.label, '--pkcs11-pin-source', 'env:H13_NO_SUCH_PIN']);
      await assert.rejects(startServer(c, { logger: captureLogger().logger }), (e: unknown) => e instanceof TokenError && e.code === 'PASSPHRASE_REQUIRED' && /H13_NO_SUCH_PIN/.test(e.message));
    } finally {
      data.cleanup();
    }
  });

  test('the stock notary CLI publishes through it and verifies timestamps and snapshots signed on the token', async () => {
    const data = await templateDataDir();
    const pinFile = path.join(data.dir, 'pin');
    fs.writeFileSync(pinFile, `${tok.pin}\n`, { mode: 0o600 });
    let server: RunningServer | undefined;
    const gun = 'example.com/hsm-served';
    try {
      server = await startServer(config(['--listen', '127.0.0.1:0', '--data-dir', data.dataDir, '--pkcs11-module', hsm.modulePath, '--pkcs11-token', tok.label, '--pkcs11-pin-source', `file:${pinFile}`]), { logger: captureLogger().logger });
      const owner = tempDir('signet-hsm-owner-');
      const payload = path.join(owner, 'payload');
      fs.writeFileSync(payload, 'served by a token-backed server\n');
      for (const args of [['init', '-p', gun], ['add', '-p', gun, 'v1', payload], ['key', 'rotate', gun, 'snapshot', '-r'], ['add', '-p', gun, 'v2', payload]]) {
        const r = await runNotary(args, { trustDir: owner, server: server.url, env: NOTARY_ENV });
        assert.equal(r.status, 0, `notary ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      }
      const reader = tempDir('signet-hsm-reader-');
      const list = await runNotary(['list', gun], { trustDir: reader, server: server.url });
      assert.equal(list.status, 0, list.stdout + list.stderr);
      assert.match(list.stdout, /^v1\s/m);
      assert.match(list.stdout, /^v2\s/m);

      const root = JSON.parse(fs.readFileSync(path.join(reader, 'tuf', 'example.com', 'hsm-served', 'metadata', 'root.json'), 'utf8')) as { signed: { roles: Record<string, { keyids: string[] }> } };
      const onToken = new Map((await signer.listKeys(gun, 'timestamp')).map((k) => [k.publicKey.id, k]));
      const snapOnToken = new Set((await signer.listKeys(gun, 'snapshot')).map((k) => k.publicKey.id));
      assert.ok(root.signed.roles.timestamp!.keyids.every((id) => onToken.has(id)), 'the timestamp key lives on the token');
      assert.ok(root.signed.roles.snapshot!.keyids.every((id) => snapOnToken.has(id)), 'the server-managed snapshot key lives on the token');
    } finally {
      await server?.shutdown();
    }
    const store = await openStore({ dataDir: data.dataDir });
    try {
      assert.deepEqual(await store.getServerKeys(gun, 'timestamp'), [], 'no key rows in the database');
      assert.deepEqual(await store.getServerKeys(gun, 'snapshot'), []);
    } finally {
      await store.close();
      data.cleanup();
    }
  });
});
