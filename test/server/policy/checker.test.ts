// SPDX-License-Identifier: Apache-2.0
// The policy check use case against the real trust service on the embedded store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { parsePolicy } from '../../../shared/policy/parse.js';
import { PolicyChecker } from '../../../server/policy/checker.js';
import { policyMetrics } from '../../../server/policy/metrics.js';
import type { TrustService } from '../../../server/domain/service.js';
import { FIXTURE_NOW } from '../../support/paths.js';
import { Clock, DAY_MS, openEmbeddedStore, testService, type TestStore } from '../domain/support.js';
import { digestOf, TeamRepo } from './support.js';

const POLICY = parsePolicy(
  `default: deny
teams: { developer: targets/developer, qa: targets/qa, devops: targets/devops, jenkins: targets/jenkins }
rules:
  - pattern: example.com/**
    roles: [targets/releases]
    teams: [jenkins]
  - pattern: example.com/quorum-*
    teams: [qa, devops, jenkins]
    threshold: 2
  - pattern: example.com/soft-*
    teams: [jenkins]
    mode: warn
`,
  'policy.yaml',
);

let ts: TestStore;
before(async () => {
  ts = await openEmbeddedStore('policy');
});
after(async () => ts.close());

const uid = (label: string): string => `example.com/${label}-${Math.random().toString(16).slice(2, 10)}`;

async function setup(label: string) {
  const clock = new Clock(FIXTURE_NOW);
  const service = testService(ts.store, clock);
  const repo = await TeamRepo.create(service, clock, uid(label));
  const registry = new Registry();
  const checker = new PolicyChecker({ service, policy: POLICY, now: clock.now, metrics: policyMetrics(registry) });
  return { clock, service, repo, checker, registry };
}

test('developer alone in targets/releases: denied; after jenkins signs the same digest: allowed (the publish invalidates the cache)', async () => {
  const { repo, checker, registry } = await setup('app');
  await repo.sign('targets/releases', 'v1', 'manifest-v1', repo.keys.developer);
  await repo.sign('targets/developer', 'v1', 'manifest-v1');
  const [denied] = await checker.check([`${repo.gun}:v1`]);
  assert.equal(denied?.allowed, false);
  assert.match(denied?.reasons.join('\n') ?? '', /lacks the signature of targets\/jenkins/);
  assert.equal((await checker.check([`${repo.gun}:v1`]))[0]?.allowed, false, 'warm: same answer');

  await repo.sign('targets/jenkins', 'v1', 'manifest-v1');
  const [allowed] = await checker.check([`${repo.gun}:v1`]);
  assert.equal(allowed?.allowed, true, allowed?.reasons.join('; '));
  assert.equal(allowed?.digest, digestOf('manifest-v1'));
  assert.deepEqual(allowed?.signedBy, ['targets/releases', 'targets/jenkins']);
  assert.equal(allowed?.rule, 'example.com/**');
  const text = await registry.metrics();
  assert.match(text, /signet_policy_decisions_total\{source="api",verdict="deny"\} 2/);
  assert.match(text, /signet_policy_decisions_total\{source="api",verdict="allow"\} 1/);
  assert.match(text, /signet_policy_chain_cache_total\{result="hit"\} 1/);
});

test('different digests in two required roles are denied; several images answer in order', async () => {
  const { repo, checker } = await setup('diff');
  await repo.sign('targets/releases', 'v2', 'manifest-a', repo.keys.qa);
  await repo.sign('targets/jenkins', 'v2', 'manifest-b');
  await repo.sign('targets/jenkins', 'v3', 'manifest-c');
  await repo.sign('targets/releases', 'v3', 'manifest-c', repo.keys.qa);
  const results = await checker.check([`${repo.gun}:v2`, `${repo.gun}:v3`, 'nginx:latest', 'NOT VALID']);
  assert.deepEqual(results.map((r) => r.allowed), [false, true, false, false]);
  assert.match(results[0]?.reasons.join('\n') ?? '', /signed different digests/);
  assert.deepEqual(results.map((r) => r.image), [`${repo.gun}:v2`, `${repo.gun}:v3`, 'nginx:latest', 'NOT VALID']);
  assert.equal(results[2]?.rule, null);
});

