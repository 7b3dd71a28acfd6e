// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { goJson, goJsonString, goParseInt32, goQuote, goRfc1123, goRfc3339Nano, goStringSlice } from '../../../server/http/go-format.js';
import { notaryErrorBody } from '../../../server/http/errors.js';

describe('goJsonString (Go encoding/json with escapeHTML)', () => {
  const cases: Record<string, [string, string]> = {
    'plain ASCII is kept': ['targets/releases', '"targets/releases"'],
    'quote and backslash': ['a"b\\c', '"a\\"b\\\\c"'],
    'HTML characters become \\u00XX': ['<a>&', '"\\u003ca\\u003e\\u0026"'],
    'newline, CR, tab use short escapes': ['\n\r\t', '"\\n\\r\\t"'],
    'backspace and form feed do not (unlike JSON.stringify)': ['\b\f', '"\\u0008\\u000c"'],
    'other control characters': ['\u0001\u001f', '"\\u0001\\u001f"'],
    'DEL is raw': ['\u007f', '"\u007f"'],
    'line and paragraph separators are escaped': ['\u2028\u2029', '"\\u2028\\u2029"'],
    'non-ASCII is raw UTF-8': ['é😀', '"é😀"'],
    'a lone surrogate becomes U+FFFD': ['a\ud800b', '"a\\ufffdb"'],
  };
  for (const [name, [input, want]] of Object.entries(cases)) {
    test(name, () => assert.equal(goJsonString(input), want));
  }

  test('round-trips through JSON.parse and never emits raw <, >, & or control characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        const out = goJsonString(s);
        assert.equal(JSON.parse(out), s);
        assert.doesNotMatch(out, /[<>&\u0000-\u001f\u2028\u2029]/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('goJson', () => {
  test('keeps key order, writes null and nested values like json.Marshal', () => {
    assert.equal(goJson({ count: 0, records: null, x: [1, 'a', true, {}] }), '{"count":0,"records":null,"x":[1,"a",true,{}]}');
  });
  test('the error envelope ends in a newline and omits a nil detail', () => {
    assert.equal(notaryErrorBody('NO_FILENAME').toString(), '{"errors":[{"code":"NO_FILENAME","message":"No file/role name provided."}]}\n');
    assert.equal(notaryErrorBody('VERSION', {}).toString(), '{"errors":[{"code":"VERSION","message":"A newer version of metadata is already available.","detail":{}}]}\n');
  });
});

describe('Go time formats', () => {
  test('RFC1123 on a UTC time ends in UTC, as notary writes Last-Modified', () => {
    assert.equal(goRfc1123(new Date('2026-11-22T18:59:49.735Z')), 'Sun, 22 Nov 2026 18:59:49 UTC');
  });
  test('RFC3339Nano trims trailing fractional zeros and the dot', () => {
    assert.equal(goRfc3339Nano(new Date('2026-11-22T18:59:50.006Z')), '2026-11-22T18:59:50.006Z');
    assert.equal(goRfc3339Nano(new Date('2026-11-22T18:59:50.060Z')), '2026-11-22T18:59:50.06Z');
    assert.equal(goRfc3339Nano(new Date('2026-11-22T18:59:50.000Z')), '2026-11-22T18:59:50Z');
  });
});

describe('strconv', () => {
  test('ParseInt errors quote the input as Go does', () => {
    assert.deepEqual(goParseInt32(''), { ok: false, error: 'strconv.ParseInt: parsing "": invalid syntax' });
    assert.deepEqual(goParseInt32('abc'), { ok: false, error: 'strconv.ParseInt: parsing "abc": invalid syntax' });
    assert.deepEqual(goParseInt32('2147483648'), { ok: false, error: 'strconv.ParseInt: parsing "2147483648": value out of range' });
    assert.deepEqual(goParseInt32('1_0'), { ok: false, error: 'strconv.ParseInt: parsing "1_0": invalid syntax' });
  });
  test('ParseInt accepts signs and int32 bounds', () => {
    assert.deepEqual(goParseInt32('-2147483648'), { ok: true, value: -2147483648 });
    assert.deepEqual(goParseInt32('+7'), { ok: true, value: 7 });
    assert.deepEqual(goParseInt32('007'), { ok: true, value: 7 });
  });
  test('Quote escapes quotes, controls and non-printables, keeps printable Unicode', () => {
    assert.equal(goQuote('a"b\\'), '"a\\"b\\\\"');
    assert.equal(goQuote('\n\t\u0001\u007f'), '"\\n\\t\\x01\\x7f"');
    assert.equal(goQuote('é\u00a0\u2028'), '"é\\u00a0\\u2028"');
  });
  test('%v of a []string', () => {
    assert.equal(goStringSlice(['example.com/', 'other/']), '[example.com/ other/]');
  });
});
