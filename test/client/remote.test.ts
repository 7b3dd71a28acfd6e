// SPDX-License-Identifier: Apache-2.0
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildMultipart, errorFromResponse, NotaryRemote } from '../../client/remote.js';
import { createHttpSend } from '../../client/http-transport.js';
import { RemoteError } from '../../shared/errors.js';
import { fixture } from '../support/paths.js';
import { NOTARY_PASSPHRASES, runNotary, startNotaryServer, type NotaryServer } from './support/notary.js';
import { startStub, type Stub } from './support/http-stub.js';

/** The parts of a recorded notary CLI upload, in wire order, and its boundary. */
function recordedUpload(name: string): { boundary: string; body: Buffer; parts: Map<string, Buffer> } {
  const raw = fs.readFileSync(fixture('http', name));
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, split).toString('latin1');
  const body = raw.subarray(split + 4);
  const boundary = /boundary=([0-9a-f]+)/.exec(head)![1]!;
  const parts = new Map<string, Buffer>();
  const delim = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delim);
  while (at >= 0) {
    const next = body.indexOf(delim, at + delim.length);
    if (next < 0) break;
    const section = body.subarray(at + delim.length + 2, next - 2);
    const hdrEnd = section.indexOf('\r\n\r\n');
    const role = /filename="([^"]+)"/.exec(section.subarray(0, hdrEnd).toString())![1]!;
    parts.set(role, section.subarray(hdrEnd + 4));
    at = next;
  }
  return { boundary, body, parts };
}

const isRemote = (code: string, re?: RegExp) => (e: unknown): boolean =>
  e instanceof RemoteError && e.code === code && (re === undefined || re.test(e.message));

describe('buildMultipart', () => {
  for (const name of ['005-POST-example.com_app__trust_tuf_.request', '011-POST-example.com_app__trust_tuf_.request', '038-POST-example.com_app__trust_tuf_.request']) {
    it(`reproduces the notary CLI upload ${name.slice(0, 3)} byte for byte`, () => {
      const rec = recordedUpload(name);
      assert.ok(rec.parts.size >= 1);
      const built = buildMultipart(rec.parts, rec.boundary);
      assert.deepEqual(built.body, rec.body);
      assert.equal(built.contentType, `multipart/form-data; boundary=${rec.boundary}`);
    });
  }

  it('uses a fresh 60-hex-digit boundary per body', () => {
    const a = buildMultipart(new Map([['targets', Buffer.from('x')]]));
    const b = buildMultipart(new Map([['targets', Buffer.from('x')]]));
    assert.match(a.contentType, /boundary=[0-9a-f]{60}$/);
    assert.notEqual(a.contentType, b.contentType);
  });
});