test('quorum rule: 2 of qa, devops, jenkins', async () => {
  const { repo, checker } = await setup('quorum');
  await repo.sign('targets/qa', 'v1', 'm1');
  assert.equal((await checker.check([`${repo.gun}:v1`]))[0]?.allowed, false);
  await repo.sign('targets/devops', 'v1', 'm1');
  const [r] = await checker.check([`${repo.gun}:v1`]);
  assert.equal(r?.allowed, true, r?.reasons.join('; '));
  assert.equal(r?.rule, 'example.com/quorum-*');
  assert.deepEqual(r?.signedBy, ['targets/qa', 'targets/devops']);
});

test('an expired timestamp is denied', async () => {
  const { clock, service, repo } = await setup('expired');
  await repo.sign('targets/releases', 'v1', 'm');
  await repo.sign('targets/jenkins', 'v1', 'm');
  // The checker's clock is past the timestamp's expiry; the service (which would re-sign) is not.
  const later = new Clock(new Date(clock.current.getTime() + 30 * DAY_MS));
  const checker = new PolicyChecker({ service, policy: POLICY, now: later.now });
  const [r] = await checker.check([`${repo.gun}:v1`]);
  assert.equal(r?.allowed, false);
  assert.match(r?.reasons[0] ?? '', /does not verify: .*timestamp.*expired/i);
  const fresh = new PolicyChecker({ service, policy: POLICY, now: clock.now });
  assert.equal((await fresh.check([`${repo.gun}:v1`]))[0]?.allowed, true, 'the same repository is fine before expiry');
});

test('stored rows are verified, not trusted: a tampered targets role is denied', async () => {
  const { repo, service } = await setup('tamper');
  await repo.sign('targets/releases', 'v1', 'm');
  await repo.sign('targets/jenkins', 'v1', 'm');
  const tamper = (f: Awaited<ReturnType<TrustService['getCurrent']>>, role: string) =>
    f === null || role !== 'targets/jenkins' ? f : { ...f, data: Buffer.from(f.data.toString('utf8').replace(/"version":\d+/, '"version":99')) };
  const tampering: TrustService = {
    ...service,
    getCurrent: async (gun, role) => tamper(await service.getCurrent(gun, role), role),
    getByChecksum: async (gun, role, sum) => tamper(await service.getByChecksum(gun, role, sum), role),
  };
  const [r] = await new PolicyChecker({ service: tampering, policy: POLICY, now: () => FIXTURE_NOW }).check([`${repo.gun}:v1`]);
  assert.equal(r?.allowed, false);
  assert.match(r?.reasons[0] ?? '', /does not verify/);
});

test('a legitimate root rotation is followed, not blocked by the cached chain', async () => {
  const { clock, repo, checker } = await setup('rotate');
  await repo.sign('targets/releases', 'v1', 'm');
  await repo.sign('targets/jenkins', 'v1', 'm');
  assert.equal((await checker.check([`${repo.gun}:v1`]))[0]?.allowed, true);
  await repo.rotateRoot(clock);
  const [r] = await checker.check([`${repo.gun}:v1`]);
  assert.equal(r?.allowed, true, r?.reasons.join('; '));
});

test('a timeout or internal error denies, even under a warn-mode rule; warn mode allows a missing signature', async () => {
  const { repo, service } = await setup('soft-x');
  await repo.sign('targets/releases', 'v1', 'm');
  const slow: TrustService = { ...service, getCurrent: async (gun, role) => (await new Promise((r) => setTimeout(r, 300)), service.getCurrent(gun, role)) };
  const [late] = await new PolicyChecker({ service: slow, policy: POLICY, now: () => FIXTURE_NOW, timeoutMs: 50 }).check([`${repo.gun}:v1`]);
  assert.equal(late?.allowed, false);
  assert.match(late?.reasons[0] ?? '', /took longer than 50 ms; denied/);
  const broken: TrustService = { ...service, getByVersion: () => Promise.reject(new Error('database is gone')) };
  const [failed] = await new PolicyChecker({ service: broken, policy: POLICY, now: () => FIXTURE_NOW }).check([`${repo.gun}:v1`]);
  assert.equal(failed?.allowed, false);
  assert.match(failed?.reasons[0] ?? '', /internal error .*database is gone/);
  const [warned] = await new PolicyChecker({ service, policy: POLICY, now: () => FIXTURE_NOW }).check([`${repo.gun}:v1`]);
  assert.equal(warned?.mode, 'warn');
  assert.equal(warned?.allowed, true);
  assert.match(warned?.reasons[0] ?? '', /lacks the signature of targets\/jenkins/);
});

