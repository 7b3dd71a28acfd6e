// SPDX-License-Identifier: Apache-2.0
// Delegation scopes and notary's target search order, on plain models.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RepositoryError } from '../../../shared/errors.js';
import type { DelegatedRole, RoleName, TargetFile, Targets } from '../../../shared/tuf/model.js';
import {
  TARGETS_SCOPE,
  childScope,
  findTargetsOutsidePaths,
  isTargetInScope,
  resolveRoleScope,
  restrictPaths,
} from '../../../shared/verify/delegations.js';
import { listTargets, lookupTarget } from '../../../shared/verify/lookup.js';
import { RepositorySimulator } from '../../support/repository-simulator.js';

const file = (n: number): TargetFile => ({ length: n, hashes: new Map([['sha256', Buffer.alloc(32, n)]]) });
const role = (name: RoleName, paths?: string[], pathHashPrefixes?: string[]): DelegatedRole => ({
  name,
  keyIds: [],
  threshold: 1,
  terminating: false,
  ...(paths === undefined ? {} : { paths }),
  ...(pathHashPrefixes === undefined ? {} : { pathHashPrefixes }),
});
function targets(entries: Record<string, number>, children: DelegatedRole[] = []): Targets {
  return {
    type: 'targets',
    version: 1,
    expires: { text: '2030-01-01T00:00:00Z', ms: 0 },
    targets: new Map(Object.entries(entries).map(([k, v]) => [k, file(v)])),
    delegations: { keys: new Map(), roles: children },
  };
}
const source = (repo: Record<string, Targets>) => (r: RoleName): Targets | undefined => repo[r];

describe('delegation scopes', () => {
  it('restricts a child to the parent prefixes (notary RestrictDelegationPathPrefixes)', () => {
    assert.deepEqual(restrictPaths([''], ['a/', 'b']), ['a/', 'b']);
    assert.deepEqual(restrictPaths(['jenkins/'], ['', 'jenkins/x', 'jenkinsx', 'other/']), ['jenkins/x']);
    assert.deepEqual(restrictPaths(['a/'], ['a']), []); // "a" does not start with "a/": dropped, as notary does
  });

  it('uses prefix semantics, with "" matching everything', () => {
    const s = childScope(TARGETS_SCOPE, role('targets/j', ['jenkins']));
    assert.equal(isTargetInScope('jenkinsfoo', s), true);
    assert.equal(isTargetInScope('jenkins/x', s), true);
    assert.equal(isTargetInScope('other', s), false);
    assert.equal(isTargetInScope('anything', childScope(TARGETS_SCOPE, role('targets/all', ['']))), true);
    assert.equal(isTargetInScope('anything', childScope(TARGETS_SCOPE, role('targets/none'))), false);
  });

  it('honours path_hash_prefixes (TUF semantics), confined by the parent', () => {
    const name = 'pkg/a.tgz';
    const h = RepositorySimulator.pathHash(name);
    const byHash = childScope(TARGETS_SCOPE, role('targets/bins', undefined, [h.slice(0, 2).toUpperCase()]));
    assert.equal(isTargetInScope(name, byHash), true);
    assert.equal(isTargetInScope(name, childScope(TARGETS_SCOPE, role('targets/bins', undefined, [(h[0] === '0' ? '1' : '0') + h.slice(1, 2)]))), false);
    // A hash-only child of a prefix parent still needs the parent's prefix.
    const parent = childScope(TARGETS_SCOPE, role('targets/p', ['other/']));
    assert.equal(isTargetInScope(name, childScope(parent, role('targets/p/bins', undefined, [h.slice(0, 1)]))), false);
    // A prefix child of a hash-only parent keeps its prefixes and needs the parent's hash too.
    const child = childScope(byHash, role('targets/bins/x', ['pkg/']));
    assert.equal(isTargetInScope(name, child), true);
    assert.equal(isTargetInScope('pkg/b', child), RepositorySimulator.pathHash('pkg/b').startsWith(h.slice(0, 2)));
  });

  it('lists the target names outside a scope, from a scope or from bare prefixes', () => {
    const s = childScope(childScope(TARGETS_SCOPE, role('targets/j', ['jenkins/'])), role('targets/j/x', ['jenkins/x/', 'y/']));
    assert.deepEqual(findTargetsOutsidePaths(['jenkins/x/1', 'jenkins/y', 'y/1', ''], s), ['jenkins/y', 'y/1', '']);
    assert.deepEqual(findTargetsOutsidePaths(['a/1', 'b'], ['a/']), ['b']);
    assert.deepEqual(findTargetsOutsidePaths(['a', 'b'], ['']), []);
  });

  it('resolves a scope through the loaded chain, refusing broken chains', () => {
    const repo = { targets: targets({}, [role('targets/a', ['a/'])]), 'targets/a': targets({}, [role('targets/a/b', ['a/b/', 'c/'])]) };
    assert.deepEqual(resolveRoleScope('targets/a/b', source(repo)).chain.map((m) => m.paths), [[''], ['a/'], ['a/b/']]);
    assert.throws(() => resolveRoleScope('targets/a/zz', source(repo)), (e: unknown) => e instanceof RepositoryError && e.code === 'BAD_DELEGATION');
    assert.throws(() => resolveRoleScope('targets/q/b', source(repo)), RepositoryError);
    assert.throws(() => resolveRoleScope('snapshot', source(repo)), RepositoryError);
  });

  it('never lets a descendant cover a name its ancestors do not (property)', () => {
    const seg = fc.constantFrom('', 'a', 'a/', 'a/b', 'b/', 'ab');
    fc.assert(
      fc.property(fc.array(fc.array(seg, { maxLength: 3 }), { minLength: 1, maxLength: 4 }), fc.constantFrom('a', 'a/x', 'a/b/c', 'ab', 'b/1', 'c'), (levels, name) => {
        let scope = TARGETS_SCOPE;
        let inAll = true;
        levels.forEach((paths, i) => {
          scope = childScope(scope, role(`targets/${'r/'.repeat(i)}r`.replace(/\/$/, ''), paths));
          inAll &&= paths.some((p) => name.startsWith(p));
        });
        return !isTargetInScope(name, scope) || inAll;
      }),
      { numRuns: 100 },
    );
  });
});

