// SPDX-License-Identifier: Apache-2.0
// Quick storage measurement: embedded open times, updateMany and getCurrent
// throughput on embedded PGlite and on PostgreSQL (SIGNET_BENCH_DATABASE_URL,
// default postgres://postgres@127.0.0.1:5432/test, in a throw-away schema).
// Run: npx tsc -p tsconfig.json && node dist/bench/storage.js
// Numbers depend on the machine and its load; they are for orders of magnitude.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openStore, type OpenStoreOptions } from '../server/storage/open-store.js';
import { PgClient } from '../server/storage/pg-client.js';
import type { MetaUpdate } from '../server/storage/meta-store.js';

const PG_URL = process.env.SIGNET_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PUBLISHES = Number(process.env.SIGNET_BENCH_PUBLISHES ?? 300);
const READS = Number(process.env.SIGNET_BENCH_READS ?? 3000);
const GUNS = 10;

// Sizes typical of a small repository: root with certificates, a few targets.
const publishSet = (v: number): MetaUpdate[] =>
  [
    ['root', 2500],
    ['targets', 1500],
    ['snapshot', 700],
    ['timestamp', 500],
  ].map(([role, size]) => ({ role: role as string, version: v, data: randomBytes(size as number) }));

async function timed(label: string, n: number, run: (i: number) => Promise<unknown>, concurrency = 1): Promise<void> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await run(next++);
    }),
  );
  const ms = performance.now() - started;
  console.log(`  ${label.padEnd(34)} ${String(Math.round((n / ms) * 1000)).padStart(7)} ops/s  (${n} in ${Math.round(ms)} ms)`);
}

async function measure(name: string, options: OpenStoreOptions, concurrency: number): Promise<void> {
  console.log(`${name}:`);
  const store = await openStore(options);
  try {
    const guns = Array.from({ length: GUNS }, (_, i) => `bench.example.com/${name}/${i}-${randomBytes(3).toString('hex')}`);
    const versions = new Map(guns.map((g) => [g, 0]));
    const publish = async (i: number): Promise<void> => {
      const gun = guns[i % GUNS]!;
      const v = versions.get(gun)! + 1;
      versions.set(gun, v);
      await store.updateMany(gun, publishSet(v));
    };
    await timed('updateMany (4 roles), 1 client', PUBLISHES, publish);
    if (concurrency > 1) await timed(`updateMany (4 roles), ${concurrency} clients`, PUBLISHES, publish, concurrency);
    const read = (i: number) => store.getCurrent(guns[i % GUNS]!, 'targets');
    await timed('getCurrent, 1 client', READS, read);
    if (concurrency > 1) await timed(`getCurrent, ${concurrency} clients`, READS, read, concurrency);
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-bench-'));
  const dataDir = path.join(dir, 'data');
  try {
    let started = performance.now();
    await (await openStore({ dataDir })).close();
    console.log(`embedded open, new data dir:      ${Math.round(performance.now() - started)} ms`);
    started = performance.now();
    await (await openStore({ dataDir })).close();
    console.log(`embedded open, existing data dir: ${Math.round(performance.now() - started)} ms`);
    await measure('embedded', { dataDir }, 1); // PGlite runs one statement at a time
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const schema = `signet_bench_${process.pid}`;
  try {
    await measure('postgres', { databaseUrl: PG_URL, schema, poolSize: 8 }, 8);
  } catch (err) {
    console.log(`postgres: skipped (${err instanceof Error ? err.message : String(err)})`);
  } finally {
    const admin = new PgClient({ databaseUrl: PG_URL, poolSize: 1 });
    await admin.execScript(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.close();
  }
}

await main();
