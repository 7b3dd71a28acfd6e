// SPDX-License-Identifier: Apache-2.0
// Public surface of keys/pkcs11 and the two hooks the applications call:
//   keyStoresWithToken  the client: [token store, file store] when a module is
//                       configured (SIGNET_PKCS11_MODULE or the config file),
//                       else [file store] unchanged;
//   openServerTokenStore  signet-server: a logged-in token store for its
//                       timestamp and snapshot keys.
// Sessions are shared per module and token within a process, so one command
// logs in (and asks for the PIN) once.

import { TokenError } from '../../shared/errors.js';
import type { KeyStore } from '../key-store.js';
import type { PassphraseRetriever } from '../passphrase.js';
import { envPinSource, filePinSource, PIN_ENV, promptPinSource, type PinSource } from './pin.js';
import { tokenSettings } from './settings.js';
import { Pkcs11TokenStore } from './token-store.js';
import { TokenSession, type TokenSelector } from './token-session.js';

export { CK, openPkcs11Module, type Attribute, type Handle, type Pkcs11Binding, type TokenInfo } from './binding.js';
export { envPinSource, filePinSource, PIN_ENV, promptPinSource, type PinRequest, type PinSource } from './pin.js';
export { tokenSettings, type TokenSettings } from './settings.js';
export { Pkcs11TokenStore, type Pkcs11TokenStoreOptions } from './token-store.js';
export { TokenSession, MAX_PIN_ATTEMPTS, type TokenSelector, type TokenSessionOptions } from './token-session.js';
export type { TokenKey } from './token-objects.js';

const sessions = new Map<string, TokenSession>();

function sharedSession(modulePath: string, selector: TokenSelector, pin: PinSource, notify: (m: string) => void): TokenSession {
  const key = `${modulePath}\0${selector.label ?? ''}\0${selector.slot ?? ''}`;
  let session = sessions.get(key);
  if (session === undefined) {
    session = new TokenSession({ modulePath, selector, pin, notify });
    sessions.set(key, session);
  }
  return session;
}

export interface ClientTokenOptions {
  readonly env: NodeJS.ProcessEnv;
  /** The client config file, for its `pkcs11` section. */
  readonly configFile?: string;
  /** Passphrases for importing encrypted key files onto the token. */
  readonly retriever?: PassphraseRetriever;
  readonly input?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** PIN prompts and notices (touch, fallback); default stderr. */
  readonly output?: NodeJS.WritableStream;
}

/**
 * The key stores of a client command: a token store in front of `fileStore`
 * when a PKCS#11 module is configured, else `fileStore` alone. Nothing is
 * loaded or opened until a key operation needs the token.
 * @throws {ConfigError} for unusable token settings.
 */
export function keyStoresWithToken(fileStore: KeyStore, options: ClientTokenOptions): KeyStore[] {
  const settings = tokenSettings(options.env, options.configFile);
  if (settings === null) return [fileStore];
  const output = options.output ?? process.stderr;
  const notify = (m: string): void => void output.write(`${m}\n`);
  const pin = envPinSource(options.env, PIN_ENV, promptPinSource({ env: options.env, output, ...(options.input === undefined ? {} : { input: options.input }) }));
  const selector: TokenSelector = { ...(settings.label === undefined ? {} : { label: settings.label }), ...(settings.slot === undefined ? {} : { slot: settings.slot }) };
  const token = new Pkcs11TokenStore({
    session: sharedSession(settings.modulePath, selector, pin, notify),
    roles: settings.roles,
    delegate: fileStore,
    backup: settings.backup,
    fallbackToDelegate: settings.fallback,
    touchMessage: settings.touch,
    notify,
    ...(options.retriever === undefined ? {} : { retriever: options.retriever }),
  });
  return [token, fileStore];
}

/**
 * Whether a new `role` key made through `stores` (the first store makes it,
 * as CryptoService.create does) needs a file passphrase: not when it goes on
 * a present token without a file backup.
 */
export async function newKeyNeedsPassphrase(stores: readonly KeyStore[], role: string): Promise<boolean> {
  const first = stores[0];
  if (!(first instanceof Pkcs11TokenStore) || !first.roles.has(role)) return true;
  return !(await first.available()) || first.backsUp;
}

/** The token store among `stores` that takes new `role` keys, when its token is present. */
export async function tokenStoreFor(stores: readonly KeyStore[], role: string): Promise<Pkcs11TokenStore | undefined> {
  for (const s of stores) if (s instanceof Pkcs11TokenStore && s.roles.has(role) && (await s.available())) return s;
  return undefined;
}

/** Closes every session the hooks opened (they are closed on process exit anyway). */
export async function closeTokenSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  for (const s of all) await s.close();
}

export interface ServerTokenSettings {
  readonly modulePath: string;
  readonly label?: string;
  readonly slot?: number;
  /** `env:NAME` or `file:PATH`; default `env:SIGNET_PKCS11_PIN`. */
  readonly pinSource?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A PinSource from `env:NAME` / `file:PATH`.
 * @throws {TokenError} PASSPHRASE_REQUIRED for another form.
 */
export function pinSourceFrom(spec: string, env: NodeJS.ProcessEnv = process.env): PinSource {
  if (spec.startsWith('env:') && spec.length > 4) return envPinSource(env, spec.slice(4));
  if (spec.startsWith('file:') && spec.length > 5) return filePinSource(spec.slice(5));
  // SECURITY: the spec is not echoed: it may be a PIN given in the wrong place.
  throw new TokenError('PASSPHRASE_REQUIRED', 'the PIN source must be env:NAME (a variable holding the PIN) or file:PATH, e.g. env:SIGNET_PKCS11_PIN or file:/run/secrets/token-pin');
}

/**
 * signet-server's token store (timestamp and snapshot keys, no file store),
 * logged in before it is returned so a wrong PIN or a missing token stops the
 * server at startup rather than at the first publish.
 * @throws {TokenError} PKCS11_UNAVAILABLE, TOKEN_MISSING, TOKEN_LOCKED, PASSPHRASE_REQUIRED/WRONG.
 */
export async function openServerTokenStore(settings: ServerTokenSettings): Promise<Pkcs11TokenStore> {
  const selector: TokenSelector = { ...(settings.label === undefined ? {} : { label: settings.label }), ...(settings.slot === undefined ? {} : { slot: settings.slot }) };
  const session = new TokenSession({ modulePath: settings.modulePath, selector, pin: pinSourceFrom(settings.pinSource ?? `env:${PIN_ENV}`, settings.env) });
  const store = new Pkcs11TokenStore({ session, roles: ['timestamp', 'snapshot'] });
  try {
    await session.run(true, () => undefined);
  } catch (err) {
    await session.close();
    throw err;
  }
  return store;
}
