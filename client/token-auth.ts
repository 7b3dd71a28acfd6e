// SPDX-License-Identifier: Apache-2.0
// Docker registry token authentication, as notary's CLI does it through
// docker/distribution's auth handlers: a 401 carries
// `Www-Authenticate: Bearer realm="…",service="…",scope="…"`; the client asks
// the realm for a token (`GET realm?service=…&scope=…`, Basic credentials from
// NOTARY_AUTH when given), caches it per scope until it expires, and retries
// the request once with `Authorization: Bearer <token>`. A `Basic` challenge is
// answered with the credentials directly. Tokens and passwords are never logged
// or put in error messages. Credentials come from NOTARY_AUTH, else from
// docker's config.json `auths` (what `docker login` stored for the registry).

import fs from 'node:fs';
import path from 'node:path';
import { RemoteError, UsageError } from '../shared/errors.js';
import type { HttpResponse, HttpSend } from './http-transport.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface Challenge {
  /** Lower-case scheme: `bearer`, `basic`, ... */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const MAX_TOKEN_RESPONSE = 64 * 1024;
/** docker/distribution: tokens without a (sane) lifetime are kept 60 s. */
const MIN_TOKEN_LIFETIME_S = 60;

/**
 * Parse NOTARY_AUTH (base64 of `user:password`); undefined or empty means none.
 * @throws {UsageError} when it is set but malformed (notary logs and continues anonymously).
 */
export function credentialsFromEnv(value: string | undefined): Credentials | null {
  if (value === undefined || value === '') return null;
  // Go's StdEncoding: padded standard base64
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new UsageError('NOTARY_AUTH is not padded base64; set it to the base64 encoding of user:password');
  }
  const plain = Buffer.from(value, 'base64').toString('utf8');
  const i = plain.indexOf(':');
  if (i <= 0) throw new UsageError('NOTARY_AUTH must encode user:password with a non-empty user name');
  // notary trims the password
  return { username: plain.slice(0, i), password: plain.slice(i + 1).trim() };
}

export function basicAuthorization(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64');
}

const TOKEN = /[A-Za-z0-9!#$%&'*+.^_`|~-]+/y;

/** Parse a `Www-Authenticate` header into challenges (RFC 7235: scheme, then name=value or name="quoted" params). */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Array<{ scheme: string; params: Record<string, string> }> = [];
  let i = 0;
  const skipSpace = (): void => {
    while (header[i] === ' ' || header[i] === '\t') i++;
  };
  const token = (): string => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(header);
    if (m === null) return '';
    i += m[0].length;
    return m[0];
  };
  while (i < header.length) {
    skipSpace();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const word = token();
    if (word === '') break; // malformed: keep what was understood
    skipSpace();
    const current = out[out.length - 1];
    if (header[i] === '=' && current !== undefined) {
      i++;
      skipSpace();
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          value += header[i];
          i++;
        }
        i++;
      } else value = token();
      current.params[word.toLowerCase()] = value;
    } else out.push({ scheme: word.toLowerCase(), params: {} });
  }
  return out;
}

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** Tokens per (realm, service, scopes), kept for one CLI run. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  constructor(private readonly now: () => number = Date.now) {}

  get(key: string): string | null {
    const t = this.tokens.get(key);
    if (t === undefined || t.expiresAt <= this.now()) return null;
    return t.token;
  }

  set(key: string, token: string, lifetimeS: number): void {
    this.tokens.set(key, { token, expiresAt: this.now() + lifetimeS * 1000 });
  }
}

export interface TokenRequest {
  readonly challenge: Challenge;
  readonly scopes: readonly string[];
  readonly credentials: Credentials | null;
  readonly timeoutMs: number;
}

/**
 * Get a bearer token for the challenge, from the cache or the realm.
 * @throws {RemoteError} AUTH_REQUIRED when the realm refuses the credentials (or none were given), NETWORK/TIMEOUT on transport failure.
 */
