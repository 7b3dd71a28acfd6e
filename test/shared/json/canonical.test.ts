// SPDX-License-Identifier: Apache-2.0
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { canonicalize, canonicalString, canonicalStringGeneric, MAX_JSON_DEPTH } from '../../../shared/json/canonical.js';
import { hasPlainStrings, parseJson } from '../../../shared/json/parse.js';
import { DeserializationError } from '../../../shared/errors.js';
import type { JSONValue } from '../../../shared/json/types.js';
import { fixture } from '../../support/paths.js';

interface Vector {
  input: string;
  notary_canonical_hex?: string;
  notary_error?: string;
  npm_canonicaljson_1_0_1?: string;
  npm_matches_notary: boolean;
}
const vectors = JSON.parse(fs.readFileSync(fixture('canonical-json', 'vectors.json'), 'utf8')) as Vector[];
const require = createRequire(import.meta.url);
const npmCanonical = require('canonicaljson') as { stringify(v: unknown): string };

describe('canonicalize against notary 0.7 vectors', () => {
  for (const v of vectors) {
    const big = /beyond_2\^53|"big"/.test(v.input);
    test(`${v.input.slice(0, 60)}`, () => {
      const value = parseJson(v.input);
      if (v.notary_error !== undefined || big) {
        // Notary errors on fractions; beyond 2^53 it silently rounds or garbles, Signet refuses.
        assert.throws(() => canonicalize(value), (e: unknown) => e instanceof DeserializationError && e.code === 'CANONICAL_JSON');
        return;
      }
      assert.equal(canonicalize(value).toString('hex'), v.notary_canonical_hex);
    });
  }
});

describe('npm canonicaljson differs from notary (why Signet has its own encoder)', () => {
  test('the package escapes control characters that notary writes raw', () => {
    const mismatches = vectors.filter((v) => v.notary_error === undefined && v.notary_canonical_hex !== undefined && !v.npm_matches_notary);
    assert.ok(mismatches.length >= 2);
    for (const v of mismatches) {
      let npm: string | undefined;
      try {
        npm = npmCanonical.stringify(JSON.parse(v.input));
      } catch {
        npm = undefined;
      }
      const ours = /beyond_2\^53|"big"/.test(v.input) ? undefined : canonicalize(parseJson(v.input)).toString('hex');
      if (npm !== undefined && ours !== undefined) assert.notEqual(Buffer.from(npm, 'utf8').toString('hex'), ours);
    }
    assert.equal(npmCanonical.stringify({ s: 'a\nb' }), '{"s":"a\\nb"}');
    assert.equal(canonicalString({ s: 'a\nb' }), '{"s":"a\nb"}');
  });
});

describe('canonicalize rules', () => {
  test('sorts keys by UTF-8 bytes, not UTF-16 units', () => {
    assert.equal(canonicalString({ '\u{1F600}': 1, '\uff61': 2 }), '{"\uff61":2,"\u{1F600}":1}');
  });
  test('writes lone surrogates as U+FFFD, like Go', () => {
    assert.equal(canonicalString({ s: 'a\ud800b' }), '{"s":"a\ufffdb"}');
  });
  test('names the path of a bad number', () => {
    assert.throws(() => canonicalize({ a: [{ b: 1.5 }] }), /a\[0\]\.b: canonical JSON allows integers only/);
  });
});

describe('nesting depth', () => {
  // `depth` containers inside one another, the innermost holding 1; from text, as an upload arrives.
  const nested = (depth: number, open = '[', close = ']'): JSONValue => parseJson(`{"x":${open.repeat(depth - 1)}1${close.repeat(depth - 1)}}`);
  test(`${MAX_JSON_DEPTH} levels canonicalise; one more is refused with a typed error naming where`, () => {
    assert.equal(canonicalString(nested(MAX_JSON_DEPTH)), `{"x":${'['.repeat(MAX_JSON_DEPTH - 1)}1${']'.repeat(MAX_JSON_DEPTH - 1)}}`);
    for (const encode of [canonicalString, canonicalStringGeneric]) {
      assert.throws(
        () => encode(nested(MAX_JSON_DEPTH + 1), 'signed'),
        (e: unknown) => e instanceof DeserializationError && e.code === 'CANONICAL_JSON' && /signed\.x\[0\]\[0\].*…: is nested deeper than 1000 levels/.test(e.message) && e.message.length < 300,
      );
    }
  });
  test('nesting far beyond the stack (Go stops at 10,000) is bad input, not a RangeError', () => {
    for (const depth of [10_000, 100_000]) {
      for (const [open, close] of [['[', ']'], ['{"a":', '}']] as const) {
        assert.throws(() => canonicalize(nested(depth, open, close), 'signed', { plainStrings: true }), (e: unknown) => e instanceof DeserializationError && e.code === 'CANONICAL_JSON');
      }
    }
  });
});

