// SPDX-License-Identifier: Apache-2.0
// Where a login for a trust server or registry comes from, in docker's and
// notary's order: an environment variable (NOTARY_AUTH, SIGNET_REGISTRY_AUTH),
// else docker's config.json (a credential helper named by `credHelpers` for the
// host, else `credsStore`, else the `auths` entry, identity tokens included),
// else a prompt on a terminal. Nothing is looked up until a server asks for a
// login (CredentialSource): offline commands never read or run any of it.
// Passwords, tokens and helper output never reach logs or error messages.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RemoteError, UsageError } from '../shared/errors.js';
import { isCiEnv } from '../keys/index.js';

export interface Credentials {
  readonly username: string;
  /** Empty when the login is an identity token. */
  readonly password: string;
  /** A docker identity (refresh) token: exchanged at the realm with OAuth instead of Basic. */
  readonly identityToken?: string;
  /** Where the login came from, for messages: `NOTARY_AUTH`, `docker-credential-osxkeychain`, ... */
  readonly origin?: string;
}

/** Asked only when a server first wants a login; each answer is resolved once. */
export interface CredentialSource {
  /** The login at hand (environment, docker config), or null. */
  known(): Promise<Credentials | null>;
  /** One typed at a terminal, or null where nobody can be asked (CI=true, no TTY). */
  prompt(): Promise<Credentials | null>;
}

/** What the remote clients accept: a login, none, or a source asked on the first challenge. */
export type CredentialsInput = Credentials | null | CredentialSource;

const isSource = (input: CredentialsInput): input is CredentialSource => input !== null && 'known' in input;

export function asCredentialSource(input: CredentialsInput | undefined): CredentialSource {
  if (input !== undefined && isSource(input)) return input;
  const fixed = Promise.resolve(input ?? null);
  return { known: () => fixed, prompt: () => Promise.resolve(null) };
}

/** `(from NOTARY_AUTH)` for messages, or nothing when the origin is unknown. */
export function originNote(c: Credentials): string {
  return c.origin === undefined ? '' : ` (from ${c.origin})`;
}

/**
 * Parse NOTARY_AUTH-style variables (base64 of `user:password`); undefined or empty means none.
 * Line breaks are ignored, as Go's decoder ignores them: `base64` wraps long values at 76 columns.
 * @throws {UsageError} when it is set but malformed (notary logs and continues anonymously).
 */
export function credentialsFromEnv(value: string | undefined, name = 'NOTARY_AUTH'): Credentials | null {
  if (value === undefined || value === '') return null;
  const compact = value.replace(/[\r\n]/g, '');
  // Go's StdEncoding: padded standard base64
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw new UsageError(`${name} is not padded base64; set it to the base64 encoding of user:password`);
  }
  const plain = Buffer.from(compact, 'base64').toString('utf8');
  const i = plain.indexOf(':');
  if (i <= 0) throw new UsageError(`${name} must encode user:password with a non-empty user name`);
  // notary trims the password
  return { username: plain.slice(0, i), password: plain.slice(i + 1).trim(), origin: name };
}

/** Docker's config directory: $DOCKER_CONFIG, else ~/.docker. */
function dockerConfigFile(env: NodeJS.ProcessEnv): string | null {
  if (env.DOCKER_CONFIG !== undefined && env.DOCKER_CONFIG !== '') return path.join(env.DOCKER_CONFIG, 'config.json');
  return env.HOME === undefined || env.HOME === '' ? null : path.join(env.HOME, '.docker', 'config.json');
}

