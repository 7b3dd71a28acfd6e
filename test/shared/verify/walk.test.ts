// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delegationOrder } from '../../../shared/verify/walk.js';
import { RepositorySimulator } from '../../support/repository-simulator.js';

test('delegations load depth-first pre-order in listed order; a skipped role hides its children', async () => {
  const sim = await RepositorySimulator.create();
  await sim.addDelegation('targets/a', { paths: [''] });
  await sim.addDelegation('targets/a/deep', { paths: [''] });
  await sim.addDelegation('targets/b', { paths: [''] });
  await sim.publish();
  const order = (skip: string | null): string[] => {
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'));
    set.updateTargets(sim.file('targets'));
    const seen: string[] = [];
    const walk = delegationOrder(set);
    for (let step = walk.next(); step.done !== true; ) {
      seen.push(step.value.role);
      if (step.value.role === skip) {
        step = walk.next(false);
        continue;
      }
      set.updateDelegatedTargets(sim.file(step.value.role), step.value.role, step.value.parent);
      step = walk.next(true);
    }
    return seen;
  };
  assert.deepEqual(order(null), ['targets/a', 'targets/a/deep', 'targets/b']);
  assert.deepEqual(order('targets/a'), ['targets/a', 'targets/b']);
});
