// SPDX-License-Identifier: Apache-2.0
// signet-server configuration (server/config.ts): flags over SIGNET_* env over
// the JSON config file over defaults, validation with messages naming the
// flag, and the signer passphrase never shown.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, UsageError } from '../../../shared/errors.js';
import { helpText, INSECURE_DEV_PASSPHRASE, parseListen, parseServerArgs, type ServerConfig } from '../../../server/config.js';

const PASS = { SIGNET_SIGNER_KEY_PASSPHRASE: 'env-secret-passphrase' };

function parse(argv: string[], env: NodeJS.ProcessEnv = PASS, files: Record<string, string> = {}): { config: ServerConfig; warnings: readonly string[] } {
  const r = parseServerArgs(argv, env, (p) => {
    const text = files[p];
    if (text === undefined) throw new Error(`ENOENT ${p}`);
    return text;
  });
  assert.equal(r.kind, 'config');
  return r as { config: ServerConfig; warnings: readonly string[] };
}

describe('defaults', () => {
  test('127.0.0.1:4443, ./signet-data, no auth, info logs, upload limits', () => {
    const { config } = parse([]);
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 4443 });
    assert.deepEqual(config.storage, { kind: 'embedded', dataDir: './signet-data' });
    assert.deepEqual(config.auth, { type: 'none' });
    assert.equal(config.logLevel, 'info');
    assert.equal(config.tls, null);
    assert.deepEqual(config.gunPrefixes, []);
    assert.deepEqual(config.limits, { maxBodyBytes: 64 * 1024 * 1024, maxPartBytes: 16 * 1024 * 1024, maxParts: 1000, maxInFlightBytes: 256 * 1024 * 1024 });
    assert.deepEqual(config.connections, { max: 1024, headersTimeoutMs: 20_000 });
    assert.deepEqual(config.signer, { passphrase: 'env-secret-passphrase', insecureDevKey: false });
  });
});

describe('precedence: flag > env > file > default', () => {
  const file = { '/etc/signet.json': JSON.stringify({ listen: '0.0.0.0:1001', 'log-level': 'warn', 'gun-prefix': ['file/'], 'max-upload-parts': 7 }) };
  test('the file overrides defaults', () => {
    const { config } = parse(['--config', '/etc/signet.json'], PASS, file);
    assert.deepEqual(config.listen, { host: '0.0.0.0', port: 1001 });
    assert.equal(config.logLevel, 'warn');
    assert.deepEqual(config.gunPrefixes, ['file/']);
    assert.equal(config.limits.maxParts, 7);
  });
  test('env overrides the file; SIGNET_CONFIG names the file', () => {
    const { config } = parse([], { ...PASS, SIGNET_CONFIG: '/etc/signet.json', SIGNET_LISTEN: '127.0.0.2:1002', SIGNET_GUN_PREFIX: 'env-a/, env-b/' }, file);
    assert.deepEqual(config.listen, { host: '127.0.0.2', port: 1002 });
    assert.deepEqual(config.gunPrefixes, ['env-a/', 'env-b/']);
    assert.equal(config.logLevel, 'warn', 'still from the file');
  });
  test('flags override env; repeated --gun-prefix accumulate', () => {
    const { config } = parse(['--config', '/etc/signet.json', '--listen', '[::1]:1003', '--gun-prefix', 'a/', '--gun-prefix', 'b/', '--log-level', 'debug'], { ...PASS, SIGNET_LISTEN: '127.0.0.2:1002', SIGNET_GUN_PREFIX: 'env/' }, file);
    assert.deepEqual(config.listen, { host: '::1', port: 1003 });
    assert.deepEqual(config.gunPrefixes, ['a/', 'b/']);
    assert.equal(config.logLevel, 'debug');
  });
  test('storage is one setting: the more specific source wins between data dir and database URL', () => {
    assert.deepEqual(parse(['--data-dir', '/d'], { ...PASS, SIGNET_DATABASE_URL: 'postgres://u@h/db' }).config.storage, { kind: 'embedded', dataDir: '/d' });
    assert.deepEqual(parse([], { ...PASS, SIGNET_DATABASE_URL: 'postgres://u@h/db' }).config.storage, { kind: 'postgres', databaseUrl: 'postgres://u@h/db' });
    assert.throws(() => parse(['--data-dir', '/d', '--database-url', 'postgres://u@h/db']), /--data-dir and --database-url are both set \(flag\)/);
  });
  test('booleans from env', () => {
    assert.equal(parse([], { SIGNET_INSECURE_DEV_SIGNER_KEY: 'true' }).config.signer.insecureDevKey, true);
    assert.equal(parse([], { ...PASS, SIGNET_INSECURE_DEV_SIGNER_KEY: '0' }).config.signer.insecureDevKey, false);
    assert.throws(() => parse([], { ...PASS, SIGNET_INSECURE_DEV_SIGNER_KEY: 'maybe' }), /SIGNET_INSECURE_DEV_SIGNER_KEY=maybe is not a boolean/);
  });
});

