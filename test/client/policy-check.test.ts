// SPDX-License-Identifier: Apache-2.0
// `signet policy check` as a CI gate, over the seed scenario, against the real
// notary-server: a rule needs targets/releases and targets/jenkins to sign the
// same digest. Online (refresh first) and --offline (the trust dir's cache,
// verified: a tampered cache denies).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../client/exit-codes.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fixture, REPO_ROOT } from '../support/paths.js';
import { notaryAsync, signet, type Run } from './support/cli-run.js';
import { startNotaryServer, type NotaryServer } from './support/notary.js';

const GUN = 'registry.example.com/team/app';
const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'client', 'main.js');

/** docs/policy-gate.sh as written, with `signet` on PATH being this build. */
function gate(work: string, env: Record<string, string>, args: string[]): Promise<Run> {
  const bin = path.join(work, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'signet'), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`, { mode: 0o755 });
  return new Promise((resolve) => {
    execFile('sh', [path.join(REPO_ROOT, 'docs', 'policy-gate.sh'), ...args], { env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: work, CI: 'true', ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

interface Json {
  allowed: boolean;
  results: Array<{ image: string; allowed: boolean; digest: string | null; signedBy: string[]; rule: string | null; reasons: string[]; mode: string }>;
}

describe('signet policy check (seed scenario, notary-server)', () => {
  let server: NotaryServer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-policy-'));
  const owner = path.join(tmp, 'owner');
  const reader = path.join(tmp, 'reader');
  const policyFile = path.join(tmp, 'policy.yaml');
  const ok = (r: Run, what: string): void => assert.equal(r.code, 0, `${what}\n${r.stdout}${r.stderr}`);
  const s = (dir: string, ...args: string[]) => signet(['-s', server.url, '-d', dir, ...args]);
  const check = async (dir: string, ...args: string[]): Promise<{ run: Run; json: Json }> => {
    const run = await s(dir, '--output', 'json', 'policy', 'check', '--policy', policyFile, ...args);
    return { run, json: JSON.parse(run.stdout === '' ? 'null' : run.stdout) as Json };
  };
  const sign = async (tag: string, digest: string, role: string): Promise<void> =>
    ok(await s(owner, 'sign', GUN, tag, '--digest', `sha256:${digest}`, '--size', '528', '-r', role), `sign ${tag} into ${role}`);

  before(async () => {
    server = await startNotaryServer();
    fs.writeFileSync(policyFile, `default: deny\nrules:\n  - pattern: ${GUN}\n    roles: [targets/releases, targets/jenkins]\n`);
    ok(await s(owner, 'init', GUN, '-p'), 'init');
    ok(await s(owner, 'delegation', 'add', GUN, 'targets/releases', fixture('delegate-keys', 'releases.crt'), '--all-paths'), 'delegation releases');
    ok(await s(owner, 'delegation', 'add', GUN, 'targets/jenkins', fixture('delegate-keys', 'jenkins.crt'), '--all-paths', '-p'), 'delegation jenkins');
    for (const role of ['releases', 'jenkins']) {
      ok(await notaryAsync(['key', 'import', fixture('delegate-keys', `${role}.key`), '--role', `targets/${role}`], { trustDir: owner, server: server.url }), `key import ${role}`);
    }
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the developer alone in targets/releases: denied (exit 4), naming the missing role', async () => {
    await sign('1.0', D1, 'targets/releases');
    const { run, json } = await check(reader, `${GUN}:1.0`);
    assert.equal(run.code, EXIT.VERIFICATION, run.stderr);
    assert.equal(json.allowed, false);
    const [r] = json.results;
    assert.equal(r?.allowed, false);
    assert.equal(r?.rule, GUN);
    assert.match(r?.reasons.join('\n') ?? '', /lacks the signature of targets\/jenkins/);
    assert.match(run.stderr, /1 of 1 image denied by the deploy policy/);
  });

  it('jenkins signs the same digest: allowed (exit 0), both roles named', async () => {
    await sign('1.0', D1, 'targets/jenkins');
    const { run, json } = await check(reader, `${GUN}:1.0`, `${GUN}@sha256:${D1}`);
    assert.equal(run.code, EXIT.OK, run.stderr);
    assert.equal(json.allowed, true);
    for (const r of json.results) {
      assert.equal(r.allowed, true, r.reasons.join());
      assert.equal(r.digest, `sha256:${D1}`);
      assert.deepEqual([...r.signedBy].sort(), ['targets/jenkins', 'targets/releases']);
    }
    const text = await s(reader, 'policy', 'check', '--policy', policyFile, `${GUN}:1.0`);
    assert.equal(text.code, EXIT.OK);
    assert.equal(text.stdout, `ALLOWED ${GUN}:1.0 sha256:${D1} signed by targets/releases, targets/jenkins (rule ${GUN})\n`);
  });

  it('different digests in the two required roles: denied; one denied image fails the whole gate', async () => {
    await sign('2.0', D1, 'targets/releases');
    await sign('2.0', D2, 'targets/jenkins');
    const { run, json } = await check(reader, `${GUN}:1.0`, `${GUN}:2.0`, `${GUN}@sha256:${'c'.repeat(64)}`);
    assert.equal(run.code, EXIT.VERIFICATION);
    assert.deepEqual(json.results.map((r) => r.allowed), [true, false, false]);
    assert.match(json.results[1]?.reasons.join('\n') ?? '', /different digests/);
    assert.equal(json.results[1]?.digest, null);
    assert.match(run.stderr, /2 of 3 images denied/);
  });

  it('docs/policy-gate.sh: prints the checked digests when allowed, the reasons and exit 4 when not', async () => {
    const env = { NOTARY_SERVER: server.url, TRUST_DIR: path.join(tmp, 'gate-trust') };
    const pass = await gate(path.join(tmp, 'gate'), env, [policyFile, `${GUN}:1.0`]);
    assert.equal(pass.code, 0, pass.stderr);
    assert.equal(pass.stdout, `${GUN}:1.0 sha256:${D1}\n`);
    const fail = await gate(path.join(tmp, 'gate'), env, [policyFile, `${GUN}:1.0`, `${GUN}:2.0`]);
    assert.equal(fail.code, EXIT.VERIFICATION);
    assert.equal(fail.stdout, '');
    assert.match(fail.stderr, new RegExp(`^denied: ${GUN.replaceAll('.', '\\.')}:2\\.0: roles signed different digests`, 'm'));
  });

  it('--offline decides from the verified cache alone, like the online check', async () => {
    const online = await check(reader, `${GUN}:1.0`, `${GUN}:2.0`);
    const offline = await signet(['-s', 'http://127.0.0.1:9', '-d', reader, '--output', 'json', 'policy', 'check', '--offline', '--policy', policyFile, `${GUN}:1.0`, `${GUN}:2.0`]);
    assert.equal(offline.code, EXIT.VERIFICATION, offline.stderr);
    assert.deepEqual(JSON.parse(offline.stdout), online.json);
  });

  it('--offline refuses a tampered cache: a forged jenkins signature does not count', async () => {
    const copy = path.join(tmp, 'tampered');
    fs.cpSync(reader, copy, { recursive: true });
    const file = path.join(copy, 'tuf', ...GUN.split('/'), 'metadata', 'targets', 'jenkins.json');
    const original = fs.readFileSync(file, 'utf8');
    // jenkins "signs" 2.0 as D1 too: the gate would open if the cache were trusted unverified.
    fs.writeFileSync(file, original.replaceAll(Buffer.from(D2, 'hex').toString('base64'), Buffer.from(D1, 'hex').toString('base64')));
    assert.notEqual(fs.readFileSync(file, 'utf8'), original);
    const r = await signet(['-d', copy, '--output', 'json', 'policy', 'check', '--offline', '--policy', policyFile, `${GUN}:2.0`]);
    assert.equal(r.code, EXIT.VERIFICATION, r.stderr);
    const result = (JSON.parse(r.stdout) as Json).results[0];
    assert.equal(result?.allowed, false);
    // The edited file no longer has the bytes the snapshot records: the whole check fails, naming it.
    assert.match(result?.reasons.join('\n') ?? '', /targets\/jenkins.*(hash|length|bytes)/i);
  });

  it('--offline refuses a rolled-back cache file: an older, validly signed jenkins role does not count', async () => {
    await sign('3.0', D1, 'targets/releases');
    await sign('3.0', D1, 'targets/jenkins');
    assert.equal((await check(reader, `${GUN}:3.0`)).run.code, EXIT.OK);
    const file = (dir: string): string => path.join(dir, 'tuf', ...GUN.split('/'), 'metadata', 'targets', 'jenkins.json');
    const old = fs.readFileSync(file(reader));
    await sign('3.0', D2, 'targets/jenkins');
    assert.equal((await check(reader, `${GUN}:3.0`)).run.code, EXIT.VERIFICATION);
    const copy = path.join(tmp, 'rolled-back');
    fs.cpSync(reader, copy, { recursive: true });
    fs.writeFileSync(file(copy), old);
    const r = await signet(['-d', copy, '--output', 'json', 'policy', 'check', '--offline', '--policy', policyFile, `${GUN}:3.0`]);
    assert.equal(r.code, EXIT.VERIFICATION, r.stdout);
    assert.match((JSON.parse(r.stdout) as Json).results[0]?.reasons.join('\n') ?? '', /targets\/jenkins.*(hash|length|bytes)/i);
  });

  it('--offline without cached trust data, an unknown repository online, and the default: denied', async () => {
    const empty = await signet(['-d', path.join(tmp, 'empty'), '--output', 'json', 'policy', 'check', '--offline', '--policy', policyFile, `${GUN}:1.0`]);
    assert.equal(empty.code, EXIT.VERIFICATION);
    assert.match((JSON.parse(empty.stdout) as Json).results[0]?.reasons[0] ?? '', /no cached root/);
    fs.writeFileSync(path.join(tmp, 'wide.yaml'), `default: allow\nrules:\n  - pattern: registry.example.com/**\n    roles: [targets/releases]\n`);
    const missing = await s(reader, '--output', 'json', 'policy', 'check', '--policy', path.join(tmp, 'wide.yaml'), 'registry.example.com/team/never-published:1', 'other.example.com/x:1');
    assert.equal(missing.code, EXIT.VERIFICATION, missing.stderr);
    assert.deepEqual((JSON.parse(missing.stdout) as Json).results.map((r) => r.allowed), [false, true]);
    const other = await check(reader, 'other.example.com/x:1');
    assert.equal(other.run.code, EXIT.VERIFICATION);
    assert.match(other.json.results[0]?.reasons[0] ?? '', /default is deny/);
  });

  it('a rule with maxMetadataAge denies locally: the timestamp carries no signing time', async () => {
    const aged = path.join(tmp, 'aged.yaml');
    fs.writeFileSync(aged, `default: deny\nrules:\n  - pattern: ${GUN}\n    roles: [targets/releases, targets/jenkins]\n    maxMetadataAge: 1h\n`);
    const r = await s(reader, '--output', 'json', 'policy', 'check', '--policy', aged, `${GUN}:1.0`);
    assert.equal(r.code, EXIT.VERIFICATION, r.stderr);
    assert.match((JSON.parse(r.stdout) as Json).results[0]?.reasons.join() ?? '', /age of .* timestamp is unknown/);
  });

  it('an unusable policy file is a usage error (exit 2) naming file and line', async () => {
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, `default: deny\nrules:\n  - pattern: ${GUN}\n    rolez: [targets/releases]\n`);
    const r = await s(reader, 'policy', 'check', '--policy', bad, `${GUN}:1.0`);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /bad\.yaml:4: .*unknown key "rolez"/);
    const none = await s(reader, 'policy', 'check', '--policy', path.join(tmp, 'nope.yaml'), `${GUN}:1.0`);
    assert.equal(none.code, EXIT.USAGE);
    assert.match(none.stderr, /cannot read the policy file .*nope\.yaml \(ENOENT\); pass --policy FILE or set SIGNET_POLICY/);
  });
});