export async function getBearerToken(send: HttpSend, cache: TokenCache, req: TokenRequest): Promise<string> {
  const realm = req.challenge.params.realm;
  if (realm === undefined || realm === '') {
    throw new RemoteError('AUTH_REQUIRED', 'the server asked for a bearer token but named no realm to get it from; check the server\'s auth configuration');
  }
  let url: URL;
  try {
    url = new URL(realm);
  } catch (cause) {
    throw new RemoteError('AUTH_REQUIRED', `the server's token realm ${JSON.stringify(realm)} is not a URL`, { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RemoteError('AUTH_REQUIRED', `the server's token realm ${realm} is not http(s)`);
  const service = req.challenge.params.service ?? '';
  const scopes = [...new Set(req.scopes)].sort();
  const key = JSON.stringify([url.href, service, scopes]);
  const cached = cache.get(key);
  if (cached !== null) return cached;

  if (service !== '') url.searchParams.set('service', service);
  for (const s of scopes) url.searchParams.append('scope', s);
  if (req.credentials !== null) url.searchParams.set('account', req.credentials.username);
  const headers: Record<string, string> = req.credentials === null ? {} : { authorization: basicAuthorization(req.credentials) };
  const res = await send({ method: 'GET', url, headers, maxBytes: MAX_TOKEN_RESPONSE, timeoutMs: req.timeoutMs });
  if (res.status === 401 || res.status === 403) {
    throw new RemoteError(
      'AUTH_REQUIRED',
      req.credentials === null
        ? `the token server ${url.host} requires credentials for ${scopes.join(' ')}; set NOTARY_AUTH to base64 of user:password`
        : `the token server ${url.host} refused the credentials of user ${req.credentials.username} for ${scopes.join(' ')}`,
      { httpStatus: res.status },
    );
  }
  if (res.status !== 200) throw new RemoteError('HTTP_STATUS', `the token server ${url.host} answered ${res.status}`, { httpStatus: res.status });
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body.toString('utf8'));
  } catch (cause) {
    throw new RemoteError('HTTP_STATUS', `the token server ${url.host} sent a response that is not JSON`, { cause });
  }
  const body = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const token = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token;
  if (typeof token !== 'string' || token === '') throw new RemoteError('HTTP_STATUS', `the token server ${url.host} sent no token`);
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > MIN_TOKEN_LIFETIME_S ? body.expires_in : MIN_TOKEN_LIFETIME_S;
  cache.set(key, token, expiresIn);
  return token;
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

/**
 * Registry credentials from docker's config.json `auths` (`auth` = base64 of
 * user:password, or `username`/`password`), as `docker login` stores them.
 * Credential helpers (`credsStore`, `credHelpers`) are not run. A missing or
 * unparsable file means no credentials: docker reports its own file's problems.
 * @throws {UsageError} when the matching entry exists but is malformed.
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
  const auths = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).auths : undefined;
  if (typeof auths !== 'object' || auths === null) return null;
  const byHost = new Map<string, Record<string, unknown>>();
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (typeof entry === 'object' && entry !== null && !byHost.has(registryHost(key))) byHost.set(registryHost(key), entry as Record<string, unknown>);
  }
  for (const host of hosts) {
    const entry = byHost.get(host);
    if (entry === undefined) continue;
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const plain = /^[A-Za-z0-9+/]*={0,2}$/.test(entry.auth) ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
      const i = plain.indexOf(':');
      if (i <= 0) throw new UsageError(`${file}: auths entry for ${host} has an "auth" value that is not base64 of user:password; run \`docker login ${host}\` again`);
      return { username: plain.slice(0, i), password: plain.slice(i + 1) };
    }
    if (typeof entry.username === 'string' && entry.username !== '' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  }
  return null;
}

/** NOTARY_AUTH when set (notary's variable wins), else the docker login for the GUN's registry or the server. */
export function resolveCredentials(env: NodeJS.ProcessEnv, serverUrl: string, gun: string): Credentials | null {
  return credentialsFromEnv(env.NOTARY_AUTH) ?? credentialsFromDockerConfig(dockerCredentialHosts(serverUrl, gun), env);
}

/** The challenges of a 401 answer. */
export function challengesOf(res: HttpResponse): Challenge[] {
  const header = res.headers['www-authenticate'];
  return parseWwwAuthenticate(Array.isArray(header) ? header.join(', ') : (header ?? ''));
}

export interface ChallengeContext {
  readonly send: HttpSend;
  readonly tokens: TokenCache;
  /** What the request needs (`repository:<name>:pull`, ...); a bearer challenge's own scope is added. */
  readonly scopes: readonly string[];
  readonly credentials: Credentials | null;
  readonly timeoutMs: number;
}

/**
 * The Authorization value answering a 401, as docker does: a bearer challenge gets a token
 * from its realm, a basic one the credentials. Null when nothing can answer it (no known
 * challenge, or basic without credentials): the caller says what to configure.
 * @throws {RemoteError} as getBearerToken.
 */
export async function answerChallenge(res: HttpResponse, ctx: ChallengeContext): Promise<string | null> {
  const challenges = challengesOf(res);
  const bearer = challenges.find((c) => c.scheme === 'bearer');
  if (bearer !== undefined) {
    const scopes = [...ctx.scopes, ...(bearer.params.scope === undefined ? [] : [bearer.params.scope])];
    return `Bearer ${await getBearerToken(ctx.send, ctx.tokens, { challenge: bearer, scopes, credentials: ctx.credentials, timeoutMs: ctx.timeoutMs })}`;
  }
  if (challenges.some((c) => c.scheme === 'basic') && ctx.credentials !== null) return basicAuthorization(ctx.credentials);
  return null;
}
