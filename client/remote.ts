// SPDX-License-Identifier: Apache-2.0
// The Notary v1 HTTP API as a client sees it (notary-wire.md §6):
//   GET  <base>/<role>.json | <role>.<sha256>.json | <version>.<role>.json | <role>.key
//   POST <base>/            multipart, one `files` part per role (filename = role)
//   POST <base>/<role>.key  new server key;  DELETE <base>/  all metadata of the GUN
// with <base> = <server>/v2/<gun>/_trust/tuf. Downloads are capped (a trusted
// length is a maximum; 1 MiB for timestamp; 100 MiB otherwise), uploads are the
// caller's bytes verbatim, and server errors (the `{"errors":[…]}` envelope)
// become RemoteErrors saying what to do. Token auth: see token-auth.ts.
// Nothing here verifies metadata: callers hand every download to the verifier.

import { randomBytes } from 'node:crypto';
import { RemoteError } from '../shared/errors.js';
import type { TlsConfig } from './config.js';
import { createHttpSend, type HttpRequest, type HttpResponse, type HttpSend } from './http-transport.js';
import { originNote, type CredentialsInput } from './credentials.js';
import { challengesOf, sendWithLogin, TokenCache } from './token-auth.js';

export const MAX_TIMESTAMP_LENGTH = 1 << 20;
export const MAX_DOWNLOAD_LENGTH = 100 << 20;
export const MAX_KEY_LENGTH = 256 << 10;
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Token scope actions, as the notary CLI requests them per command. */
export type RemoteAccess = 'pull' | 'push,pull' | '*';

export interface RemoteOptions {
  readonly serverUrl: string;
  readonly gun: string;
  readonly send?: HttpSend;
  readonly tls?: TlsConfig;
  readonly timeoutMs?: number;
  readonly access?: RemoteAccess;
  /** A login, none, or a source asked when the server first wants one (credentials.ts). */
  readonly credentials?: CredentialsInput;
  readonly tokenCache?: TokenCache;
}

