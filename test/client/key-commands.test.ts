// SPDX-License-Identifier: Apache-2.0
// `signet key generate|import|export|remove|passwd` on real trust dirs, each
// result checked with the notary binary: keys signet makes or imports are
// listed and used by notary, exports import into notary, and the removal
// safety check refuses to strand a role.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { PassphraseRetriever } from '../../keys/index.js';
import { fixture } from '../support/paths.js';
import { NOTARY_PASSPHRASES, runNotary, startNotaryServer, type NotaryServer } from './support/notary.js';
import { copyFixtureTrustDir, keyFiles, signet, snapshotTree, tmp } from './key-helpers.js';

const FIXTURE_ENV = {
  NOTARY_ROOT_PASSPHRASE: 'fixture-root-pass',
  NOTARY_TARGETS_PASSPHRASE: 'fixture-targets-pass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'fixture-snapshot-pass',
  NOTARY_DELEGATION_PASSPHRASE: 'fixture-delegation-pass',
};

const openssl = (args: string[], input?: string): string => execFileSync('openssl', args, { input: input ?? '', encoding: 'utf8' });

function assertAllEncrypted(trustDir: string): void {
  for (const f of keyFiles(trustDir)) {
    const text = fs.readFileSync(path.join(trustDir, 'private', f), 'utf8');
    assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/, `${f} must be encrypted`);
    assert.equal(fs.statSync(path.join(trustDir, 'private', f)).mode & 0o777, 0o600);
  }
}