describe('properties', () => {
  const jsonValue: fc.Arbitrary<JSONValue> = fc.jsonValue() as fc.Arbitrary<JSONValue>;
  test('any JSON value canonicalises or raises the typed error; never crashes', () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        try {
          canonicalize(v);
        } catch (e) {
          assert.ok(e instanceof DeserializationError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
  test('canonical form is a fixed point and parses back to an equal value', () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        let once: Buffer;
        try {
          once = canonicalize(v);
        } catch {
          return; // fractions are refused; covered above
        }
        const back = parseJson(once.toString('utf8').replace(/[\u0000-\u001f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')));
        assert.deepEqual(canonicalize(back), once);
      }),
      { numRuns: 2000 },
    );
  });
  test('arbitrary bytes parse to a value or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          parseJson(b);
        } catch (e) {
          assert.ok(e instanceof DeserializationError);
        }
      }),
    );
  });
});

describe('the JSON.stringify fast path', () => {
  const ordered = (v: JSONValue): JSONValue => JSON.parse(canonicalString(v).replace(/[\u0000-\u001f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))) as JSONValue;
  test('gives the general encoder\'s text for any value, sorted or not', () => {
    fc.assert(
      fc.property(fc.jsonValue() as fc.Arbitrary<JSONValue>, (v) => {
        let expected: string;
        try {
          expected = canonicalStringGeneric(v);
        } catch {
          assert.throws(() => canonicalString(v), DeserializationError);
          return;
        }
        assert.equal(canonicalString(v), expected);
        assert.equal(canonicalString(ordered(v)), expected); // already-ordered trees take the fast path
      }),
      { numRuns: 3000 },
    );
  });
  test('integer-like keys, which JSON.stringify writes first, still come out in byte order', () => {
    assert.equal(canonicalString({ '9': 1, '10': 2, a: 3 }), '{"10":2,"9":1,"a":3}');
    assert.equal(canonicalString(JSON.parse('{"10":2,"9":1}') as JSONValue), '{"10":2,"9":1}');
  });
  test('parsed text whose strings are plain gives the general encoder\'s bytes through the plain-strings path', () => {
    let plainSeen = 0;
    fc.assert(
      fc.property(fc.jsonValue() as fc.Arbitrary<JSONValue>, fc.boolean(), (v, sort) => {
        let input = v;
        try {
          if (sort) input = ordered(v);
        } catch {
          // not canonicalisable (a fraction): left unsorted, and must be refused below
        }
        const bytes = Buffer.from(JSON.stringify(input));
        const plain = hasPlainStrings(bytes);
        if (plain) plainSeen++;
        const tree = parseJson(bytes);
        let expected: string;
        try {
          expected = canonicalStringGeneric(tree);
        } catch {
          assert.throws(() => canonicalize(tree, '', { plainStrings: plain }), DeserializationError);
          return;
        }
        assert.deepEqual(canonicalize(tree, '', { plainStrings: plain }), Buffer.from(expected, 'utf8'));
      }),
      { numRuns: 3000 },
    );
    assert.ok(plainSeen > 100, `only ${plainSeen} plain documents were generated`);
  });
  test('text with an escape, a control character or a non-ASCII byte is not plain', () => {
    assert.equal(hasPlainStrings(Buffer.from('{"a":"b c~"}')), true);
    assert.equal(hasPlainStrings(Buffer.from('{"a":"\\u0001"}')), false);
    assert.equal(hasPlainStrings(Buffer.from('{"a":"\\""}')), false);
    assert.equal(hasPlainStrings(Buffer.from('{"\u00e9":1}')), false);
    // The plain path trusts that flag: a non-ASCII tree passed as plain would be written wrongly.
    assert.notDeepEqual(canonicalize({ a: '\u00e9' }, '', { plainStrings: true }), canonicalize({ a: '\u00e9' }));
  });
  test('a fraction inside an ordered tree is still refused with its path', () => {
    assert.throws(() => canonicalString({ a: { b: 1.5 } }), /a\.b: canonical JSON allows integers only/);
  });
});
