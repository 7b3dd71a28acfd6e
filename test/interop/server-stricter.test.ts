// SPDX-License-Identifier: Apache-2.0
// Where signet-server is stricter than notary-server, shown with uploads the
// notary CLI will not make: a repository set up by the stock CLI, then
// delegated metadata crafted with the shared codec and signed with the real
// delegate keys. (1) A delegate listing a target outside its delegated paths
// is refused (notary stores it and leaves clients to hide it). (2) A
// threshold of 2 cannot be met by one key, whether it signs twice under one
// key ID or once under each of two key IDs for the same key (two
// certificates; notary counts key IDs, so it would accept that).
// Each refusal has an accepted control upload that differs only in the
// checked property, so the test fails if the check is removed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { notaryCodec } from '../../shared/codec/notary.js';
import { createKeyObjectSigner } from '../../shared/crypto/sign.js';
import type { Delegations, Signer, Targets } from '../../shared/tuf/model.js';
import { notaryUnavailable } from '../support/notary-repo.js';
import {
  embeddedStorage,
  getMetadata,
  listRow,
  NotaryCli,
  opensslCertificate,
  parseTable,
  postUpdate,
  signMetadata,
  SignetServerProcess,
  targetFile,
  trustDirSigner,
  type TestStorage,
} from '../support/signet-server.js';

const missing = notaryUnavailable();
const GUN = `example.com/h11-strict-${randomBytes(4).toString('hex')}`;
const EXPIRES = { text: '2029-01-01T00:00:00Z', ms: Date.parse('2029-01-01T00:00:00Z') };
const CONTENT = 'strictness payload\n';

interface InvalidUpdate {
  code: string;
  detail?: { Name?: string; Error?: unknown };
}

function firstError(body: string): InvalidUpdate {
  return (JSON.parse(body) as { errors: InvalidUpdate[] }).errors[0]!;
}

