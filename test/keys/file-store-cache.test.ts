// SPDX-License-Identifier: Apache-2.0
// FileKeyStore.has() answers from the last directory scan (a publish asks once
// per staged change): it must still see keys other processes add or remove.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { FileKeyStore } from '../../keys/file-store.js';
import { constantPassphraseRetriever } from '../../keys/passphrase.js';
import { assertRejectsCode, tempDir } from './support/helpers.js';

const retriever = constantPassphraseRetriever('cache-pass');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Counts fs.readdirSync calls made while `fn` runs (scanKeyFiles lists through it). */
async function countReaddirs(fn: () => Promise<void>): Promise<number> {
  const original = fs.readdirSync;
  let calls = 0;
  const counting = (...args: Parameters<typeof original>): ReturnType<typeof original> => {
    calls++;
    return original(...args);
  };
  fs.readdirSync = counting as typeof original;
  try {
    await fn();
  } finally {
    fs.readdirSync = original;
  }
  return calls;
}

describe('FileKeyStore.has and the scan it reuses', () => {
  test('a thousand lookups of a held key list the directory once, not a thousand times', async () => {
    const dir = tempDir();
    const store = new FileKeyStore(dir, { retriever });
    const pub = await store.generate({ role: 'targets', gun: 'example.com/cache' });
    const calls = await countReaddirs(async () => {
      for (let i = 0; i < 1000; i++) assert.equal(await store.has(pub.id), true);
    });
    // One scan is private/, root_keys/ and tuf_keys/: three readdirs at most.
    assert.ok(calls <= 3, `${calls} readdir calls for 1000 lookups`);
  });

  test('repeated misses of the same ID do not rescan every time', async () => {
    const store = new FileKeyStore(tempDir(), { retriever });
    const absent = 'ab'.repeat(32);
    const calls = await countReaddirs(async () => {
      for (let i = 0; i < 200; i++) assert.equal(await store.has(absent), false);
    });
    assert.ok(calls <= 6, `${calls} readdir calls for 200 misses`);
  });

  test('a key another process adds is found: the first miss of an ID rescans', async () => {
    const dir = tempDir();
    const reader = new FileKeyStore(dir, { retriever });
    const other = new FileKeyStore(dir, { retriever });
    const first = await other.generate({ role: 'root' });
    assert.equal(await reader.has(first.id), true); // the reader's listing now exists
    const added = await other.generate({ role: 'targets', gun: 'example.com/cache' });
    assert.equal(await reader.has(added.id), true);
  });

  test('a key found missing and then added elsewhere is found once the miss has aged', async () => {
    const dir = tempDir();
    const reader = new FileKeyStore(dir, { retriever });
    const other = new FileKeyStore(dir, { retriever });
    // Learn the ID without the key being on disk: generate in a scratch dir, then copy the file in later.
    const scratch = tempDir();
    const pub = await new FileKeyStore(scratch, { retriever }).generate({ role: 'root' });
    assert.equal(await reader.has(pub.id), false);
    await other.importPem(fs.readFileSync(`${scratch}/private/${pub.id}.key`), { role: 'root' });
    await sleep(1100);
    assert.equal(await reader.has(pub.id), true);
  });

  test('own writes and removals update the answer at once', async () => {
    const dir = tempDir();
    const store = new FileKeyStore(dir, { retriever });
    const absentFirst = await new FileKeyStore(tempDir(), { retriever }).generate({ role: 'root' });
    assert.equal(await store.has(absentFirst.id), false); // listing made, ID remembered as missing
    const pub = await store.generate({ role: 'root' });
    assert.equal(await store.has(pub.id), true);
    await store.remove(pub.id);
    assert.equal(await store.has(pub.id), false);
  });

  test('a key another process removed is not handed out: getSigner rescans and refuses', async () => {
    const dir = tempDir();
    const store = new FileKeyStore(dir, { retriever });
    const pub = await store.generate({ role: 'targets', gun: 'example.com/cache' });
    assert.equal(await store.has(pub.id), true);
    await new FileKeyStore(dir, { retriever }).remove(pub.id);
    await assertRejectsCode(store.getSigner(pub.id), 'KEY_NOT_FOUND', 'is not in');
  });
});
