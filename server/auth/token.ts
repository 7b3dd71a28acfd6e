// SPDX-License-Identifier: Apache-2.0
// Bearer-token authorization as notary-server does it (docker/distribution
// registry/auth/token, notary-wire.md §8): a compact JWS signed with ES/RS
// 256/384/512 whose key comes from `x5c` (chain verified against the root
// bundle), `jwk` (trusted itself or through its own x5c) or `kid` (libtrust ID
// of a bundle certificate's key); `iss` and `aud` must equal the configured
// issuer and service; `exp`/`nbf` get 60 s leeway; `access` must grant every
// action the route needs (`*` grants all). Refusals carry notary's challenge.
// Tokens are never logged; a verified token is remembered for at most 60 s.

import { createHash, createPublicKey, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import { compactVerify } from 'jose';
import { MIN_RSA_BITS } from '../../shared/crypto/index.js';
import { ConfigError } from '../../shared/errors.js';
import { quoteParam, scopeParam, type Access, type AuthDecision, type AuthRequest, type Authorizer } from './access.js';
import { parseCertificateBundle, verifyChain } from './x509-chain.js';

export interface TokenAuthOptions {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM text of the token-signing root bundle. */
  readonly rootCertsPem: string;
  /** Where the bundle came from, for error messages. */
  readonly rootCertsSource: string;
  /** notary's `autoredirect`: realm = https://<Host>/auth/token. */
  readonly autoRedirect: boolean;
  readonly now?: () => Date;
}

const LEEWAY_S = 60;
const ALGORITHMS = new Set(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512']);
const CACHE_MAX = 1000;
const CACHE_MS = 60_000;

interface Grant {
  readonly subject: string;
  readonly exp: number;
  readonly nbf: number;
  /** `type\0name` -> actions */
  readonly access: ReadonlyMap<string, ReadonlySet<string>>;
}

type Verified = { ok: true; grant: Grant } | { ok: false; reason: string };

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** libtrust's key ID: SHA-256 of the DER SPKI, first 240 bits, base32 in 12 groups of 4 joined by ':'. */
export function libtrustKeyId(key: KeyObject): string {
  const digest = createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  let bits = 0;
  let value = 0;
  let s = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      s += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return (s.match(/.{1,4}/g) ?? []).join(':');
}

function b64urlDecode(s: string): Buffer | null {
  return /^[A-Za-z0-9_-]*$/.test(s) && s.length % 4 !== 1 ? Buffer.from(s, 'base64url') : null;
}

function b64StdDecode(s: string): Buffer | null {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s) ? Buffer.from(s, 'base64') : null;
}

function parseObject(bytes: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

// Go decodes claims into a struct: absent fields are zero values, a wrong JSON type fails the whole token.
function str(v: unknown): string | null {
  return v === undefined || v === null ? '' : typeof v === 'string' ? v : null;
}
function int(v: unknown): number | null {
  return v === undefined || v === null ? 0 : typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
}

function parseAccess(v: unknown): Map<string, Set<string>> | null {
  const out = new Map<string, Set<string>>();
  if (v === undefined || v === null) return out;
  if (!Array.isArray(v)) return null;
  for (const item of v as unknown[]) {
    if (item === null) continue;
    if (typeof item !== 'object' || Array.isArray(item)) return null;
    const rec = item as Record<string, unknown>;
    const type = str(rec.type);
    const name = str(rec.name);
    const actions = rec.actions === undefined || rec.actions === null ? [] : rec.actions;
    if (type === null || name === null || !Array.isArray(actions) || !actions.every((a) => typeof a === 'string')) return null;
    const key = `${type}\0${name}`;
    const set = out.get(key) ?? new Set<string>();
    for (const a of actions as string[]) set.add(a);
    out.set(key, set);
  }
  return out;
}

export function createTokenAuthorizer(options: TokenAuthOptions): Authorizer {
  let roots: X509Certificate[];
  try {
    roots = parseCertificateBundle(options.rootCertsPem);
  } catch (cause) {
    throw new ConfigError(`token auth root bundle ${options.rootCertsSource} holds a certificate that cannot be parsed; fix or replace the file`, { cause });
  }
  if (roots.length === 0) {
    throw new ConfigError(`token auth needs at least one CERTIFICATE in the root bundle ${options.rootCertsSource}; point --token-root-certs at the PEM file of the token issuer's signing root`);
  }
  const trustedKeys = new Map(roots.map((r) => [libtrustKeyId(r.publicKey), r.publicKey] as const));
  const now = options.now ?? ((): Date => new Date());
  const cache = new Map<string, { grant: Grant; until: number }>();

  function certChainKey(x5c: unknown, at: Date): KeyObject | string {
    if (!Array.isArray(x5c) || !x5c.every((c) => typeof c === 'string' && c !== '')) return 'malformed x5c';
    const certs: X509Certificate[] = [];
    for (const c of x5c as string[]) {
      const der = b64StdDecode(c);
      if (der === null) return 'x5c entry is not base64';
      try {
        certs.push(new X509Certificate(der));
      } catch {
        return 'x5c entry is not a certificate';
      }
    }
    const [leaf, ...intermediates] = certs;
    if (leaf === undefined) return 'empty x5c';
    return verifyChain(leaf, intermediates, roots, at) ?? leaf.publicKey;
  }

  function signingKey(header: Record<string, unknown>, at: Date): KeyObject | string {
    if (Array.isArray(header.x5c) && header.x5c.length > 0) return certChainKey(header.x5c, at);
    if (header.jwk !== undefined && header.jwk !== null) {
      if (typeof header.jwk !== 'object' || Array.isArray(header.jwk)) return 'malformed jwk';
      const jwk = header.jwk as Record<string, unknown>;
      let key: KeyObject;
      try {
        const { x5c: _ignored, ...pub } = jwk;
        key = createPublicKey({ key: pub as JsonWebKey, format: 'jwk' });
      } catch {
        return 'jwk is not a public key';
      }
      if (jwk.x5c === undefined) return trustedKeys.has(libtrustKeyId(key)) ? key : 'untrusted jwk with no certificate chain';
      const leafKey = certChainKey(jwk.x5c, at);
      if (typeof leafKey === 'string') return leafKey;
      return libtrustKeyId(leafKey) === libtrustKeyId(key) ? key : 'jwk does not match its certificate';
    }
    if (typeof header.kid === 'string' && header.kid !== '') return trustedKeys.get(header.kid) ?? 'token signed by an untrusted key ID';
    return 'no signing key in token header';
  }

  async function verify(raw: string, at: Date): Promise<Verified> {
    const parts = raw.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'malformed token' };
    const headerBytes = b64urlDecode(parts[0] ?? '');
    const claimBytes = b64urlDecode(parts[1] ?? '');
    const sig = b64urlDecode(parts[2] ?? '');
    const header = headerBytes && parseObject(headerBytes);
    const claims = claimBytes && parseObject(claimBytes);
    if (!header || !claims || sig === null) return { ok: false, reason: 'malformed token' };
    const iss = str(claims.iss);
    const aud = str(claims.aud);
    const sub = str(claims.sub);
    const exp = int(claims.exp);
    const nbf = int(claims.nbf);
    const access = parseAccess(claims.access);
    if (iss === null || aud === null || sub === null || exp === null || nbf === null || int(claims.iat) === null || access === null) {
      return { ok: false, reason: 'malformed token claims' };
    }
    if (iss !== options.issuer) return { ok: false, reason: 'untrusted issuer' };
    if (aud !== options.service) return { ok: false, reason: 'token is for another audience' };
    const t = at.getTime() / 1000;
    if (t > exp + LEEWAY_S) return { ok: false, reason: 'token expired' };
    if (t < nbf - LEEWAY_S) return { ok: false, reason: 'token not yet valid' };
    if (sig.length === 0) return { ok: false, reason: 'token has no signature' };
    const alg = header.alg;
    if (typeof alg !== 'string' || !ALGORITHMS.has(alg)) return { ok: false, reason: 'unsupported signing algorithm' };
    const key = signingKey(header, at);
    if (typeof key === 'string') return { ok: false, reason: key };
    // jose refuses these too, but only as a failed verification; say why.
    const rsaBits = key.asymmetricKeyType === 'rsa' ? (key.asymmetricKeyDetails?.modulusLength ?? 0) : undefined;
    if (rsaBits !== undefined && rsaBits < MIN_RSA_BITS) return { ok: false, reason: `token signing key is RSA of ${rsaBits} bits; at least ${MIN_RSA_BITS} are required` };
    try {
      await compactVerify(raw, key, { algorithms: [alg] });
    } catch {
      return { ok: false, reason: 'bad token signature' };
    }
    return { ok: true, grant: { subject: sub, exp, nbf, access } };
  }

  async function verifyCached(raw: string, at: Date): Promise<Verified> {
    const hit = cache.get(raw);
    const t = at.getTime();
    if (hit !== undefined && hit.until > t) {
      const s = t / 1000;
      if (s <= hit.grant.exp + LEEWAY_S && s >= hit.grant.nbf - LEEWAY_S) return { ok: true, grant: hit.grant };
    }
    const result = await verify(raw, at);
    if (result.ok) {
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
      cache.set(raw, { grant: result.grant, until: Math.min(t + CACHE_MS, (result.grant.exp + LEEWAY_S) * 1000) });
    }
    return result;
  }

  function challenge(request: AuthRequest, access: readonly Access[], error: string | null): string {
    const realm = options.autoRedirect ? `https://${request.host ?? ''}/auth/token` : options.realm;
    let s = `Bearer realm=${quoteParam(realm)},service=${quoteParam(options.service)}`;
    const scope = scopeParam(access);
    if (scope !== '') s += `,scope=${quoteParam(scope)}`;
    if (error !== null) s += `,error=${quoteParam(error)}`;
    return s;
  }

  return {
    kind: 'token',
    async authorize(request: AuthRequest, access: readonly Access[]): Promise<AuthDecision> {
      const parts = (request.authorization ?? '').split(' ');
      if (parts.length !== 2 || (parts[0] ?? '').toLowerCase() !== 'bearer') {
        return { ok: false, challenge: challenge(request, access, null), reason: 'authorization token required' };
      }
      const result = await verifyCached(parts[1] ?? '', now());
      if (!result.ok) return { ok: false, challenge: challenge(request, access, 'invalid_token'), reason: result.reason };
      for (const a of access) {
        const actions = result.grant.access.get(`${a.type}\0${a.name}`);
        if (actions === undefined || !(actions.has('*') || actions.has(a.action))) {
          return { ok: false, challenge: challenge(request, access, 'insufficient_scope'), reason: 'insufficient scope' };
        }
      }
      return { ok: true, user: result.grant.subject };
    },
  };
}
