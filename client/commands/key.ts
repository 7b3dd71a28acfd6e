// SPDX-License-Identifier: Apache-2.0
// `signet key …`: list, generate, remove, passwd, import, export (this file)
// and rotate (key-rotate.ts), with notary's arguments and messages. Keys live
// in the trust directory (-d), in notary's file layout, so `notary` and
// `signet` can share it (Docker's ~/.docker/trust included).
// Registered from cli.ts with registerKeyCommands(program, io, run).

import fs from 'node:fs';
import type { Command } from 'commander';
import { KeyStoreError, UnsafeKeyChangeError, UsageError } from '../../shared/errors.js';
import { GUN_ROLES, type FileKeyStore, type GenerateAlgorithm, type KeyStore } from '../../keys/index.js';
import { confirm, keyStoreFor, passphraseSource, passwdSource, resolveConfig, type KeyGlobals, type KeyIo } from '../key-context.js';
import { formatKeyList, keyProblems, keyRows, keyRowToJson } from '../key-list.js';
import { exportKeys, generateKeyFiles, importKeyFiles } from '../key-transfer.js';
import { removalBlockers } from '../lifecycle.js';
import { registerKeyRotate } from './key-rotate.js';
import { csvValues, takesOutputFile } from './context.js';

export type KeyRun = (action: (g: KeyGlobals) => Promise<void>) => Promise<void>;

const KEY_ID = /^[0-9a-f]{64}$/;

function checkKeyId(keyId: string): void {
  if (!KEY_ID.test(keyId)) throw new UsageError(`invalid key ID provided: ${JSON.stringify(keyId)}; key IDs are the 64 hex digits shown by \`signet key list\``);
}

/** The stores that list `keyId` among their usable keys, in the order given. */
async function storesListing(stores: readonly KeyStore[], keyId: string): Promise<KeyStore[]> {
  const out: KeyStore[] = [];
  for (const s of stores) if ((await s.list()).some((k) => k.keyId === keyId && k.problem === undefined)) out.push(s);
  return out;
}

/**
 * Where `key export` / `key passwd` act on `keyId`: the trust dir's file when it holds one (a token
 * key's backup included), else the store that lists it (a token, which says why it cannot), else
 * the file store, whose error says the key is not there.
 */
async function fileFirstHolder(files: FileKeyStore, stores: readonly KeyStore[], keyId: string): Promise<KeyStore> {
  const holders = await storesListing(stores, keyId);
  return holders.includes(files) ? files : holders[0] ?? files;
}

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

