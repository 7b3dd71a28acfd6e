// SPDX-License-Identifier: Apache-2.0
// Read-only client of a registry's OCI distribution API, for signing an image
// that was pushed: resolve `<registry>/<repo>:<tag>` to the manifest digest and
// size that `docker trust sign` would sign. The digest is never taken on the
// registry's word: the body is hashed and must match Docker-Content-Digest
// (and the digest of an `@sha256:` reference). Auth as docker does it: a 401
// with a Bearer challenge gets a pull token from the realm (token-auth.ts),
// a Basic challenge gets the credentials directly.

import { createHash } from 'node:crypto';
import { LengthOrHashMismatchError, RemoteError, TrustError, UsageError } from '../shared/errors.js';
import { parseImageName, type ImageName } from '../shared/policy/image-reference.js';
import type { HttpResponse, HttpSend } from './http-transport.js';
import { credentialsFromDockerConfig, credentialsFromEnv, credentialSource, originNote, type Credentials, type CredentialsInput } from './credentials.js';
import { sendWithLogin, TokenCache } from './token-auth.js';

/** The media types a signed tag may point at, in the order docker asks for them. */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
] as const;

/** docker/distribution refuses manifests above 4 MiB; so do we. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

/**
 * Parse an image reference as docker does (`[registry/]repo[:tag][@digest]`), with the parser the
 * policy checks use (shared/policy/image-reference.ts), so a tag is signed under the GUN they look up.
 * @throws {UsageError} when the reference is malformed.
 */
export function parseImageReference(ref: string): ImageName {
  try {
    return parseImageName(ref);
  } catch (cause) {
    if (!(cause instanceof TrustError)) throw cause;
    throw new UsageError(`${cause.message}; write it as registry.example.com:5000/team/app:tag`, { cause });
  }
}

/** https, except loopback registries (docker's default insecure 127.0.0.0/8) and those named with --insecure-registry. */
export function registryBaseUrl(registry: string, insecure = false): URL {
  const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
  const bare = host.replace(/:\d+$/, '');
  const loopback = bare === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(bare) || bare === '[::1]';
  return new URL(`${insecure || loopback ? 'http' : 'https'}://${host}/`);
}

/**
 * Registry credentials: SIGNET_REGISTRY_AUTH (base64 of user:password, like
 * NOTARY_AUTH), else docker's config.json `auths` entry for the registry.
 * @throws {UsageError} when either is set but malformed.
 */
export function registryCredentials(env: NodeJS.ProcessEnv, registry: string): Credentials | null {
  const fromEnv = credentialsFromEnv(env.SIGNET_REGISTRY_AUTH, 'SIGNET_REGISTRY_AUTH');
  const hosts = registry === 'docker.io' ? ['index.docker.io', 'docker.io', 'registry-1.docker.io'] : [registry.toLowerCase()];
  return fromEnv ?? credentialsFromDockerConfig(hosts, env);
}

export interface ResolvedManifest {
  /** `sha256:<hex>`, computed from the body. */
  readonly digest: string;
  /** Body length in bytes: the target's length. */
  readonly size: number;
  readonly mediaType: string;
}

export interface RegistryClientOptions {
  readonly send: HttpSend;
  /** A login, none, or a source asked when the registry first wants one (credentials.ts). */
  readonly credentials: CredentialsInput;
  readonly insecure?: boolean;
  readonly timeoutMs?: number;
}

/** One registry conversation: pull tokens are cached per scope for the run. */
export class RegistryClient {
  readonly #tokens = new TokenCache();
  readonly #authorization = new Map<string, string>();
  constructor(private readonly options: RegistryClientOptions) {}

