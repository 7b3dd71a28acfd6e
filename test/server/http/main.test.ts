// SPDX-License-Identifier: Apache-2.0
// The process: startServer over real storage (HTTP and HTTPS), graceful
// shutdown with a request in flight, startup failures, and the compiled
// binary itself (`node …/server/main.js`), as an operator runs it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, KeyStoreError } from '../../../shared/errors.js';
import { parseServerArgs, type ServerConfig } from '../../../server/config.js';
import { startServer } from '../../../server/main.js';
import { captureLogger, multipartBody, templateDataDir, tempDir } from './harness.js';

const MAIN_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../server/main.js');

function config(dataDir: string, extra: string[] = []): ServerConfig {
  const r = parseServerArgs(['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--insecure-dev-signer-key', ...extra], {});
  assert.equal(r.kind, 'config');
  return (r as { config: ServerConfig }).config;
}

function fetchText(url: string, options: https.RequestOptions = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    mod
      .get(url, options, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .on('error', reject);
  });
}

let data: Awaited<ReturnType<typeof templateDataDir>>;
before(async () => {
  data = await templateDataDir();
});
after(() => data.cleanup());

describe('startServer', () => {
  test('refuses a signer passphrase that does not open the stored server keys, naming the variable', async () => {
    const own = await templateDataDir();
    try {
      const withPassphrase = (passphrase: string): ServerConfig => {
        const r = parseServerArgs(['--listen', '127.0.0.1:0', '--data-dir', own.dataDir], { SIGNET_SIGNER_KEY_PASSPHRASE: passphrase });
        assert.equal(r.kind, 'config');
        return (r as { config: ServerConfig }).config;
      };
      const first = await startServer(withPassphrase('the-right-signer-passphrase'), { logger: captureLogger().logger });
      const key = await fetchText(`${first.url}/v2/example.com/sealed/_trust/tuf/timestamp.key`);
      assert.equal(key.status, 200);
      await first.shutdown();
      const refused = await startServer(withPassphrase('a-wrong-signer-passphrase'), { logger: captureLogger().logger }).then(
        async (s) => {
          await s.shutdown();
          return new Error('started with a wrong signer passphrase');
        },
        (e: unknown) => e,
      );
      assert.ok(refused instanceof KeyStoreError && refused.code === 'PASSPHRASE_WRONG', String(refused));
      assert.match(refused.message, /SIGNET_SIGNER_KEY_PASSPHRASE does not open the server keys already stored \(the timestamp key of example\.com\/sealed\)/);
      const again = await startServer(withPassphrase('the-right-signer-passphrase'), { logger: captureLogger().logger });
      assert.equal((await fetchText(`${again.url}/v2/example.com/sealed/_trust/tuf/timestamp.key`)).body, key.body);
      await again.shutdown();
    } finally {
      own.cleanup();
    }
  });

  test('serves HTTPS with the given certificate', async () => {
    const dir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'pipe' });
    const { logger } = captureLogger();
    const s = await startServer(config(data.dataDir, ['--tls-cert', path.join(dir, 'c.pem'), '--tls-key', path.join(dir, 'k.pem')]), { logger });
    try {
      assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetchText(`${s.url}/v2/`, { ca: fs.readFileSync(path.join(dir, 'c.pem')) });
      assert.deepEqual([res.status, res.body], [200, '{}']);
      await assert.rejects(fetchText(`${s.url}/v2/`), /self[- ]signed/i, 'a client that does not trust the certificate is refused');
    } finally {
      await s.shutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('graceful shutdown: stops accepting, lets the request in flight finish, then closes', async () => {
    const { logger, lines } = captureLogger();
    const s = await startServer(config(data.dataDir), { logger });
    const { body, contentType } = multipartBody([{ filename: 'targets', data: 'not json at all' }]);
    const answer = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = http.request(`${s.url}/v2/example.com/app/_trust/tuf/`, { method: 'POST', headers: { 'Content-Type': contentType, 'Content-Length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 20)); // the request is now in flight
      setTimeout(() => req.end(body.subarray(20)), 600);
    });
    await new Promise((r) => setTimeout(r, 200));
    const stopping = s.shutdown();
    await new Promise((r) => setTimeout(r, 100));
    const port = Number(new URL(s.url).port);
    await assert.rejects(
      new Promise((resolve, reject) => net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject)),
      /ECONNREFUSED/,
      'no new connections once shutdown began',
    );
    const res = await answer;
    assert.equal(res.status, 400, 'the in-flight publish got its (MALFORMED_JSON) answer');
    await stopping;
    await s.closed;
    const log = lines.join('\n');
    assert.match(log, /"inFlight":1/);
    assert.match(log, /signet-server stopped/);
  });

  test('a connection that sends no request is closed after --headers-timeout-ms; past --max-connections new ones are closed on arrival', { timeout: 30_000 }, async () => {
    const s = await startServer(config(data.dataDir, ['--headers-timeout-ms', '1500', '--max-connections', '3']), { logger: captureLogger().logger });
    try {
      const port = Number(new URL(s.url).port);
      const open = (): Promise<net.Socket> => new Promise((resolve, reject) => net.connect(port, '127.0.0.1').on('connect', function (this: net.Socket) { resolve(this); }).on('error', reject));
      const closedWithin = (socket: net.Socket, ms: number): Promise<boolean> =>
        new Promise((resolve) => {
          if (socket.destroyed || socket.readyState === 'closed') return resolve(true);
          const timer = setTimeout(() => resolve(false), ms);
          socket.once('close', () => {
            clearTimeout(timer);
            resolve(true);
          });
          socket.resume();
        });
      const silent = [await open(), await open(), await open()];
      // A fourth connection is over the limit: the server closes it on arrival, well before the timeout.
      const extra = await open();
      assert.ok(await closedWithin(extra, 700), 'a connection past --max-connections is closed at once');
      assert.ok(!silent[0]!.destroyed, 'the connections within the limit are still open then');
      // The silent ones are closed once the headers timeout passes, not left open for ever.
      for (const socket of silent) assert.ok(await closedWithin(socket, 5000), 'a silent connection is closed');
      // A client that sends its request is served.
      const health = await fetchText(`${s.url}/_notary_server/health`);
      assert.equal(health.status, 200);
    } finally {
      await s.shutdown();
    }
  });

  test('each request is one log line of fixed fields; secrets stay out, and other logs are still redacted', async () => {
    const { logger, lines } = captureLogger();
    const s = await startServer(config(data.dataDir), { logger });
    try {
      const res = await fetchText(`${s.url}/v2/example.com/app/_trust/tuf/timestamp.json?token=SECRET-QUERY`, { headers: { Authorization: 'Bearer SECRET-HEADER' } });
      assert.equal(res.status, 404);
      const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request' && l.operation === 'GetRole');
      assert.ok(line !== undefined, lines.join('\n'));
      assert.equal(line.status, 404);
      assert.equal(line.gun, 'example.com/app');
      assert.equal(line.path, '/v2/example.com/app/_trust/tuf/timestamp.json');
      assert.doesNotMatch(lines.join('\n'), /SECRET/);
      logger.info({ token: 'SECRET-TOKEN', passphrase: 'SECRET-PASS', err: { authorization: 'SECRET-AUTH' } }, 'probe');
      const probe = lines.at(-1) ?? '';
      assert.match(probe, /"token":"\[redacted\]".*"passphrase":"\[redacted\]"/);
      assert.doesNotMatch(probe, /SECRET/);
    } finally {
      await s.shutdown();
      await s.closed;
    }
  });

  test('a request that never finishes is cut off after the grace period', async () => {
    const { logger } = captureLogger();
    const s = await startServer(config(data.dataDir), { logger, graceMs: 300 });
    const sock = net.connect(Number(new URL(s.url).port), '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    sock.write('POST /v2/x/_trust/tuf/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100\r\n\r\n--b');
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await s.shutdown();
    assert.ok(Date.now() - started < 5000);
    sock.destroy();
  });

  test('warns when listening beyond loopback without auth', async () => {
    const { logger, lines } = captureLogger();
    const c = config(data.dataDir);
    const s = await startServer({ ...c, listen: { host: '0.0.0.0', port: 0 } }, { logger });
    await s.shutdown();
    assert.match(lines.join('\n'), /"level":40.*no authentication \(--auth none\) while listening beyond loopback/);
  });

  test('startup failures are ConfigErrors naming what to fix', async () => {
    await assert.rejects(startServer(config(data.dataDir, ['--tls-cert', '/nonexistent/c.pem', '--tls-key', '/nonexistent/k.pem'])), (err: unknown) => err instanceof ConfigError && /cannot read \/nonexistent\/c.pem \(--tls-cert\)/.test(err.message));
    await assert.rejects(startServer(config(data.dataDir, ['--auth', 'htpasswd', '--htpasswd', '/nonexistent/h'])), /cannot read \/nonexistent\/h \(--htpasswd\)/);
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const { logger } = captureLogger();
    await assert.rejects(startServer({ ...config(data.dataDir), listen: { host: '127.0.0.1', port } }, { logger }), /cannot listen on 127.0.0.1:\d+: the address is in use; choose another --listen/);
    blocker.close();
    // the store was closed again: the data dir can be opened by the next server
    const s = await startServer(config(data.dataDir), { logger });
    await s.shutdown();
  });
});

describe('the compiled binary', () => {
  test('starts with a shebang', () => {
    assert.ok(fs.readFileSync(MAIN_JS, 'utf8').startsWith('#!/usr/bin/env node\n'));
  });

  test('--help exits 0; a missing passphrase exits 2 with the reason on stderr', () => {
    const help = execFileSync(process.execPath, [MAIN_JS, '--help'], { encoding: 'utf8', env: {} });
    assert.match(help, /SIGNET_DATABASE_URL/);
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [MAIN_JS], { encoding: 'utf8', stdio: 'pipe', env: {} });
    } catch (err) {
      status = (err as { status: number }).status;
      stderr = (err as { stderr: string }).stderr;
    }
    assert.equal(status, 2);
    assert.match(stderr, /^signet-server: server keys must be encrypted at rest/);
  });

  test('node server/main.js --listen 127.0.0.1:0 serves /v2/ and health, and stops on SIGTERM with exit code 0', async () => {
    const child = spawn(process.execPath, [MAIN_JS, '--listen', '127.0.0.1:0', '--data-dir', data.dataDir], {
      env: { PATH: process.env.PATH ?? '', SIGNET_SIGNER_KEY_PASSPHRASE: 'binary-test-passphrase', SIGNET_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" line within 90 s:\n${out}`)), 90_000);
        child.stdout.on('data', () => {
          const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"signet-server listening"/.exec(out);
          if (m?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      assert.deepEqual(await fetchText(`${url}/v2/`).then((r) => [r.status, r.body]), [200, '{}']);
      const health = await fetchText(`${url}/_notary_server/health`);
      assert.deepEqual([health.status, health.body, health.headers['content-type']], [200, '{}', 'application/json; charset=utf-8']);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    assert.match(out, /signet-server stopped/);
    assert.ok(!out.includes('binary-test-passphrase'), 'the passphrase is never logged');
  });
});
