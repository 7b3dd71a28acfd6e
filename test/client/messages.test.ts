// SPDX-License-Identifier: Apache-2.0
// Messages for unusable inputs: TLS client files, metadata that does not parse
// (cached or from the server), --key files of `key rotate`, delegation names.
// Each names the file, role or server at fault and the way out, with the same
// exit code as before (no "unexpected error").
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHttpSend } from '../../client/http-transport.js';
import { ConfigError, RemoteError } from '../../shared/errors.js';
import { signet } from './support/cli-run.js';
import { startStub, type Stub } from './support/http-stub.js';
import { startSignetServer, type TrustServer } from './support/signet-server.js';

const tmp = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `signet-msgs-${prefix}-`));
const NOWHERE = 'https://127.0.0.1:1';

function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  return { cert, key };
}

describe('unusable TLS client certificate or key', () => {
  const dir = tmp('tls');
  const a = selfSigned(dir, 'a');
  const b = selfSigned(dir, 'b');
  const notPem = path.join(dir, 'notpem.txt');
  fs.writeFileSync(notPem, 'hello\n');
  const encrypted = path.join(dir, 'a-enc.key');
  execFileSync('openssl', ['pkcs8', '-topk8', '-in', a.key, '-out', encrypted, '-passout', 'pass:x'], { stdio: 'ignore' });

  const cases: Array<[string, string, string, RegExp]> = [
    ['a certificate that is not PEM', notPem, a.key, /TLS client certificate .*notpem\.txt is not a PEM certificate/],
    ['a key that does not match the certificate', a.cert, b.key, /a\.crt and key .*b\.key: the key does not match the certificate/],
    ['certificate and key swapped', a.key, a.cert, /a\.key holds a private key, not a PEM certificate \(are the certificate and key swapped\?\)/],
    ['an encrypted key', a.cert, encrypted, /TLS client key .*a-enc\.key is encrypted: encrypted keys are not supported; decrypt it/],
  ];
  for (const [what, cert, key, expected] of cases) {
    it(`tls-files: ${what} is a config error naming the file, not an unexpected error`, async () => {
      const r = await signet(['-s', NOWHERE, '-d', tmp('td'), '--tlscert', cert, '--tlskey', key, 'list', 'example.com/x']);
      assert.equal(r.code, 2, r.stderr);
      assert.doesNotMatch(r.stderr, /unexpected error/);
      assert.match(r.stderr, expected);
    });
  }

  it('tls-files: createHttpSend throws ConfigError up front for a mismatched pair', () => {
    assert.throws(() => createHttpSend({ certFile: a.cert, keyFile: b.key, skipVerify: false }), (e: unknown) => e instanceof ConfigError && /does not match/.test(e.message));
  });

  it('tls-files: a usable pair is accepted', () => {
    assert.equal(typeof createHttpSend({ certFile: a.cert, keyFile: a.key, skipVerify: false }), 'function');
  });

  it('transport: a request node refuses to build rejects with a RemoteError', async () => {
    const send = createHttpSend();
    await assert.rejects(
      send({ method: 'GET', url: new URL('http://127.0.0.1:1/x'), headers: { 'x-bad': 'a\nb' }, maxBytes: 100, timeoutMs: 1000 }),
      (e: unknown) => e instanceof RemoteError && /cannot send GET \/x to http:\/\/127\.0\.0\.1:1/.test(e.message),
    );
  });
});