/** Go's multipart/form-data layout, one `files` part per role, octet-stream, bytes verbatim. */
export function buildMultipart(files: ReadonlyMap<string, Uint8Array>, boundary = randomBytes(30).toString('hex')): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  let first = true;
  for (const [role, blob] of files) {
    const name = role.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    chunks.push(
      Buffer.from(
        `${first ? '' : '\r\n'}--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
        'utf8',
      ),
      Buffer.from(blob),
    );
    first = false;
  }
  chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

interface ServerErrorEntry {
  code: string;
  message: string;
  detail: unknown;
}

function parseEnvelope(body: Buffer): ServerErrorEntry | null {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: unknown };
    const first = Array.isArray(doc.errors) ? (doc.errors[0] as Record<string, unknown> | undefined) : undefined;
    if (first === undefined || typeof first.code !== 'string') return null;
    return { code: first.code, message: typeof first.message === 'string' ? first.message : '', detail: first.detail };
  } catch {
    return null;
  }
}

function detailOf(detail: unknown): { name?: string; msg?: string; missing?: string } {
  if (typeof detail !== 'object' || detail === null) return {};
  const d = detail as Record<string, unknown>;
  const err = typeof d.Error === 'object' && d.Error !== null ? (d.Error as Record<string, unknown>) : {};
  return {
    ...(typeof d.Name === 'string' ? { name: d.Name } : {}),
    ...(typeof err.Msg === 'string' ? { msg: err.Msg } : {}),
    ...(typeof err.Missing === 'string' ? { missing: err.Missing } : {}),
  };
}

const INVALID_UPDATE_HINT: Record<string, string> = {
  ErrBadRoot: 'the server does not accept this root (wrong version, signatures or certificates)',
  ErrBadTargets: 'the targets metadata is not signed by the keys the repository lists; your keys or local trust data may be stale',
  ErrBadSnapshot: 'the snapshot is not signed by the snapshot key the repository lists, or does not match the uploaded roles',
  ErrValidation: 'the update is incomplete or inconsistent',
};

/** Map a non-2xx response to a RemoteError with an actionable message. */
export function errorFromResponse(res: HttpResponse, what: string, server: string, gun: string, method: 'GET' | 'POST' | 'DELETE' = 'GET'): RemoteError {
  const env = parseEnvelope(res.body);
  const base = { httpStatus: res.status, ...(env === null ? {} : { serverCode: env.code }) };
  if (res.status === 404 && method !== 'GET') {
    // a notary server always has these routes: a 404 means -s names some other service
    return new RemoteError('HTTP_STATUS', `${server} has no notary route for ${what} of ${gun} (${method} answered 404); check that -s points at a notary trust server, not a registry or another service`, base);
  }
  if (res.status === 404) {
    return new RemoteError('METADATA_NOT_FOUND', `${what} of ${gun} does not exist on ${server}`, base);
  }
  if (env !== null && res.status === 400) {
    const d = detailOf(env.detail);
    const opts = { ...base, ...(d.name === undefined ? {} : { detailName: d.name }) };
    switch (env.code) {
      case 'VERSION':
        return new RemoteError('SERVER_REJECTED', `${server} already holds a newer version of ${gun}: someone else published meanwhile; publish again to apply your staged changes on top of theirs`, opts);
      case 'INVALID_UPDATE': {
        const why = `${d.name ?? 'invalid update'}${d.msg === undefined ? '' : `: ${d.msg}`}`;
        const hint = d.name === 'ErrBadHierarchy' && d.missing === 'snapshot'
          ? 'the server does not hold the snapshot key and no snapshot was sent; the repository owner must publish, or rotate the snapshot key to the server'
          : d.name === 'ErrBadTargets' && d.msg !== undefined && !/signature|threshold|key/i.test(d.msg)
            ? // signet-server names a non-signature problem itself; the stale-keys hint would mislead
              /outside the paths delegated/.test(d.msg)
              ? `unstage or \`signet remove ${gun} <name> -r <role>\` the targets it names, or ask the owner to widen that delegation's paths`
              : 'fix what the server names, then publish again'
            : (INVALID_UPDATE_HINT[d.name ?? ''] ?? 'the server found the update invalid');
        return new RemoteError('SERVER_REJECTED', `${server} refused the update of ${gun} (${why}); ${hint}`, opts);
      }
      case 'INVALID_GUN':
        return new RemoteError('SERVER_REJECTED', `${server} does not serve the GUN ${gun}${typeof env.detail === 'string' ? ` (${env.detail})` : ''}; use a GUN the server accepts`, opts);
      case 'MALFORMED_JSON':
      case 'MALFORMED_UPLOAD':
      case 'INVALID_ROLE':
      case 'NO_FILENAME':
        return new RemoteError('SERVER_REJECTED', `${server} could not read the upload for ${gun} (${env.code}: ${env.message}); this is a signet bug, please report it`, opts);
      default:
        return new RemoteError('SERVER_REJECTED', `${server} refused ${what} of ${gun} (${env.code}: ${env.message})`, opts);
    }
  }
  const suffix = env === null ? '' : ` (${env.code}: ${env.message})`;
  return new RemoteError('HTTP_STATUS', `${server} answered ${res.status} to the request for ${what} of ${gun}${suffix}; the server may be unavailable, retry later`, base);
}

export class NotaryRemote {
  readonly gun: string;
  readonly baseUrl: string;
  private readonly send: HttpSend;
  private readonly timeoutMs: number;
  private readonly access: RemoteAccess;
  private readonly credentials: CredentialsInput;
  private readonly tokens: TokenCache;
  private readonly server: string;
  private authorization: string | null = null;

  constructor(opts: RemoteOptions) {
    this.gun = opts.gun;
    const root = opts.serverUrl.replace(/\/+$/, '');
    this.server = root;
    this.baseUrl = `${root}/v2/${opts.gun.split('/').map(encodeURIComponent).join('/')}/_trust/tuf/`;
    this.send = opts.send ?? createHttpSend(opts.tls);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.access = opts.access ?? 'pull';
    this.credentials = opts.credentials ?? null;
    this.tokens = opts.tokenCache ?? new TokenCache();
  }

  /** Current metadata of a role. @throws {RemoteError} METADATA_NOT_FOUND, RESPONSE_TOO_LARGE, ... */
  getRole(role: string, maxLength = role === 'timestamp' ? MAX_TIMESTAMP_LENGTH : MAX_DOWNLOAD_LENGTH): Promise<Buffer> {
    return this.get(`${role}.json`, `${role} metadata`, maxLength);
  }

  /** Metadata by the lower-case hex SHA-256 a trusted role recorded; `maxLength` is that role's recorded length. */
  getRoleByHash(role: string, sha256Hex: string, maxLength: number): Promise<Buffer> {
    if (!/^[0-9a-f]{64}$/.test(sha256Hex)) throw new RangeError(`sha256 must be 64 lower-case hex digits, got ${sha256Hex}`);
    return this.get(`${role}.${sha256Hex}.json`, `${role} metadata with sha256 ${sha256Hex}`, maxLength);
  }

