// SPDX-License-Identifier: Apache-2.0
// Child process of crash.test.ts: publishes whole version sets (root,
// targets, snapshot, timestamp at version v) to a few GUNs from two
// concurrent writers until it is killed. Prints "ready" once open, then
// "<gun> <version>" after each committed publish.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type OpenStoreOptions } from '../../../server/storage/open-store.js';
import type { MetaUpdate } from '../../../server/storage/meta-store.js';

export const ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;

/** The bytes of `role` at `version` for `gun`: deterministic, sizes vary up to ~32 KiB so writes take a while. */
export function expectedData(gun: string, role: string, version: number): Buffer {
  const size = ((version * 7919 + role.length * 104_729) % 32) * 1024;
  return Buffer.concat([Buffer.from(`${gun} ${role} ${version}\n`), Buffer.alloc(size, version % 251)]);
}

export function publishSet(gun: string, version: number): MetaUpdate[] {
  return ROLES.map((role) => ({ role, version, data: expectedData(gun, role, version) }));
}

async function main(): Promise<void> {
  const [optionsJson, gunsJson] = process.argv.slice(2);
  const options = JSON.parse(optionsJson ?? '{}') as OpenStoreOptions;
  const guns = JSON.parse(gunsJson ?? '[]') as string[];
  const store = await openStore(options);
  process.stdout.write('ready\n');
  const writer = async (mine: string[]): Promise<void> => {
    for (;;) {
      for (const gun of mine) {
        const current = await store.getCurrent(gun, 'timestamp');
        const version = (current?.version ?? 0) + 1;
        await store.updateMany(gun, publishSet(gun, version));
        process.stdout.write(`${gun} ${version}\n`);
      }
    }
  };
  const half = Math.ceil(guns.length / 2);
  await Promise.all([writer(guns.slice(0, half)), writer(guns.slice(half))]);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((err: unknown) => {
    process.stderr.write(`crash-child failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
