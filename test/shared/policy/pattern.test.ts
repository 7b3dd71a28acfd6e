// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePattern, selectRule } from '../../../shared/policy/pattern.js';
import type { PolicyRule } from '../../../shared/policy/types.js';

const rule = (pattern: string): PolicyRule => ({ pattern, roles: ['targets'], threshold: 1, mode: 'enforce', pinnedRootKeys: [], pinnedCAs: [], line: 1 });

test('patterns are anchored; * stays in one segment, ** crosses', () => {
  const p = compilePattern('registry.example.com/team/*').regex;
  assert.ok(p.test('registry.example.com/team/app'));
  assert.ok(!p.test('registry.example.com/team/app/sub'));
  assert.ok(!p.test('evil.com/registry.example.com/team/app'), 'anchored at the start');
  assert.ok(!p.test('registry.example.com/team/app.evil'.replace('team/', 'team2/')), 'literal text must match');
  assert.ok(!p.test('registryXexample.com/team/app'), 'the dot is literal');
  assert.ok(compilePattern('registry.example.com/**').regex.test('registry.example.com/a/b/c'));
  assert.ok(!compilePattern('registry.example.com/app').regex.test('registry.example.com/app2'), 'anchored at the end');
});

test('the most specific matching rule wins, whatever the order', () => {
  const rules = [rule('registry.example.com/**'), rule('registry.example.com/team/*'), rule('registry.example.com/team/app'), rule('**')];
  assert.equal(selectRule(rules, 'registry.example.com/team/app')?.pattern, 'registry.example.com/team/app');
  assert.equal(selectRule(rules, 'registry.example.com/team/other')?.pattern, 'registry.example.com/team/*');
  assert.equal(selectRule([...rules].reverse(), 'registry.example.com/team/other')?.pattern, 'registry.example.com/team/*');
  assert.equal(selectRule(rules, 'registry.example.com/x/y/z')?.pattern, 'registry.example.com/**');
  assert.equal(selectRule(rules, 'docker.io/library/alpine')?.pattern, '**');
  assert.equal(selectRule(rules.slice(0, 3), 'docker.io/library/alpine'), undefined);
});
