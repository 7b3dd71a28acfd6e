// SPDX-License-Identifier: Apache-2.0
// The signet CLI with its root keys on a SoftHSM2 token (SIGNET_PKCS11_*),
// against the real notary-server: init puts the root key on the token,
// publish, rotate the targets key, rotate the root onto a second token key;
// then the Debian notary CLI verifies the result from a fresh trust dir and
// publishes with the file keys signet left in its trust dir. No root
// passphrase is set anywhere, so any root key in a file would make these
// commands fail. Also: key list/generate/import/remove on the token, a
// missing token, the file fallback and the backup. And what goes wrong around
// the token: failed root rotations leave no key on it, PIN errors are not
// hidden by init, a token that is not plugged in does not stop work with file
// keys, and messages name the token key and what to do.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { MetadataCache } from '../../../client/cache.js';
import { runCli } from '../../../client/cli.js';
import { EXIT } from '../../../client/exit-codes.js';
import { createHttpSend, type HttpSend } from '../../../client/http-transport.js';
import { NotaryRemote } from '../../../client/remote.js';
import { rotateKey } from '../../../client/rotation.js';
import { RemoteError } from '../../../shared/errors.js';
import { CryptoService, envPassphraseRetriever, FileKeyStore } from '../../../keys/index.js';
import { encodePlainKeyFile } from '../../../keys/key-file.js';
import { closeTokenSessions, keyStoresWithToken } from '../../../keys/pkcs11/index.js';
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
    assert.match(rm.stdout, new RegExp(`^Deleted ${imported} \\(role root\\) from pkcs11:signet-root\\.$`, 'm'), 'notary: Deleted <keyID> (role <role>) from <store>.');
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

  const tokenRootIds = async (dir: string): Promise<string[]> =>
    (JSON.parse((await signet(['-d', dir, 'key', 'list', '--output', 'json'])).stdout) as Array<{ keyId: string; role: string; location: string }>)
      .filter((k) => k.role === 'root' && k.location === 'pkcs11:signet-root')
      .map((k) => k.keyId)
      .sort();

  test('a root rotation that fails before the server accepts it leaves no new key on the token', async () => {
    const gun = 'example.com/token-rotate-fails';
    const dir = path.join(tmp, 'rotate-fails');
    assert.equal((await signet(['-d', dir, 'init', gun, '-p'])).code, 0);
    const before = await tokenRootIds(dir);
    const files = keyFiles(dir);

    // the snapshot key cannot be unlocked: nothing is made (it is unlocked first)
    const noSnap = await signet(['-d', dir, 'key', 'rotate', gun, 'root', '-y'], { NOTARY_SNAPSHOT_PASSPHRASE: '' });
    assert.equal(noSnap.code, EXIT.CREDENTIALS, noSnap.stderr);
    assert.match(noSnap.stderr, /snapshot key/);
    assert.deepEqual(await tokenRootIds(dir), before);

    // the server refuses the new root (a signature spoilt on the way): the key made on the token goes again
    const rotate = (send: HttpSend) =>
      rotateKey(
        {
          gun,
          remote: new NotaryRemote({ serverUrl: server.url, gun, send, access: '*' }),
          cache: new MetadataCache(dir, gun),
          pinning: { certs: new Map(), ca: new Map(), disableTofu: false },
          now: new Date(),
          keys: new CryptoService(keyStoresWithToken(new FileKeyStore(dir, { retriever: envPassphraseRetriever(FILE_PASSES) }), { env: tokenEnv })),
          trustDir: dir,
          retriever: envPassphraseRetriever(FILE_PASSES),
        },
        { role: 'root', serverManaged: false },
      );
    const real = createHttpSend();
    const spoilt: HttpSend = async (req) => {
      if (req.method !== 'POST' || req.body === undefined) return real(req);
      const body = req.body.toString('latin1').replace(/("sig":")(.)/, (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'));
      return real({ ...req, body: Buffer.from(body, 'latin1') });
    };
    await assert.rejects(rotate(spoilt), (e: unknown) => e instanceof RemoteError && e.httpStatus === 400, 'notary-server refuses it');
    assert.deepEqual(await tokenRootIds(dir), before, 'no new root key is left on the token');
    assert.deepEqual(keyFiles(dir), files);

    // no answer at all: the server may have applied it, so the new key stays and the error says so
    const lost: HttpSend = async (req) => (req.method === 'POST' ? { status: 502, headers: {}, body: Buffer.from('bad gateway') } : real(req));
    await assert.rejects(rotate(lost), (e: unknown) => e instanceof RemoteError && /unknown, so the new key\(s\) [0-9a-f]{12} stay in the token/.test(e.message));
    const after = await tokenRootIds(dir);
    assert.equal(after.length, before.length + 1, 'kept');
    const kept = after.find((id) => !before.includes(id))!;
    assert.equal((await signet(['-d', dir, 'key', 'remove', kept, '-y'])).code, 0);

    // and the rotation still works
    const ok = await signet(['-d', dir, 'key', 'rotate', gun, 'root', '-y']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await tokenRootIds(dir)).length, before.length + 1);
  });

  test('init reusing a root key on the token reports a missing or wrong PIN as such', async () => {
    const dir = path.join(tmp, 'init-pin');
    await closeTokenSessions(); // log out: the PIN is asked at the next signature
    const noPin = await signet(['-d', dir, 'init', 'example.com/init-no-pin'], { SIGNET_PKCS11_PIN: '' });
    assert.equal(noPin.code, EXIT.CREDENTIALS, noPin.stderr);
    assert.match(noPin.stderr, /needs its user PIN.*set SIGNET_PKCS11_PIN/);
    assert.doesNotMatch(noPin.stderr, /signing the certificate/);
    await closeTokenSessions();
    const wrong = await signet(['-d', dir, 'init', 'example.com/init-wrong-pin'], { SIGNET_PKCS11_PIN: '000000' });
    assert.equal(wrong.code, EXIT.FAILURE, wrong.stderr);
    assert.match(wrong.stderr, /refused the PIN|PIN is wrong/);
    assert.doesNotMatch(wrong.stderr, /signing the certificate/);
    await closeTokenSessions();
  });

  test('a token that is not plugged in: file keys still sign and list (with a notice); token root keys are reported missing', async () => {
    const gun = 'example.com/away';
    const dir = path.join(tmp, 'unplugged');
    assert.equal((await signet(['-d', dir, 'init', gun, '-p'])).code, 0);
    const away = { SIGNET_PKCS11_TOKEN: 'not-plugged-in' };
    const add = await signet(['-d', dir, 'add', gun, 'v1', payload, '-p'], away);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stderr, /no token labelled "not-plugged-in" is present.*going on with the key files/);
    const list = await signet(['-d', dir, 'key', 'list'], away);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^targets\s+example\.com\/away\s/m);
    assert.match(list.stdout, /^snapshot\s+example\.com\/away\s/m);
    const rot = await signet(['-d', dir, 'key', 'rotate', gun, 'root', '-y'], away);
    assert.equal(rot.code, EXIT.FAILURE, rot.stderr);
    assert.match(rot.stderr, /no token labelled "not-plugged-in" is present.*insert it/);
    assert.equal((await signet(['-d', dir, 'list', gun])).code, 0);
  });

  test('key export and key passwd of a token key say why not; a non-ECDSA root key names the settings that keep it in a file; key list names the token found', async () => {
    const dir = path.join(tmp, 'messages');
    const gen = await signet(['-d', dir, 'key', 'generate', '--role', 'root', '--output', 'json']);
    assert.equal(gen.code, 0, gen.stderr);
    const id = (JSON.parse(gen.stdout) as { keyId: string }).keyId;
    const exp = await signet(['-d', dir, 'key', 'export', '--key', id]);
    assert.equal(exp.code, EXIT.FAILURE);
    assert.match(exp.stderr, /on token signet-root and cannot be exported: its private key never leaves the token/);
    const pw = await signet(['-d', dir, 'key', 'passwd', id]);
    assert.equal(pw.code, EXIT.FAILURE);
    assert.match(pw.stderr, /has no passphrase: the token's user PIN protects it/);

    const rsa = await signet(['-d', dir, 'key', 'generate', 'rsa', '--role', 'root']);
    assert.equal(rsa.code, EXIT.FAILURE);
    assert.match(rsa.stderr, /ECDSA P-256 keys only.*SIGNET_PKCS11_ROLES.*unset SIGNET_PKCS11_MODULE/);
    assert.doesNotMatch(rsa.stderr, /FALLBACK/);
    // what it suggests works
    const inFile = await signet(['-d', dir, 'key', 'generate', 'ed25519', '--role', 'root'], { SIGNET_PKCS11_ROLES: 'targets', NOTARY_ROOT_PASSPHRASE: 'token-test-root' });
    assert.equal(inFile.code, 0, inFile.stderr);
    assert.equal(keyFiles(dir).length, 1);

    // the only token, chosen without a label: listed under its own label
    const { SIGNET_PKCS11_TOKEN: _label, ...noLabel } = tokenEnv;
    const saved = tokenEnv;
    tokenEnv = noLabel;
    try {
      const rows = JSON.parse((await signet(['-d', dir, 'key', 'list', '--output', 'json'])).stdout) as Array<{ keyId: string; location: string }>;
      assert.equal(rows.find((r) => r.keyId === id)?.location, 'pkcs11:signet-root');
    } finally {
      tokenEnv = saved;
    }
  });
});
