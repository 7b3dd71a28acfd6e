// SPDX-License-Identifier: Apache-2.0
// `npm run bench:client`: the signet CLI next to the notary CLI on the same
// notary-server (memory storage, local signer, a free port):
//   1. a 10,000-target repository, built the fast way: `signet init -p`,
//      10,000 target changes staged through the changelist, one `signet publish`;
//   2. `signet list` vs `notary list` of it, each from its own warm trust dir
//      (after one untimed run that fills the cache), median of several runs;
//   3. a 1,000-target publish: signet into a signet-made GUN, notary into a
//      notary-made GUN, the same kind of 1,000 staged changes, median of rounds;
//   4. the same publish into the 10,000-target repository, both CLIs on the
//      owner's one trust dir, each round's additions removed again (untimed),
//      so that every timed publish starts from 10,000 targets.
// Wall-clock times of whole CLI processes (node start-up included). Runtime
// about a minute on two shared cores; the server is always stopped.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { changeFileName, encodeChange } from '../client/changelist.js';
import { changelistDir } from '../client/trust-dir.js';
import { encodeFileMeta, targetFileFromBytes } from '../client/metadata.js';
import { startNotary } from './server-procs.js';

const LIST_TARGETS = 10_000;
const PUBLISH_TARGETS = 1_000;
const LIST_RUNS = 5;
const PUBLISH_ROUNDS = 3;
// The installed `signet` (package.json bin): the bundle scripts/bundle-cli.mjs writes.
const SIGNET = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'signet.cjs');
const ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  NOTARY_ROOT_PASSPHRASE: 'bench-root-pass',
  NOTARY_TARGETS_PASSPHRASE: 'bench-targets-pass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'bench-snapshot-pass',
  CI: 'true',
};

/** Runs a CLI to completion; returns milliseconds, throws on a non-zero exit. */
function timed(cmd: string, args: readonly string[], home: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: { ...ENV, HOME: home }, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Stage `count` target additions as change files in notary's changelist
 * format (both CLIs publish them). Written directly, without the per-file
 * fsync FileChangelist.add does: staging is setup here, not what is measured.
 */
function stage(trustDir: string, gun: string, prefix: string, count: number, action: 'create' | 'delete' = 'create'): void {
  const dir = changelistDir(trustDir, gun);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const base = BigInt(Date.now()) * 1_000_000n;
  for (let i = 0; i < count; i++) {
    const name = `${prefix}/${String(i).padStart(5, '0')}`;
    const data = action === 'create' ? encodeFileMeta(targetFileFromBytes(Buffer.from(`payload of ${name}\n`))) : null;
    fs.writeFileSync(path.join(dir, changeFileName(base + BigInt(i))), encodeChange({ action, role: 'targets', type: 'target', path: name, data }), { mode: 0o600 });
  }
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-bench-client-'));
  const server = await startNotary({ storage: 'memory', dir: work, logLevel: 'error' });
  const { url } = server;
  const signet = (dir: string, ...args: string[]): number => timed(process.execPath, [SIGNET, '-s', url, '-d', dir, ...args], work);
  const notary = (dir: string, ...args: string[]): number => timed('notary', ['-s', url, '-d', dir, ...args], work);
  const rows: Array<[string, number, number]> = [];
  try {
    const big = 'bench.example.com/ten-thousand';
    const owner = path.join(work, 'owner');
    signet(owner, 'init', big, '-p');
    const t = process.hrtime.bigint();
    stage(owner, big, 'release', LIST_TARGETS);
    const stageMs = Number(process.hrtime.bigint() - t) / 1e6;
    const bigPublish = signet(owner, 'publish', big);
    console.log(`setup: staged ${LIST_TARGETS} targets in ${stageMs.toFixed(0)} ms, signet publish of all of them ${bigPublish.toFixed(0)} ms`);

    const sReader = path.join(work, 'signet-reader');
    const nReader = path.join(work, 'notary-reader');
    signet(sReader, 'list', big);
    notary(nReader, 'list', big);
    const sList: number[] = [];
    const nList: number[] = [];
    for (let i = 0; i < LIST_RUNS; i++) {
      sList.push(signet(sReader, 'list', big));
      nList.push(notary(nReader, 'list', big));
    }
    rows.push([`list, ${LIST_TARGETS} targets (median of ${LIST_RUNS})`, median(sList), median(nList)]);

    const sGun = 'bench.example.com/signet-publish';
    const nGun = 'bench.example.com/notary-publish';
    const sOwner = path.join(work, 'signet-owner');
    const nOwner = path.join(work, 'notary-owner');
    signet(sOwner, 'init', sGun, '-p');
    notary(nOwner, 'init', nGun, '-p');
    const sPub: number[] = [];
    const nPub: number[] = [];
    for (let round = 0; round < PUBLISH_ROUNDS; round++) {
      stage(sOwner, sGun, `round${round}`, PUBLISH_TARGETS);
      stage(nOwner, nGun, `round${round}`, PUBLISH_TARGETS);
      sPub.push(signet(sOwner, 'publish', sGun));
      nPub.push(notary(nOwner, 'publish', nGun));
    }
    rows.push([`publish, ${PUBLISH_TARGETS} staged targets (median of ${PUBLISH_ROUNDS})`, median(sPub), median(nPub)]);

    // Where the two lines cross: the per-target work of a publish against its fixed start-up cost.
    const sBig: number[] = [];
    const nBig: number[] = [];
    for (let round = 0; round < PUBLISH_ROUNDS; round++) {
      for (const [who, times] of [['signet', sBig], ['notary', nBig]] as const) {
        const prefix = `big-${who}${round}`;
        stage(owner, big, prefix, PUBLISH_TARGETS);
        times.push(who === 'signet' ? signet(owner, 'publish', big) : notary(owner, 'publish', big));
        stage(owner, big, prefix, PUBLISH_TARGETS, 'delete');
        signet(owner, 'publish', big);
      }
    }
    rows.push([`publish, ${PUBLISH_TARGETS} staged into ${LIST_TARGETS} (median of ${PUBLISH_ROUNDS})`, median(sBig), median(nBig)]);
  } finally {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`\n${'case'.padEnd(w)}  signet ms  notary ms  signet/notary`);
  for (const [name, s, n] of rows) console.log(`${name.padEnd(w)}  ${s.toFixed(0).padStart(9)}  ${n.toFixed(0).padStart(9)}  ${(s / n).toFixed(2).padStart(13)}`);
}

await main();
