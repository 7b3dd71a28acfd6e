// SPDX-License-Identifier: Apache-2.0
// `signet key rotate <gun> <role>` (see client/rotation.ts for what happens
// and in which order). Output as notary's: "Successfully rotated <role> key
// for repository <gun>". Rotating root asks for confirmation (-y in scripts).

import fs from 'node:fs';
import type { Command } from 'commander';
import { DeserializationError, UsageError } from '../../shared/errors.js';
import { assertGun } from '../../shared/tuf/names.js';
import { parsePemBlocks, PemError, type PemBlock } from '../../keys/pem.js';
import { MetadataCache } from '../cache.js';
import { NotaryRemote } from '../remote.js';
import { rotateKey } from '../rotation.js';
import { createHttpSend } from '../http-transport.js';
import { confirm, credentialsFor, envOf, keyStoreFor, passphraseSource, resolveConfig, type KeyGlobals, type KeyIo } from '../key-context.js';
import { csvValues } from './context.js';

/**
 * A --key file must hold exactly one PEM private key; checked before anything is asked or sent.
 * @throws {UsageError} naming the file and what it holds instead.
 */
function checkKeyFile(file: string, text: string): void {
  let blocks: PemBlock[];
  try {
    blocks = parsePemBlocks(text);
  } catch (cause) {
    throw new UsageError(`--key ${file} is not PEM: ${cause instanceof PemError ? cause.message : 'unreadable'}`, { cause });
  }
  const keys = blocks.filter((b) => b.type.endsWith('PRIVATE KEY'));
  if (keys.length === 1) return;
  const others = blocks.filter((b) => !b.type.endsWith('PRIVATE KEY')).map((b) => b.type);
  const holds = keys.length === 0 && others.length > 0 ? ` (it holds ${[...new Set(others)].join(', ')}; give the private key file)` : '';
  throw new UsageError(`--key ${file} must hold exactly one PEM private key, found ${keys.length}${holds}`);
}

type Run = (action: (g: KeyGlobals) => Promise<void>) => Promise<void>;

export function registerKeyRotate(key: Command, io: KeyIo, run: Run): void {
  key
    .command('rotate')
    .description(
      'rotate the key of a top-level role and publish the new root right away (no staged changes are published). ' +
        'Refused unless a client that trusts the current root accepts the result',
    )
    .argument('<gun>')
    .argument('<role>', 'root, targets, snapshot or timestamp')
    .option('-r, --server-managed', 'the server makes and holds the new key (snapshot, timestamp)')
    .option('-k, --key <file>', 'private key file(s) to rotate to instead of a new key (repeatable, comma-separated)', csvValues)
    .option('-p, --publish', 'publish right away (always: a rotation is published at once, as in notary)')
    .option('-y, --yes', 'do not ask before rotating the root key')
    .option('-l, --legacy <n>', 'also sign the new root with the root keys you hold of this many earlier root versions (-1: all), for clients too old to follow root versions one by one', '0')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ signet key rotate example.com/app snapshot -r     # the server signs snapshots from now on (delegates can publish)\n' +
        '  $ signet key rotate example.com/app targets\n' +
        '  $ signet key rotate example.com/app root -y\n' +
        '  $ signet key rotate example.com/app root -y --legacy 2   # old root keys of 2 earlier versions sign too\n' +
        '  $ signet key rotate example.com/app targets --key new-targets.pem\n',
    )
    .action((gun: string, role: string, o: { serverManaged?: boolean; key?: string[]; yes?: boolean; legacy: string }) =>
      run(async (g) => {
        try {
          assertGun(gun);
        } catch (e) {
          if (e instanceof DeserializationError) throw new UsageError(e.message, { cause: e });
          throw e;
        }
        const legacyVersions = Number(o.legacy);
        if (!Number.isSafeInteger(legacyVersions) || legacyVersions < -1) throw new UsageError(`--legacy must be a whole number of root versions, or -1 for all of them; got ${JSON.stringify(o.legacy)}`);
        const keyPems = (o.key ?? []).map((f) => {
          let text: string;
          try {
            text = fs.readFileSync(f, 'utf8');
          } catch (cause) {
            throw new UsageError(`cannot read key file ${f} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
          }
          checkKeyFile(f, text);
          return text;
        });
        if (role === 'root') {
          const question = 'Warning: you are about to rotate your root key.\n\nYou must use your old key to sign this root rotation.\nAre you sure you want to proceed?';
          if (!(await confirm(io, question, o.yes === true))) {
            io.stdout.write('\nAborting action.\n');
            return;
          }
        }
        const config = resolveConfig(g, io);
        const retriever = passphraseSource(io);
        const result = await rotateKey(
          {
            gun,
            // notary asks for admin (`*`) access for key rotation
            remote: new NotaryRemote({ serverUrl: config.serverUrl, gun, tls: config.tls, send: createHttpSend(config.tls, { env: envOf(io) }), access: '*', credentials: credentialsFor(io, config, gun) }),
            cache: new MetadataCache(config.trustDir, gun),
            pinning: config.trustPinning,
            now: new Date(),
            keys: keyStoreFor(config, retriever, io).keys,
            trustDir: config.trustDir,
            retriever,
          },
          { role, serverManaged: o.serverManaged === true, keyPems, legacyVersions },
        );
        for (const w of result.warnings) io.stderr.write(`warning: ${w}\n`);
        if (g.output === 'json') json(io, { gun, role: result.role, newKeyIds: result.newKeyIds, rootVersion: result.rootVersion, published: result.published, retired: result.retired });
        else io.stdout.write(`Successfully rotated ${result.role} key for repository ${gun}\n`);
      }),
    );
}

function json(io: KeyIo, v: unknown): void {
  io.stdout.write(JSON.stringify(v, null, 2) + '\n');
}
