// SPDX-License-Identifier: Apache-2.0
// POST /v2/<gun>/_trust/tuf/: the multipart reader and the part checks in
// notary's order, against the real service and store. A thin recorder around
// the real service shows exactly which parts reach the trust domain.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import request from 'supertest';
import { fixture } from '../../support/paths.js';
import { createApp } from '../../../server/app.js';
import { createMetrics } from '../../../server/metrics.js';
import type { TrustService, UpdatePart } from '../../../server/domain/service.js';
import { envelopeVersion, isRfc3339, isValidRole, roleFromFilename } from '../../../server/http/upload-parts.js';
import { parseMediaType, PartCounter } from '../../../server/http/multipart.js';
import { invalidUpdateDetail } from '../../../server/http/handlers/update.js';
import { notaryErrorBody } from '../../../server/http/errors.js';
import { captureLogger, embeddedStore, makeApp, multipartBody, testService } from './harness.js';
import { assertMatchesCapture, body, raw } from './capture-assert.js';

const TARGETS = fs.readFileSync(fixture('server', 'targets.json'));
const TIMESTAMP = fs.readFileSync(fixture('server', 'timestamp.json'));
const S = '/v2/example.com/app/_trust/tuf/';

let cleanup: () => Promise<void>;
let handler: ReturnType<typeof createApp>['handler'];
let received: UpdatePart[][] = [];

before(async () => {
  const { store, cleanup: c } = await embeddedStore();
  cleanup = c;
  const real = testService(store);
  const recording: TrustService = {
    ...real,
    applyUpdate(gun, parts) {
      received.push([...parts]);
      return real.applyUpdate(gun, parts);
    },
  };
  const app = createApp({ service: recording, store, logger: captureLogger().logger, metrics: createMetrics({ processMetrics: false }), limits: { maxBodyBytes: 64 * 1024, maxPartBytes: 16 * 1024, maxParts: 4, maxInFlightBytes: 64 * 1024 } });
  handler = app.handler;
});
after(async () => cleanup());

function post(parts: Parameters<typeof multipartBody>[0], path = S): request.Test {
  const { body: b, contentType } = multipartBody(parts);
  return raw(request(handler).post(path).set('Content-Type', contentType).send(b));
}

describe('notary error captures', () => {
  test('06: a body that is not multipart is MALFORMED_UPLOAD', async () => {
    const res = await raw(request(handler).post(S).set('Content-Type', 'application/json').send(TARGETS));
    assertMatchesCapture(res, 'errors', '06-post-not-multipart.http');
  });
  test('07: an invalid delegation name is INVALID_ROLE with the role as detail', async () => {
    assertMatchesCapture(await post([{ filename: 'targets/Bad_Name', data: TARGETS }]), 'errors', '07-post-invalid-role-name.http');
  });
  test('08: the whole filename is the role, directories included', async () => {
    assertMatchesCapture(await post([{ filename: 'foo/targets.json', data: TARGETS }]), 'errors', '08-post-path-like-filename.http');
  });
  test('09: a part without a filename is NO_FILENAME', async () => {
    assertMatchesCapture(await post([{ data: TARGETS }]), 'errors', '09-post-no-filename.http');
  });
  test('10: a part that is not JSON is MALFORMED_JSON', async () => {
    assertMatchesCapture(await post([{ filename: 'targets', data: '{"signed": not json' }]), 'errors', '10-post-malformed-json.http');
  });
});