/** `https://index.docker.io/v1/`, `registry:5000`, `http://host/` -> the lower-case host[:port]. */
function registryHost(key: string): string {
  return key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

/**
 * The registry hosts whose docker login may open `gun` on `serverUrl`, most
 * specific first: the GUN's registry (docker's rule: a first path segment with
 * a dot or port, or `localhost`; `docker.io` is stored as index.docker.io),
 * then the trust server's own host.
 */
export function dockerCredentialHosts(serverUrl: string, gun: string): string[] {
  const hosts: string[] = [];
  const first = gun.split('/')[0] ?? '';
  if (gun.includes('/') && (/[.:]/.test(first) || first === 'localhost')) {
    const h = first.toLowerCase();
    hosts.push(...(h === 'docker.io' || h === 'index.docker.io' ? ['index.docker.io', 'docker.io'] : [h]));
  }
  try {
    hosts.push(new URL(serverUrl).host.toLowerCase());
  } catch {
    // an unusable server URL is reported by the config loader
  }
  return [...new Set(hosts)];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A credential helper gets up to a minute: some ask for a keychain or GPG unlock. */
const HELPER_TIMEOUT_MS = 60_000;

/**
 * `docker-credential-<name> get` for one host, as docker runs it: the server address on
 * stdin, `{"ServerURL","Username","Secret"}` on stdout; a Username of `<token>` makes the
 * Secret an identity token. Null when the helper holds nothing for the host.
 * @throws {UsageError} when the helper cannot be run or fails otherwise.
 */
function fromHelper(name: string, host: string, configFile: string, env: NodeJS.ProcessEnv): Credentials | null {
  const program = `docker-credential-${name}`;
  // docker asks its hub's helper entry by the legacy index URL
  const serverAddress = host === 'index.docker.io' || host === 'docker.io' ? 'https://index.docker.io/v1/' : host;
  const r = spawnSync(program, ['get'], { input: serverAddress, env, encoding: 'utf8', timeout: HELPER_TIMEOUT_MS, maxBuffer: 1 << 20 });
  if (r.error !== undefined) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${configFile} names the credential helper "${name}" for ${host}, but ${program} is not on PATH; install it, or set NOTARY_AUTH`);
    throw new UsageError(`${program} did not answer for ${host} (${code ?? r.error.message}); check the helper, or set NOTARY_AUTH`, { cause: r.error });
  }
  if (r.status !== 0) {
    // docker's helpers say this when they hold nothing for the address
    if (/credentials not found/i.test(r.stdout) || /credentials not found/i.test(r.stderr)) return null;
    const said = (r.stderr.trim() || r.stdout.trim()).split('\n')[0]?.slice(0, 200) ?? '';
    throw new UsageError(`${program} failed for ${host} (exit ${r.status ?? r.signal}${said === '' ? '' : `: ${said}`}); check the helper, or set NOTARY_AUTH`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch (cause) {
    throw new UsageError(`${program} answered for ${host} with something that is not JSON; check the helper, or set NOTARY_AUTH`, { cause });
  }
  if (!isObject(doc) || typeof doc.Username !== 'string' || typeof doc.Secret !== 'string' || doc.Secret === '') {
    throw new UsageError(`${program} answered for ${host} without a Username and Secret; run \`docker login ${host}\` again`);
  }
  if (doc.Username === '<token>') return { username: '', password: '', identityToken: doc.Secret, origin: program };
  return { username: doc.Username, password: doc.Secret, origin: program };
}

/** An `auths` entry: `auth` (base64 of user:password) or `username`/`password`, with an optional `identitytoken`. */
function fromAuthsEntry(entry: Json, host: string, configFile: string): Credentials | null {
  let username = '';
  let password = '';
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const plain = /^[A-Za-z0-9+/]*={0,2}$/.test(entry.auth) ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
    const i = plain.indexOf(':');
    if (i <= 0) throw new UsageError(`${configFile}: auths entry for ${host} has an "auth" value that is not base64 of user:password; run \`docker login ${host}\` again`);
    username = plain.slice(0, i);
    password = plain.slice(i + 1);
  } else if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    username = entry.username;
    password = entry.password;
  }
  const origin = configFile;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') return { username, password: '', identityToken: entry.identitytoken, origin };
  return username === '' ? null : { username, password, origin };
}