export function registerKeyCommands(program: Command, io: KeyIo, run: KeyRun): Command {
  const out = (s: string): void => {
    io.stdout.write(s);
  };
  const json = (v: unknown): void => out(JSON.stringify(v, null, 2) + '\n');
  const key = program.command('key').description('operate on private keys (list, generate, import, export, rotate, ...)');

  key
    .command('list')
    .description(
      'list the private keys in the trust directory (canonical key IDs, as notary). ' +
        'With --output json: an array of {"keyId" (canonical), "role", "gun" (null for keys of no repository), "algorithm", ' +
        '"location" (the key store), "file" (the key file; the store for a token key), "problem"? (why the key is unusable; such keys are only in the JSON)}',
    )
    .addHelpText('after', examples('signet key list', 'signet -d ~/.docker/trust key list', 'signet --output json key list'))
    .action(() =>
      run(async (g) => {
        const config = resolveConfig(g, io);
        const rows = await keyRows(keyStoreFor(config, passphraseSource(io), io).keys.stores);
        for (const line of keyProblems(rows)) io.stderr.write(`${line}\n`);
        if (g.output === 'json') json(rows.map(keyRowToJson));
        else out(formatKeyList(rows));
      }),
    );

  takesOutputFile(key.command('generate'))
    .description('generate a new private key (default ecdsa P-256, role root), kept in the trust directory or written to files with -o')
    .argument('[algorithm]', 'ecdsa, ed25519 or rsa (4096 bits)', 'ecdsa')
    .option('-r, --role <role>', 'role of the new key', 'root')
    .option('-g, --gun <gun>', 'repository of a targets or snapshot key')
    .option('-o, --out <file>', "write <file>-key.pem (encrypted) and <file>.pem (public) instead of storing the key (notary's --output <file> works too)")
    .addHelpText('after', examples('signet key generate', 'signet key generate ecdsa --role targets/releases', 'signet key generate rsa --role targets/ci -o ci-signer'))
    .action((algorithm: string, o: { role: string; gun?: string; out?: string }) =>
      run(async (g) => {
        const outFile = o.out ?? g.outputFile;
        const alg = algorithm.toLowerCase();
        if (alg !== 'ecdsa' && alg !== 'ed25519' && alg !== 'rsa') throw new UsageError(`algorithm ${JSON.stringify(algorithm)} is not supported; use ecdsa, ed25519 or rsa`);
        const gun = o.gun === undefined ? {} : { gun: o.gun };
        const retriever = passphraseSource(io);
        if (outFile !== undefined) {
          const r = await generateKeyFiles({ role: o.role, ...gun, algorithm: alg, out: outFile, retriever });
          if (g.output === 'json') json({ keyId: r.keyId, algorithm: alg, role: o.role, privateKeyFile: r.privateFile, publicKeyFile: r.publicFile });
          else out(`Generated new ${alg} ${o.role} key with keyID: ${r.keyId}\nPrivate key (encrypted): ${r.privateFile}\nPublic key: ${r.publicFile}\n`);
          return;
        }
        const { keys } = keyStoreFor(resolveConfig(g, io), retriever, io);
        const pub = await keys.create({ role: o.role, ...gun, algorithm: alg as GenerateAlgorithm });
        // the key file keeps a gun only for targets/snapshot/timestamp keys (as notary)
        if (g.output === 'json') json({ keyId: pub.id, algorithm: alg, role: o.role, ...(GUN_ROLES.includes(o.role) ? gun : {}) });
        else out(`Generated new ${alg} ${o.role} key with keyID: ${pub.id}\n`);
      }),
    );

  key
    .command('remove')
    .description('remove a private key; refused while it is one of the last keys able to sign a role of a repository in this trust directory')
    .argument('<keyID>')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--force', 'remove it even if a role is left with fewer keys than its threshold')
    .addHelpText('after', examples('signet key remove 1d755a17…0612', 'signet key remove <keyID> -y', 'signet key export --key <keyID> -o backup.pem && signet key remove <keyID> -y --force'))
    .action((keyId: string, o: { yes?: boolean; force?: boolean }) =>
      run(async (g) => {
        checkKeyId(keyId);
        const config = resolveConfig(g, io);
        const { store: files, keys } = keyStoreFor(config, passphraseSource(io), io);
        // the store holding the key: a token's or the trust dir's
        const listedIn = await Promise.all(keys.stores.map(async (s) => ({ s, keys: await s.list() })));
        const store = listedIn.find((x) => x.keys.some((k) => k.keyId === keyId))?.s ?? files;
        const listed = listedIn.flatMap((x) => x.keys);
        const info = listed.find((k) => k.keyId === keyId);
        if (info === undefined) throw new KeyStoreError('KEY_NOT_FOUND', `no key with ID ${keyId} found in ${files.privateDir}; see \`signet key list\``);
        const blockers = removalBlockers(config.trustDir, keyId, new Set(listed.filter((k) => k.problem === undefined).map((k) => k.keyId)));
        if (blockers.length > 0) {
          const what = blockers.map((b) => `${b.role} of ${b.gun} (threshold ${b.threshold}, ${b.remaining} other key(s) held)`).join('; ');
          if (o.force !== true) {
            // exit 4 like every refused unsafe key change (key rotate's, the docs' table)
            throw new UnsafeKeyChangeError(
              `refusing to remove key ${keyId}: without it you could no longer sign ${what}. ` +
                `Rotate the role to a new key first (signet key rotate <gun> <role>), or keep a backup (signet key export --key ${keyId} -o backup.pem), then pass --force`,
            );
          }
          io.stderr.write(`warning: removing key ${keyId} leaves you unable to sign ${what}\n`);
        }
        // notary: "<keyID> (role <role>) from <store>"
        const description = `${keyId} (role ${info.role === '' ? 'unknown' : info.role}) from ${store.name}`;
        if (!(await confirm(io, `Are you sure you want to remove ${description}?`, o.yes === true))) {
          out('\nAborting action.\n');
          return;
        }
        await store.remove(keyId);
        if (g.output === 'json') json({ removed: keyId, file: info.location, role: info.role });
        else out(`\nDeleted ${description}.\n\n`);
      }),
    );

  key
    .command('passwd')
    .description('change the passphrase of a private key (asks for the current one; the new one is typed twice, or SIGNET_NEW_PASSPHRASE)')
    .argument('<keyID>')
    .addHelpText('after', examples('signet key passwd 9d2559cd…21ac', 'NOTARY_ROOT_PASSPHRASE=old SIGNET_NEW_PASSPHRASE=new signet key passwd <keyID>'))
    .action((keyId: string) =>
      run(async (g) => {
        checkKeyId(keyId);
        const { store: files, keys } = keyStoreFor(resolveConfig(g, io), passwdSource(io), io);
        // a key on a token has no passphrase: its store says so (the token's PIN protects it)
        await (await fileFirstHolder(files, keys.stores, keyId)).changePassphrase(keyId);
        if (g.output === 'json') json({ keyId, passphraseChanged: true });
        else out(`\nSuccessfully updated passphrase for key ID: ${keyId}\n`);
      }),
    );

  key
    .command('import')
    .description('import every private key of PEM files (openssl keys, Docker client bundle key.pem, `key export` output); unencrypted keys are encrypted before they are stored')
    .argument('<pemfile...>')
    .option('-r, --role <role>', 'role for keys whose PEM has no role header (default: delegation)')
    .option('-g, --gun <gun>', 'repository for targets/snapshot keys whose PEM has no gun header')
    .addHelpText('after', examples('signet key import releases.key --role targets/releases', 'signet key import bundle/key.pem --role targets/jenkins', 'signet key import backup.pem'))
    .action((files: string[], o: { role?: string; gun?: string }) =>
      run(async (g) => {
        // with a token configured, root keys (SIGNET_PKCS11_ROLES) go onto it, others to the trust dir
        const report = await importKeyFiles(keyStoreFor(resolveConfig(g, io), passphraseSource(io), io).keys.stores[0]!, files, o);
        if (g.output === 'json') json({ imported: report.imported.map((k) => ({ keyId: k.keyId, source: k.source })), failures: report.failures });
        else for (const k of report.imported) out(`Imported key ${k.keyId} from ${k.source}\n`);
        if (report.failures.length > 0) {
          for (const f of report.failures) io.stderr.write(`error: ${f}\n`);
          throw new KeyStoreError('KEY_FILE_INVALID', `${report.failures.length} key(s) could not be imported (see above); the others were`);
        }
      }),
    );

  takesOutputFile(key.command('export'))
    .description('export private keys, encrypted as stored, in the format `key import` (and notary) read back')
    .option('--key <keyID>', 'key ID to export (repeatable, comma-separated)', csvValues)
    .option('--gun <gun>', 'export the keys of these repositories (repeatable, comma-separated)', csvValues)
    .option('-o, --out <file>', "write to this file (mode 0600) instead of stdout (notary's --output <file> works too)")
    .addHelpText('after', examples('signet key export -o all-keys.pem', 'signet key export --key 9d2559cd…21ac -o root-backup.pem', 'signet key export --gun example.com/app'))
    .action((o: { key?: string[]; gun?: string[]; out?: string }) =>
      run(async (g) => {
        const { store, keys } = keyStoreFor(resolveConfig(g, io), passphraseSource(io), io);
        // a --key that is only on a token: its store refuses with why (the private key never leaves the token)
        for (const id of o.key ?? []) {
          const holder = await fileFirstHolder(store, keys.stores, id);
          if (holder !== store) await holder.exportPem(id);
        }
        const text = await exportKeys(store, { ...(o.key === undefined ? {} : { keyIds: o.key }), ...(o.gun === undefined ? {} : { guns: o.gun }) });
        const outFile = o.out ?? g.outputFile;
        if (outFile === undefined) {
          out(text);
          return;
        }
        try {
          fs.writeFileSync(outFile, text, { mode: 0o600 });
          fs.chmodSync(outFile, 0o600);
        } catch (cause) {
          throw new UsageError(`cannot write ${outFile} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
        }
      }),
    );

  registerKeyRotate(key, io, run);
  return key;
}


