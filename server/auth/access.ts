// SPDX-License-Identifier: Apache-2.0
// What a request needs and how a refusal is described, as notary's
// utils/http.go builds it: one access record per action on
// `repository:<gun>`, or `registry:catalog:*` for routes without a GUN.
// Both authorizers (token, htpasswd) answer in these terms.

import { goQuote } from '../http/go-format.js';

export interface Access {
  readonly type: string;
  readonly name: string;
  readonly action: string;
}

/** notary's buildAccessRecords / buildCatalogRecord. */
export function requiredAccess(gun: string, actions: readonly string[]): Access[] {
  if (gun === '') return [{ type: 'registry', name: 'catalog', action: '*' }];
  return actions.map((action) => ({ type: 'repository', name: gun, action }));
}

/** The `scope` challenge parameter: `type:name:a,b` per resource, resources joined by spaces. */
export function scopeParam(access: readonly Access[]): string {
  const byResource = new Map<string, string[]>();
  for (const a of access) {
    const key = `${a.type}:${a.name}`;
    const actions = byResource.get(key) ?? [];
    if (!actions.includes(a.action)) actions.push(a.action);
    byResource.set(key, actions);
  }
  return [...byResource].map(([resource, actions]) => `${resource}:${actions.join(',')}`).join(' ');
}

/** The UNAUTHORIZED `detail`: Go's JSON of []auth.Access (Class always present, empty). */
export function accessDetail(access: readonly Access[]): { Type: string; Class: string; Name: string; Action: string }[] {
  return access.map((a) => ({ Type: a.type, Class: '', Name: a.name, Action: a.action }));
}

/** What an authorizer is asked about one request. Never logged: it carries credentials. */
export interface AuthRequest {
  /** The raw Authorization header, if any. */
  readonly authorization: string | undefined;
  /** The Host header (token auth `autoredirect` builds the realm from it). */
  readonly host: string | undefined;
}

export type AuthDecision =
  | { readonly ok: true; readonly user: string }
  /** `challenge` is the complete Www-Authenticate value. */
  | { readonly ok: false; readonly challenge: string; readonly reason: string };

export interface Authorizer {
  readonly kind: 'token' | 'htpasswd';
  authorize(request: AuthRequest, access: readonly Access[]): Promise<AuthDecision>;
}

/**
 * Go's %q for challenge parameters, as docker/distribution writes them:
 * control and non-printable characters escaped, printable non-ASCII kept (the
 * header carries it as UTF-8, see dispatch.ts), so the value is always a legal header.
 */
export function quoteParam(value: string): string {
  return goQuote(value);
}