describe('target search order', () => {
  // targets -> [a (""), b ("x/")]; a -> [a/c ("")]; b -> [b/d ("x/y")]
  const repo = {
    targets: targets({ top: 1 }, [role('targets/a', ['']), role('targets/b', ['x/'])]),
    'targets/a': targets({ 'x/1': 2, shared: 3 }, [role('targets/a/c', [''])]),
    'targets/b': targets({ 'x/1': 4, 'x/y/2': 5, outside: 6 }, [role('targets/b/d', ['x/y'])]),
    'targets/a/c': targets({ 'x/y/2': 7, deep: 8 }),
    'targets/b/d': targets({ 'x/y/2': 9, 'x/y/3': 10 }),
  };

  it('walks breadth-first, children in delegation order, first role wins', () => {
    assert.equal(lookupTarget('top', source(repo))?.role, 'targets');
    assert.equal(lookupTarget('x/1', source(repo))?.role, 'targets/a'); // a before b
    assert.equal(lookupTarget('x/y/2', source(repo))?.role, 'targets/b'); // b (depth 1) before a/c (depth 2)
    assert.equal(lookupTarget('x/y/3', source(repo))?.role, 'targets/b/d');
    assert.equal(lookupTarget('deep', source(repo))?.target.length, 8);
    assert.equal(lookupTarget('outside', source(repo)), undefined);
    assert.equal(lookupTarget('nope', source(repo)), undefined);
  });

  it('does not descend into roles whose paths do not match the name', () => {
    const visited: RoleName[] = [];
    const spy = (r: RoleName): Targets | undefined => (visited.push(r), source(repo)(r));
    lookupTarget('deep', spy);
    assert.equal(visited.includes('targets/b/d'), false);
    visited.length = 0;
    lookupTarget('x/y/3', spy);
    assert.deepEqual(visited, ['targets', 'targets/a', 'targets/b', 'targets/a/c', 'targets/b/d']);
  });

  it('lists every visible target once, attributed to the first role in order', () => {
    assert.deepEqual(
      listTargets(source(repo)).map((t) => `${t.name}@${t.role}`),
      ['deep@targets/a/c', 'shared@targets/a', 'top@targets', 'x/1@targets/a', 'x/y/2@targets/b', 'x/y/3@targets/b/d'],
    );
  });

  it('searches only the given roles subtrees with -r, skipping the other listed roles', () => {
    assert.equal(lookupTarget('x/y/2', source(repo), { roles: ['targets/a'] })?.role, 'targets/a/c');
    assert.equal(lookupTarget('top', source(repo), { roles: ['targets/a'] }), undefined);
    assert.equal(lookupTarget('x/y/2', source(repo), { roles: ['targets/b/d', 'targets/b'] })?.role, 'targets/b/d');
    assert.deepEqual(listTargets(source(repo), { roles: ['targets/b'] }).map((t) => `${t.name}@${t.role}`), ['x/1@targets/b', 'x/y/2@targets/b', 'x/y/3@targets/b/d']);
    // notary skips the other listed roles *and their subtrees* while walking one role
    assert.deepEqual(listTargets(source(repo), { roles: ['targets/b', 'targets/b/d'] }).map((t) => `${t.name}@${t.role}`), ['x/1@targets/b', 'x/y/2@targets/b', 'x/y/3@targets/b/d']);
  });

  it('skips roles that are not loaded, with their subtree', () => {
    const { 'targets/a': _skipped, ...partial } = repo;
    assert.equal(lookupTarget('deep', source(partial)), undefined);
    assert.equal(lookupTarget('x/1', source(partial))?.role, 'targets/b');
  });

  it('ignores delegation entries that are not direct children', () => {
    const odd = { targets: targets({}, [role('targets/a/b', [''])]), 'targets/a/b': targets({ t: 1 }) };
    assert.equal(lookupTarget('t', source(odd)), undefined);
  });

  it('leaves out, and reports, what lies beyond the depth and role limits; the rest of the repository still answers', () => {
    // targets -> targets/n -> ... five levels down, beside a shallow sibling targets/s
    const chain: Record<string, Targets> = {};
    let name = 'targets';
    for (let i = 0; i < 5; i++) {
      chain[name] = targets({ [`at-${i}`]: 1 }, [role(`${name}/n`, ['']), ...(i === 0 ? [role('targets/s', [''])] : [])]);
      name = `${name}/n`;
    }
    chain[name] = targets({ leaf: 1 });
    chain['targets/s'] = targets({ shallow: 1 });
    assert.equal(lookupTarget('leaf', source(chain))?.role, name);
    const said: string[] = [];
    const shallow = { limits: { maxDepth: 4, maxRolesVisited: 100 }, onLimit: (m: string) => said.push(m) };
    assert.equal(lookupTarget('leaf', source(chain), shallow), undefined);
    assert.equal(lookupTarget('shallow', source(chain), shallow)?.role, 'targets/s');
    assert.deepEqual(listTargets(source(chain), shallow).map((m) => m.name), ['at-0', 'at-1', 'at-2', 'at-3', 'at-4', 'shallow']);
    assert.deepEqual([...new Set(said)], ['delegations below targets/n/n/n/n are nested deeper than 4 levels and were not searched; ask its delegate to flatten them']);
    const few: string[] = [];
    const listed = listTargets(source(chain), { limits: { maxDepth: 10, maxRolesVisited: 3 }, onLimit: (m) => few.push(m) });
    assert.deepEqual(listed.map((m) => m.name), ['at-0', 'at-1', 'shallow']);
    assert.deepEqual(few, ['the search stopped after 3 delegated roles; targets/n/n and the roles after it were not searched']);
  });
});

describe('path_hash_prefixes through signed metadata', () => {
  it('a hash-prefix-only delegation supplies exactly the targets whose name hash matches', async () => {
    const sim = await RepositorySimulator.create();
    const names = ['pkg/a', 'pkg/b', 'pkg/c', 'pkg/d', 'pkg/e', 'pkg/f'];
    const prefix = RepositorySimulator.pathHash('pkg/a').slice(0, 1);
    await sim.addDelegation('targets/bins', { pathHashPrefixes: [prefix] });
    for (const n of names) sim.addTarget('targets/bins', n, n);
    await sim.publish();
    const set = sim.refresh(sim.trust());
    assert.deepEqual(set.getTargets('targets')?.signed.delegations?.roles[0]?.pathHashPrefixes, [prefix]);
    const expected = names.filter((n) => RepositorySimulator.pathHash(n).startsWith(prefix));
    assert.ok(expected.length >= 1 && expected.length < names.length, 'the sample needs matching and non-matching names');
    assert.deepEqual(set.listTargets().map((t) => t.name), expected);
    for (const n of names) assert.equal(set.lookupTarget(n)?.role, expected.includes(n) ? 'targets/bins' : undefined, n);
  });
});
