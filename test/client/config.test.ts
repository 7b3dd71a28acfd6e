// SPDX-License-Identifier: Apache-2.0
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SERVER_URL, expandHome, loadConfig } from '../../client/config.js';
import { ConfigError } from '../../shared/errors.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'signet-config-'));
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value));
}

describe('loadConfig', () => {
  it('uses notary defaults when there is no config file', () => {
    const home = tmp();
    const c = loadConfig({}, { home, cwd: '/somewhere' });
    assert.equal(c.trustDir, path.join(home, '.notary'));
    assert.equal(c.configFile, path.join(home, '.notary', 'config.json'));
    assert.equal(c.configFileFound, false);
    assert.equal(c.serverUrl, DEFAULT_SERVER_URL);
    assert.equal(c.tls.skipVerify, false);
    assert.equal(c.tls.caFile, undefined);
    assert.equal(c.trustPinning.disableTofu, false);
    assert.equal(c.trustPinning.certs.size, 0);
  });

  it('falls back to <cwd>/.notary without a home directory, as notary does', () => {
    const c = loadConfig({}, { home: '', cwd: '/work/x' });
    assert.equal(c.trustDir, '/work/x/.notary');
  });

  it('reads the default config file and resolves TLS paths against its directory', () => {
    const home = tmp();
    writeJson(path.join(home, '.notary', 'config.json'), {
      trust_dir: '~/trust',
      remote_server: { url: 'https://notary.example.com:4443/', root_ca: 'ca.pem', tls_client_cert: './c.pem', tls_client_key: '/abs/k.pem', skipTLSVerify: true },
      trust_pinning: { certs: { 'example.com/app': ['abc'], 'example.com/*': ['def'] }, ca: { 'example.com/': 'cas/root.pem' }, disable_tofu: true },
    });
    const c = loadConfig({}, { home, cwd: '/cwd' });
    assert.equal(c.configFileFound, true);
    assert.equal(c.trustDir, path.join(home, 'trust'));
    assert.equal(c.serverUrl, 'https://notary.example.com:4443');
    assert.equal(c.tls.caFile, path.join(home, '.notary', 'ca.pem'));
    assert.equal(c.tls.certFile, path.join(home, '.notary', 'c.pem'));
    assert.equal(c.tls.keyFile, '/abs/k.pem');
    assert.equal(c.tls.skipVerify, true);
    assert.deepEqual([...c.trustPinning.certs], [['example.com/app', ['abc']], ['example.com/*', ['def']]]);
    // measured on the notary binary: CA pin paths (like trust_dir) are relative to the working directory
    assert.equal(c.trustPinning.ca.get('example.com/'), '/cwd/cas/root.pem');
    assert.equal(c.trustPinning.disableTofu, true);
  });

  it('resolves a relative trust_dir against the working directory, as the notary binary does', () => {
    const dir = tmp();
    writeJson(path.join(dir, 'cfg', 'config.json'), { trust_dir: 'td' });
    const c = loadConfig({ configFile: 'cfg/config.json' }, { home: '/home/u', cwd: dir });
    assert.equal(c.configFile, path.join(dir, 'cfg', 'config.json'));
    assert.equal(c.trustDir, path.join(dir, 'td'));
  });

  it('lets flags override the file, with flag paths relative to the working directory', () => {
    const dir = tmp();
    writeJson(path.join(dir, 'c.json'), {
      trust_dir: '/from/config',
      remote_server: { url: 'https://config.example', root_ca: 'ca.pem', tls_client_cert: 'c.pem', tls_client_key: 'k.pem' },
    });
    const c = loadConfig(
      { configFile: path.join(dir, 'c.json'), trustDir: 'flagdir', server: 'http://127.0.0.1:4440', tlsCaCert: 'flag-ca.pem', tlsCert: '~/fc.pem', tlsKey: 'fk.pem' },
      { home: '/home/u', cwd: '/cwd' },
    );
    assert.equal(c.trustDir, '/cwd/flagdir');
    assert.equal(c.serverUrl, 'http://127.0.0.1:4440');
    assert.equal(c.tls.caFile, '/cwd/flag-ca.pem');
    assert.equal(c.tls.certFile, '/home/u/fc.pem');
    assert.equal(c.tls.keyFile, '/cwd/fk.pem');
  });

  it('matches config keys case-insensitively, as viper does', () => {
    const dir = tmp();
    writeJson(path.join(dir, 'c.json'), { Trust_Dir: '/t', Remote_Server: { URL: 'https://x.example', skiptlsverify: true } });
    const c = loadConfig({ configFile: path.join(dir, 'c.json') }, { home: '/h', cwd: '/' });
    assert.equal(c.trustDir, '/t');
    assert.equal(c.serverUrl, 'https://x.example');
    assert.equal(c.tls.skipVerify, true);
  });

  const failures: Record<string, { file?: unknown; raw?: string; flags?: Record<string, string>; match: RegExp }> = {
    'a -c file that does not exist': { flags: { configFile: 'missing.json' }, match: /cannot read config file .*missing\.json/ },
    'a config file that is not JSON': { raw: '{"trust_dir": ', match: /not valid JSON/ },
    'a config file that is not an object': { raw: '[1]', match: /must hold a JSON object/ },
    'a non-string trust_dir': { file: { trust_dir: 5 }, match: /trust_dir must be a string/ },
    'skipTLSVerify as a string': { file: { remote_server: { skipTLSVerify: 'yes' } }, match: /skipTLSVerify must be true or false/ },
    'a client certificate without a key': { file: { remote_server: { tls_client_cert: 'c.pem' } }, match: /both a TLS client certificate and key/ },
    'pinned certs that are not a list': { file: { trust_pinning: { certs: { 'a/b': 'id' } } }, match: /trust_pinning\.certs\["a\/b"\] must be a list/ },
    'a CA pin that is not a path': { file: { trust_pinning: { ca: { 'a/': 3 } } }, match: /trust_pinning\.ca\["a\/"\]/ },
    'a server URL without scheme': { file: { remote_server: { url: 'notary.example.com' } }, match: /not a URL|https:\/\// },
    'a non-http server URL': { file: { remote_server: { url: 'ftp://notary.example.com' } }, match: /must start with https:\/\/ or http:\/\// },
  };
  for (const [name, c] of Object.entries(failures)) {
    it(`rejects ${name}`, () => {
      const dir = tmp();
      const file = path.join(dir, 'c.json');
      if (c.raw !== undefined) fs.writeFileSync(file, c.raw);
      else if (c.file !== undefined) writeJson(file, c.file);
      const flags = c.flags ?? { configFile: file };
      assert.throws(() => loadConfig(flags, { home: dir, cwd: dir }), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID' && c.match.test(e.message));
    });
  }

  it('rejects a bad -s flag naming the flag', () => {
    assert.throws(() => loadConfig({ server: 'localhost:4443' }, { home: tmp(), cwd: '/' }), /-s\/--server/);
  });
});

describe('expandHome', () => {
  it('expands only a leading ~ or ~/', () => {
    assert.equal(expandHome('~', '/h'), '/h');
    assert.equal(expandHome('~/a/b', '/h'), '/h/a/b');
    assert.equal(expandHome('~user/a', '/h'), '~user/a');
    assert.equal(expandHome('a/~/b', '/h'), 'a/~/b');
    assert.equal(expandHome('~/a', ''), '~/a');
  });
});
