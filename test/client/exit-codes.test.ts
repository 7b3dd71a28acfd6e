// SPDX-License-Identifier: Apache-2.0
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT, exitCodeFor } from '../../client/exit-codes.js';
import { TargetNotFoundError } from '../../client/repository.js';
import { ConfigError, DeserializationError, ExpiredMetadataError, KeyStoreError, RemoteError, RepositoryError, UnsignedMetadataError, UsageError } from '../../shared/errors.js';

describe('exitCodeFor', () => {
  const cases: Array<[string, unknown, number]> = [
    ['usage', new UsageError('x'), EXIT.USAGE],
    ['config', new ConfigError('x'), EXIT.USAGE],
    ['missing passphrase', new KeyStoreError('PASSPHRASE_REQUIRED', 'x'), EXIT.CREDENTIALS],
    ['missing login', new RemoteError('AUTH_REQUIRED', 'x'), EXIT.CREDENTIALS],
    ['wrong passphrase', new KeyStoreError('PASSPHRASE_WRONG', 'x'), EXIT.FAILURE],
    ['bad signature', new UnsignedMetadataError('THRESHOLD_NOT_MET', 'x'), EXIT.VERIFICATION],
    ['expired', new ExpiredMetadataError('EXPIRED', 'x'), EXIT.VERIFICATION],
    ['untrusted root', new RepositoryError('UNTRUSTED_ROOT', 'x'), EXIT.VERIFICATION],
    ['malformed metadata', new DeserializationError('signed', 'x'), EXIT.VERIFICATION],
    ['unreachable', new RemoteError('NETWORK', 'x'), EXIT.NETWORK],
    ['timeout', new RemoteError('TIMEOUT', 'x'), EXIT.NETWORK],
    ['oversized', new RemoteError('RESPONSE_TOO_LARGE', 'x'), EXIT.NETWORK],
    ['refused update', new RemoteError('SERVER_REJECTED', 'x'), EXIT.REJECTED],
    ['unknown repository', new RemoteError('METADATA_NOT_FOUND', 'x'), EXIT.NOT_FOUND],
    ['unknown target', new TargetNotFoundError('x'), EXIT.NOT_FOUND],
    ['a bug', new TypeError('x'), EXIT.FAILURE],
  ];
  for (const [name, error, code] of cases) {
    it(`${name} -> ${code}`, () => assert.equal(exitCodeFor(error), code));
  }

  it('uses distinct codes per family', () => {
    assert.equal(new Set(Object.values(EXIT)).size, Object.keys(EXIT).length);
  });
});