test('with store notifications a warm check reads nothing, and a publish still invalidates it', async () => {
  const { clock, repo } = await setup('notify');
  await repo.sign('targets/releases', 'v1', 'm');
  let reads = 0;
  const counting: TrustService = {
    ...repo.service,
    getCurrent: (gun, role) => (reads++, repo.service.getCurrent(gun, role)),
    getByVersion: (gun, role, v) => (reads++, repo.service.getByVersion(gun, role, v)),
  };
  const checker = new PolicyChecker({ service: counting, policy: POLICY, now: clock.now, changes: ts.store });
  await checker.start();
  try {
    assert.equal((await checker.check([`${repo.gun}:v1`]))[0]?.allowed, false);
    const afterCold = reads;
    assert.ok(afterCold > 0);
    assert.equal((await checker.check([`${repo.gun}:v1`]))[0]?.allowed, false);
    assert.equal(reads, afterCold, 'a warm hit reads nothing');
    await repo.sign('targets/jenkins', 'v1', 'm');
    assert.equal((await checker.check([`${repo.gun}:v1`]))[0]?.allowed, true, 'the publish notification dropped the cached chain');
  } finally {
    checker.close();
  }
});

test('after notifications are interrupted hits re-read the timestamp, and once they resume they read nothing again', async () => {
  const { clock, repo } = await setup('notify-reset');
  await repo.sign('targets/releases', 'v1', 'm');
  let reads = 0;
  const counting: TrustService = { ...repo.service, getCurrent: (gun, role) => (reads++, repo.service.getCurrent(gun, role)) };
  let reset: ((listening: boolean) => void) | undefined;
  const changes = { subscribe: async (onChange: (gun: string) => void, onReset?: (listening: boolean) => void) => ((reset = onReset), ts.store.subscribe!(onChange)) };
  const checker = new PolicyChecker({ service: counting, policy: POLICY, now: clock.now, changes });
  await checker.start();
  const readsOfOneCheck = async (): Promise<number> => {
    const before = reads;
    assert.equal((await checker.check([`${repo.gun}:v1`]))[0]?.allowed, false);
    return reads - before;
  };
  try {
    await readsOfOneCheck();
    assert.equal(await readsOfOneCheck(), 0, 'listening: a warm hit reads nothing');
    reset!(false);
    assert.ok((await readsOfOneCheck()) > 0, 'the cache was dropped');
    assert.equal(await readsOfOneCheck(), 1, 'not listening: a hit re-reads the timestamp');
    reset!(true);
    assert.ok((await readsOfOneCheck()) > 0, 'changes during the gap are unknown: rebuilt');
    assert.equal(await readsOfOneCheck(), 0, 'listening again: a warm hit reads nothing');
  } finally {
    checker.close();
  }
});

test('a repository deleted and initialised again with new keys is checked from its new first root, as a restarted checker does', async () => {
  const { clock, service, repo } = await setup('reinit');
  await repo.sign('targets/releases', 'v1', 'old');
  await repo.sign('targets/jenkins', 'v1', 'old');
  const checker = new PolicyChecker({ service, policy: POLICY, now: clock.now, changes: ts.store });
  await checker.start();
  try {
    assert.equal((await checker.check([`${repo.gun}:v1`]))[0]?.digest, digestOf('old'));
    await ts.store.deleteGun(repo.gun);
    assert.equal((await checker.check([`${repo.gun}:v1`]))[0]?.allowed, false, 'deleted: denied');
    const again = await TeamRepo.create(service, clock, repo.gun);
    await again.sign('targets/releases', 'v1', 'new');
    await again.sign('targets/jenkins', 'v1', 'new');
    const [result] = await checker.check([`${repo.gun}:v1`]);
    assert.equal(result?.allowed, true, result?.reasons.join('; '));
    assert.equal(result?.digest, digestOf('new'));
  } finally {
    checker.close();
  }
});

