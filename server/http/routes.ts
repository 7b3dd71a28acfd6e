// SPDX-License-Identifier: Apache-2.0
// notary-server's route table (server/server.go) with gorilla/mux semantics:
// regexes anchored on the decoded path, first match wins, HEAD is not GET,
// a path matched only with another method gives 405, and the catch-all
// answers GET/POST/PUT/HEAD/DELETE on every other path. Express's router
// does none of this, hence a table of our own.

export type Operation =
  | 'Main'
  | 'UpdateTUF'
  | 'GetRoleByHash'
  | 'GetRoleByVersion'
  | 'GetRole'
  | 'GetKey'
  | 'RotateKey'
  | 'DeleteTUF'
  | 'Changefeed'
  | 'GlobalChangefeed'
  | 'Health'
  | 'Metrics'
  | 'PolicyCheck'
  | 'AdmissionValidate'
  | 'AdmissionMutate'
  | 'NotFound';

export type RepoAction = 'pull' | 'push' | '*';

/** The access a route needs: none, the registry catalog (routes without a GUN), or actions on the GUN. */
export type RouteScope = { readonly kind: 'open' } | { readonly kind: 'catalog' } | { readonly kind: 'repository'; readonly actions: readonly RepoAction[] };

export interface RouteDef {
  readonly operation: Operation;
  readonly methods: ReadonlySet<string>;
  readonly pattern: RegExp;
  readonly scope: RouteScope;
  /** Answer for a GUN outside the configured prefixes (notary's filterImagePrefixes); null for routes without a GUN. */
  readonly outsidePrefix: 'INVALID_GUN' | 'METADATA_NOT_FOUND' | null;
}

export interface RouteMatch {
  readonly route: RouteDef;
  readonly gun: string;
  readonly role: string;
  readonly checksum: string;
  readonly version: string;
}

// Go RE2's \s is [\t\n\f\r ], narrower than JavaScript's.
const ROLE = 'root|targets(?:/[^/\\t\\n\\f\\r ]+)*|snapshot|timestamp';
const GUN = '([^*]+)';
const TUF = `^/v2/${GUN}/_trust/tuf/`;

const pull: RouteScope = { kind: 'repository', actions: ['pull'] };
const pushPull: RouteScope = { kind: 'repository', actions: ['push', 'pull'] };
const star: RouteScope = { kind: 'repository', actions: ['*'] };
const catalog: RouteScope = { kind: 'catalog' };
const open: RouteScope = { kind: 'open' };

function route(operation: Operation, methods: string[], pattern: string, scope: RouteScope, outsidePrefix: RouteDef['outsidePrefix']): RouteDef {
  return { operation, methods: new Set(methods), pattern: new RegExp(pattern), scope, outsidePrefix };
}

/** In server.go order; capture groups are read by `matchRoute`. */
export const ROUTES: readonly RouteDef[] = [
  route('Main', ['GET'], '^/v2/$', catalog, null),
  route('UpdateTUF', ['POST'], `${TUF}$`, pushPull, 'INVALID_GUN'),
  route('GetRoleByHash', ['GET'], `${TUF}(${ROLE})\\.([a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128})\\.json$`, pull, 'METADATA_NOT_FOUND'),
  route('GetRoleByVersion', ['GET'], `${TUF}([1-9]*[0-9]+)\\.(${ROLE})\\.json$`, pull, 'METADATA_NOT_FOUND'),
  route('GetRole', ['GET'], `${TUF}(${ROLE})\\.json$`, pull, 'METADATA_NOT_FOUND'),
  route('GetKey', ['GET'], `${TUF}(snapshot|timestamp)\\.key$`, pushPull, 'METADATA_NOT_FOUND'),
  route('RotateKey', ['POST'], `${TUF}(snapshot|timestamp)\\.key$`, star, 'METADATA_NOT_FOUND'),
  route('DeleteTUF', ['DELETE'], `${TUF}$`, star, 'METADATA_NOT_FOUND'),
  route('Changefeed', ['GET'], `^/v2/${GUN}/_trust/changefeed$`, pull, 'METADATA_NOT_FOUND'),
  route('GlobalChangefeed', ['GET'], '^/v2/_trust/changefeed$', catalog, null),
  route('Health', ['GET'], '^/_notary_server/health$', open, null),
  route('Metrics', ['GET'], '^/metrics$', open, null),
  // Signet's deploy policy (server/policy): same auth as the catalog routes.
  route('PolicyCheck', ['POST'], '^/v2/_policy/check$', catalog, null),
  route('AdmissionValidate', ['POST'], '^/v2/_policy/admission/validate$', catalog, null),
  route('AdmissionMutate', ['POST'], '^/v2/_policy/admission/mutate$', catalog, null),
  // Go's `.` does not match "\n" (JavaScript's also excludes "\r", U+2028, U+2029).
  route('NotFound', ['GET', 'POST', 'PUT', 'HEAD', 'DELETE'], '^/[^\\n]*$', catalog, null),
];

function groups(operation: Operation, m: RegExpExecArray): Omit<RouteMatch, 'route'> {
  const g = (i: number): string => m[i] ?? '';
  switch (operation) {
    case 'GetRoleByHash':
      return { gun: g(1), role: g(2), checksum: g(3), version: '' };
    case 'GetRoleByVersion':
      return { gun: g(1), role: g(3), checksum: '', version: g(2) };
    case 'GetRole':
    case 'GetKey':
    case 'RotateKey':
      return { gun: g(1), role: g(2), checksum: '', version: '' };
    case 'UpdateTUF':
    case 'DeleteTUF':
    case 'Changefeed':
      return { gun: g(1), role: '', checksum: '', version: '' };
    default:
      return { gun: '', role: '', checksum: '', version: '' };
  }
}

/** The first route matching method and path; 405 when only another method matches; 404 when no path matches at all. */
export function matchRoute(method: string, path: string): RouteMatch | 405 | 404 {
  let pathMatched = false;
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (m === null) continue;
    if (!r.methods.has(method)) {
      pathMatched = true;
      continue;
    }
    return { route: r, ...groups(r.operation, m) };
  }
  return pathMatched ? 405 : 404;
}

/** Go path.Clean plus gorilla's "keep the trailing slash" (mux.cleanPath). */
export function cleanPath(p: string): string {
  if (p.startsWith('/') && !/\/\/|\/\.\.?(\/|$)/.test(p)) return p; // already clean: the common case
  if (p === '') return '/';
  if (p[0] !== '/') p = '/' + p;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  let np = '/' + out.join('/');
  if (p.endsWith('/') && np !== '/') np += '/';
  return np;
}

/** Percent-decode a request path as Go's url.Parse does; null when an escape is invalid (Go answers 400). */
export function decodePath(raw: string): string | null {
  if (!raw.includes('%')) return raw;
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return null;
  return Buffer.from(raw.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

/** Go url.(*URL).EscapedPath for a path without a usable RawPath (used for redirect targets). */
export function escapePath(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c) ? c : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Go url.ParseQuery + Values.Get: first value of `key`; pairs with `;` or bad escapes are dropped as Go drops them. */
export function queryGet(rawQuery: string, key: string): string | undefined {
  for (const pair of rawQuery.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const k = unescapeQuery(eq < 0 ? pair : pair.slice(0, eq));
    if (k !== key) continue;
    const v = unescapeQuery(eq < 0 ? '' : pair.slice(eq + 1));
    if (v !== null) return v;
  }
  return undefined;
}

function unescapeQuery(s: string): string | null {
  const plus = s.replace(/\+/g, ' ');
  return decodePath(plus);
}