/**
 * Registry credentials from docker's config.json for the first of `hosts` that has any, looked
 * up as docker does: `credHelpers[host]`, else `credsStore` (their answer alone), else the
 * `auths` entry. A missing
 * or unparsable file means no credentials: docker reports its own file's problems.
 * @throws {UsageError} when the matching entry is malformed or its helper fails.
 */
export function credentialsFromDockerConfig(hosts: readonly string[], env: NodeJS.ProcessEnv): Credentials | null {
  const file = dockerConfigFile(env);
  if (file === null) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  if (!isObject(doc)) return null;
  const byHost = (section: unknown): Map<string, unknown> => {
    const m = new Map<string, unknown>();
    if (isObject(section)) for (const [key, value] of Object.entries(section)) if (!m.has(registryHost(key))) m.set(registryHost(key), value);
    return m;
  };
  const helpers = byHost(doc.credHelpers);
  const auths = byHost(doc.auths);
  const store = typeof doc.credsStore === 'string' && doc.credsStore !== '' ? doc.credsStore : undefined;
  for (const host of hosts) {
    const helper = helpers.get(host);
    const name = typeof helper === 'string' && helper !== '' ? helper : store;
    if (name !== undefined) {
      // docker takes a helper's answer alone, even an empty one: `auths` then holds no login
      const fromStore = fromHelper(name, host, file, env);
      if (fromStore !== null) return fromStore;
      continue;
    }
    const entry = auths.get(host);
    const fromFile = isObject(entry) ? fromAuthsEntry(entry, host, file) : null;
    if (fromFile !== null) return fromFile;
  }
  return null;
}

/** NOTARY_AUTH when set (notary's variable wins), else the docker login for the GUN's registry or the server. */
export function resolveCredentials(env: NodeJS.ProcessEnv, serverUrl: string, gun: string): Credentials | null {
  return credentialsFromEnv(env.NOTARY_AUTH) ?? credentialsFromDockerConfig(dockerCredentialHosts(serverUrl, gun), env);
}

export interface LoginPrompt {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean };
  /** stderr: stdout stays clean for command output. */
  readonly output: NodeJS.WritableStream;
  /** Reads a visible line (the username). */
  readLine(prompt: string): Promise<string>;
  /** Reads a line without echo (the password). */
  readHidden(prompt: string): Promise<string>;
}

export interface CredentialSourceOptions {
  readonly env: NodeJS.ProcessEnv;
  /** The login at hand: an environment variable, else docker's config (may throw UsageError). */
  readonly lookup: () => Credentials | null;
  /** Named in the prompt's header: the server or registry that asked. */
  readonly host: string;
  /** When given, a terminal user is asked as notary asks (never when CI=true or without a TTY). */
  readonly prompt?: LoginPrompt;
}

/** A source that looks up the login, and asks for one, only when a server first wants it. */
export function credentialSource(opts: CredentialSourceOptions): CredentialSource {
  let known: Promise<Credentials | null> | undefined;
  let typed: Promise<Credentials | null> | undefined;
  const ask = async (p: LoginPrompt): Promise<Credentials | null> => {
    p.output.write(`${opts.host} asks for a login.\n`);
    const username = (await p.readLine('Enter username: ')).trim();
    if (username === '') return null;
    const password = await p.readHidden('Enter password:');
    return { username, password, origin: 'the prompt' };
  };
  return {
    known: () => (known ??= new Promise((resolve) => resolve(opts.lookup()))),
    prompt: () => {
      const p = opts.prompt;
      if (p === undefined || isCiEnv(opts.env) || p.input.isTTY !== true) return Promise.resolve(null);
      return (typed ??= ask(p));
    },
  };
}

/** A request's credentials must not travel in clear text where the request itself did not. */
export function assertCredentialsMayGo(target: URL, origin: URL | undefined, what: string): void {
  if (target.protocol !== 'http:' || origin?.protocol !== 'https:') return;
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)) return;
  throw new RemoteError(
    'HTTP_STATUS',
    `${origin.host} (https) sends logins to the plain-http token realm ${target.protocol}//${target.host}; signet will not send ${what} unencrypted: the server's token realm must be https`,
  );
}
