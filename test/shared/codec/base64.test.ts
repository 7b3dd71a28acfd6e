// SPDX-License-Identifier: Apache-2.0
// The strict base64 decoder: exactly the canonical padded standard encodings
// are accepted, and they decode to what Node's decoder gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { base64DecodedLength, decodeBase64Strict } from '../../../shared/codec/base64.js';
import { DeserializationError } from '../../../shared/errors.js';

const RUNS = Number(process.env.H1_RUNS ?? 500);

/** The reference rule: Node decodes, and re-encoding gives the same text back. */
function isCanonical(s: string): boolean {
  return Buffer.from(s, 'base64').toString('base64') === s;
}

test('every byte string round-trips through its canonical text', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const text = Buffer.from(bytes).toString('base64');
      assert.deepEqual(decodeBase64Strict(text, 'f'), Buffer.from(bytes));
    }),
    { numRuns: RUNS },
  );
});

test('any text is accepted exactly when it is canonical, and then decodes as Node does', () => {
  const chars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\u00e9\ud83d'.split(''));
  fc.assert(
    fc.property(fc.array(chars, { maxLength: 16 }), (list) => {
      const s = list.join('');
      let decoded: Buffer | undefined;
      try {
        decoded = decodeBase64Strict(s, 'f');
      } catch (error) {
        assert.ok(error instanceof DeserializationError);
      }
      assert.equal(decoded !== undefined, isCanonical(s), s);
      if (decoded !== undefined) assert.deepEqual(decoded, Buffer.from(s, 'base64'));
    }),
    { numRuns: RUNS * 4 },
  );
});

test('one changed character of a canonical text is accepted only if the result is still canonical', () => {
  const alphabet = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ *.\t\n\r', '\u00e9', '\ufeff'];
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), fc.constantFrom(...alphabet), (bytes, at, ch) => {
      const text = Buffer.from(bytes).toString('base64');
      const i = at % text.length;
      const s = text.slice(0, i) + ch + text.slice(i + 1);
      let ok = true;
      try {
        assert.deepEqual(decodeBase64Strict(s, 'f'), Buffer.from(s, 'base64'));
      } catch (error) {
        if (!(error instanceof DeserializationError)) throw error;
        ok = false;
      }
      assert.equal(ok, isCanonical(s), s);
    }),
    { numRuns: RUNS * 4 },
  );
});

test('the refusals say why, at the field', () => {
  assert.throws(() => decodeBase64Strict('AAE', 'signatures[0].sig'), (e: unknown) => e instanceof DeserializationError && e.field === 'signatures[0].sig' && /padded standard base64/.test(e.message));
  assert.throws(() => decodeBase64Strict('AA-_', 'x'), /padded standard base64/);
  assert.throws(() => decodeBase64Strict('A===', 'x'), /padded standard base64/);
  assert.throws(() => decodeBase64Strict('AA=A', 'x'), /padded standard base64/);
  // 'AB==' leaves non-zero bits below the byte ('AA==' is the canonical form of 0x00).
  assert.throws(() => decodeBase64Strict('AB==', 'x'), /not canonical base64/);
  assert.throws(() => decodeBase64Strict('AAB=', 'x'), /not canonical base64/);
  assert.deepEqual(decodeBase64Strict('', 'x'), Buffer.alloc(0));
  assert.deepEqual(decodeBase64Strict('/+8=', 'x'), Buffer.from([0xff, 0xef]));
});

test('base64DecodedLength accepts exactly what decodeBase64Strict accepts, and gives the decoded length', () => {
  const chars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\u00e9\ud83d'.split(''));
  const text = fc.oneof(fc.array(chars, { maxLength: 16 }).map((l) => l.join('')), fc.uint8Array({ maxLength: 70 }).map((b) => Buffer.from(b).toString('base64')));
  fc.assert(
    fc.property(text, (s) => {
      let decoded: Buffer | undefined;
      let length: number | undefined;
      try {
        decoded = decodeBase64Strict(s, 'f');
      } catch (error) {
        assert.ok(error instanceof DeserializationError);
      }
      try {
        length = base64DecodedLength(s, 'f');
      } catch (error) {
        assert.ok(error instanceof DeserializationError);
      }
      assert.equal(length, decoded?.length, s);
    }),
    { numRuns: RUNS * 4 },
  );
});
