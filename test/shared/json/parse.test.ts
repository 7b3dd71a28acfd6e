// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJson } from '../../../shared/json/parse.js';
import { DeserializationError } from '../../../shared/errors.js';

const isMalformed = (e: unknown): boolean => e instanceof DeserializationError && e.code === 'MALFORMED_JSON';

test('a UTF-8 byte-order mark is refused, as Go refuses it', () => {
  assert.throws(() => parseJson(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])), isMalformed);
});

test('invalid UTF-8 is refused with a typed error', () => {
  assert.throws(() => parseJson(Buffer.from([0x22, 0xff, 0x22])), (e: unknown) => isMalformed(e) && /not valid UTF-8/.test((e as Error).message));
});

test('the error says what was being parsed', () => {
  assert.throws(() => parseJson('{"a":', 'targets.json'), /targets\.json is not valid JSON/);
});
