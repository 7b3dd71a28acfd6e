// SPDX-License-Identifier: Apache-2.0
// Checks on each part of a publish, in notary's order (server/handlers/default.go):
// the role comes from the raw `filename` parameter minus one trailing `.json`
// (directories kept: `foo/targets` is a role name, and an invalid one), then
// the body must decode as `{signed:{_type,expires,version},signatures}`.
// Stricter than notary, whose Go decoder accepts missing fields, trailing
// bytes after the first JSON value, invalid UTF-8 and case-insensitive keys:
// here the part must be exactly one JSON object with every field present and
// typed (integer version, RFC 3339 expires, padded base64 signatures).

import type { GoJsonValue } from './go-format.js';
import type { NotaryErrorCode } from './errors.js';

export interface PartFailure {
  readonly code: NotaryErrorCode;
  readonly detail?: GoJsonValue;
}

const BASE_ROLES = new Set(['root', 'targets', 'snapshot', 'timestamp']);
const DELEGATION_CHARS = /^[-a-z0-9_/]+$/;

/** notary data.ValidRole: a base role, or `targets/…` of [-a-z0-9_/], shorter than 256, path-clean. */
export function isValidRole(role: string): boolean {
  if (BASE_ROLES.has(role)) return true;
  return role.startsWith('targets/') && DELEGATION_CHARS.test(role) && role.length < 256 && !role.includes('//') && !role.endsWith('/');
}

/** The role named by a part's filename, or why the part is refused (checked before its body is read). */
export function roleFromFilename(filename: string | undefined): { ok: true; role: string } | { ok: false; failure: PartFailure } {
  const role = (filename ?? '').replace(/\.json$/, '');
  if (role === '') return { ok: false, failure: { code: 'NO_FILENAME' } };
  if (!isValidRole(role)) return { ok: false, failure: { code: 'INVALID_ROLE', detail: role } };
  return { ok: true, role };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/;
const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go time.Parse(time.RFC3339, …) acceptance, including calendar ranges. */
export function isRfc3339(s: string): boolean {
  const m = RFC3339.exec(s);
  if (m === null) return false;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const zoneOk = m[8] === 'Z' || (Number(m[9]) < 24 && Number(m[10]) < 60);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth && h < 24 && mi < 60 && sec < 60 && zoneOk;
}

/** The metadata version if the part is a well-formed signed envelope, else null (MALFORMED_JSON). */
export function envelopeVersion(data: Buffer): number | null {
  let doc: unknown;
  try {
    doc = JSON.parse(utf8.decode(data));
  } catch {
    return null;
  }
  if (!isObject(doc) || !isObject(doc.signed) || !Array.isArray(doc.signatures)) return null;
  const { _type: type, expires, version } = doc.signed;
  if (typeof type !== 'string' || typeof expires !== 'string' || !isRfc3339(expires)) return null;
  if (typeof version !== 'number' || !Number.isSafeInteger(version)) return null;
  for (const sig of doc.signatures as unknown[]) {
    if (!isObject(sig) || typeof sig.keyid !== 'string' || typeof sig.method !== 'string') return null;
    if (typeof sig.sig !== 'string' || !PADDED_BASE64.test(sig.sig)) return null;
  }
  return version;
}