describe('NotaryRemote against notary-server', () => {
  let server: NotaryServer;
  const gun = 'example.com/app';
  before(async () => {
    server = await startNotaryServer();
  });
  after(async () => {
    await server.stop();
  });

  it('reports a GUN that does not exist as METADATA_NOT_FOUND', async () => {
    const r = new NotaryRemote({ serverUrl: server.url, gun });
    await assert.rejects(r.getRole('root'), isRemote('METADATA_NOT_FOUND', /root metadata of example\.com\/app does not exist/));
  });

  it('fetches the server timestamp key', async () => {
    const r = new NotaryRemote({ serverUrl: server.url, gun });
    const key = JSON.parse((await r.getKey('timestamp')).toString()) as { keytype: string; keyval: { public: string } };
    assert.equal(key.keytype, 'ed25519');
    assert.equal(Buffer.from(key.keyval.public, 'base64').length, 32);
  });

  it('maps an upload without root to INVALID_UPDATE / ErrValidation', async () => {
    const r = new NotaryRemote({ serverUrl: server.url, gun: 'example.com/other' });
    const rec = recordedUpload('005-POST-example.com_app__trust_tuf_.request');
    await assert.rejects(r.publish(new Map([['targets', rec.parts.get('targets')!]])), (e: unknown) =>
      isRemote('SERVER_REJECTED', /ErrValidation: no pre-existing root/)(e) && (e as RemoteError).serverCode === 'INVALID_UPDATE' && (e as RemoteError).detailName === 'ErrValidation',
    );
  });

  it('maps unparsable parts to a signet-bug message', async () => {
    const r = new NotaryRemote({ serverUrl: server.url, gun });
    await assert.rejects(r.publish(new Map([['targets', Buffer.from('{"signed": nope')]])), isRemote('SERVER_REJECTED', /MALFORMED_JSON.*signet bug/));
  });

  it('reads back what the notary CLI published, by name, hash and version', async () => {
    const trustDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-remote-'));
    const init = runNotary(['init', '-p', gun], { trustDir, server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(init.status, 0, init.stdout + init.stderr);
    const r = new NotaryRemote({ serverUrl: server.url, gun });
    const root = await r.getRole('root');
    assert.deepEqual(root, fs.readFileSync(path.join(trustDir, 'tuf', gun, 'metadata', 'root.json')));
    const hex = createHash('sha256').update(root).digest('hex');
    assert.deepEqual(await r.getRoleByHash('root', hex, root.length), root);
    assert.match((await r.getRoleByVersion('targets', 2)).toString(), /"_type":"Targets"/);
    assert.match((await r.getRole('timestamp')).toString(), /"_type":"Timestamp"/);
    fs.rmSync(trustDir, { recursive: true, force: true });
  });

  it('refuses a download longer than the trusted length', async () => {
    const r = new NotaryRemote({ serverUrl: server.url, gun });
    const root = await r.getRole('root');
    const hex = createHash('sha256').update(root).digest('hex');
    await assert.rejects(r.getRoleByHash('root', hex, root.length - 1), isRemote('RESPONSE_TOO_LARGE', /more than the \d+/));
  });

  it('maps a replayed upload to VERSION: someone else published', async () => {
    const r = new NotaryRemote({ serverUrl: server.url, gun });
    const replay = new Map([['targets', await r.getRole('targets')], ['snapshot', await r.getRole('snapshot')]]);
    await assert.rejects(r.publish(replay), (e: unknown) =>
      isRemote('SERVER_REJECTED', /someone else published/)(e) && (e as RemoteError).serverCode === 'VERSION',
    );
  });

  it('deletes the GUN', async () => {
    const r = new NotaryRemote({ serverUrl: server.url, gun });
    await r.deleteAll();
    await assert.rejects(r.getRole('root'), isRemote('METADATA_NOT_FOUND'));
  });
});

describe('NotaryRemote transport limits (scripted server)', () => {
  let stub: Stub;
  let mode = '';
  before(async () => {
    stub = await startStub((req, res) => {
      if (mode === 'big-declared') {
        res.writeHead(200, { 'content-length': String(2 << 20) });
        res.write(Buffer.alloc(1024));
        return; // never finishes: the client must not wait for it
      }
      if (mode === 'endless') {
        res.writeHead(200); // chunked, no length
        const t = setInterval(() => res.write(Buffer.alloc(64 * 1024)), 1);
        res.on('close', () => clearInterval(t));
        return;
      }
      if (mode === 'stall') return; // never answers
      if (mode === '500') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNKNOWN","message":"unknown error"}]}\n');
        return;
      }
      res.writeHead(200);
      res.end(req.url);
    });
  });
  after(async () => {
    await stub.close();
  });

  it('refuses a timestamp whose declared length exceeds 1 MiB without reading it', async () => {
    mode = 'big-declared';
    const r = new NotaryRemote({ serverUrl: stub.url, gun: 'g/a', timeoutMs: 5000 });
    await assert.rejects(r.getRole('timestamp'), isRemote('RESPONSE_TOO_LARGE', /announced 2097152 bytes/));
  });

  it('cuts off an endless body at the cap', async () => {
    mode = 'endless';
    const r = new NotaryRemote({ serverUrl: stub.url, gun: 'g/a', timeoutMs: 10_000 });
    await assert.rejects(r.getRoleByHash('snapshot', 'a'.repeat(64), 100_000), isRemote('RESPONSE_TOO_LARGE', /more than the 100000 bytes/));
  });

  it('times out a server that never answers', async () => {
    mode = 'stall';
    const r = new NotaryRemote({ serverUrl: stub.url, gun: 'g/a', timeoutMs: 200 });
    await assert.rejects(r.getRole('timestamp'), isRemote('TIMEOUT', /within 200 ms/));
  });

  it('maps a 500 to HTTP_STATUS with the server code', async () => {
    mode = '500';
    const r = new NotaryRemote({ serverUrl: stub.url, gun: 'g/a' });
    await assert.rejects(r.getRole('root'), isRemote('HTTP_STATUS', /answered 500.*UNKNOWN/));
  });

  it('builds notary URLs: role, hash, version, key, with the GUN path-escaped', async () => {
    mode = 'echo';
    const r = new NotaryRemote({ serverUrl: `${stub.url}/`, gun: 'example.com/a b' });
    assert.equal((await r.getRole('targets/releases')).toString(), '/v2/example.com/a%20b/_trust/tuf/targets/releases.json');
    assert.equal((await r.getRoleByHash('targets', 'ab'.repeat(32), 1000)).toString(), `/v2/example.com/a%20b/_trust/tuf/targets.${'ab'.repeat(32)}.json`);
    assert.equal((await r.getRoleByVersion('root', 3)).toString(), '/v2/example.com/a%20b/_trust/tuf/3.root.json');
    assert.equal((await r.getKey('snapshot')).toString(), '/v2/example.com/a%20b/_trust/tuf/snapshot.key');
    assert.throws(() => r.getRoleByHash('root', 'AB'.repeat(32), 1), RangeError);
  });

  it('reports an unreachable server as NETWORK with a hint', async () => {
    const r = new NotaryRemote({ serverUrl: 'http://127.0.0.1:9', gun: 'g' });
    await assert.rejects(r.getRole('root'), isRemote('NETWORK', /cannot reach the trust server at http:\/\/127\.0\.0\.1:9.*-s\/remote_server\.url/));
  });
});

describe('errorFromResponse hints', () => {
  const refusal = (msg: string) => ({
    status: 400,
    headers: {},
    body: Buffer.from(JSON.stringify({ errors: [{ code: 'INVALID_UPDATE', message: 'invalid update', detail: { Name: 'ErrBadTargets', Error: { Msg: msg } } }] })),
  });
  it('keeps the stale-keys hint for signature problems and names the remedy for out-of-scope targets', () => {
    const signature = errorFromResponse(refusal('targets/x: role targets/x needs 1 signature(s) from its keys, found 0 valid (THRESHOLD_NOT_MET)'), 'the update', 'https://s', 'g/a');
    assert.match(signature.message, /your keys or local trust data may be stale/);
    const paths = errorFromResponse(refusal('targets/x: 1 target(s) outside the paths delegated to targets/x ("b/file"); remove them or widen the delegation\'s paths'), 'the update', 'https://s', 'g/a');
    assert.match(paths.message, /\("b\/file"\).*; unstage or `signet remove g\/a <name> -r <role>` the targets it names, or ask the owner to widen/);
    assert.doesNotMatch(paths.message, /stale/);
  });
});

describe('TLS options', () => {
  let dir = '';
  let stub: Stub;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-tls-'));
    const ssl = (args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.crt', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key', '-out', 'client.crt', '-days', '2', '-subj', '/CN=client']);
    const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
    stub = await startStub(
      (_req, res) => {
        res.writeHead(200);
        res.end('ok');
      },
      { key: read('server.key'), cert: read('server.crt'), ca: read('client.crt'), requestCert: true, rejectUnauthorized: true },
    );
  });
  after(async () => {
    await stub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const req = (url: string) => ({ method: 'GET' as const, url: new URL(url), maxBytes: 100, timeoutMs: 5000 });

  it('connects with the CA bundle and client certificate', async () => {
    const send = createHttpSend({ caFile: path.join(dir, 'server.crt'), certFile: path.join(dir, 'client.crt'), keyFile: path.join(dir, 'client.key'), skipVerify: false });
    assert.equal((await send(req(stub.url))).body.toString(), 'ok');
  });

  it('rejects a server certificate the CA bundle does not vouch for', async () => {
    const send = createHttpSend({ caFile: path.join(dir, 'client.crt'), certFile: path.join(dir, 'client.crt'), keyFile: path.join(dir, 'client.key'), skipVerify: false });
    await assert.rejects(send(req(stub.url)), isRemote('NETWORK', /tlscacert|root_ca/));
  });

  it('skipTLSVerify accepts an unknown server certificate', async () => {
    const send = createHttpSend({ certFile: path.join(dir, 'client.crt'), keyFile: path.join(dir, 'client.key'), skipVerify: true });
    assert.equal((await send(req(stub.url))).status, 200);
  });

  it('fails without the client certificate the server requires', async () => {
    const send = createHttpSend({ caFile: path.join(dir, 'server.crt'), skipVerify: false });
    await assert.rejects(send(req(stub.url)), isRemote('NETWORK', /wants a client certificate: give --tlscert and --tlskey/));
  });
});
