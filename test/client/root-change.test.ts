// SPDX-License-Identifier: Apache-2.0
// A notary `create role` change (root scope: replace a base role's keys)
// published through publish(): root version + 1 signed by the root key,
// targets re-signed with the new key, snapshot by the held snapshot key; the
// notary CLI then follows the new root. And the refusal when the new key is
// not held: nothing is sent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyStoreError } from '../../shared/errors.js';
import { envPassphraseRetriever, FileKeyStore, MemoryKeyStore } from '../../keys/index.js';
import { rootRoleChange } from '../../client/changes.js';
import { loadConfig } from '../../client/config.js';
import { RepositorySession } from '../../client/repository.js';
import { notaryAsync, signet } from './support/cli-run.js';
import { NOTARY_PASSPHRASES, startNotaryServer, type NotaryServer } from './support/notary.js';

const GUN = 'example.com/rootchange';

describe('publishing a root role change', { skip: fs.existsSync('/usr/bin/notary-server') ? false : 'notary-server not installed' }, () => {
  let server: NotaryServer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-rootchange-'));
  const owner = path.join(tmp, 'owner');
  before(async () => {
    server = await startNotaryServer();
  });
  after(async () => {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const session = (): RepositorySession =>
    new RepositorySession({
      config: loadConfig({ trustDir: owner, server: server.url }, { home: tmp, cwd: tmp }),
      gun: GUN,
      retriever: envPassphraseRetriever(NOTARY_PASSPHRASES),
      credentials: null,
    });
  const rootVersion = async (): Promise<number> => ((await (await fetch(`${server.url}/v2/${GUN}/_trust/tuf/root.json`)).json()) as { signed: { version: number } }).signed.version;

  it('refuses a new targets key that is not held, before sending anything', async () => {
    assert.equal((await signet(['-s', server.url, '-d', owner, 'init', GUN, '-p'])).code, 0);
    const elsewhere = await new MemoryKeyStore().generate({ role: 'targets', gun: GUN });
    await assert.rejects(session().publish([{ ...rootRoleChange('targets', [elsewhere]), file: 'mem' }]), (e: unknown) => e instanceof KeyStoreError && /targets of example\.com\/rootchange needs 1 signature\(s\) but you hold 0/.test(e.message) && /nothing was staged or published/.test(e.message) && !/stay staged/.test(e.message));
    assert.equal(await rootVersion(), 1);
  });

  it('publishes root v2 and targets under the new key; notary follows', async () => {
    const fresh = await new FileKeyStore(owner, { retriever: envPassphraseRetriever(NOTARY_PASSPHRASES) }).generate({ role: 'targets', gun: GUN });
    const r = await session().publish([{ ...rootRoleChange('targets', [fresh]), file: 'mem' }]);
    assert.deepEqual([...r.roles].sort(), ['root', 'snapshot', 'targets']);
    assert.equal(await rootVersion(), 2);
    const root = (await (await fetch(`${server.url}/v2/${GUN}/_trust/tuf/root.json`)).json()) as { signed: { roles: { targets: { keyids: string[] } } } };
    assert.deepEqual(root.signed.roles.targets.keyids, [fresh.id]);
    const payload = path.join(tmp, 'p.txt');
    fs.writeFileSync(payload, 'after rotation\n');
    assert.equal((await signet(['-s', server.url, '-d', owner, 'add', GUN, 'after', payload, '-p'])).code, 0);
    const l = await notaryAsync(['list', GUN], { trustDir: path.join(tmp, 'reader'), server: server.url });
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /^after\s/m);
  });
});