describe('multipart framing', () => {
  test('Content-Type without a boundary is MALFORMED_UPLOAD', async () => {
    const res = await raw(request(handler).post(S).set('Content-Type', 'multipart/form-data').send('x'));
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /MALFORMED_UPLOAD/);
  });
  test('a body without any boundary line is MALFORMED_UPLOAD (notary panics and drops the connection)', async () => {
    const res = await raw(request(handler).post(S).set('Content-Type', 'multipart/form-data; boundary=abc').send('no boundary here'));
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /MALFORMED_UPLOAD/);
  });
  test('an empty body is MALFORMED_UPLOAD', async () => {
    const res = await raw(request(handler).post(S).set('Content-Type', 'multipart/form-data; boundary=abc'));
    assert.equal(res.status, 400);
  });
  test('a truncated last part is MALFORMED_UPLOAD', async () => {
    const { body: b, contentType } = multipartBody([{ filename: 'targets', data: TARGETS.subarray(0, 100) }]);
    const res = await raw(request(handler).post(S).set('Content-Type', contentType).send(b.subarray(0, b.length - 20)));
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /MALFORMED_UPLOAD/);
  });
  test('multipart/mixed is accepted as Go does; `.json` is stripped once; a timestamp part never reaches the domain', async () => {
    received = [];
    const { body: b } = multipartBody([{ filename: 'targets.json', data: TARGETS }, { filename: 'timestamp.json', data: TIMESTAMP }], 'mixedb');
    const res = await raw(request(handler).post(S).set('Content-Type', 'multipart/mixed; boundary="mixedb"').send(b));
    assert.equal(received.length, 1, 'the domain was called');
    assert.deepEqual(received[0]!.map((p) => p.role), ['targets']);
    assert.ok(received[0]![0]!.data.equals(TARGETS), 'the part bytes are passed exactly');
    // no root stored for this GUN: the domain refuses, in notary's words and shape
    assert.equal(res.status, 400);
    const detail = JSON.parse(body(res).toString()).errors[0].detail as { Name: string; Error: { Msg: string } };
    assert.equal(detail.Name, 'ErrValidation');
    assert.equal(typeof detail.Error.Msg, 'string');
  });
  test('`targets.json.json` keeps one `.json`: an invalid role', async () => {
    const res = await post([{ filename: 'targets.json.json', data: TARGETS }]);
    assert.match(body(res).toString(), /"code":"INVALID_ROLE".*"detail":"targets.json"/);
  });
  test('the first bad part decides, as notary reads parts in order', async () => {
    const res = await post([{ filename: 'targets', data: 'nope' }, { filename: 'Bad', data: TARGETS }]);
    assert.match(body(res).toString(), /MALFORMED_JSON/);
    const res2 = await post([{ filename: 'Bad', data: TARGETS }, { filename: 'targets', data: 'nope' }]);
    assert.match(body(res2).toString(), /INVALID_ROLE/);
  });
  test('a part without Content-Disposition (which busboy skips) is NO_FILENAME, not an empty update', async () => {
    const headerless = (b: string): Buffer => Buffer.from(`--${b}\r\nContent-Type: application/octet-stream\r\n\r\n${TARGETS.toString()}\r\n`);
    // alone, and after a part busboy announces (whose own checks run first)
    for (const afterValidPart of [false, true]) {
      received = [];
      const b = `skipb${afterValidPart}`;
      const good = !afterValidPart ? Buffer.alloc(0) : multipartBody([{ filename: 'targets', data: TARGETS }], b).body.subarray(0, -`--${b}--\r\n`.length);
      const res = await raw(request(handler).post(S).set('Content-Type', `multipart/form-data; boundary=${b}`).send(Buffer.concat([good, headerless(b), Buffer.from(`--${b}--\r\n`)])));
      assert.equal(res.status, 400);
      assert.equal(body(res).toString(), '{"errors":[{"code":"NO_FILENAME","message":"No file/role name provided."}]}\n');
      assert.deepEqual(received, [], 'nothing reached the domain');
    }
  });
  test('the part count follows the delimiter lines through any chunking, preamble and epilogue', () => {
    const boundary = 'q-b';
    const part = fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u).toString('latin1').replaceAll('\r\n--q-b', '\r\n-q-b'));
    fc.assert(
      fc.property(fc.array(part, { maxLength: 6 }), fc.boolean(), fc.array(fc.nat(200), { maxLength: 8 }), (datas, epilogue, cuts) => {
        let text = 'preamble --q-b not at a line start\r\n';
        for (const d of datas) text += `--${boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\n${d}\r\n`;
        text += `--${boundary}--${epilogue ? `\r\n--${boundary}\r\n--${boundary}--` : ''}`;
        const bytes = Buffer.from(text, 'latin1');
        const counter = new PartCounter(boundary);
        let at = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          const to = Math.min(c, bytes.length);
          if (to > at) counter.push(bytes.subarray(at, to));
          at = Math.max(at, to);
        }
        counter.push(bytes.subarray(at));
        assert.equal(counter.parts, datas.length);
      }),
    );
  });
  test('an empty multipart reaches the domain with no parts', async () => {
    received = [];
    await post([]);
    assert.deepEqual(received, [[]]);
  });
  test('the INVALID_ROLE detail is Go-escaped', async () => {
    const res = await post([{ filename: 'targets/<x>', data: TARGETS }]);
    assert.match(body(res).toString(), /"detail":"targets\/\\u003cx\\u003e"/);
  });
});

