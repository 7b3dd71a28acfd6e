// SPDX-License-Identifier: Apache-2.0
// supertest helpers: raw-byte bodies and comparison with notary-server captures
// (status line, Content-Type, body: the deterministic parts of a response).

import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Response, Test } from 'supertest';
import { readCapture } from './harness.js';
import { fixture } from '../../support/paths.js';

/** Make supertest keep the body as a Buffer whatever its type. */
export function raw(t: Test): Test {
  const parser = (res: IncomingMessage, cb: (err: Error | null, body: Buffer) => void): void => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  };
  return t.buffer(true).parse(parser as unknown as Parameters<Test['parse']>[0]);
}

export function body(res: Response): Buffer {
  return res.body as Buffer;
}

/** Assert that a response equals a capture in status line, Content-Type and body bytes. */
export function assertMatchesCapture(res: Response, ...captureParts: string[]): void {
  const cap = readCapture(fixture(...captureParts));
  const statusLine = `HTTP/1.1 ${res.status} ${(res as unknown as { res: IncomingMessage }).res.statusMessage}`;
  assert.equal(statusLine, cap.statusLine, 'status line');
  assert.equal(res.headers['content-type'], cap.headers.get('content-type'), 'content-type');
  assert.equal(body(res).toString('utf8'), cap.body.toString('utf8'), 'body');
  assert.ok(body(res).equals(cap.body), 'body bytes');
}