describe('auth and TLS', () => {
  test('token auth needs realm, service, issuer and root certs', () => {
    assert.throws(() => parse(['--auth', 'token', '--token-realm', 'r', '--token-service', 's', '--token-issuer', 'i']), /--auth token needs --token-root-certs \(or SIGNET_TOKEN_ROOT_CERTS\)/);
    const { config } = parse(['--auth', 'token', '--token-realm', 'r', '--token-service', 's', '--token-issuer', 'i', '--token-root-certs', '/c.pem', '--token-autoredirect']);
    assert.deepEqual(config.auth, { type: 'token', realm: 'r', service: 's', issuer: 'i', rootCertsFile: '/c.pem', autoRedirect: true });
  });
  test('htpasswd auth needs its file; unknown auth types are refused', () => {
    assert.throws(() => parse(['--auth', 'htpasswd']), /--auth htpasswd needs --htpasswd/);
    assert.equal(parse(['--auth', 'htpasswd', '--htpasswd', '/h']).config.auth.type, 'htpasswd');
    assert.throws(() => parse(['--auth', 'ldap']), /--auth must be one of none, token, htpasswd, got "ldap"/);
  });
  test('token options without token auth are reported as ignored', () => {
    assert.deepEqual(parse(['--token-realm', 'r']).warnings, ['--token-realm is ignored with --auth none']);
  });
  test('TLS needs both files', () => {
    assert.throws(() => parse(['--tls-cert', '/c']), /TLS needs both --tls-cert and --tls-key/);
    assert.deepEqual(parse(['--tls-cert', '/c', '--tls-key', '/k']).config.tls, { certFile: '/c', keyFile: '/k' });
  });
});

describe('signer passphrase', () => {
  test('the server refuses to start without one', () => {
    assert.throws(() => parse([], {}), (err: unknown) => err instanceof ConfigError && /set SIGNET_SIGNER_KEY_PASSPHRASE .* or pass --insecure-dev-signer-key/.test(err.message));
  });
  test('--insecure-dev-signer-key uses the published passphrase and warns', () => {
    const { config, warnings } = parse(['--insecure-dev-signer-key'], {});
    assert.deepEqual(config.signer, { passphrase: INSECURE_DEV_PASSPHRASE, insecureDevKey: true });
    assert.match(warnings.join('\n'), /never use this in production/);
  });
  test('a passphrase flag works but warns; it never appears in warnings, errors or help', () => {
    const secret = 'flag-secret-passphrase';
    const { config, warnings } = parse(['--signer-key-passphrase', secret, '--auth', 'none', '--token-realm', 'x'], {});
    assert.equal(config.signer.passphrase, secret);
    assert.match(warnings.join('\n'), /use SIGNET_SIGNER_KEY_PASSPHRASE/);
    assert.ok(!warnings.join('\n').includes(secret));
    assert.ok(!helpText().includes(secret));
    try {
      parse(['--signer-key-passphrase', secret, '--listen', 'nonsense'], {});
    } catch (err) {
      assert.ok(!(err as Error).message.includes(secret));
    }
  });
});

describe('validation', () => {
  test('listen addresses', () => {
    assert.deepEqual(parseListen('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
    assert.deepEqual(parseListen('[::]:4443'), { host: '::', port: 4443 });
    assert.deepEqual(parseListen('localhost:80'), { host: 'localhost', port: 80 });
    for (const bad of ['4443', ':4443', '127.0.0.1:99999', '::1:4443', '127.0.0.1:']) assert.throws(() => parseListen(bad), /--listen must be host:port/, bad);
  });
  test('numbers, log levels, database URLs', () => {
    assert.throws(() => parse(['--max-upload-parts', '0']), /--max-upload-parts must be a positive integer/);
    assert.throws(() => parse(['--max-part-bytes', '100', '--max-upload-bytes', '10']), /--max-part-bytes cannot exceed --max-upload-bytes/);
    assert.throws(() => parse(['--max-upload-bytes', '100', '--max-part-bytes', '100', '--max-upload-bytes-in-flight', '10']), /--max-upload-bytes-in-flight cannot be less than --max-upload-bytes/);
    assert.throws(() => parse(['--max-connections', '0']), /--max-connections must be a positive integer/);
    assert.throws(() => parse(['--log-level', 'loud']), /--log-level must be one of/);
    assert.throws(() => parse(['--database-url', 'mysql://x']), /must start with postgres:\/\//);
  });
  test('config file problems name the file', () => {
    assert.throws(() => parse(['--config', '/missing.json']), /cannot read config file \/missing.json/);
    assert.throws(() => parse(['--config', '/c.json'], PASS, { '/c.json': '{' }), /config file \/c.json is not valid JSON/);
    assert.throws(() => parse(['--config', '/c.json'], PASS, { '/c.json': '{"lissen":"x"}' }), /unknown setting "lissen"/);
    assert.throws(() => parse(['--config', '/c.json'], PASS, { '/c.json': '{"token-autoredirect":"yes"}' }), /"token-autoredirect" must be true or false/);
  });
  test('unknown flags and missing values are usage errors', () => {
    assert.throws(() => parse(['--bogus']), (err: unknown) => err instanceof UsageError && /unknown option '--bogus'; see signet-server --help/.test(err.message));
    assert.throws(() => parse(['--listen']), UsageError);
    assert.throws(() => parse(['extra']), UsageError);
  });
});

describe('--help', () => {
  test('documents every flag with its environment variable and the precedence', () => {
    const r = parseServerArgs(['--help'], {});
    assert.equal(r.kind, 'help');
    const text = r.kind === 'help' ? r.text : '';
    for (const flag of ['listen', 'data-dir', 'database-url', 'auth', 'token-realm', 'token-service', 'token-issuer', 'token-root-certs', 'token-autoredirect', 'htpasswd', 'gun-prefix', 'tls-cert', 'tls-key', 'config', 'signer-key-passphrase', 'insecure-dev-signer-key', 'log-level', 'max-upload-bytes', 'max-part-bytes', 'max-upload-parts']) {
      assert.match(text, new RegExp(`--${flag}\\b`), flag);
      assert.match(text.replace(/\s+/g, ' '), new RegExp(`SIGNET_${flag.toUpperCase().replace(/-/g, '_')}\\b`), flag);
    }
    assert.match(text, /flags override SIGNET_\* environment variables, which override the config file/);
    assert.match(text.replace(/\s+/g, ' '), /default: 127\.0\.0\.1:4443/);
  });
});