describe('signet-server refuses what notary-server lets through', { skip: missing === null ? false : `skipped: ${missing}`, timeout: 240_000 }, () => {
  let storage: TestStorage;
  let server: SignetServerProcess;
  let home: string;
  let owner: NotaryCli;
  let delegations: Delegations;
  const signers = new Map<string, Signer>();

  /** A signer for the delegation key `keyId` from the openssl key file `keyFile`. */
  function signerFor(keyId: string, keyFile: string): Signer {
    const publicKey = delegations.keys.get(keyId);
    assert.ok(publicKey !== undefined, `delegation key ${keyId}`);
    return createKeyObjectSigner(createPrivateKey(fs.readFileSync(keyFile)), publicKey);
  }

  function delegated(names: readonly string[], version = 1): Targets {
    return { type: 'targets', version, expires: EXPIRES, targets: new Map(names.map((n) => [n, targetFile(CONTENT)])), delegations: null };
  }

  before(async () => {
    storage = await embeddedStorage();
    server = await SignetServerProcess.start(storage.storage);
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-h11-strict-'));
    owner = new NotaryCli(server.url, home);
    const jenkins = await opensslCertificate(home, 'jenkins');
    const teamA = await opensslCertificate(home, 'team-a');
    const teamA2 = await opensslCertificate(home, 'team-a-second-certificate', teamA.key); // same key, second ID
    const teamB = await opensslCertificate(home, 'team-b');

    await owner.ok(['init', '-p', GUN]);
    await owner.ok(['key', 'rotate', GUN, 'snapshot', '-r']);
    await owner.ok(['delegation', 'add', '-p', GUN, 'targets/jenkins', jenkins.cert, '--paths', 'jenkins/']);
    await owner.ok(['delegation', 'add', '-p', GUN, 'targets/team', teamA.cert, teamA2.cert, teamB.cert, '--all-paths']);

    // The CLI cannot set thresholds: raise targets/team to 2 with the owner's own targets key.
    const current = notaryCodec.parse((await getMetadata(server.url, GUN, 'targets')).body, 'targets');
    const cur = current.signed;
    assert.ok(cur.delegations !== null);
    delegations = { keys: cur.delegations.keys, roles: cur.delegations.roles.map((r) => (r.name === 'targets/team' ? { ...r, threshold: 2 } : r)) };
    const raised = await signMetadata({ ...cur, version: cur.version + 1, expires: EXPIRES, delegations }, [await trustDirSigner(owner, 'targets')]);
    const res = await postUpdate(server.url, GUN, [{ role: 'targets', data: raised }]);
    assert.equal(res.status, 200, res.body);
    const listedRoles = parseTable((await owner.ok(['delegation', 'list', GUN])).stdout);
    assert.equal(listedRoles.find((r) => r[0] === 'targets/team')?.[3], '2', 'the notary CLI reads the raised threshold');

    const idsOf = (role: string): readonly string[] => delegations.roles.find((r) => r.name === role)!.keyIds;
    const [jenkinsId] = idsOf('targets/jenkins');
    signers.set('jenkins', signerFor(jenkinsId!, jenkins.key));
    // Map the team's three key IDs to their openssl key files by certificate content.
    for (const id of idsOf('targets/team')) {
      const pem = Buffer.from(delegations.keys.get(id)!.publicValue, 'base64').toString();
      const which = [teamA, teamA2, teamB].find((c) => fs.readFileSync(c.cert, 'utf8') === pem);
      assert.ok(which !== undefined, `team key ${id} is one of the certificates`);
      signers.set(path.basename(which.cert, '.crt'), signerFor(id, which.key));
    }
    assert.equal(signers.size, 4);
  });
  after(async () => {
    await server?.stop();
    await storage?.cleanup();
    if (home !== undefined) fs.rmSync(home, { recursive: true, force: true });
  });

  test('a delegate publishing outside its delegated paths is refused with INVALID_UPDATE', async () => {
    const jenkins = signers.get('jenkins')!;
    for (const name of ['outside/thing', 'jenkins', 'jenkinsfoo/x']) {
      const res = await postUpdate(server.url, GUN, [{ role: 'targets/jenkins', data: await signMetadata(delegated(['jenkins/fine', name]), [jenkins]) }]);
      assert.equal(res.status, 400, `${name}: ${res.body}`);
      const err = firstError(res.body);
      assert.equal(err.code, 'INVALID_UPDATE');
      assert.equal(err.detail?.Name, 'ErrBadTargets');
      assert.match(JSON.stringify(err.detail?.Error), /outside the paths delegated to targets\/jenkins/);
    }
    assert.equal((await getMetadata(server.url, GUN, 'targets/jenkins')).status, 404, 'nothing was stored');

    // Control: the same upload without the stray name is accepted and listed by the notary CLI.
    const ok = await postUpdate(server.url, GUN, [{ role: 'targets/jenkins', data: await signMetadata(delegated(['jenkins/fine']), [jenkins]) }]);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(parseTable((await owner.ok(['list', GUN])).stdout), [listRow('jenkins/fine', CONTENT, 'targets/jenkins')]);
  });

  test('threshold 2 is not met by one key signing twice, under one key ID or under two', async () => {
    const a = signers.get('team-a')!;
    const a2 = signers.get('team-a-second-certificate')!;
    const b = signers.get('team-b')!;
    assert.notEqual(a.publicKey.id, a2.publicKey.id);
    assert.ok(a.publicKey.spki?.equals(a2.publicKey.spki!), 'two key IDs, one public key');
    // One key ID twice: the parser refuses duplicate signatures outright (notary verifies, then counts once).
    const twice = await postUpdate(server.url, GUN, [{ role: 'targets/team', data: await signMetadata(delegated(['team/release']), [a, a]) }]);
    assert.equal(twice.status, 400, twice.body);
    assert.equal(firstError(twice.body).code, 'INVALID_UPDATE');
    // One key under two IDs: notary counts IDs (2 of 2); signet counts public keys (1 of 2).
    const aliased = await postUpdate(server.url, GUN, [{ role: 'targets/team', data: await signMetadata(delegated(['team/release']), [a, a2]) }]);
    assert.equal(aliased.status, 400, aliased.body);
    const err = firstError(aliased.body);
    assert.equal(err.code, 'INVALID_UPDATE');
    assert.equal(err.detail?.Name, 'ErrBadTargets');
    assert.match(JSON.stringify(err.detail?.Error), /targets\/team.*1\/2|threshold/);
    assert.equal((await getMetadata(server.url, GUN, 'targets/team')).status, 404, 'nothing was stored');

    // Control: two distinct keys meet the threshold.
    const ok = await postUpdate(server.url, GUN, [{ role: 'targets/team', data: await signMetadata(delegated(['team/release']), [a, b]) }]);
    assert.equal(ok.status, 200, ok.body);
    const rows = parseTable((await owner.ok(['list', GUN])).stdout);
    assert.deepEqual(rows.find((r) => r[0] === 'team/release'), listRow('team/release', CONTENT, 'targets/team'));
  });
});
