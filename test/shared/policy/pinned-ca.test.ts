// SPDX-License-Identifier: Apache-2.0
// A rule's pinnedCA admits a repository only when its root certificate was issued by that CA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluateImage } from '../../../shared/policy/evaluate.js';
import { parsePolicy } from '../../../shared/policy/parse.js';
import { viewFromTrustedSet } from '../../../shared/policy/view.js';
import { publicKeyFromCertificatePem } from '../../../shared/codec/notary-keys.js';
import { RepositorySimulator } from '../../support/repository-simulator.js';

const GUN = 'docker.io/acme/app';
const NOW = new Date('2026-11-23T12:00:00Z');

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA certificate and a leaf with CN = GUN issued by it, as a company PKI would make a root key. */
function pki(dir: string, name: string): { ca: string; leaf: string } {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`, '-days', '3650', '-subj', `/CN=${name} root CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}-leaf.key`, '-out', `${name}-leaf.csr`, '-subj', `/CN=${GUN.replace(/\//g, '\\/')}`]);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=codeSigning\n');
  openssl(dir, ['x509', '-req', '-in', `${name}-leaf.csr`, '-CA', `${name}-ca.crt`, '-CAkey', `${name}-ca.key`, '-CAcreateserial', '-out', `${name}-leaf.crt`, '-days', '365', '-extfile', 'ext.cnf']);
  return { ca: fs.readFileSync(path.join(dir, `${name}-ca.crt`), 'utf8'), leaf: fs.readFileSync(path.join(dir, `${name}-leaf.crt`), 'utf8') };
}

test('pinnedCA admits a root certificate issued by the pinned CA and refuses one from another CA', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-pinned-ca-'));
  try {
    const ours = pki(dir, 'ours');
    const theirs = pki(dir, 'theirs');
    const sim = await RepositorySimulator.create({ gun: GUN, now: NOW });
    await sim.addDelegation('targets/releases', { paths: [''] });
    sim.addTarget('targets/releases', 'v1', 'manifest');
    await sim.publish();
    const set = sim.refresh(sim.trust());
    const policy = parsePolicy(`rules:\n  - pattern: docker.io/acme/app\n    roles: [targets/releases]\n    pinnedCA: |\n${ours.ca.trimEnd().split('\n').map((l) => '      ' + l).join('\n')}\n`, 'p.yaml');
    const check = (leafPem: string) => evaluateImage(policy, 'acme/app:v1', viewFromTrustedSet(set, GUN, { anchorRootKeys: [publicKeyFromCertificatePem(leafPem)] }), { now: NOW });

    assert.equal(check(ours.leaf).allowed, true, check(ours.leaf).reasons.join('; '));
    const refused = check(theirs.leaf);
    assert.equal(refused.allowed, false);
    assert.match(refused.reasons.join('\n'), /no root certificate of docker.io\/acme\/app is issued by a CA pinned/);
    // The simulator's own self-signed root is not issued by the pinned CA either.
    assert.equal(evaluateImage(policy, 'acme/app:v1', viewFromTrustedSet(set, GUN), { now: NOW }).allowed, false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
