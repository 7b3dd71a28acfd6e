// SPDX-License-Identifier: Apache-2.0
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseChange } from '../../client/changelist.js';
import { checkCustomData, checkTargetName, encodeFileMeta, parseFileMeta, targetFileFromBytes } from '../../client/metadata.js';
import { DeserializationError, UsageError } from '../../shared/errors.js';
import { fixture } from '../support/paths.js';

describe('target meta', () => {
  it('encodes FileMeta byte for byte as the notary CLI staged it (length, hashes, custom)', () => {
    const dir = fixture('changelist', '01-add-target');
    const [file] = fs.readdirSync(dir);
    const staged = parseChange(fs.readFileSync(path.join(dir, file!)), file!).data!;
    const payload = fs.readFileSync(fixture('payloads', 'app-v1.0.0.txt'));
    const custom = checkCustomData(fs.readFileSync(fixture('payloads', 'custom.json'), 'utf8'), 'custom.json');
    assert.deepEqual(encodeFileMeta(targetFileFromBytes(payload, custom)), staged);
    const parsed = parseFileMeta(staged, file!);
    assert.equal(parsed.length, 15);
    assert.deepEqual(parsed.custom, { built_by: 'ci', commit: '0123abcd' });
    assert.deepEqual(encodeFileMeta(parsed), staged);
  });

  it('writes custom data canonically (sorted, compact)', () => {
    const t = targetFileFromBytes(Buffer.from('x'), checkCustomData('{ "b": 1, "a": [2, {"d": 3, "c": 4}] }', 'c.json'));
    assert.match(encodeFileMeta(t).toString(), /,"custom":\{"a":\[2,\{"c":4,"d":3\}\],"b":1\}\}$/);
  });

  const badCustom: Record<string, string> = {
    'non-JSON': '{',
    'a fraction': '{"a":1.5}',
    'HTML characters': '{"a":"<b>"}',
    'an ampersand in a key': '{"a&b":1}',
    'U+2028': '{"a":"\\u2028"}',
    'a control character': '{"a":"x\\ny"}',
  };
  for (const [name, text] of Object.entries(badCustom)) {
    it(`refuses custom data with ${name}`, () => assert.throws(() => checkCustomData(text, 'c.json'), UsageError));
  }

  it('refuses custom data nested beyond the stack, saying so', () => {
    const deep = `{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    assert.throws(() => checkCustomData(deep, 'c.json'), (e: unknown) => e instanceof UsageError && /c\.json cannot be signed: a\[0\].*: is nested deeper than 1000 levels/.test(e.message));
  });

  it('refuses unusable target names', () => {
    assert.throws(() => checkTargetName(''), UsageError);
    assert.throws(() => checkTargetName('a\tb'), UsageError);
    checkTargetName('lt<gt>amp&');
  });

  it('refuses staged meta without length or hashes', () => {
    assert.throws(() => parseFileMeta(Buffer.from('{"hashes":{"sha256":"AA=="}}'), 'f'), DeserializationError);
    assert.throws(() => parseFileMeta(Buffer.from('{"length":1,"hashes":{}}'), 'f'), DeserializationError);
    assert.throws(() => parseFileMeta(Buffer.from('{"length":1,"hashes":{"sha256":"A"}}'), 'f'), DeserializationError);
  });
});
