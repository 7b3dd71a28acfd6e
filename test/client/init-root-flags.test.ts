// SPDX-License-Identifier: Apache-2.0
// `init --rootkey/--rootcert` against the real notary-server and notary CLI:
// a root key made and encrypted with openssl, a root certificate issued by a
// CA, and readers that pin that CA (trust_pinning.ca), signet and notary alike.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../client/exit-codes.js';
import { certificateToPem } from '../../shared/crypto/index.js';
import { X509Certificate } from 'node:crypto';
import { signet, treeOf } from './support/cli-run.js';
import { NOTARY_PASSPHRASES, runNotary, startNotaryServer, type NotaryServer } from './support/notary.js';

const HAS_NOTARY = fs.existsSync('/usr/bin/notary-server') && fs.existsSync('/usr/bin/notary');

describe('init --rootkey / --rootcert', { skip: HAS_NOTARY ? false : 'notary binaries not installed' }, () => {
  let server: NotaryServer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-rootflags-'));
  const pki = path.join(tmp, 'pki');
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
  };
  /** A P-256 root key for `gun`: `<name>.key` (plain), `<name>.enc.pem` (encrypted as notary reads it), `<name>.crt` (issued by the CA). */
  const rootKeyFor = (name: string, gun: string): { plain: string; encrypted: string; cert: string } => {
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
    openssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${gun.replaceAll('/', '\\/')}`, '-out', `${name}.csr`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '365', '-out', `${name}.crt`, '-extfile', 'leaf.ext');
    // notary decrypts PBES2 with PBKDF2-HMAC-SHA1 only
    openssl('pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1', '-in', `${name}.key`, '-passout', `pass:${NOTARY_PASSPHRASES.NOTARY_ROOT_PASSPHRASE}`, '-out', `${name}.enc.pem`);
    return { plain: path.join(pki, `${name}.key`), encrypted: path.join(pki, `${name}.enc.pem`), cert: path.join(pki, `${name}.crt`) };
  };
  const pinConfig = path.join(tmp, 'pin-ca.json');

  before(async () => {
    server = await startNotaryServer();
    fs.mkdirSync(pki);
    fs.writeFileSync(path.join(pki, 'leaf.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n');
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=Signet Test Root CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    fs.writeFileSync(pinConfig, JSON.stringify({ trust_pinning: { ca: { 'example.com/': path.join(pki, 'ca.crt') } } }));
  });
  after(async () => {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const s = (dir: string, ...args: string[]): string[] => ['-s', server.url, '-d', dir, ...args];

  it('a CA-issued root certificate and an imported root key: readers pinning the CA (signet and notary) trust the repository, notary publishes in the same trust dir', async () => {
    const gun = 'example.com/ca-rooted';
    const key = rootKeyFor('ca-rooted', gun);
    const owner = path.join(tmp, 'owner');
    const init = await signet(s(owner, 'init', gun, '--rootkey', key.encrypted, '--rootcert', key.cert, '-p'));
    assert.equal(init.code, EXIT.OK, init.stderr);
    // The root role's one key is the given certificate, written as Go writes it.
    const root = JSON.parse(fs.readFileSync(path.join(owner, 'tuf', 'example.com', 'ca-rooted', 'metadata', 'root.json'), 'utf8')) as {
      signed: { keys: Record<string, { keytype: string; keyval: { public: string } }>; roles: { root: { keyids: string[] } } };
    };
    const rootKey = root.signed.keys[root.signed.roles.root.keyids[0]!]!;
    assert.equal(rootKey.keytype, 'ecdsa-x509');
    assert.equal(Buffer.from(rootKey.keyval.public, 'base64').toString(), certificateToPem(new X509Certificate(fs.readFileSync(key.cert)).raw));

    const fileToAdd = path.join(tmp, 'payload');
    fs.writeFileSync(fileToAdd, 'payload\n');
    const add = runNotary(['add', '-p', gun, 'by-notary', fileToAdd], { trustDir: owner, server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(add.status, 0, add.stdout + add.stderr);
    const viaNotary = runNotary(['-c', pinConfig, 'list', gun], { trustDir: path.join(tmp, 'notary-reader'), server: server.url });
    assert.equal(viaNotary.status, 0, viaNotary.stdout + viaNotary.stderr);
    assert.match(viaNotary.stdout, /^by-notary\s/m);
    const viaSignet = await signet(['-c', pinConfig, ...s(path.join(tmp, 'signet-reader'), 'list', gun)]);
    assert.equal(viaSignet.code, EXIT.OK, viaSignet.stderr);
    assert.equal(viaSignet.stdout, viaNotary.stdout);
  });

  it('--rootcert alone uses the matching root key already in the key store', async () => {
    const gun = 'example.com/cert-only';
    const key = rootKeyFor('cert-only', gun);
    const dir = path.join(tmp, 'cert-only');
    const imported = await signet(s(dir, 'key', 'import', key.encrypted, '--role', 'root'));
    assert.equal(imported.code, EXIT.OK, imported.stderr);
    const init = await signet(s(dir, 'init', gun, '--rootcert', key.cert, '-p'));
    assert.equal(init.code, EXIT.OK, init.stderr);
    assert.match(init.stdout, /^Root key found, using: [0-9a-f]{64}$/m);
    assert.equal((await signet(['-c', pinConfig, ...s(path.join(tmp, 'cert-only-reader'), 'list', gun)])).code, EXIT.OK);
  });

  it('a repository notary initialised with --rootkey/--rootcert is trusted by signet through the CA pin', async () => {
    const gun = 'example.com/notary-ca-rooted';
    const key = rootKeyFor('notary-ca-rooted', gun);
    const init = runNotary(['init', '-p', gun, '--rootkey', key.encrypted, '--rootcert', key.cert], { trustDir: path.join(tmp, 'notary-owner'), server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(init.status, 0, init.stdout + init.stderr);
    const read = await signet(['-c', pinConfig, ...s(path.join(tmp, 'signet-reader-2'), 'list', gun)]);
    assert.equal(read.code, EXIT.OK, read.stderr);
  });

  it('refuses, writing nothing: an unencrypted key, a certificate for another GUN or key, a certificate without its key, a wrong passphrase', async () => {
    const gun = 'example.com/refused';
    const key = rootKeyFor('refused', gun);
    const other = rootKeyFor('other', 'example.com/other');
    const sameGunOtherKey = rootKeyFor('refused-2', gun);
    const cases: Array<[string, string[], Record<string, string>, number, RegExp]> = [
      ['unencrypted key', ['--rootkey', key.plain], {}, EXIT.USAGE, /--rootkey .* is not encrypted; only encrypted root keys/],
      ['certificate for another GUN', ['--rootkey', key.encrypted, '--rootcert', other.cert], {}, EXIT.USAGE, /common name "example\.com\/other" does not match GUN "example\.com\/refused"/],
      ['certificate without its key', ['--rootcert', key.cert], {}, EXIT.USAGE, /no root key matching --rootcert .* is in the key store; give the key with --rootkey/],
      ['certificate for another key', ['--rootkey', key.encrypted, '--rootcert', sameGunOtherKey.cert], {}, EXIT.USAGE, /--rootcert .* is for key [0-9a-f]{64}, not for the --rootkey key/],
      ['wrong passphrase', ['--rootkey', key.encrypted], { NOTARY_ROOT_PASSPHRASE: 'not-the-passphrase' }, EXIT.FAILURE, /NOTARY_ROOT_PASSPHRASE does not decrypt/],
      ['a CA certificate', ['--rootkey', key.encrypted, '--rootcert', path.join(pki, 'ca.crt')], {}, EXIT.USAGE, /cannot be the root certificate/],
    ];
    for (const [what, flags, env, code, message] of cases) {
      const dir = path.join(tmp, `refused-${what.replaceAll(' ', '-')}`);
      const r = await signet(s(dir, 'init', gun, ...flags), { env });
      assert.equal(r.code, code, `${what}: ${r.stderr}`);
      assert.match(r.stderr, message, what);
      assert.deepEqual([...treeOf(dir).keys()], [], `${what}: nothing written`);
    }
    // The GUN is still free: the same flags done right succeed (a key file that also holds the certificate is fine).
    const both = path.join(pki, 'refused-both.pem');
    fs.writeFileSync(both, fs.readFileSync(key.cert, 'utf8') + fs.readFileSync(key.encrypted, 'utf8'));
    const ok = await signet(s(path.join(tmp, 'refused-ok'), 'init', gun, '--rootkey', both, '--rootcert', key.cert, '-p'));
    assert.equal(ok.code, EXIT.OK, ok.stderr);
  });
});
