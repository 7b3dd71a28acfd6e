// SPDX-License-Identifier: Apache-2.0
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { formatLookup, formatStatus, formatTargets, tabulate } from '../../client/output.js';
import type { TargetMatch } from '../../shared/verify/index.js';
import { fixture } from '../support/paths.js';

function match(name: string, hex: string, length: number, role: string): TargetMatch {
  return { name, role, target: { length, hashes: new Map([['sha256', Buffer.from(hex, 'hex')]]) } };
}

describe('output', () => {
  it('formats `list` exactly as notary printed the fixture repository', () => {
    const expected = fs.readFileSync(fixture('cli-output', 'owner-list.txt'), 'utf8');
    const targets = [
      match('v1.0.0', '5cc298dae3862667db476738caa89f7bfee165fd7901ebf9ba134c76718c25f4', 15, 'targets'),
      match('release-1.0.0', 'be110d6f8d61b5ddbd77bac7005548b01a51a7267183875866b264659d9d0753', 16, 'targets/releases'),
      match('jenkins/build-42', 'dd251f81bd0e30501756509e46fe8d29dad8105bf370f55e860b44c2d36ec193', 17, 'targets/jenkins'),
    ];
    assert.equal(formatTargets(targets), expected);
  });

  it('prints notary\'s empty-repository message', () => {
    assert.equal(formatTargets([]), '\nNo targets present in this repository.\n\n');
  });

  it('formats lookup and status like notary', () => {
    assert.equal(formatLookup(match('v1', 'ab', 3, 'targets')), 'v1 sha256:ab 3\n');
    assert.equal(formatStatus('g', []), 'No unpublished changes for g\n');
    const c = { action: 'create', role: 'targets', type: 'target', path: 'v1', data: null, file: 'f' };
    assert.equal(formatStatus('g', [c]), 'Unpublished changes for g:\n\n#    ACTION    SCOPE      TYPE      PATH\n-    ------    -----      ----      ----\n0    create    targets    target    v1\n');
  });

  it('pads columns to the widest cell plus 4, at least 4, measuring characters not bytes', () => {
    assert.equal(tabulate([['a', 'b'], ['ééé', 'c']]), 'a      b\nééé    c\n');
  });
});
