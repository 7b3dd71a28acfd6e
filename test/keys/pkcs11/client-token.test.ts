// SPDX-License-Identifier: Apache-2.0
// The signet CLI with its root keys on a SoftHSM2 token (SIGNET_PKCS11_*),
// against the real notary-server: init puts the root key on the token,
// publish, rotate the targets key, rotate the root onto a second token key;
// then the Debian notary CLI verifies the result from a fresh trust dir and
// publishes with the file keys signet left in its trust dir. No root
// passphrase is set anywhere, so any root key in a file would make these
// commands fail. Also: key list/generate/import/remove on the token, a
// missing token, the file fallback and the backup.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { runCli } from '../../../client/cli.js';
import { EXIT } from '../../../client/exit-codes.js';
import { encodePlainKeyFile } from '../../../keys/key-file.js';
import { closeTokenSessions } from '../../../keys/pkcs11/index.js';
import { runNotary, startNotaryServer, type NotaryServer } from '../../client/support/notary.js';
import { createSoftHsm, softhsmSkip, type SoftHsm, type TestToken } from '../../support/softhsm.js';

const FILE_PASSES = { NOTARY_TARGETS_PASSPHRASE: 'token-test-targets', NOTARY_SNAPSHOT_PASSPHRASE: 'token-test-snapshot' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (c: Buffer, _e, cb) => { text += c.toString(); cb(); } }), text: () => text };
}

function keyFiles(dir: string): string[] {
  const p = path.join(dir, 'private');
  return fs.existsSync(p) ? fs.readdirSync(p).sort() : [];
}

function rolesInFiles(dir: string): string[] {
  return keyFiles(dir).map((f) => /^role: (.+)$/m.exec(fs.readFileSync(path.join(dir, 'private', f), 'utf8'))?.[1] ?? '?').sort();
}

