// SPDX-License-Identifier: Apache-2.0
// `signet policy check --server-check`: the verdicts of signet-server's
// POST /v2/_policy/check (real app, embedded store, policy attached) equal the
// CLI's own online check with the same policy file; notary-server (no such
// endpoint) and a server answering the wrong results never open the gate.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { EXIT } from '../../client/exit-codes.js';
import { parsePolicy } from '../../shared/policy/index.js';
import { PolicyChecker } from '../../server/policy/checker.js';
import { attachPolicy } from '../../server/policy/registry.js';
import { DEFAULT_ADMISSION_OPTIONS } from '../../server/policy/admission-options.js';
import { fixture } from '../support/paths.js';
import { makeApp, type TestApp } from '../server/http/harness.js';
import { notaryAsync, signet, type Run } from './support/cli-run.js';
import { startNotaryServer } from './support/notary.js';
import { startStub } from './support/http-stub.js';

const GUN = 'registry.example.com/team/app';
const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);
const POLICY = `default: deny\nrules:\n  - pattern: ${GUN}\n    roles: [targets/releases, targets/jenkins]\n`;

describe('policy check --server-check against signet-server', () => {
  let t: TestApp;
  let server: http.Server;
  let url: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-policy-srv-'));
  const owner = path.join(tmp, 'owner');
  const policyFile = path.join(tmp, 'policy.yaml');
  const ok = (r: Run, what: string): void => assert.equal(r.code, 0, `${what}\n${r.stdout}${r.stderr}`);
  const s = (dir: string, ...args: string[]) => signet(['-s', url, '-d', dir, ...args]);
  const sign = async (tag: string, digest: string, role: string): Promise<void> =>
    ok(await s(owner, 'sign', GUN, tag, '--digest', `sha256:${digest}`, '--size', '528', '-r', role), `sign ${tag} into ${role}`);

  before(async () => {
    fs.writeFileSync(policyFile, POLICY);
    t = await makeApp();
    attachPolicy(t.service, { checker: new PolicyChecker({ service: t.service, policy: parsePolicy(POLICY, 'policy.yaml') }), admission: DEFAULT_ADMISSION_OPTIONS });
    server = http.createServer(t.app.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ok(await s(owner, 'init', GUN, '-p'), 'init');
    ok(await s(owner, 'delegation', 'add', GUN, 'targets/releases', fixture('delegate-keys', 'releases.crt'), '--all-paths'), 'delegation releases');
    ok(await s(owner, 'delegation', 'add', GUN, 'targets/jenkins', fixture('delegate-keys', 'jenkins.crt'), '--all-paths', '-p'), 'delegation jenkins');
    for (const role of ['releases', 'jenkins']) {
      ok(await notaryAsync(['key', 'import', fixture('delegate-keys', `${role}.key`), '--role', `targets/${role}`], { trustDir: owner, server: url }), `key import ${role}`);
    }
    await sign('1.0', D1, 'targets/releases');
    await sign('2.0', D1, 'targets/releases');
    await sign('2.0', D1, 'targets/jenkins');
    await sign('3.0', D1, 'targets/releases');
    await sign('3.0', D2, 'targets/jenkins');
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    await t?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the same verdicts as the local check: alone denied, same digest allowed, different digests denied', async () => {
    const images = [`${GUN}:1.0`, `${GUN}:2.0`, `${GUN}:3.0`, `${GUN}@sha256:${D1}`];
    const remote = await s(path.join(tmp, 'r1'), '--output', 'json', 'policy', 'check', '--server-check', ...images);
    const local = await s(path.join(tmp, 'r2'), '--output', 'json', 'policy', 'check', '--policy', policyFile, ...images);
    assert.equal(remote.code, EXIT.VERIFICATION, remote.stderr);
    assert.equal(local.code, EXIT.VERIFICATION, local.stderr);
    const r = JSON.parse(remote.stdout) as { allowed: boolean; results: Array<{ allowed: boolean; digest: string | null }> };
    assert.deepEqual(r.results.map((x) => x.allowed), [false, true, false, true]);
    assert.equal(r.results[1]?.digest, `sha256:${D1}`);
    assert.deepEqual(r, JSON.parse(local.stdout));
    const allowed = await s(path.join(tmp, 'r3'), 'policy', 'check', '--server-check', `${GUN}:2.0`);
    assert.equal(allowed.code, EXIT.OK, allowed.stderr);
    assert.match(allowed.stdout, /^ALLOWED registry\.example\.com\/team\/app:2\.0 sha256:a{64} signed by /);
  });

  it('refuses --server-check with --policy or --offline', async () => {
    const r = await s(owner, 'policy', 'check', '--server-check', '--offline', `${GUN}:2.0`);
    assert.equal(r.code, EXIT.USAGE);
  });
});

describe('policy check --server-check without a trustworthy answer', () => {
  it('notary-server has no policy endpoint: exit 5 with a hint, not allowed', async () => {
    const n = await startNotaryServer();
    try {
      const r = await signet(['-s', n.url, 'policy', 'check', '--server-check', `${GUN}:1.0`]);
      assert.equal(r.code, EXIT.NETWORK, r.stderr);
      assert.match(r.stderr, /has no deploy policy check .*check locally with --policy/);
    } finally {
      await n.stop();
    }
  });

  it('results that do not match the images asked never open the gate', async () => {
    const good = { image: `${GUN}:1.0`, allowed: true, digest: `sha256:${D1}`, signedBy: ['targets/releases'], rule: GUN, reasons: [], mode: 'enforce' };
    const answers = [
      { results: [good] }, // one result for two images
      { results: [good, { ...good, image: 'other.example.com/x:1' }] }, // not the image asked
      { results: [good, { ...good, image: `${GUN}:2.0`, allowed: 'yes' }] },
    ];
    let next = 0;
    const stub = await startStub((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers[next++]));
    });
    try {
      for (let i = 0; i < answers.length; i++) {
        const r = await signet(['-s', stub.url, 'policy', 'check', '--server-check', `${GUN}:1.0`, `${GUN}:2.0`]);
        assert.equal(r.code, EXIT.NETWORK, `answer ${i}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, '');
      }
      assert.deepEqual(JSON.parse(stub.requests[0]?.body.toString() ?? ''), { images: [`${GUN}:1.0`, `${GUN}:2.0`] });
      assert.equal(stub.requests[0]?.url, '/v2/_policy/check');
    } finally {
      await stub.close();
    }
  });
});