describe('metadata that does not parse', () => {
  let server: TrustServer;
  let html: Stub;
  const gun = 'example.com/msgs';
  const trustDir = tmp('meta');
  let rootFile: string;
  let rootBytes: Buffer;
  before(async () => {
    server = await startSignetServer();
    html = await startStub((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Please log in</body></html>');
    });
    const r = await signet(['-s', server.url, '-d', trustDir, 'init', gun, '-p']);
    assert.equal(r.code, 0, r.stderr);
    rootFile = path.join(trustDir, 'tuf', gun, 'metadata', 'root.json');
    rootBytes = fs.readFileSync(rootFile);
  });
  after(async () => {
    await html.close();
    await server.stop();
  });

  it('cached-root: a truncated cached root.json names the file and says to move it away (exit 4)', async () => {
    fs.writeFileSync(rootFile, rootBytes.subarray(0, 100));
    try {
      const r = await signet(['-s', server.url, '-d', trustDir, 'list', gun]);
      assert.equal(r.code, 4, r.stderr);
      assert.ok(r.stderr.includes(rootFile), r.stderr);
      assert.match(r.stderr, /is damaged \(metadata is not valid JSON .*\); move it away .*fetches the root from the server again, trusting it on first use/);
    } finally {
      fs.writeFileSync(rootFile, rootBytes);
    }
  });

  it('cached-root: a cached root.json of {} names the file and says to move it away (exit 4)', async () => {
    fs.writeFileSync(rootFile, '{}\n');
    try {
      const r = await signet(['-s', server.url, '-d', trustDir, 'list', gun]);
      assert.equal(r.code, 4, r.stderr);
      assert.ok(r.stderr.includes(rootFile), r.stderr);
      assert.match(r.stderr, /signed: must be an object.*move it away/);
    } finally {
      fs.writeFileSync(rootFile, rootBytes);
    }
  });

  it('server-html: a 200 HTML page for root.json names role, server and the likely cause (exit 4)', async () => {
    const r = await signet(['-s', html.url, '-d', tmp('empty'), 'list', gun]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`the root metadata of ${gun} from ${html.url.replace(/\./g, '\\.')} is not notary metadata .*check -s/remote_server\\.url: a proxy or a login page may have answered`));
  });

  it('server-html: a 200 HTML page for timestamp.json (root as cached) names the timestamp role (exit 4)', async () => {
    const stub = await startStub((req, res) => {
      if (req.url.endsWith('/root.json')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(rootBytes);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Please log in</body></html>');
    });
    try {
      const r = await signet(['-s', stub.url, '-d', trustDir, 'list', gun]);
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /the timestamp metadata of example\.com\/msgs from http:\/\/127\.0\.0\.1:\d+ is not notary metadata .*login page/);
    } finally {
      await stub.close();
    }
  });

  it('server-html: with a cached root, an HTML answer for every file still names the server and the remedy (exit 4)', async () => {
    const r = await signet(['-s', html.url, '-d', trustDir, 'list', gun]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /metadata of example\.com\/msgs from http:\/\/127\.0\.0\.1:\d+ is not notary metadata .*login page/);
  });

  it('init-html: init does not call a 200 HTML page for root.json "already exists"', async () => {
    const r = await signet(['-s', html.url, '-d', tmp('init'), 'init', `${gun}-2`]);
    assert.equal(r.code, 4, r.stderr);
    assert.doesNotMatch(r.stderr, /already exists/);
    assert.match(r.stderr, /answered the request for the root metadata of example\.com\/msgs-2 with something that is not notary metadata/);
  });

  it('init-existing: init still says "already exists" for a real root', async () => {
    const r = await signet(['-s', server.url, '-d', tmp('init2'), 'init', gun]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /already exists on the server/);
  });
});

describe('key rotate --key with a file that is not a private key', () => {
  const dir = tmp('rotk');
  const a = selfSigned(dir, 'a');
  const pub = path.join(dir, 'a.pub');
  execFileSync('openssl', ['pkey', '-in', a.key, '-pubout', '-out', pub], { stdio: 'ignore' });
  for (const [what, file, holds] of [['a certificate', a.cert, 'CERTIFICATE'], ['a public key', pub, 'PUBLIC KEY']] as const) {
    it(`rotate-key: ${what} is a usage error naming the file`, async () => {
      const r = await signet(['-s', NOWHERE, '-d', tmp('rotk-td'), 'key', 'rotate', 'example.com/x', 'targets', '--key', file]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`--key ${file} must hold exactly one PEM private key, found 0 (it holds ${holds}`), r.stderr);
      assert.doesNotMatch(r.stderr, /restore it from a backup/);
    });
  }
});

describe('delegation names: the rule actually broken', () => {
  const dir = tmp('deleg');
  const a = selfSigned(dir, 'a');
  const cases: Array<[string, RegExp]> = [
    ['targets/rel/', /invalid delegation name "targets\/rel\/": it must be a clean path \(no "\/\/", no trailing "\/"\)$/m],
    ['targets/a//b', /invalid delegation name "targets\/a\/\/b": it must be a clean path/],
    [`targets/${'x'.repeat(300)}`, /\.\.\. \(308 characters\): it must be shorter than 256 bytes$/m],
    ['targets/Rel', /"targets\/Rel": it may contain only lower-case letters, digits/],
    ['releases', /"releases": it must start with "targets\/"; use targets\/<name>/],
  ];
  for (const [name, expected] of cases) {
    it(`delegation-name: ${name.slice(0, 20)} gets its own problem`, async () => {
      const r = await signet(['-d', tmp('deleg-td'), 'delegation', 'add', 'example.com/x', name, a.cert, '--all-paths']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, expected);
    });
  }
});
