// SPDX-License-Identifier: Apache-2.0
// RepoView reuses the parse of stored metadata across operations, but only for
// the very same bytes: a row whose sha256 column lies gets its own parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { RepoView } from '../../../server/domain/repo-view.js';
import type { MetaStore, StoredFile } from '../../../server/storage/meta-store.js';
import { fixture } from '../../support/paths.js';

test('a stored file is parsed once per content, and never reused for other bytes under the same sha256', async () => {
  const original = fs.readFileSync(fixture('server', 'timestamp.json'));
  const reformatted = Buffer.from(` ${original.toString('utf8')}\n`); // same metadata, other bytes
  let data = original;
  const row = (): StoredFile => ({ gun: 'example.com/app', role: 'timestamp', version: 1, sha256: 'a'.repeat(64), data, createdAt: new Date(0) });
  const store = { getCurrent: async () => row() } as unknown as MetaStore;
  let parses = 0;
  const codec = { ...notaryCodec, parse: ((...args: Parameters<typeof notaryCodec.parse>) => (parses++, notaryCodec.parse(...args))) as typeof notaryCodec.parse };
  const gun = `example.com/repo-view-${process.pid}-${Date.now()}`;
  const first = await new RepoView(store, codec, gun).load('timestamp', 'timestamp');
  const again = await new RepoView(store, codec, gun).load('timestamp', 'timestamp');
  assert.equal(parses, 1, 'the second operation reused the parse');
  assert.equal(again?.envelope, first?.envelope);
  data = reformatted;
  const other = await new RepoView(store, codec, gun).load('timestamp', 'timestamp');
  assert.equal(parses, 2, 'different bytes are parsed, whatever the sha256 column says');
  assert.ok(other?.envelope.raw.equals(reformatted));
});

test('prefetched roles come from one read; a failed read rejects where it is used and nowhere else', async () => {
  const file = (role: string): StoredFile => ({ gun: 'g', role, version: 1, sha256: 'b'.repeat(64), data: Buffer.from(role), createdAt: new Date(0) });
  let many = 0;
  let single = 0;
  const store = {
    getCurrentMany: async (_gun: string, roles: readonly string[]) => (many++, new Map(roles.filter((r) => r !== 'timestamp').map((r) => [r, file(r)]))),
    getCurrent: async (_gun: string, role: string) => (single++, file(role)),
  } as unknown as MetaStore;
  const view = new RepoView(store, notaryCodec, 'g');
  view.prefetch(['root', 'timestamp']);
  assert.equal((await view.file('root'))?.data.toString(), 'root');
  assert.equal(await view.file('timestamp'), null, 'absent from the batch: nothing stored');
  assert.equal((await view.file('targets'))?.data.toString(), 'targets');
  assert.deepEqual([many, single], [1, 1]);

  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const failing = { getCurrentMany: async () => Promise.reject(new Error('database gone')) } as unknown as MetaStore;
    const v = new RepoView(failing, notaryCodec, 'g');
    v.prefetch(['root', 'timestamp']);
    await assert.rejects(v.file('root'), /database gone/);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, [], 'the timestamp read nobody awaited did not become an unhandled rejection');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