  /**
   * The digest and size of the manifest a tag (or digest) names, verified against its bytes.
   * @throws {UsageError} when the reference names neither tag nor digest.
   * @throws {RemoteError} METADATA_NOT_FOUND (unknown tag/repository), AUTH_REQUIRED, NETWORK/TIMEOUT/HTTP_STATUS/RESPONSE_TOO_LARGE.
   * @throws {LengthOrHashMismatchError} when the registry's digest header or the pinned digest does not match the body.
   */
  async resolveManifest(image: ImageName): Promise<ResolvedManifest> {
    // With tag@digest the tag is fetched and must hold that digest: signing the digest alone would
    // put it under a tag the registry may point elsewhere.
    const reference = image.tag ?? image.digest;
    if (reference === undefined) throw new UsageError(`image reference ${image.gun} names no tag; add :<tag> (the tag is the signed target's name)`);
    const base = registryBaseUrl(image.registry, this.options.insecure);
    const url = new URL(`v2/${image.repository}/manifests/${reference}`, base);
    const res = await this.#get(url, image.repository, { accept: MANIFEST_MEDIA_TYPES.join(', ') });
    const where = `${image.registry}/${image.repository}${image.tag === undefined ? '' : `:${image.tag}`}${image.digest === undefined ? '' : `@${image.digest}`}`;
    if (res.status === 404) throw new RemoteError('METADATA_NOT_FOUND', `the registry ${image.registry} has no manifest for ${where}; push the image first or check the name and tag`, { httpStatus: 404 });
    if (res.status !== 200) throw new RemoteError('HTTP_STATUS', `the registry ${image.registry} answered ${res.status} for the manifest of ${where}`, { httpStatus: res.status });
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    if (!(MANIFEST_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
      // schema1 manifests are signed JWS whose digest is not over the body served; docker trust does not sign them either.
      throw new RemoteError('HTTP_STATUS', `the registry ${image.registry} served ${where} as ${JSON.stringify(mediaType)}, not an OCI or Docker v2 manifest; push it with a current docker`);
    }
    const digest = 'sha256:' + createHash('sha256').update(res.body).digest('hex');
    const header = res.headers['docker-content-digest'];
    const claimed = Array.isArray(header) ? header[0] : header;
    if (claimed !== undefined && claimed !== digest) {
      throw new LengthOrHashMismatchError('HASH_MISMATCH', `the registry ${image.registry} says ${where} is ${claimed} but the manifest it sent hashes to ${digest}; the registry or a proxy altered it, nothing was signed`);
    }
    if (image.digest !== undefined && image.digest !== digest) {
      throw new LengthOrHashMismatchError('HASH_MISMATCH', `the manifest the registry sent for ${where} hashes to ${digest}, not the requested digest${image.tag === undefined ? '' : `: the tag ${image.tag} points elsewhere now`}; nothing was signed`);
    }
    return { digest, size: res.body.length, mediaType };
  }

  /** GET with the cached authorization; on a 401 answer the challenge once and retry. */
  async #get(url: URL, repository: string, headers: Record<string, string>): Promise<HttpResponse> {
    const timeoutMs = this.options.timeoutMs ?? TIMEOUT_MS;
    const send: HttpSend = async (req) => {
      try {
        return await this.options.send(req);
      } catch (e) {
        // the transport's message speaks of the trust server
        if (e instanceof RemoteError && e.code === 'NETWORK' && req.url.host === url.host) {
          throw new RemoteError('NETWORK', `cannot reach the registry at ${url.protocol}//${url.host}; check the image name, that the registry runs, and --insecure-registry for plain-http registries`, { cause: e });
        }
        throw e;
      }
    };
    const key = `${url.host} ${repository}`;
    let r;
    try {
      r = await sendWithLogin({ method: 'GET', url, headers, maxBytes: MAX_MANIFEST_BYTES, timeoutMs }, this.#authorization.get(key) ?? null, {
        send,
        tokens: this.#tokens,
        scopes: [`repository:${repository}:pull`],
        credentials: this.options.credentials,
        timeoutMs,
      });
    } catch (e) {
      // token-auth.ts names NOTARY_AUTH; for a registry the credentials come from elsewhere
      if (e instanceof RemoteError && e.code === 'AUTH_REQUIRED') {
        throw new RemoteError('AUTH_REQUIRED', `the registry ${url.host} refused a pull token for ${repository}: ${e.message.replace(/; set NOTARY_AUTH.*$/, '')}; set SIGNET_REGISTRY_AUTH to base64 of user:password or run \`docker login ${url.host}\``, { httpStatus: e.httpStatus, cause: e });
      }
      throw e;
    }
    if (r.authorization !== null) this.#authorization.set(key, r.authorization);
    if (r.res.status === 401 || r.res.status === 403) {
      const whose = r.credentials === null ? (r.authorization === null ? 'a login' : 'anonymous access') : `the login${originNote(r.credentials)}`;
      throw new RemoteError(
        'AUTH_REQUIRED',
        r.authorization === null && r.credentials === null
          ? `the registry ${url.host} requires a login for ${repository}; set SIGNET_REGISTRY_AUTH to base64 of user:password or run \`docker login ${url.host}\``
          : `the registry ${url.host} refused ${whose} for ${repository}; check SIGNET_REGISTRY_AUTH or \`docker login ${url.host}\``,
        { httpStatus: r.res.status },
      );
    }
    return r.res;
  }
}

export interface SignTarget {
  readonly gun: string;
  readonly tag: string;
  readonly digest: string;
  readonly size: number | string;
}

/**
 * What `signet sign` signs: `<gun> <tag> --digest --size` as given, or
 * `<registry>/<repo>:<tag>` alone, resolved on the registry (GUN as docker
 * forms it). A tag pointing elsewhere later does not matter: the digest signed
 * is the one hashed here.
 * @throws {UsageError} for half-given digest/size or a reference without a tag.
 */
export async function resolveSignTarget(
  first: string,
  tag: string | undefined,
  o: { digest?: string; size?: string; insecureRegistry?: boolean },
  env: NodeJS.ProcessEnv,
  send: HttpSend,
): Promise<SignTarget> {
  if ((o.digest === undefined) !== (o.size === undefined)) throw new UsageError('give --digest and --size together, or neither to read both from the registry');
  if (tag !== undefined) {
    if (o.digest === undefined || o.size === undefined) {
      throw new UsageError(`sign ${first} ${tag} needs --digest and --size; or name the pushed image as one argument (${first}:${tag}) to read them from the registry`);
    }
    return { gun: first, tag, digest: o.digest, size: o.size };
  }
  const image = parseImageReference(first);
  if (image.tag === undefined) throw new UsageError(`sign ${first}: name the tag to sign (${image.gun}:<tag>); the tag is the signed target's name`);
  if (o.digest !== undefined && o.size !== undefined) return { gun: image.gun, tag: image.tag, digest: o.digest, size: o.size };
  // looked up only if the registry asks; `sign` is the CI command, so nobody is prompted
  const credentials = credentialSource({ env, host: image.registry, lookup: () => registryCredentials(env, image.registry) });
  const client = new RegistryClient({ send, credentials, ...(o.insecureRegistry === true ? { insecure: true } : {}) });
  const m = await client.resolveManifest(image);
  return { gun: image.gun, tag: image.tag, digest: m.digest, size: m.size };
}
