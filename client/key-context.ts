// SPDX-License-Identifier: Apache-2.0
// What the `signet key …` commands need from the global flags and the
// process: the resolved configuration (the same rules as every other
// command), the passphrase source, registry credentials, the trust
// directory's key store, and a yes/no confirmation that never blocks a
// script: without a terminal the caller must pass -y.

import { read } from 'read';
import { KeyStoreError, RemoteError, UsageError } from '../shared/errors.js';
import { CryptoService, defaultPassphraseRetriever, FileKeyStore, isCiEnv, promptPassphraseRetriever, readHidden, type PassphraseRetriever } from '../keys/index.js';
import { keyStoresWithToken } from '../keys/pkcs11/index.js';
import { defaultEnvironment, loadConfig, type ClientConfig, type ConfigFlags } from './config.js';
import { credentialSource, resolveCredentials, type CredentialSource } from './credentials.js';
import type { CliIo } from './cli.js';

/** The key commands run with the CLI's streams and environment. */
export type KeyIo = CliIo;

/** The global flags the key commands read (a subset of the CLI's). */
export interface KeyGlobals {
  server?: string;
  trustDir?: string;
  configFile?: string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  output: 'text' | 'json';
  outputFile?: string;
}

export function envOf(io: KeyIo): NodeJS.ProcessEnv {
  return io.env ?? process.env;
}

/** @throws {ConfigError} as loadConfig does. */
export function resolveConfig(g: KeyGlobals, io: KeyIo): ClientConfig {
  const env = envOf(io);
  const flags: ConfigFlags = {
    ...(g.configFile === undefined ? {} : { configFile: g.configFile }),
    ...(g.trustDir === undefined ? {} : { trustDir: g.trustDir }),
    ...(g.server === undefined ? {} : { server: g.server }),
    ...(g.tlscacert === undefined ? {} : { tlsCaCert: g.tlscacert }),
    ...(g.tlscert === undefined ? {} : { tlsCert: g.tlscert }),
    ...(g.tlskey === undefined ? {} : { tlsKey: g.tlskey }),
  };
  const base = defaultEnvironment();
  return loadConfig(flags, { home: env.HOME ?? base.home, cwd: io.cwd ?? base.cwd });
}

/** Environment (NOTARY_*, then DOCKER_CONTENT_TRUST_*), then a TTY prompt. */
export function passphraseSource(io: KeyIo): PassphraseRetriever {
  return io.retriever ?? defaultPassphraseRetriever({ env: envOf(io), output: io.stderr, ...(io.stdin === undefined ? {} : { input: io.stdin }) });
}

/**
 * For `key passwd`: the current passphrase as usual, but the new one never
 * from the role's variable (that would re-encrypt with the old passphrase):
 * from SIGNET_NEW_PASSPHRASE when set, else typed twice at a terminal.
 */
export function passwdSource(io: KeyIo): PassphraseRetriever {
  if (io.retriever !== undefined) return io.retriever;
  const env = envOf(io);
  const current = passphraseSource(io);
  const prompt = promptPassphraseRetriever({ env, output: io.stderr, ...(io.stdin === undefined ? {} : { input: io.stdin }) });
  return async (req) => {
    if (!req.createNew) return current(req);
    const fromEnv = env.SIGNET_NEW_PASSPHRASE;
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    try {
      return await prompt(req);
    } catch (e) {
      // The prompt's own message names the role's variable, which passwd deliberately ignores here.
      if (!(e instanceof KeyStoreError && e.code === 'PASSPHRASE_REQUIRED')) throw e;
      throw new KeyStoreError('PASSPHRASE_REQUIRED', `a new passphrase for the ${req.role} key ${req.keyName} is needed and cannot be prompted for here; set SIGNET_NEW_PASSPHRASE`, { cause: e });
    }
  };
}

/**
 * The trust server login for `gun`, looked up (NOTARY_AUTH, docker config) only when the
 * server asks, and else asked for on a terminal as notary asks (never with CI=true or no TTY).
 */
export function credentialsFor(io: KeyIo, config: ClientConfig, gun: string): CredentialSource {
  const env = envOf(io);
  const input = io.stdin ?? process.stdin;
  const output = io.stderr;
  const cancelled = (cause: unknown): Error => new RemoteError('AUTH_REQUIRED', 'login entry was cancelled', { cause });
  return credentialSource({
    env,
    host: config.serverUrl,
    lookup: () => resolveCredentials(env, config.serverUrl, gun),
    prompt: {
      input,
      output,
      readLine: async (prompt) => {
        try {
          return await read({ prompt, input, output });
        } catch (cause) {
          throw cancelled(cause);
        }
      },
      readHidden: (prompt) => readHidden(prompt, input, output, cancelled),
    },
  });
}

/** The trust_dir file store, and all stores (with `io`: a PKCS#11 token first when one is configured). */
export function keyStoreFor(config: ClientConfig, retriever: PassphraseRetriever, io?: KeyIo): { store: FileKeyStore; keys: CryptoService } {
  const store = new FileKeyStore(config.trustDir, { retriever });
  const stores = io === undefined ? [store] : keyStoresWithToken(store, { env: envOf(io), configFile: config.configFile, retriever, output: io.stderr, ...(io.stdin === undefined ? {} : { input: io.stdin }) });
  return { store, keys: new CryptoService(stores) };
}

/**
 * Ask a yes/no question on the terminal; `assumeYes` (-y) skips it.
 * @throws {UsageError} without a terminal (or with CI=true) and without -y: a script must say -y.
 */
export async function confirm(io: KeyIo, question: string, assumeYes: boolean): Promise<boolean> {
  if (assumeYes) return true;
  const input = io.stdin;
  if (input === undefined || input.isTTY !== true || isCiEnv(envOf(io))) {
    throw new UsageError(`${question.replace(/\?\s*$/, '')}: this needs confirmation, and there is no terminal to ask on; pass -y to confirm`);
  }
  const answer = await read({ prompt: `${question}  (yes/no)  `, input, output: io.stderr });
  return /^y(es)?$/i.test(answer.trim());
}