  getRoleByVersion(role: string, version: number, maxLength = MAX_DOWNLOAD_LENGTH): Promise<Buffer> {
    if (!Number.isSafeInteger(version) || version < 1) throw new RangeError(`version must be a positive integer, got ${version}`);
    return this.get(`${version}.${role}.json`, `${role} metadata version ${version}`, maxLength);
  }

  /** The server's public key for `timestamp` or `snapshot` (created on first request). */
  getKey(role: 'timestamp' | 'snapshot'): Promise<Buffer> {
    return this.get(`${role}.key`, `the server's ${role} key`, MAX_KEY_LENGTH);
  }

  /** Ask the server for a new key for `role`; it becomes active once a root lists it. */
  async rotateKey(role: 'timestamp' | 'snapshot'): Promise<Buffer> {
    const res = await this.exchange({ method: 'POST', url: this.url(`${role}.key`), maxBytes: MAX_KEY_LENGTH, timeoutMs: this.timeoutMs });
    if (res.status !== 200) throw errorFromResponse(res, `a new ${role} key`, this.server, this.gun, 'POST');
    return res.body;
  }

  /** Upload roles atomically (the server stores all or none). Bytes are sent verbatim. */
  async publish(files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const { body, contentType } = buildMultipart(files);
    const res = await this.exchange({ method: 'POST', url: new URL(this.baseUrl), headers: { 'content-type': contentType }, body, maxBytes: 1024, timeoutMs: this.timeoutMs });
    if (res.status !== 200) throw errorFromResponse(res, `the update of ${[...files.keys()].join(', ')}`, this.server, this.gun, 'POST');
  }

  /** Delete every version of every role of the GUN on the server. */
  async deleteAll(): Promise<void> {
    const res = await this.exchange({ method: 'DELETE', url: new URL(this.baseUrl), maxBytes: 1024, timeoutMs: this.timeoutMs });
    if (res.status !== 200) throw errorFromResponse(res, 'the deletion', this.server, this.gun, 'DELETE');
  }

  private url(file: string): URL {
    return new URL(file, this.baseUrl);
  }

  private async get(file: string, what: string, maxBytes: number): Promise<Buffer> {
    const res = await this.exchange({ method: 'GET', url: this.url(file), maxBytes, timeoutMs: this.timeoutMs });
    if (res.status !== 200) throw errorFromResponse(res, what, this.server, this.gun);
    return res.body;
  }

  /** One request, answering a 401 challenge (bearer token or basic credentials; token-auth.ts sendWithLogin). */
  private async exchange(req: HttpRequest): Promise<HttpResponse> {
    const scopes = [`repository:${this.gun}:${this.access}`];
    const r = await sendWithLogin(req, this.authorization, { send: this.send, tokens: this.tokens, scopes, credentials: this.credentials, timeoutMs: this.timeoutMs });
    this.authorization = r.authorization;
    if (r.res.status !== 401) return r.res;
    const login = r.credentials;
    if (r.authorization === null) {
      throw new RemoteError(
        'AUTH_REQUIRED',
        login === null
          ? `${this.server} requires a login for ${this.gun}; set NOTARY_AUTH to base64 of user:password, run \`docker login\`, or run signet on a terminal to be asked`
          : `${this.server} asks for a login the one${originNote(login)} cannot answer (${login.identityToken === undefined ? 'no Bearer or Basic challenge' : 'an identity token cannot answer a Basic challenge'}); set NOTARY_AUTH to base64 of user:password`,
        { httpStatus: 401 },
      );
    }
    const error = challengesOf(r.res).find((c) => c.scheme === 'bearer')?.params.error;
    const whose = login === null ? 'anonymous access' : login.identityToken !== undefined ? `the identity token${originNote(login)}` : `user ${login.username}${originNote(login)}`;
    let message: string;
    if (error === 'insufficient_scope') message = `${this.server} says ${whose} lacks ${this.access} access to ${this.gun}; ask for that access or use another login`;
    else if (error === 'invalid_token') {
      // the realm just issued this token: the trust server and token server disagree, not the user's password
      message = `${this.server} refused the token its realm issued for ${whose} (invalid_token); the token server and trust server disagree (issuer, service, signing certificate or clock): check the server's auth configuration`;
    } else message = `${this.server} refused ${whose} for ${this.gun}${error === undefined ? '' : ` (${error})`}; check NOTARY_AUTH or your docker login`;
    throw new RemoteError('AUTH_REQUIRED', message, { httpStatus: 401 });
  }
}