test('a check sent after a publish does not join a verification that read the state before it', async () => {
  const { clock, repo } = await setup('coalesce');
  await repo.sign('targets/releases', 'v1', 'first');
  await repo.sign('targets/jenkins', 'v1', 'first');
  // The first cold build stalls on its first read by hash until the publish below has happened.
  let release: () => void = () => undefined;
  const stalled = new Promise<void>((resolve) => (release = resolve));
  let armed = true;
  const slow: TrustService = {
    ...repo.service,
    getByChecksum: async (gun, role, hex) => {
      if (armed) {
        armed = false;
        await stalled;
      }
      return repo.service.getByChecksum(gun, role, hex);
    },
  };
  const checker = new PolicyChecker({ service: slow, policy: POLICY, now: clock.now, changes: ts.store });
  await checker.start();
  try {
    const before = checker.check([`${repo.gun}:v1`]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await repo.sign('targets/releases', 'v1', 'second');
    await repo.sign('targets/jenkins', 'v1', 'second');
    const after = checker.check([`${repo.gun}:v1`]);
    release();
    assert.equal((await after)[0]?.digest, digestOf('second'), 'the later check sees the publish');
    await before;
  } finally {
    checker.close();
  }
});

test('on a store other processes write (sharedStore), a warm hit still compares the current timestamp', async () => {
  const { clock, repo } = await setup('shared');
  await repo.sign('targets/releases', 'v1', 'first');
  await repo.sign('targets/jenkins', 'v1', 'first');
  // Notifications flow, but this one publish is made by "another process": it is heard only later.
  const deaf = { subscribe: async () => () => undefined };
  for (const sharedStore of [true, false]) {
    const checker = new PolicyChecker({ service: repo.service, policy: POLICY, now: clock.now, changes: deaf, sharedStore });
    await checker.start();
    try {
      const tag = `v${sharedStore ? 'shared' : 'local'}`;
      await repo.sign('targets/releases', tag, 'a');
      await repo.sign('targets/jenkins', tag, 'a');
      assert.equal((await checker.check([`${repo.gun}:${tag}`]))[0]?.digest, digestOf('a'));
      await repo.sign('targets/releases', tag, 'b');
      await repo.sign('targets/jenkins', tag, 'b');
      const [result] = await checker.check([`${repo.gun}:${tag}`]);
      // sharedStore: the acknowledged publish is seen at once; a single process relies on the notification.
      assert.equal(result?.digest, digestOf(sharedStore ? 'b' : 'a'));
    } finally {
      checker.close();
    }
  }
});

test('a missing root row (the snapshot records a root the store does not hold) is denied', async () => {
  const { clock, repo, service } = await setup('stale-root');
  await repo.sign('targets/releases', 'v1', 'm');
  await repo.sign('targets/jenkins', 'v1', 'm');
  await repo.rotateRoot(clock);
  const v1 = (await service.getByVersion(repo.gun, 'root', 1))!;
  const hiding: TrustService = {
    ...service,
    getCurrent: async (gun, role) => (role === 'root' ? v1 : service.getCurrent(gun, role)),
    getByVersion: async (gun, role, v) => (role === 'root' && v > 1 ? null : service.getByVersion(gun, role, v)),
    getByChecksum: async (gun, role, hex) => (role === 'root' ? null : service.getByChecksum(gun, role, hex)),
  };
  const [r] = await new PolicyChecker({ service: hiding, policy: POLICY, now: clock.now }).check([`${repo.gun}:v1`]);
  assert.equal(r?.allowed, false);
  assert.match(r?.reasons[0] ?? '', /records a root that is not stored/);
  // Found by checksum but its version missing: the walk from version 1 cannot reach it.
  const gap: TrustService = { ...hiding, getByChecksum: service.getByChecksum };
  const [g] = await new PolicyChecker({ service: gap, policy: POLICY, now: clock.now }).check([`${repo.gun}:v1`]);
  assert.equal(g?.allowed, false);
  assert.match(g?.reasons[0] ?? '', /no root version 2 stored/);
  // A tampered row: the root found under the recorded checksum is the old one.
  const tampered: TrustService = { ...hiding, getByChecksum: async (gun, role, hex) => (role === 'root' ? v1 : service.getByChecksum(gun, role, hex)) };
  const [t] = await new PolicyChecker({ service: tampered, policy: POLICY, now: clock.now }).check([`${repo.gun}:v1`]);
  assert.equal(t?.allowed, false);
  assert.match(t?.reasons[0] ?? '', /records a root other than the newest root/);
  assert.equal((await new PolicyChecker({ service, policy: POLICY, now: clock.now }).check([`${repo.gun}:v1`]))[0]?.allowed, true);
});
