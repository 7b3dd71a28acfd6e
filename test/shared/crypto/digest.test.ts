// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { sha256, sha256Hex, sha512 } from '../../../shared/crypto/digest.js';
import { fixture } from '../../support/paths.js';

interface Derived {
  files: Record<string, { sha256_hex: string; sha256_base64: string; sha512_base64: string }>;
}

describe('digests', () => {
  const derived = JSON.parse(readFileSync(fixture('derived', 'ids-and-hashes.json'), 'utf8')) as Derived;
  for (const [name, expected] of Object.entries(derived.files)) {
    it(`match the recorded hashes of server/${name}`, () => {
      const bytes = readFileSync(fixture('server', name));
      assert.equal(sha256Hex(bytes), expected.sha256_hex);
      assert.equal(sha256(bytes).toString('base64'), expected.sha256_base64);
      assert.equal(sha512(bytes).toString('base64'), expected.sha512_base64);
    });
  }

  it('hash strings as UTF-8', () => {
    assert.equal(sha256Hex('é'), sha256Hex(Buffer.from('c3a9', 'hex')));
    assert.equal(sha512('').length, 64);
  });
});