describe('key generate', () => {
  let server: NotaryServer;
  before(async () => {
    server = await startNotaryServer();
  });
  after(async () => {
    await server.stop();
  });

  it('a generated root key is listed by notary and used by `notary init`', async () => {
    const dir = tmp();
    const r = await signet(['-d', dir, 'key', 'generate']);
    assert.equal(r.code, 0, r.stderr);
    const id = /^Generated new ecdsa root key with keyID: ([0-9a-f]{64})\n$/.exec(r.stdout)?.[1];
    assert.ok(id !== undefined, r.stdout);
    assertAllEncrypted(dir);
    assert.match(runNotary(['key', 'list'], { trustDir: dir }).stdout, new RegExp(`root {4,}${id}`));
    const init = runNotary(['init', '-p', 'example.com/gen-root'], { trustDir: dir, server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stdout, new RegExp(`Root key found, using: ${id}`));
  });

  it('ed25519 and rsa keys for delegations; a targets key needs its gun', async () => {
    const dir = tmp();
    assert.equal((await signet(['-d', dir, 'key', 'generate', 'ed25519', '--role', 'targets/ed'])).code, 0);
    assert.equal((await signet(['-d', dir, 'key', 'generate', 'RSA', '--role', 'targets/rsa'])).code, 0);
    const noGun = await signet(['-d', dir, 'key', 'generate', '--role', 'targets']);
    assert.equal(noGun.code, 1);
    assert.match(noGun.stderr, /give its gun/);
    const bad = await signet(['-d', dir, 'key', 'generate', 'dsa']);
    assert.equal(bad.code, 2);
    const listed = JSON.parse((await signet(['-d', dir, '--output', 'json', 'key', 'list'])).stdout) as Array<{ role: string }>;
    assert.deepEqual(listed.map((k) => k.role).sort(), ['targets/ed', 'targets/rsa']);
    assertAllEncrypted(dir);
  });

  it('-o writes an encrypted private key notary imports and a public key, and never overwrites', async () => {
    const dir = tmp();
    const out = path.join(dir, 'ci');
    const r = await signet(['key', 'generate', '--role', 'targets/ci', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const priv = fs.readFileSync(`${out}-key.pem`, 'utf8');
    assert.match(priv, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\npath: [0-9a-f]{64}\nrole: targets\/ci\n\n/);
    assert.equal(fs.statSync(`${out}-key.pem`).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(`${out}.pem`, 'utf8'), /^-----BEGIN PUBLIC KEY-----\nrole: targets\/ci\n\n/);
    const id = /keyID: ([0-9a-f]{64})/.exec(r.stdout)![1]!;
    const nd = tmp();
    const imp = runNotary(['key', 'import', `${out}-key.pem`], { trustDir: nd, env: NOTARY_PASSPHRASES });
    assert.equal(imp.status, 0, imp.stderr);
    assert.match(runNotary(['key', 'list'], { trustDir: nd }).stdout, new RegExp(`targets/ci {4,}${id}`));
    const again = await signet(['key', 'generate', '--role', 'targets/ci', '-o', out]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists/);
    assert.equal(fs.readFileSync(`${out}-key.pem`, 'utf8'), priv);
  });

  it("takes notary's --output FILE where notary names a file, and refuses a file name where --output is a format", async () => {
    const dir = tmp();
    const prefix = path.join(dir, 'notary-style');
    const r = await signet(['key', 'generate', '--role', 'targets/ci', '--output', prefix]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(fs.readFileSync(`${prefix}-key.pem`, 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\npath: [0-9a-f]{64}\nrole: targets\/ci\n/);
    assert.match(fs.readFileSync(`${prefix}.pem`, 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
    const src = copyFixtureTrustDir('owner');
    const exported = path.join(dir, 'exported.pem');
    const e = await signet(['-d', src, 'key', 'export', '--output', exported], { env: FIXTURE_ENV });
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stdout, '');
    assert.equal((fs.readFileSync(exported, 'utf8').match(/-----BEGIN ENCRYPTED PRIVATE KEY-----/g) ?? []).length, 2);
    assert.equal(fs.statSync(exported).mode & 0o777, 0o600);
    // A format is still a format on these commands, and elsewhere a file name is a usage error that writes nothing.
    const asJson = await signet(['-d', dir, 'key', 'generate', '--role', 'targets/ci', '--output', 'json', '--gun', 'example.com/app']);
    assert.equal(asJson.code, 0, asJson.stderr);
    assert.equal(typeof (JSON.parse(asJson.stdout) as { keyId: unknown }).keyId, 'string');
    assert.ok(!fs.existsSync(path.join(process.cwd(), 'json-key.pem')));
    const listed = path.join(dir, 'list.out');
    const refused = await signet(['-d', src, 'key', 'list', '--output', listed]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--output takes text or json here, got ".*list\.out"; a file name is taken only by key export, key generate and verify/);
    assert.equal(refused.stdout, '');
    assert.ok(!fs.existsSync(listed));
  });
});

describe('key import / export', () => {
  it('imports an unencrypted openssl EC key (a Docker client bundle key.pem) and an RSA PKCS#8 key, encrypted at rest', async () => {
    const dir = tmp();
    const bundle = path.join(tmp(), 'key.pem');
    fs.writeFileSync(bundle, openssl(['ecparam', '-name', 'prime256v1', '-genkey']));
    const r = await signet(['-d', dir, 'key', 'import', bundle, '--role', 'targets/jenkins', fixture('delegate-keys', 'jenkins.key')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.stdout.match(/^Imported key [0-9a-f]{64} from /gm) ?? []).length, 2);
    assertAllEncrypted(dir);
    const listed = runNotary(['key', 'list'], { trustDir: dir }).stdout;
    assert.match(listed, /targets\/jenkins {4,}a12a59c9425677565613dd32e9eaaff1954bb044d09a966cbf4da4a80c28c3ea/);
    assert.equal((listed.match(/targets\/jenkins/g) ?? []).length, 2);
  });

  it('exports encrypted blocks with path headers that notary and signet import back', async () => {
    const src = copyFixtureTrustDir('owner');
    const outFile = path.join(tmp(), 'keys.pem');
    const r = await signet(['-d', src, 'key', 'export', '-o', outFile], { env: FIXTURE_ENV });
    assert.equal(r.code, 0, r.stderr);
    const text = fs.readFileSync(outFile, 'utf8');
    assert.equal(fs.statSync(outFile).mode & 0o777, 0o600);
    assert.equal((text.match(/-----BEGIN ENCRYPTED PRIVATE KEY-----/g) ?? []).length, 2);
    assert.doesNotMatch(text, /BEGIN PRIVATE KEY|BEGIN EC PRIVATE KEY/);
    assert.match(text, /gun: example\.com\/app\npath: 50c5db80[0-9a-f]{56}\nrole: targets\n/);
    const viaNotary = tmp();
    assert.equal(runNotary(['key', 'import', outFile], { trustDir: viaNotary, env: FIXTURE_ENV }).status, 0);
    const viaSignet = tmp();
    const imp = await signet(['-d', viaSignet, 'key', 'import', outFile], { env: FIXTURE_ENV });
    assert.equal(imp.code, 0, imp.stderr);
    const list = (d: string): string => runNotary(['key', 'list'], { trustDir: d }).stdout.replaceAll(d, '<dir>');
    assert.equal(list(viaSignet), list(src));
    assert.equal(list(viaNotary), list(src));
    const one = await signet(['-d', src, 'key', 'export', '--key', '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac']);
    assert.equal((one.stdout.match(/BEGIN ENCRYPTED/g) ?? []).length, 1);
    assert.match(one.stdout, /role: root\n/);
    const byGun = await signet(['-d', src, 'key', 'export', '--gun', 'example.com/app']);
    assert.match(byGun.stdout, /role: targets\n/);
    assert.doesNotMatch(byGun.stdout, /role: root/);
  });

  it('imports nothing when one of the files cannot be read; a passphrase missing half-way names the keys already imported', async () => {
    const dir = tmp();
    const missing = await signet(['-d', dir, 'key', 'import', fixture('delegate-keys', 'releases.key'), path.join(tmp(), 'no-such.pem'), '--role', 'targets/releases']);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /cannot read .*no-such\.pem/);
    assert.equal(fs.existsSync(path.join(dir, 'private')) ? fs.readdirSync(path.join(dir, 'private')).length : 0, 0);
    const rootKey = path.join(copyFixtureTrustDir('owner'), 'private', '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac.key');
    const half = await signet(['-d', dir, 'key', 'import', fixture('delegate-keys', 'releases.key'), rootKey], {
      env: { NOTARY_DELEGATION_PASSPHRASE: 'interop-delegation-pass' },
    });
    assert.equal(half.code, 3, half.stderr);
    assert.match(half.stderr, /NOTARY_ROOT_PASSPHRASE.*\(already imported: [0-9a-f]{12} from .*releases\.key\)/);
  });

  it('refuses unknown IDs, --key with --gun, and non-key files; a bad block fails the command but not the others', async () => {
    const src = copyFixtureTrustDir('owner');
    assert.equal((await signet(['-d', src, 'key', 'export', '--key', 'f'.repeat(64)])).code, 2);
    assert.equal((await signet(['-d', src, 'key', 'export', '--key', 'f'.repeat(64), '--gun', 'x/y'])).code, 2);
    const dir = tmp();
    const cert = await signet(['-d', dir, 'key', 'import', fixture('delegate-keys', 'releases.crt')]);
    assert.equal(cert.code, 2);
    assert.match(cert.stderr, /no PEM private key block/);
    const mixed = path.join(tmp(), 'mixed.pem');
    const truncated = fs.readFileSync(fixture('delegate-keys', 'jenkins.key'), 'utf8').replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n');
    fs.writeFileSync(mixed, fs.readFileSync(fixture('delegate-keys', 'releases.key'), 'utf8') + truncated);
    const r = await signet(['-d', dir, 'key', 'import', mixed, '--role', 'targets/releases']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /mixed\.pem \(key 2 of 2\)/);
    assert.deepEqual(keyFiles(dir), ['1d755a178a2a415a21a7fb6e4ddd807bbda71992546368f10c1c982a08d90612.key']);
  });
});

describe('key remove', () => {
  it('asks for confirmation: without a terminal it needs -y', async () => {
    const dir = tmp();
    const id = /keyID: ([0-9a-f]{64})/.exec((await signet(['-d', dir, 'key', 'generate', '--role', 'targets/x'])).stdout)![1]!;
    const r = await signet(['-d', dir, 'key', 'remove', id]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pass -y/);
    assert.deepEqual(keyFiles(dir), [`${id}.key`]);
    const y = await signet(['-d', dir, 'key', 'remove', id, '-y']);
    assert.equal(y.code, 0, y.stderr);
    assert.match(y.stdout, new RegExp(`^Deleted ${id} \\(role targets/x\\) from `, 'm'), 'notary: Deleted <keyID> (role <role>) from <store>.');
    assert.deepEqual(keyFiles(dir), []);
    assert.equal((await signet(['-d', dir, 'key', 'remove', id, '-y'])).code, 1);
    assert.equal((await signet(['-d', dir, 'key', 'remove', 'not-an-id', '-y'])).code, 2);
  });

  for (const [name, keyId, role] of [
    ['owner', '50c5db8043356e6c1ca87f7a06aa909493c9b12d1153079d790ace59bd826d11', 'targets'],
    ['owner', '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac', 'root'],
    ['delegate', '1d755a178a2a415a21a7fb6e4ddd807bbda71992546368f10c1c982a08d90612', 'targets/releases'],
  ] as const) {
    it(`refuses to remove the last ${role} key of a cached repository unless --force`, async () => {
      const dir = copyFixtureTrustDir(name);
      const before = snapshotTree(dir);
      const r = await signet(['-d', dir, 'key', 'remove', keyId, '-y']);
      assert.equal(r.code, 4, 'a refused unsafe key change, as key rotate refuses one');
      assert.match(r.stderr, new RegExp(`could no longer sign ${role.replace('/', '\\/')} of example\\.com\\/app \\(threshold 1, 0 other key\\(s\\) held\\)`));
      assert.match(r.stderr, /signet key rotate <gun> <role>.*signet key export --key .* --force/);
      assert.deepEqual(snapshotTree(dir), before);
      const forced = await signet(['-d', dir, 'key', 'remove', keyId, '-y', '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stderr, /warning: removing key .* leaves you unable to sign/);
      assert.ok(!keyFiles(dir).includes(`${keyId}.key`));
    });
  }
});

describe('key passwd', () => {
  it('re-encrypts with the new passphrase; notary opens it with the new one only', async () => {
    const dir = copyFixtureTrustDir('owner');
    const id = '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac';
    const asked: string[] = [];
    const retriever: PassphraseRetriever = async (req) => {
      asked.push(`${req.role}:${req.createNew}`);
      return req.createNew ? 'brand-new-root-pass' : 'fixture-root-pass';
    };
    const r = await signet(['-d', dir, 'key', 'passwd', id], { retriever });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `\nSuccessfully updated passphrase for key ID: ${id}\n`);
    assert.deepEqual(asked, ['root:false', 'root:true']);
    assertAllEncrypted(dir);
    // notary's passwd decrypts with the env passphrase first: it proves which passphrase opens the file
    assert.notEqual(runNotary(['key', 'passwd', id], { trustDir: dir, env: { NOTARY_ROOT_PASSPHRASE: 'fixture-root-pass' } }).status, 0);
    assert.equal(runNotary(['key', 'passwd', id], { trustDir: dir, env: { NOTARY_ROOT_PASSPHRASE: 'brand-new-root-pass' } }).status, 0);
  });

  it('takes the new passphrase from SIGNET_NEW_PASSPHRASE, never from the role variable', async () => {
    const dir = copyFixtureTrustDir('owner');
    const id = '50c5db8043356e6c1ca87f7a06aa909493c9b12d1153079d790ace59bd826d11';
    const noNew = await signet(['-d', dir, 'key', 'passwd', id], { env: FIXTURE_ENV });
    assert.equal(noNew.code, 3, 'no terminal and no SIGNET_NEW_PASSPHRASE: a credentials error');
    // It names the variable that would help, not the role's (which is set, and ignored for the new passphrase).
    assert.match(noNew.stderr, /new passphrase for the targets key .* set SIGNET_NEW_PASSPHRASE/);
    assert.doesNotMatch(noNew.stderr, /NOTARY_TARGETS_PASSPHRASE/);
    const r = await signet(['-d', dir, 'key', 'passwd', id], { env: { ...FIXTURE_ENV, SIGNET_NEW_PASSPHRASE: 'rotated-targets-pass' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(runNotary(['key', 'passwd', id], { trustDir: dir, env: { NOTARY_TARGETS_PASSPHRASE: 'rotated-targets-pass' } }).status, 0);
  });
});