describe('limits', () => {
  test('more parts than --max-upload-parts', async () => {
    const parts = Array.from({ length: 5 }, () => ({ filename: 'targets', data: TARGETS }));
    const res = await post(parts);
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /more than 4 parts/);
  });
  test('a part larger than --max-part-bytes', async () => {
    const res = await post([{ filename: 'targets', data: Buffer.concat([TARGETS, Buffer.alloc(17 * 1024, 32)]) }]);
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /exceeds 16384 bytes/);
    assert.equal(res.headers.connection, 'close');
  });
  test('a declared body larger than --max-upload-bytes is refused before reading', async () => {
    const big = Buffer.alloc(70 * 1024, 32);
    const res = await raw(request(handler).post(S).set('Content-Type', 'multipart/form-data; boundary=b').send(big));
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /request body is 71680 bytes/);
  });
  test('a chunked body that grows past --max-upload-bytes is cut off', async () => {
    const { contentType } = multipartBody([]);
    const boundary = contentType.split('=')[1]!;
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="targets"\r\n\r\n`;
    const chunks = [Buffer.from(head), ...Array.from({ length: 9 }, () => Buffer.alloc(8 * 1024, 32))];
    const req = request(handler).post(S).set('Content-Type', contentType).set('Transfer-Encoding', 'chunked');
    for (const c of chunks) req.write(c);
    const res = await raw(req);
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /exceeds (65536|16384) bytes/);
  });
});

describe('part checks (units)', () => {
  test('role names as notary data.ValidRole', () => {
    for (const ok of ['root', 'targets', 'snapshot', 'timestamp', 'targets/releases', 'targets/a/b-c_d', 'targets/0']) assert.ok(isValidRole(ok), ok);
    for (const bad of ['', 'Root', 'targets/', 'targets//a', 'targets/A', 'targets/a.b', 'foo/targets', 'targetsx', `targets/${'a'.repeat(248)}`]) assert.ok(!isValidRole(bad), bad);
    assert.deepEqual(roleFromFilename('.json'), { ok: false, failure: { code: 'NO_FILENAME' } });
    assert.deepEqual(roleFromFilename(undefined), { ok: false, failure: { code: 'NO_FILENAME' } });
  });
  test('envelope shape: every field present and typed', () => {
    const good = { signed: { _type: 'Targets', expires: '2029-11-21T18:59:49.858363294Z', version: 4 }, signatures: [{ keyid: 'k', method: 'ecdsa', sig: 'AAAA' }] };
    const enc = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
    assert.equal(envelopeVersion(enc(good)), 4);
    assert.equal(envelopeVersion(TARGETS), 4);
    const bad: Record<string, unknown> = {
      'version is a float': { ...good, signed: { ...good.signed, version: 1.5 } },
      'version is a string': { ...good, signed: { ...good.signed, version: '4' } },
      'expires is not RFC 3339': { ...good, signed: { ...good.signed, expires: '2029-11-21 18:59:49Z' } },
      'expires has an impossible date': { ...good, signed: { ...good.signed, expires: '2029-02-30T00:00:00Z' } },
      '_type missing': { ...good, signed: { expires: good.signed.expires, version: 4 } },
      'signatures missing': { signed: good.signed },
      'signatures not an array': { ...good, signatures: {} },
      'sig unpadded': { ...good, signatures: [{ keyid: 'k', method: 'ecdsa', sig: 'AAA' }] },
      'sig not base64': { ...good, signatures: [{ keyid: 'k', method: 'ecdsa', sig: '!!!!' }] },
      'keyid missing': { ...good, signatures: [{ method: 'ecdsa', sig: 'AAAA' }] },
      'not an object': [good],
    };
    for (const [name, v] of Object.entries(bad)) assert.equal(envelopeVersion(enc(v)), null, name);
    assert.equal(envelopeVersion(Buffer.concat([enc(good), Buffer.from('garbage')])), null, 'trailing bytes');
    assert.equal(envelopeVersion(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), enc(good)])), null, 'BOM');
    assert.equal(envelopeVersion(Buffer.from([0x7b, 0xff, 0x7d])), null, 'invalid UTF-8');
  });
  test('RFC 3339 acceptance', () => {
    for (const ok of ['2026-12-06T18:59:50.042629097Z', '2026-12-06T18:59:50Z', '2024-02-29T00:00:00+05:30']) assert.ok(isRfc3339(ok), ok);
    for (const bad of ['2026-12-06t18:59:50Z', '2026-13-01T00:00:00Z', '2023-02-29T00:00:00Z', '2026-12-06T24:00:00Z', '2026-12-06T18:59:50']) assert.ok(!isRfc3339(bad), bad);
  });
  test('media types parse like Go mime.ParseMediaType', () => {
    assert.deepEqual(parseMediaType('Multipart/Form-Data; boundary="a b"'), { type: 'multipart/form-data', params: new Map([['boundary', 'a b']]) });
    assert.equal(parseMediaType('multipart/form-data; boundary=a; boundary=b'), null);
    assert.equal(parseMediaType('nonsense'), null);
  });
  test('any random bytes are either refused or a well-formed envelope, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const v = envelopeVersion(Buffer.from(bytes));
        assert.ok(v === null || Number.isSafeInteger(v));
      }),
      { numRuns: 300 },
    );
  });
});

describe('INVALID_UPDATE detail', () => {
  test('shape the Go client parses; ErrBadHierarchy carries Missing first', () => {
    assert.deepEqual(invalidUpdateDetail('ErrBadTargets', 'm', undefined), { Name: 'ErrBadTargets', Error: { Msg: 'm' } });
    assert.deepEqual(invalidUpdateDetail('ErrBadHierarchy', 'm', 'snapshot'), { Name: 'ErrBadHierarchy', Error: { Missing: 'snapshot', Msg: 'm' } });
  });
  test('a long message is shortened so the body stays within the 1 KiB the Go client reads', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 3000, unit: 'grapheme' }), (msg) => {
        const b = notaryErrorBody('INVALID_UPDATE', invalidUpdateDetail('ErrBadRoot', msg, undefined));
        assert.ok(b.length <= 1024, `${b.length}`);
        JSON.parse(b.toString());
      }),
      { numRuns: 100 },
    );
    const short = invalidUpdateDetail('ErrBadRoot', 'short message', undefined);
    assert.deepEqual(short, { Name: 'ErrBadRoot', Error: { Msg: 'short message' } });
  });
});

describe('GUN names', () => {
  test('publishing to a name the domain cannot store is INVALID_GUN with the reason', async () => {
    const res = await post([{ filename: 'targets', data: TARGETS }], '/v2/example.com/a%20b/_trust/tuf/');
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /^\{"errors":\[\{"code":"INVALID_GUN","message":"The server does not support actions on images of this name.","detail":"gun: repository name \\"example.com\/a b\\" must not contain whitespace or control characters"\}\]\}\n$/);
  });
  test('reads, keys and deletes under such a name are METADATA_NOT_FOUND without detail', async () => {
    for (const [method, p] of [
      ['get', '/v2/a%00b/_trust/tuf/root.json'],
      ['get', '/v2/a%20b/_trust/tuf/timestamp.key'],
      ['post', '/v2/a%09b/_trust/tuf/snapshot.key'],
      ['delete', '/v2/a%0Ab/_trust/tuf/'],
      ['get', `/v2/${'a'.repeat(300)}/_trust/changefeed?records=1`],
    ] as const) {
      const res = await raw(request(handler)[method](p));
      assert.equal(res.status, 404, p);
      assert.equal(body(res).toString(), '{"errors":[{"code":"METADATA_NOT_FOUND","message":"You have requested metadata that does not exist."}]}\n', p);
    }
  });
});

describe('refusals say why', () => {
  test('metadata that parses as JSON but not as the model is INVALID_UPDATE/ErrValidation naming the field', async () => {
    const doc = JSON.parse(TARGETS.toString()) as { signatures: unknown[] };
    doc.signatures = [doc.signatures[0], doc.signatures[0]];
    const res = await post([{ filename: 'targets', data: Buffer.from(JSON.stringify(doc)) }]);
    assert.equal(res.status, 400);
    const parsed = JSON.parse(body(res).toString()) as { errors: { code: string; detail: { Name: string; Error: { Msg: string } } }[] };
    assert.equal(parsed.errors[0]?.code, 'INVALID_UPDATE');
    assert.equal(parsed.errors[0]?.detail.Name, 'ErrValidation');
    assert.match(parsed.errors[0]?.detail.Error.Msg ?? '', /signatures\[1\]/);
  });
});

describe('nesting', () => {
  test('a part nested beyond the stack (Go stops at 10,000 levels) is a 400 naming the field, not a 500', async (t) => {
    const app = await makeApp();
    t.after(() => app.close());
    const depth = 10_000;
    const deep = Buffer.from(TARGETS.toString().replace('"signed":{', `"signed":{"x":${'['.repeat(depth)}1${']'.repeat(depth)},`));
    const { body: b, contentType } = multipartBody([{ filename: 'targets', data: deep }]);
    const res = await raw(request(app.app.handler).post(S).set('Content-Type', contentType).send(b));
    assert.equal(res.status, 400, body(res).toString());
    const parsed = JSON.parse(body(res).toString()) as { errors: { code: string; detail: { Name: string; Error: { Msg: string } } }[] };
    assert.equal(parsed.errors[0]?.code, 'INVALID_UPDATE');
    assert.match(parsed.errors[0]?.detail.Error.Msg ?? '', /signed\.x\[0\].*: is nested deeper than 1000 levels/);
  });
});

describe('upload budget (--max-upload-bytes-in-flight)', () => {
  /** POST `body` to the server on `port`, with a Content-Length or chunked in two writes. */
  function send(port: number, body: Buffer, contentType: string, chunked: boolean): Promise<{ status: number; retryAfter: string | undefined; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: S, headers: { 'Content-Type': contentType, ...(chunked ? {} : { 'Content-Length': String(body.length) }) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], text }));
      });
      req.on('error', reject);
      if (chunked) {
        req.write(body.subarray(0, body.length >> 1));
        setTimeout(() => req.end(body.subarray(body.length >> 1)), 20);
      } else req.end(body);
    });
  }

  test('a publish beyond what is held at once is 503 UNAVAILABLE with Retry-After, chunked or not; held bytes come back when a publish ends', { timeout: 20_000 }, async (t) => {
    const { store, cleanup: c } = await embeddedStore();
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let reached = 0;
    const real = testService(store);
    const held: TrustService = {
      ...real,
      async applyUpdate(gun, parts) {
        reached++;
        await gate;
        return real.applyUpdate(gun, parts);
      },
    };
    const app = createApp({ service: held, store, logger: captureLogger().logger, metrics: createMetrics({ processMetrics: false }), limits: { maxBodyBytes: 40 * 1024, maxPartBytes: 16 * 1024, maxParts: 4, maxInFlightBytes: 48 * 1024 } });
    const server = http.createServer(app.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(async () => {
      open();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await c();
    });
    const port = (server.address() as AddressInfo).port;
    // Two parts of ~15 KiB each: valid JSON (padded with spaces), ~30 KiB in all.
    const padded = Buffer.concat([TARGETS, Buffer.alloc(15 * 1024 - TARGETS.length, ' ')]);
    const { body: b, contentType } = multipartBody([{ filename: 'targets', data: padded }, { filename: 'targets/x', data: padded }]);

    const first = send(port, b, contentType, false);
    while (reached === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const chunked of [false, true]) {
      const busy = await send(port, b, contentType, chunked);
      assert.equal(busy.status, 503, busy.text);
      assert.equal(busy.retryAfter, '1');
      assert.match(busy.text, /"code":"UNAVAILABLE".*max-upload-bytes-in-flight/);
    }
    assert.equal(reached, 1, 'the refused publishes never reached the domain');
    open();
    await first;
    // The first publish has ended: its bytes are free again, and the next one is taken.
    await send(port, b, contentType, true);
    assert.equal(reached, 2);
  });
});
