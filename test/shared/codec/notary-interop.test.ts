// SPDX-License-Identifier: Apache-2.0
// Against the real notary 0.7 binaries (skipped when they are not installed):
//  1. the Go CLI publishes a target named with <, >, & and U+2028; the server's
//     file is HTML-escaped, parse -> encode reproduces it byte for byte, and the
//     signature verifies over our signedBytes but not over the file's substring;
//  2. our writer publishes targets whose name and custom data hold those
//     characters (which the Go CLI itself cannot publish in custom data); the
//     server accepts the signature, hashes its own Go re-serialisation into the
//     snapshot, and the Go CLI lists the targets, which it can only do if our
//     bytes equal Go's byte for byte (notary-wire.md 1.8).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, sign, verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { notaryCodec } from '../../../shared/codec/notary.js';
import type { Root, Signature, Targets } from '../../../shared/tuf/model.js';
import { DEFAULT_EXPIRY_SECONDS, expiresAfter } from '../../../shared/time.js';
import { freePort } from '../../support/net.js';

const hasNotary = spawnSync('notary', ['version']).error === undefined && spawnSync('notary-server', ['--help']).error === undefined;
const GUN = 'h1.test/interop';
const GO_NAME = 'go<made>&\u2028name';
const OUR_NAME = 'ours&<x>\u2029y';
const OUR_CUSTOM = { 'a<b>': 'x&y\u2028', n: 1 };
const PASS = { NOTARY_ROOT_PASSPHRASE: 'h1-root', NOTARY_TARGETS_PASSPHRASE: 'h1-targets', NOTARY_SNAPSHOT_PASSPHRASE: 'h1-snapshot' };

function verifyEcdsa(spki: Buffer, data: Buffer, sig: Buffer): boolean {
  return verify('sha256', data, { key: spki, format: 'der', type: 'spki', dsaEncoding: 'ieee-p1363' }, sig);
}

describe('interop with notary 0.7 binaries', { skip: hasNotary ? false : 'notary / notary-server not installed' }, () => {
  let dir = '';
  let server: ChildProcess | undefined;
  let url = '';

  const cli = (...args: string[]): string => {
    const r = spawnSync('notary', ['-d', path.join(dir, 'trust'), '-s', url, ...args], {
      env: { ...process.env, ...PASS },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `notary ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const get = async (file: string): Promise<Buffer> => {
    const res = await fetch(`${url}/v2/${GUN}/_trust/tuf/${file}`);
    assert.equal(res.status, 200, file);
    return Buffer.from(await res.arrayBuffer());
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-h1-interop-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const config = { server: { http_addr: `127.0.0.1:${port}` }, trust_service: { type: 'local' }, storage: { backend: 'memory' }, logging: { level: 'error' } };
    fs.writeFileSync(path.join(dir, 'server.json'), JSON.stringify(config));
    server = spawn('notary-server', ['-config', path.join(dir, 'server.json')], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`${url}/v2/`)).status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('notary-server did not start');
  });

  after(() => {
    server?.kill();
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a Go-written file with HTML characters: parse -> encode is byte-identical; signatures cover the unescaped bytes', async () => {
    fs.writeFileSync(path.join(dir, 'payload.txt'), 'hello');
    cli('init', '-p', GUN);
    cli('add', '-p', GUN, GO_NAME, path.join(dir, 'payload.txt'));
    const file = await get('targets.json');
    const text = file.toString('utf8');
    assert.ok(text.includes('"go\\u003cmade\\u003e\\u0026\\u2028name"'), text);

    const env = notaryCodec.parse(file, 'targets');
    assert.ok((env.signed as Targets).targets.has(GO_NAME));
    assert.ok(notaryCodec.encode(env.signedTree, env.signatures).equals(file));
    assert.ok(notaryCodec.encode(notaryCodec.toSignedTree(env.signed), env.signatures).equals(file));

    const root = notaryCodec.parse(await get('root.json'), 'root').signed as Root;
    const sig = env.signatures[0]!;
    const key = root.keys.get(sig.keyId)!;
    assert.ok(root.roles.get('targets')!.keyIds.includes(sig.keyId));
    assert.ok(verifyEcdsa(key.spki!, env.signedBytes!, sig.sig), 'signature over canonical(signedTree)');
    const start = '{"signed":'.length;
    const substring = file.subarray(start, file.indexOf(',"signatures":'));
    assert.ok(!substring.equals(env.signedBytes!));
    assert.equal(verifyEcdsa(key.spki!, substring, sig.sig), false, 'the stored substring is not what was signed');
  });

  test('Signet-written targets with HTML characters in names and custom data round-trip through notary-server and the Go client', async () => {
    cli('key', 'rotate', GUN, 'snapshot', '-r'); // the server now signs snapshots from its re-serialisation of our file
    const root = notaryCodec.parse(await get('root.json'), 'root').signed as Root;
    const current = notaryCodec.parse(await get('targets.json'), 'targets').signed as Targets;
    const payload = Buffer.from('hello');
    const targets: Targets = {
      ...current,
      version: current.version + 1,
      expires: expiresAfter(new Date(), DEFAULT_EXPIRY_SECONDS.targets),
      targets: new Map([...current.targets, [OUR_NAME, { ...current.targets.get(GO_NAME)!, length: payload.length, custom: OUR_CUSTOM }]]),
    };
    const tree = notaryCodec.toSignedTree(targets);
    const keyId = root.roles.get('targets')!.keyIds[0]!;

    // The CLI's encrypted targets key: strip notary's PEM headers so OpenSSL accepts it.
    const keyDir = path.join(dir, 'trust', 'private');
    const pem = fs
      .readdirSync(keyDir)
      .map((f) => fs.readFileSync(path.join(keyDir, f), 'utf8'))
      .find((p) => /^role: targets$/m.test(p))!;
    const privateKey = createPrivateKey({ key: pem.replace(/^[a-z]+: .*\n/gm, '').replace(/-----\n\n/, '-----\n'), format: 'pem', passphrase: PASS.NOTARY_TARGETS_PASSPHRASE });
    const signature: Signature = { keyId, method: 'ecdsa', sig: sign('sha256', notaryCodec.signedBytes(tree), { key: privateKey, dsaEncoding: 'ieee-p1363' }) };
    const file = notaryCodec.encode(tree, [signature]);
    assert.ok(file.toString('utf8').includes('"a\\u003cb\\u003e":"x\\u0026y\\u2028"'));

    const form = new FormData();
    form.append('files', new Blob([file], { type: 'application/octet-stream' }), 'targets');
    const res = await fetch(`${url}/v2/${GUN}/_trust/tuf/`, { method: 'POST', body: form });
    assert.equal(res.status, 200, await res.text());
    assert.ok((await get('targets.json')).equals(file), 'the server stores the bytes verbatim');

    // The Go client fetches targets by the sha256 the server put in its snapshot
    // (computed over Go's re-serialisation): it only finds our file if the bytes are identical.
    const listing = cli('list', GUN);
    assert.ok(listing.includes(OUR_NAME), listing);
    assert.ok(listing.includes(GO_NAME), listing);
  });
});
