// SPDX-License-Identifier: Apache-2.0
// Docker registry token authentication, as notary's CLI does it through
// docker/distribution's auth handlers: a 401 carries
// `Www-Authenticate: Bearer realm="…",service="…",scope="…"`; the client asks
// the realm for a token (`GET realm?service=…&scope=…`, Basic credentials from
// NOTARY_AUTH when given), caches it per scope until it expires, and retries
// the request once with `Authorization: Bearer <token>`. A `Basic` challenge is
// answered with the credentials directly. Tokens and passwords are never logged
// or put in error messages. Where the login comes from: credentials.ts.
// A docker identity token is exchanged at the realm with docker's OAuth form
// (grant_type=refresh_token) instead of Basic credentials.

import { RemoteError } from '../shared/errors.js';
import { asCredentialSource, assertCredentialsMayGo, originNote, type Credentials, type CredentialsInput } from './credentials.js';
import type { HttpRequest, HttpResponse, HttpSend } from './http-transport.js';

export interface Challenge {
  /** Lower-case scheme: `bearer`, `basic`, ... */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const MAX_TOKEN_RESPONSE = 64 * 1024;
/** docker/distribution: tokens without a (sane) lifetime are kept 60 s. */
const MIN_TOKEN_LIFETIME_S = 60;

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
  /** The request the server challenged: a login never goes to a plain-http realm when it went over https. */
  readonly origin?: URL;
}

/** Redirects a realm may answer with before the token request gives up (Go's client allows 10). */
const MAX_REALM_REDIRECTS = 5;

/**
 * One token request, following the realm's redirects as Go's client does: the
 * Authorization header stays only on the realm's own host, and never goes from
 * https to http. The OAuth form (identity tokens) is not re-posted elsewhere.
 */
async function realmExchange(send: HttpSend, first: HttpRequest, origin: URL | undefined, what: string): Promise<HttpResponse> {
  let req = first;
  for (let hop = 0; ; hop++) {
    if (req.headers?.authorization !== undefined || req.body !== undefined) assertCredentialsMayGo(req.url, origin, what);
    let res: HttpResponse;
    try {
      res = await send(req);
    } catch (e) {
      // the transport's message speaks of the trust server and -s
      if (!(e instanceof RemoteError) || (e.code !== 'NETWORK' && e.code !== 'TIMEOUT')) throw e;
      const detail = e.cause instanceof Error ? ((e.cause as NodeJS.ErrnoException).code ?? e.cause.message) : 'no answer in time';
      throw new RemoteError(e.code, `cannot get a token from the token service at ${req.url.protocol}//${req.url.host}, the realm the trust server named (${detail}); check the trust server's token realm setting and that the token service is reachable from here`, { cause: e });
    }
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(res.status) || location === undefined) return res;
    if (hop === MAX_REALM_REDIRECTS) throw new RemoteError('HTTP_STATUS', `the token server ${first.url.host} redirected more than ${MAX_REALM_REDIRECTS} times; check the server's token realm`);
    const next = new URL(location, req.url);
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new RemoteError('HTTP_STATUS', `the token server ${req.url.host} redirected to a non-http(s) address`);
    if (req.url.protocol === 'https:' && next.protocol === 'http:') {
      throw new RemoteError('HTTP_STATUS', `the token server ${req.url.host} redirected from https to plain http (${next.host}); signet does not follow that with a login`);
    }
    if (req.method === 'POST' && next.host !== req.url.host) {
      throw new RemoteError('HTTP_STATUS', `the token server ${req.url.host} redirected the identity-token exchange to another host (${next.host}); signet does not send the token there`);
    }
    const headers: Record<string, string> = { ...req.headers };
    if (next.host !== req.url.host) delete headers.authorization;
    // 307/308 repeat the request as it was; the others continue with a GET
    req = res.status === 307 || res.status === 308 ? { ...req, url: next, headers } : { method: 'GET', url: next, headers, maxBytes: req.maxBytes, timeoutMs: req.timeoutMs };
  }
}

