// SPDX-License-Identifier: Apache-2.0
// Progress bars only for a person at a terminal; -v/-D logs without secrets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createProgress, progressAllowed } from '../../client/progress.js';
import { createLog, loggingSend, safeUrl } from '../../client/log.js';

function stream(tty: boolean): Writable & { isTTY?: boolean; text: () => string; columns?: number } {
  let text = '';
  const w = new Writable({
    write(chunk: Buffer, _e, cb) {
      text += chunk.toString();
      cb();
    },
  }) as Writable & { isTTY?: boolean; text: () => string; columns?: number; cursorTo?: unknown; clearLine?: unknown; moveCursor?: unknown };
  if (tty) {
    w.isTTY = true;
    w.columns = 80;
    // the readline helpers cli-progress calls on a terminal
    w.cursorTo = (_x: number, _y?: unknown, cb?: () => void) => (typeof cb === 'function' ? cb() : true);
    w.clearLine = (_d: number, cb?: () => void) => (typeof cb === 'function' ? cb() : true);
    w.moveCursor = (_x: number, _y: number, cb?: () => void) => (typeof cb === 'function' ? cb() : true);
  }
  w.text = () => text;
  return w;
}

describe('progress', () => {
  it('is allowed only when stdout and stderr are terminals and CI is unset', () => {
    assert.equal(progressAllowed(stream(true), stream(true), {}), true);
    assert.equal(progressAllowed(stream(false), stream(true), {}), false, 'stdout piped');
    assert.equal(progressAllowed(stream(true), stream(false), {}), false, 'stderr redirected');
    assert.equal(progressAllowed(stream(true), stream(true), { CI: 'true' }), false, 'CI');
    assert.equal(progressAllowed(stream(true), stream(true), { CI: 'false' }), true);
  });

  it('draws on a terminal for large jobs only, and nothing when disabled', () => {
    const tty = stream(true);
    const p = createProgress(tty, true);
    const small = p.begin('small', 3, { minTotal: 50 });
    small.tick();
    small.done();
    assert.equal(tty.text(), '');
    const big = p.begin('applying changes', 100, { minTotal: 50 });
    for (let i = 0; i < 100; i++) big.tick();
    big.done();
    big.done();
    assert.match(tty.text(), /applying changes/);
    const off = stream(false);
    const none = createProgress(off, false).begin('x', 1000);
    none.tick(1000);
    none.done();
    assert.equal(off.text(), '');
  });
});

describe('-v logging', () => {
  it('logs method, URL, status; never user info, query or headers', async () => {
    const err = stream(false);
    const log = createLog(err, 'info');
    const send = loggingSend(async () => ({ status: 200, headers: {}, body: Buffer.from('{}') }), log);
    await send({ method: 'GET', url: new URL('https://alice:s3cret@example.com/v2/x/_trust/tuf/root.json?token=abc'), headers: { authorization: 'Basic c2VjcmV0' }, maxBytes: 10, timeoutMs: 10 });
    assert.match(err.text(), /^signet info: GET https:\/\/example\.com\/v2\/x\/_trust\/tuf\/root\.json -> 200 \(2 bytes, \d+ ms\)\n$/);
    assert.doesNotMatch(err.text(), /s3cret|alice|token|Basic/);
    assert.equal(safeUrl(new URL('http://u:p@h:1/a?b=c')), 'http://h:1/a');
  });

  it('is silent without -v and has debug lines only with -D', () => {
    const quiet = stream(false);
    createLog(quiet, 'quiet').info('x');
    assert.equal(quiet.text(), '');
    const info = stream(false);
    createLog(info, 'info').debug('hidden');
    assert.equal(info.text(), '');
    const debug = stream(false);
    createLog(debug, 'debug').debug('shown');
    assert.equal(debug.text(), 'signet debug: shown\n');
  });
});
