// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeserializationError } from '../../../shared/errors.js';
import {
  assertDelegationRoleName,
  assertGun,
  checksumFileName,
  isDelegationRoleName,
  isTargetsRoleName,
  isTopLevelRole,
  isValidGun,
  isValidRoleName,
  parentRoleName,
  roleFileName,
  roleFromFileName,
  versionedFileName,
} from '../../../shared/tuf/names.js';

describe('delegation role names (notary data.IsDelegation)', () => {
  test('valid names', () => {
    for (const n of ['targets/releases', 'targets/a/b/c', 'targets/-_0', `targets/${'a'.repeat(247)}`]) {
      assert.ok(isDelegationRoleName(n), n);
      assertDelegationRoleName(n, 'f');
    }
  });
  const invalid: Record<string, RegExp> = {
    targets: /start with "targets\/"/,
    'targets/': /clean path/,
    'Targets/x': /start with/,
    'root/x': /start with/,
    'targets/Jenkins': /lower-case/,
    'targets/a b': /lower-case/,
    'targets/é': /lower-case/,
    'targets/a//b': /clean path/,
    'targets/a/': /clean path/,
    // `.` is outside the character set, so dot segments never reach the path.Clean check
    'targets/./a': /lower-case/,
    'targets/a/..': /lower-case/,
    'targets/../targets/x': /lower-case/,
    [`targets/${'a'.repeat(248)}`]: /shorter than 256 bytes/,
  };
  for (const [name, why] of Object.entries(invalid)) {
    test(`refuses ${JSON.stringify(name.slice(0, 30))}`, () => {
      assert.equal(isDelegationRoleName(name), false);
      assert.throws(() => assertDelegationRoleName(name, 'signed.delegations.roles[1].name'), (e: unknown) => e instanceof DeserializationError && e.field === 'signed.delegations.roles[1].name' && why.test(e.message));
    });
  }
  test('non-strings are refused', () => {
    assert.equal(isDelegationRoleName(3), false);
    assert.throws(() => assertDelegationRoleName(null, 'f'), DeserializationError);
  });
});

describe('role helpers', () => {
  test('top-level and targets roles', () => {
    assert.ok(isTopLevelRole('timestamp'));
    assert.equal(isTopLevelRole('targets/x'), false);
    assert.equal(isTopLevelRole('constructor'), false);
    assert.ok(isTargetsRoleName('targets') && isTargetsRoleName('targets/x'));
    assert.equal(isTargetsRoleName('root'), false);
    assert.ok(isValidRoleName('root') && isValidRoleName('targets/a/b'));
    assert.equal(isValidRoleName('targets/Bad_Name'), false);
  });
  test('parentRoleName is path.Dir for delegations', () => {
    assert.equal(parentRoleName('targets/a'), 'targets');
    assert.equal(parentRoleName('targets/a/b'), 'targets/a');
    assert.equal(parentRoleName('targets'), null);
    assert.equal(parentRoleName('targets/A'), null);
  });
  test('file names', () => {
    assert.equal(roleFileName('targets/releases'), 'targets/releases.json');
    assert.equal(versionedFileName('root', 2), '2.root.json');
    assert.equal(versionedFileName('targets/releases', 1), '1.targets/releases.json');
    assert.equal(checksumFileName('snapshot', 'ab'.repeat(32)), `snapshot.${'ab'.repeat(32)}.json`);
    assert.equal(roleFromFileName('targets/releases.json'), 'targets/releases');
    assert.equal(roleFromFileName('root.json'), 'root');
    assert.equal(roleFromFileName('foo/targets.json'), null);
    assert.equal(roleFromFileName('targets'), null);
  });
});

describe('assertGun', () => {
  test('ordinary GUNs pass', () => {
    for (const g of ['example.com/app', 'docker.io/library/alpine', 'a', 'host:5000/ns/repo', 'x'.repeat(255), 'ünïcode/ok']) {
      assertGun(g);
      assert.ok(isValidGun(g), g);
    }
  });
  const bad: Record<string, RegExp> = {
    '': /non-empty/,
    'a*': /"\*"/,
    'example.com/*': /"\*"/,
    'a b': /whitespace/,
    'a\tb': /whitespace/,
    'a\u0000b': /whitespace or control/,
    'a\u2028b': /whitespace/,
    'a\u200bb': /control/,
    '../etc': /segments/,
    'a/../../etc': /segments/,
    'a/./b': /segments/,
    'a//b': /segments/,
    '/a': /segments/,
    'a/': /segments/,
    [`${'x'.repeat(254)}é`]: /255 bytes/,
  };
  for (const [gun, why] of Object.entries(bad)) {
    test(`refuses ${JSON.stringify(gun.slice(0, 20))}`, () => {
      assert.equal(isValidGun(gun), false);
      assert.throws(() => assertGun(gun, 'gun'), (e: unknown) => e instanceof DeserializationError && e.field === 'gun' && why.test(e.message));
    });
  }
  test('non-strings are refused', () => {
    assert.throws(() => assertGun(42), DeserializationError);
  });
});