/**
 * Get a bearer token for the challenge, from the cache or the realm: a GET with Basic
 * credentials (docker sends them only when the password is not empty), or docker's OAuth
 * POST with an identity token.
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
  const creds = req.credentials;
  // per login too: an anonymous token must not stand in for the one a typed login gets
  const key = JSON.stringify([url.href, service, scopes, creds?.username ?? null, creds?.identityToken === undefined ? 0 : 1]);
  const cached = cache.get(key);
  if (cached !== null) return cached;

  let res: HttpResponse;
  if (creds?.identityToken !== undefined) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'signet' });
    if (service !== '') form.set('service', service);
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    const body = Buffer.from(form.toString(), 'utf8');
    res = await realmExchange(send, { method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, maxBytes: MAX_TOKEN_RESPONSE, timeoutMs: req.timeoutMs }, req.origin, 'an identity token');
  } else {
    if (service !== '') url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const basic = creds !== null && creds.password !== '';
    if (creds !== null) url.searchParams.set('account', creds.username);
    const headers: Record<string, string> = basic ? { authorization: basicAuthorization(creds) } : {};
    res = await realmExchange(send, { method: 'GET', url, headers, maxBytes: MAX_TOKEN_RESPONSE, timeoutMs: req.timeoutMs }, req.origin, `the password of ${creds?.username ?? ''}`);
  }
  if (res.status === 401 || res.status === 403 || (creds?.identityToken !== undefined && res.status === 400)) {
    throw new RemoteError(
      'AUTH_REQUIRED',
      creds === null
        ? `the token server ${url.host} requires a login for ${scopes.join(' ')}; set NOTARY_AUTH to base64 of user:password, run \`docker login\`, or run signet on a terminal to be asked`
        : creds.identityToken !== undefined
          ? `the token server ${url.host} refused the identity token${originNote(creds)} for ${scopes.join(' ')}; run \`docker login\` again`
          : `the token server ${url.host} refused the credentials of user ${creds.username}${originNote(creds)} for ${scopes.join(' ')}`,
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
  /** The challenged request's URL (see TokenRequest.origin). */
  readonly origin?: URL;
}

/**
 * The Authorization value answering a 401, as docker does: a bearer challenge gets a token
 * from its realm, a basic one the credentials. Null when nothing can answer it (no known
 * challenge, or basic without a password): the caller says what to configure.
 * @throws {RemoteError} as getBearerToken.
 */
export async function answerChallenge(res: HttpResponse, ctx: ChallengeContext): Promise<string | null> {
  const challenges = challengesOf(res);
  const bearer = challenges.find((c) => c.scheme === 'bearer');
  if (bearer !== undefined) {
    const scopes = [...ctx.scopes, ...(bearer.params.scope === undefined ? [] : [bearer.params.scope])];
    const token = await getBearerToken(ctx.send, ctx.tokens, { challenge: bearer, scopes, credentials: ctx.credentials, timeoutMs: ctx.timeoutMs, ...(ctx.origin === undefined ? {} : { origin: ctx.origin }) });
    return `Bearer ${token}`;
  }
  if (challenges.some((c) => c.scheme === 'basic') && ctx.credentials !== null && ctx.credentials.password !== '') {
    return basicAuthorization(ctx.credentials);
  }
  return null;
}

export interface LoginContext {
  readonly send: HttpSend;
  readonly tokens: TokenCache;
  readonly scopes: readonly string[];
  readonly credentials: CredentialsInput;
  readonly timeoutMs: number;
}

export interface LoginResult {
  /** The last answer: a 401 here means no login got in (the caller words the error). */
  readonly res: HttpResponse;
  /** What to send on the next request to the same place. */
  readonly authorization: string | null;
  /** The login used, or null when none was (anonymous, or none to be had). */
  readonly credentials: Credentials | null;
}

const isAuthRequired = (e: unknown): e is RemoteError => e instanceof RemoteError && e.code === 'AUTH_REQUIRED';

/**
 * Send `req` (with `authorization` from an earlier exchange, if any); on a 401 answer the
 * challenge with the login at hand, or anonymously when there is none, and send it again.
 * When no login was at hand and that did not get in, a terminal user is asked for one
 * (credentials.ts) and it is tried once more.
 * @throws {RemoteError} from the token realm (refused credentials, network).
 */
export async function sendWithLogin(req: HttpRequest, authorization: string | null, ctx: LoginContext): Promise<LoginResult> {
  const source = asCredentialSource(ctx.credentials);
  const attempt = (auth: string | null): Promise<HttpResponse> => ctx.send(auth === null ? req : { ...req, headers: { ...req.headers, authorization: auth } });
  const first = await attempt(authorization);
  if (first.status !== 401) return { res: first, authorization, credentials: null };
  const answer = (res: HttpResponse, credentials: Credentials | null): Promise<string | null> =>
    answerChallenge(res, { send: ctx.send, tokens: ctx.tokens, scopes: ctx.scopes, credentials, timeoutMs: ctx.timeoutMs, origin: req.url });
  const known = await source.known();
  let anonymousRefusal: RemoteError | null = null;
  let auth: string | null = null;
  try {
    auth = await answer(first, known);
  } catch (e) {
    if (known !== null || !isAuthRequired(e)) throw e;
    anonymousRefusal = e;
  }
  let last = first;
  if (auth !== null) {
    last = await attempt(auth);
    if (last.status !== 401 || known !== null) return { res: last, authorization: auth, credentials: known };
  }
  if (known !== null) return { res: last, authorization: null, credentials: known };
  const typed = await source.prompt();
  if (typed === null) {
    if (anonymousRefusal !== null) throw anonymousRefusal;
    return { res: last, authorization: auth, credentials: null };
  }
  const typedAuth = await answer(last, typed);
  if (typedAuth === null) return { res: last, authorization: null, credentials: typed };
  return { res: await attempt(typedAuth), authorization: typedAuth, credentials: typed };
}