describe('signet CLI with root keys on a PKCS#11 token', { skip: softhsmSkip() }, () => {
  let hsm: SoftHsm;
  let tok: TestToken;
  let server: NotaryServer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-token-cli-'));
  const payload = path.join(tmp, 'payload.txt');
  const home = path.join(tmp, 'home');
  let tokenEnv: Record<string, string>;

  async function signet(args: string[], env: Record<string, string> = {}): Promise<Run> {
    const out = sink();
    const err = sink();
    const code = await runCli(['-s', server.url, ...args], { stdout: out.stream, stderr: err.stream, stdin: new PassThrough(), env: { HOME: home, CI: 'true', ...FILE_PASSES, ...tokenEnv, ...env } });
    return { code, stdout: out.text(), stderr: err.text() };
  }

  before(async () => {
    hsm = createSoftHsm();
    tok = hsm.createToken('signet-root', '97531');
    tokenEnv = { SIGNET_PKCS11_MODULE: hsm.modulePath, SIGNET_PKCS11_TOKEN: tok.label, SIGNET_PKCS11_PIN: tok.pin };
    server = await startNotaryServer();
    fs.mkdirSync(home);
    fs.writeFileSync(payload, 'signed with a token root\n');
  });
  after(async () => {
    await closeTokenSessions();
    await server.stop();
    hsm.remove();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('init, publish, rotate targets, rotate root onto a second token key; notary verifies and publishes with the file keys', async () => {
    const gun = 'example.com/token-root';
    const dir = path.join(tmp, 'owner');
    const init = await signet(['-d', dir, 'init', gun, '-p']);
    assert.equal(init.code, 0, init.stderr);
    const rootId = /Root key created, using: ([0-9a-f]{64})/.exec(init.stdout)?.[1];
    assert.ok(rootId, init.stdout);
    assert.deepEqual(rolesInFiles(dir), ['snapshot', 'targets'], 'the root key is not in a file');

    const list = await signet(['-d', dir, 'key', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^root\\s+${rootId}\\s+pkcs11:signet-root\\s*$`, 'm'));
    assert.match(list.stdout, /^targets\s+example\.com\/token-root\s+[0-9a-f]{64}\s+\S*private/m);

    assert.equal((await signet(['-d', dir, 'add', gun, 'v1', payload, '-p'])).code, 0);
    const rotT = await signet(['-d', dir, 'key', 'rotate', gun, 'targets']);
    assert.equal(rotT.code, 0, rotT.stderr);
    const rotR = await signet(['-d', dir, 'key', 'rotate', gun, 'root', '-y']);
    assert.equal(rotR.code, 0, rotR.stderr);
    assert.deepEqual(rolesInFiles(dir), ['snapshot', 'targets'], 'the new root key is not in a file either');
    const roots = (await signet(['-d', dir, 'key', 'list', '--output', 'json'])).stdout;
    const tokenRoots = (JSON.parse(roots) as Array<{ keyId: string; role: string; location: string }>).filter((k) => k.role === 'root' && k.location === 'pkcs11:signet-root');
    assert.equal(tokenRoots.length, 2, roots);
    assert.ok(tokenRoots.some((k) => k.keyId === rootId));

    // the root now lists the second token key's certificate and is signed by both token keys (old and new)
    const root = JSON.parse(fs.readFileSync(path.join(dir, 'tuf', 'example.com', 'token-root', 'metadata', 'root.json'), 'utf8')) as { signed: { version: number; roles: { root: { keyids: string[] } } }; signatures: unknown[] };
    assert.equal(root.signed.version, 3);
    assert.equal(root.signatures.length, 2);

    // a reader with nothing but notary: TOFU on root v1, then the rotations are verified up to v3
    const reader = path.join(tmp, 'reader');
    const theirs = runNotary(['list', gun], { trustDir: reader, server: server.url });
    assert.equal(theirs.status, 0, theirs.stdout + theirs.stderr);
    assert.match(theirs.stdout, /^v1\s+[0-9a-f]{64}\s+25\s+targets$/m);
    // notary signs with the file keys signet left (the rotated targets key, the snapshot key)
    const add = runNotary(['add', '-p', gun, 'v2', payload], { trustDir: dir, server: server.url, env: FILE_PASSES });
    assert.equal(add.status, 0, add.stdout + add.stderr);
    const after = runNotary(['list', gun], { trustDir: reader, server: server.url });
    assert.match(after.stdout, /^v2\s/m);
    const mine = await signet(['-d', dir, 'list', gun]);
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stdout, /^v2\s/m);
  });

  test('key generate, import and remove act on the token for root keys and on files for others', async () => {
    const dir = path.join(tmp, 'keys');
    const gen = await signet(['-d', dir, 'key', 'generate', '--role', 'root', '--output', 'json']);
    assert.equal(gen.code, 0, gen.stderr);
    const generated = (JSON.parse(gen.stdout) as { keyId: string }).keyId;
    const pemFile = path.join(tmp, 'root-import.pem');
    fs.writeFileSync(pemFile, encodePlainKeyFile(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'root', undefined), { mode: 0o600 });
    const imp = await signet(['-d', dir, 'key', 'import', pemFile]);
    assert.equal(imp.code, 0, imp.stderr);
    const imported = /Imported key ([0-9a-f]{64})/.exec(imp.stdout)![1]!;
    assert.deepEqual(keyFiles(dir), [], 'root keys went to the token, not to files');
    const rows = JSON.parse((await signet(['-d', dir, 'key', 'list', '--output', 'json'])).stdout) as Array<{ keyId: string; location: string }>;
    for (const id of [generated, imported]) assert.equal(rows.find((r) => r.keyId === id)?.location, 'pkcs11:signet-root');
    const del = await signet(['-d', dir, 'key', 'generate', '--role', 'targets/releases', '--output', 'json'], { NOTARY_DELEGATION_PASSPHRASE: 'token-test-delegation' });
    assert.equal(del.code, 0, del.stderr);
    assert.equal(keyFiles(dir).length, 1, 'a delegation key is a file');

    const rm = await signet(['-d', dir, 'key', 'remove', imported, '-y']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /Deleted pkcs11:signet-root \(role root\) from pkcs11:signet-root/);
    const left = JSON.parse((await signet(['-d', dir, 'key', 'list', '--output', 'json'])).stdout) as Array<{ keyId: string }>;
    assert.ok(!left.some((r) => r.keyId === imported));
    assert.ok(left.some((r) => r.keyId === generated));
  });

  test('a missing token stops init with what to do; the file fallback and a file backup of a new root key only when asked', async () => {
    const missing = { SIGNET_PKCS11_TOKEN: 'not-plugged-in' };
    const dir = path.join(tmp, 'missing');
    const r = await signet(['-d', dir, 'init', 'example.com/missing'], missing);
    assert.equal(r.code, EXIT.FAILURE, r.stderr);
    assert.match(r.stderr, /no token labelled "not-plugged-in" is present .*insert it/);
    assert.deepEqual(keyFiles(dir), [], 'nothing was written');

    const fb = await signet(['-d', dir, 'init', 'example.com/missing'], { ...missing, SIGNET_PKCS11_FALLBACK: 'files', NOTARY_ROOT_PASSPHRASE: 'token-test-root' });
    assert.equal(fb.code, 0, fb.stderr);
    assert.match(fb.stderr, /token not-plugged-in is not available.*using the file store/);
    assert.deepEqual(rolesInFiles(dir), ['root', 'snapshot', 'targets']);

    // init reuses the root key already on the token (as notary reuses an existing root key), so back up a new one made by key generate
    const noPass = await signet(['-d', path.join(tmp, 'backup0'), 'key', 'generate', '--role', 'root'], { SIGNET_PKCS11_BACKUP: '1' });
    assert.equal(noPass.code, EXIT.CREDENTIALS, 'a backup needs a root passphrase');
    assert.match(noPass.stderr, /NOTARY_ROOT_PASSPHRASE/);
    const bdir = path.join(tmp, 'backup');
    const bk = await signet(['-d', bdir, 'key', 'generate', '--role', 'root'], { SIGNET_PKCS11_BACKUP: '1', NOTARY_ROOT_PASSPHRASE: 'token-test-root' });
    assert.equal(bk.code, 0, bk.stderr);
    const rootId = /keyID: ([0-9a-f]{64})/.exec(bk.stdout)![1]!;
    assert.deepEqual(keyFiles(bdir), [`${rootId}.key`], 'an encrypted backup file of the root key');
    assert.match(fs.readFileSync(path.join(bdir, 'private', `${rootId}.key`), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
    const rows = JSON.parse((await signet(['-d', bdir, 'key', 'list', '--output', 'json'])).stdout) as Array<{ keyId: string; location: string }>;
    assert.deepEqual(rows.filter((x) => x.keyId === rootId).map((x) => x.location).sort(), [path.join(bdir, 'private'), 'pkcs11:signet-root'].sort());
  });
});
