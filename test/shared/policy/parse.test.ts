// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyError } from '../../../shared/errors.js';
import { planImage } from '../../../shared/policy/evaluate.js';
import { parsePolicy } from '../../../shared/policy/parse.js';

const GOOD = `default: deny
teams:
  qa: targets/qa
  jenkins: targets/jenkins
rules:
  - pattern: registry.example.com/team/*
    roles: [targets/releases]
    teams: [qa, jenkins]
    threshold: 2
    mode: warn
    maxMetadataAge: 24h
  - pattern: docker.io/library/**
    roles: targets
`;

function refused(text: string, line: number, reason: RegExp): void {
  assert.throws(
    () => parsePolicy(text, 'policy.yaml'),
    (err: unknown) => {
      assert.ok(err instanceof PolicyError, String(err));
      assert.equal(err.code, 'POLICY_INVALID');
      assert.equal(err.line, line, err.message);
      assert.match(err.message, /^policy\.yaml:\d+: /);
      assert.match(err.message, reason);
      return true;
    },
  );
}

test('a YAML policy parses with teams expanded to roles, defaults filled in', () => {
  const p = parsePolicy(GOOD, 'policy.yaml');
  assert.equal(p.default, 'deny');
  assert.equal(p.rules.length, 2);
  const [a, b] = p.rules;
  assert.deepEqual(a?.roles, ['targets/releases', 'targets/qa', 'targets/jenkins']);
  assert.equal(a?.threshold, 2);
  assert.equal(a?.mode, 'warn');
  assert.equal(a?.maxMetadataAgeSeconds, 86400);
  assert.equal(a?.line, 6);
  assert.deepEqual(b?.roles, ['targets']);
  assert.equal(b?.threshold, 1, 'threshold defaults to all roles');
  assert.equal(b?.mode, 'enforce');
});

test('the same policy as JSON parses to the same model', () => {
  const json = JSON.stringify({ default: 'allow', rules: [{ pattern: 'example.com/a', roles: ['targets/x', 'targets/y'] }] }, null, 2);
  const p = parsePolicy(json, 'p.json');
  assert.equal(p.default, 'allow');
  assert.deepEqual(p.rules[0]?.roles, ['targets/x', 'targets/y']);
  assert.equal(p.rules[0]?.threshold, 2);
});

test('invalid policies are refused with the line and the reason', () => {
  refused('default: maybe\nrules: []\n', 1, /default must be one of allow, deny/);
  refused('default: deny\nrules:\n  - pattern: a.com/x\n    roles: [targets/a]\n    threshold: 2\n', 5, /threshold must be an integer from 1 to 1/);
  refused('rules:\n  - pattern: a.com/x\n    roles: [targets/a]\n    thresold: 1\n', 4, /unknown key "thresold"/);
  refused('rules:\n  - pattern: a.com/x\n    roles: [targets/a]\n  - pattern: b.com/y\n    roles: [root]\n', 5, /"root" is not a targets role/);
  refused('rules:\n  - pattern: a.com/x\n    teams: [qa]\n', 3, /team "qa" is not declared/);
  refused('rules:\n  - pattern: A.com/X\n    roles: [targets]\n', 2, /lower-case/);
  refused('rules:\n  - pattern: registry.example.com/(app\n    roles: [targets]\n', 2, /may hold only lower-case letters/);
  refused('rules:\n  - pattern: +app\n    roles: [targets]\n', 2, /may hold only lower-case letters/);
  refused('rules:\n  - pattern: a.com/x\n    roles: [targets]\n  - pattern: a.com/x\n    roles: [targets/b]\n', 4, /already used by the rule on line 2/);
  refused('rules:\n  - pattern: a.com/x\n', 2, /requires no signature/);
  refused('default: deny\ndefault: allow\n', 2, /not valid YAML/);
  refused('rules:\n  - pattern: a.com/x\n    roles: [targets]\n    mode: audit\n', 4, /mode must be one of enforce, warn/);
  refused('rules:\n  - pattern: a.com/x\n    roles: [targets]\n    maxMetadataAge: soon\n', 4, /maxMetadataAge/);
  refused('rules:\n  - pattern: a.com/x\n    roles: [targets]\n    pinnedRootKeys: [abc]\n', 4, /not a 64-hex-digit key ID/);
  refused('rules:\n  - pattern: a.com/x\n    roles: [targets]\n    pinnedCA: nope\n', 4, /not a PEM certificate/);
  refused('rules: {}\n', 1, /rules must be a list/);
  refused('[1, 2]\n', 1, /must be a mapping/);
});

test('patterns that can never match an image are refused with the fully qualified name to write', () => {
  const at = (pattern: string): string => `default: deny\nrules:\n  - pattern: a.com/x\n    roles: [targets]\n  - pattern: "${pattern}"\n    roles: [targets]\n`;
  const cases: [string, RegExp, string][] = [
    ['alpine', /names no registry host/, 'docker.io/library/alpine'],
    ['library/alpine:*', /carry no tag; it names no registry host/, 'docker.io/library/alpine'],
    ['library/*', /names no registry host/, 'docker.io/library/*'],
    ['index.docker.io/library/alpine', /index\.docker\.io is an alias/, 'docker.io/library/alpine'],
    ['index.docker.io/alpine', /alias .* live under library\//, 'docker.io/library/alpine'],
    ['docker.io/alpine', /live under library\//, 'docker.io/library/alpine'],
    ['registry.example.com/team/app:1.4', /carry no tag/, 'registry.example.com/team/app'],
  ];
  for (const [pattern, why, instead] of cases) {
    const escaped = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    refused(at(pattern), 5, new RegExp(`rules\\[1\\]\\.pattern: "${escaped(pattern)}" can never match an image: .*${why.source}.*Write ${escaped(instead)} instead`));
    // What the message says to write is accepted, and matches what the user meant.
    const fixed = parsePolicy(at(instead), 'policy.yaml');
    const image = pattern.startsWith('registry.') ? 'registry.example.com/team/app:1.4' : 'alpine:3.20';
    assert.equal(planImage(fixed, image).rule?.pattern, instead, pattern);
  }
  // Fully qualified names, hosts with ports, localhost and wildcard hosts stay accepted.
  for (const pattern of ['docker.io/library/alpine', 'docker.io/**', 'docker.io/acme/*', 'localhost/app', 'localhost:5000/app', '127.0.0.1:5000/team/*', '**', '*/app', '**/alpine']) {
    assert.doesNotThrow(() => parsePolicy(at(pattern), 'policy.yaml'), pattern);
  }
});
