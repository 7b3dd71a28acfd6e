// SPDX-License-Identifier: Apache-2.0
// HTTP Basic authorization against an Apache htpasswd file (a Signet
// extension: notary-server only wires token auth). htpasswd has no notion of
// scopes, so ANY authenticated user is granted every action on every GUN
// (pull, push, `*`) and the catalog, as docker/distribution's htpasswd
// controller does. Accepted hashes: bcrypt ($2y$, $2a$, $2b$) and {SHA};
// apr1-MD5, crypt(3) and plain-text entries are refused at startup.
// A successful check is remembered for 5 minutes under an HMAC of the
// credentials (keyed per process), so bcrypt's cost is not paid per request.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../../shared/errors.js';
import { quoteParam, type AuthDecision, type AuthRequest, type Authorizer } from './access.js';

export interface HtpasswdOptions {
  /** File contents. */
  readonly text: string;
  /** File path, for error messages. */
  readonly source: string;
  readonly realm: string;
}

export type Entry = { readonly kind: 'bcrypt'; readonly hash: string } | { readonly kind: 'sha1'; readonly digest: Buffer };

const CACHE_MS = 5 * 60_000;
const CACHE_MAX = 1000;
// Salt and digest of the dummy bcrypt hash; only its cost matters (bcrypt.compare
// pays 2^cost whatever the salt), so it is built for any cost without hashing.
const DUMMY_BCRYPT_TAIL = 'TrzS4AHADJPKGQYnXVu34eDMFe0875uBkBUymjqu5qxe7aprf9Ehi';

/**
 * What an unknown user's password is checked against, so that unknown users
 * take as long as most known ones and timing does not reveal who exists: the
 * file's most common hash kind, and for bcrypt its most common cost (ties go
 * to the higher cost, then to bcrypt).
 */
export function dummyEntry(entries: ReadonlyMap<string, Entry>): Entry {
  const counts = new Map<number, number>(); // bcrypt cost -> users; -1 for {SHA}
  for (const e of entries.values()) {
    const cost = e.kind === 'sha1' ? -1 : Number(e.hash.slice(4, 6));
    counts.set(cost, (counts.get(cost) ?? 0) + 1);
  }
  let best = -1;
  let bestCount = 0;
  for (const [cost, n] of counts) {
    if (n > bestCount || (n === bestCount && cost > best)) [best, bestCount] = [cost, n];
  }
  if (best < 0) return { kind: 'sha1', digest: randomBytes(20) };
  return { kind: 'bcrypt', hash: `$2b$${String(best).padStart(2, '0')}$${DUMMY_BCRYPT_TAIL}` };
}

function describeUnsupported(hash: string): string | null {
  if (hash.startsWith('$apr1$')) return 'apr1-MD5';
  if (/^\$(1|5|6)\$/.test(hash)) return 'crypt(3) MD5/SHA';
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return 'crypt(3) DES';
  return null;
}

/** Parse an htpasswd file. @throws {ConfigError} naming the file, line and user of an entry that cannot be used. */
export function parseHtpasswd(text: string, source: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const colon = trimmed.indexOf(':');
    const where = `htpasswd file ${source} line ${i + 1}`;
    if (colon <= 0) throw new ConfigError(`${where} is not "user:hash"; fix the line or remove it`);
    const user = trimmed.slice(0, colon);
    const hash = trimmed.slice(colon + 1);
    const fix = `re-create the entry with bcrypt: htpasswd -B ${source} ${user}`;
    if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      entries.set(user, { kind: 'bcrypt', hash });
    } else if (hash.startsWith('{SHA}')) {
      const digest = Buffer.from(hash.slice(5), 'base64');
      if (digest.length !== 20) throw new ConfigError(`${where} (user "${user}"): the {SHA} hash is not 20 bytes of base64; ${fix}`);
      entries.set(user, { kind: 'sha1', digest });
    } else {
      const kind = describeUnsupported(hash);
      throw new ConfigError(`${where} (user "${user}"): ${kind === null ? 'unrecognised password hash' : `${kind} hashes are not supported`}; ${fix}`);
    }
  });
  if (entries.size === 0) throw new ConfigError(`htpasswd file ${source} has no users; add one with: htpasswd -B ${source} <user>`);
  return entries;
}

function parseBasic(header: string | undefined): { user: string; password: string } | null {
  if (header === undefined) return null;
  const m = /^basic +([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (m === null) return null;
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function createHtpasswdAuthorizer(options: HtpasswdOptions): Authorizer {
  const entries = parseHtpasswd(options.text, options.source);
  const secret = randomBytes(32);
  const verified = new Map<string, { user: string; until: number }>();
  const challenge = `Basic realm=${quoteParam(options.realm)}`;

  const dummy = dummyEntry(entries);

  async function matches(entry: Entry, password: string): Promise<boolean> {
    if (entry.kind === 'sha1') return timingSafeEqual(createHash('sha1').update(password, 'utf8').digest(), entry.digest);
    // bcryptjs knows $2y$ too; it is the same algorithm as $2b$.
    return bcrypt.compare(password, entry.hash);
  }

  async function check(user: string, password: string): Promise<boolean> {
    const entry = entries.get(user);
    if (entry === undefined) {
      await matches(dummy, password);
      return false;
    }
    return matches(entry, password);
  }

  return {
    kind: 'htpasswd',
    async authorize(request: AuthRequest): Promise<AuthDecision> {
      const creds = parseBasic(request.authorization);
      if (creds === null) return { ok: false, challenge, reason: 'basic credentials required' };
      const key = createHmac('sha256', secret).update(creds.user).update('\0').update(creds.password).digest('base64');
      const now = Date.now();
      const hit = verified.get(key);
      if (hit !== undefined && hit.until > now) return { ok: true, user: hit.user };
      if (!(await check(creds.user, creds.password))) return { ok: false, challenge, reason: 'invalid username or password' };
      if (verified.size >= CACHE_MAX) verified.delete(verified.keys().next().value as string);
      verified.set(key, { user: creds.user, until: now + CACHE_MS });
      return { ok: true, user: creds.user };
    },
  };
}
