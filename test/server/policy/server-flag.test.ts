// SPDX-License-Identifier: Apache-2.0
// `signet-server --policy FILE`: flags, refusal of invalid files at startup
// (line and reason), and the check API answering on a started server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PolicyError } from '../../../shared/errors.js';
import { parseServerArgs, type ServerConfig } from '../../../server/config.js';
import { startServer } from '../../../server/main.js';
import { captureLogger, templateDataDir, tempDir } from '../http/harness.js';

function config(dataDir: string, extra: string[]): ServerConfig {
  const r = parseServerArgs(['--listen', '127.0.0.1:0', '--data-dir', dataDir, '--insecure-dev-signer-key', ...extra], {});
  assert.equal(r.kind, 'config');
  return (r as { config: ServerConfig }).config;
}

let data: Awaited<ReturnType<typeof templateDataDir>>;
let dir: string;
before(async () => {
  data = await templateDataDir();
  dir = tempDir('signet-h15-');
});
after(() => {
  data.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--policy flags: defaults, exempt namespaces, deadline bounds', () => {
  const file = path.join(dir, 'p.yaml');
  const c = config(data.dataDir, ['--policy', file, '--policy-exempt-namespace', 'signet', '--policy-exempt-namespace', 'kube-system']);
  assert.deepEqual(c.policy, { file, exemptNamespaces: ['signet', 'kube-system'], timeoutMs: 3000 });
  assert.deepEqual(config(data.dataDir, ['--policy', file]).policy?.exemptNamespaces, ['kube-system']);
  assert.equal(config(data.dataDir, []).policy, undefined);
  assert.throws(() => parseServerArgs(['--policy', file, '--policy-timeout-ms', '60000', '--insecure-dev-signer-key'], {}), /must be 10 to 29000/);
});

test('an invalid policy file stops startup with its line and reason', async () => {
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(file, 'default: deny\nrules:\n  - pattern: registry.example.com/*\n    roles: [targets/qa]\n    threshold: 3\n');
  await assert.rejects(startServer(config(data.dataDir, ['--policy', file]), { logger: captureLogger().logger }), (err: unknown) => {
    assert.ok(err instanceof PolicyError);
    assert.equal(err.message, `${file}:5: rules[0].threshold must be an integer from 1 to 1 (the number of roles and teams listed)`);
    return true;
  });
  await assert.rejects(startServer(config(data.dataDir, ['--policy', path.join(dir, 'missing.yaml')]), { logger: captureLogger().logger }), /cannot read the policy file \(ENOENT\)/);
});

test('a started server answers the check API with the loaded policy; without --policy it is a 404', async () => {
  const file = path.join(dir, 'good.yaml');
  fs.writeFileSync(file, 'default: deny\nrules:\n  - pattern: registry.example.com/**\n    roles: [targets/releases]\n');
  const s = await startServer(config(data.dataDir, ['--policy', file]), { logger: captureLogger().logger });
  try {
    const res = await fetch(`${s.url}/v2/_policy/check`, { method: 'POST', body: JSON.stringify({ images: ['registry.example.com/app:1', 'alpine'] }) });
    assert.equal(res.status, 200);
    const { results } = (await res.json()) as { results: { allowed: boolean; rule: string | null; reasons: string[] }[] };
    assert.deepEqual(results.map((r) => [r.allowed, r.rule]), [[false, 'registry.example.com/**'], [false, null]]);
    assert.match(results[0]?.reasons[0] ?? '', /no trust data is stored for registry\.example\.com\/app/);
  } finally {
    await s.shutdown();
  }
  const plain = await startServer(config(data.dataDir, []), { logger: captureLogger().logger });
  try {
    const res = await fetch(`${plain.url}/v2/_policy/check`, { method: 'POST', body: '{"images":["alpine"]}' });
    assert.equal(res.status, 404);
    assert.match(await res.text(), /start signet-server with --policy FILE/);
  } finally {
    await plain.shutdown();
  }
});

test('in a pod, the server\'s own namespace (service account file) is known; elsewhere none', async () => {
  const { ownNamespace } = await import('../../../server/policy/load.js');
  const file = path.join(dir, 'namespace');
  fs.writeFileSync(file, 'signet-system\n');
  assert.equal(ownNamespace(file), 'signet-system');
  fs.writeFileSync(file, 'Not A Namespace');
  assert.equal(ownNamespace(file), undefined);
  assert.equal(ownNamespace(path.join(dir, 'absent')), undefined);
});
