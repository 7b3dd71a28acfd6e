// SPDX-License-Identifier: Apache-2.0
// Turns driver and database failures into StorageError messages an operator
// can act on. SECURITY: messages name the database by its redacted location
// only; a password from --database-url never reaches a message or a log.

import { StorageError, TrustError } from '../../shared/errors.js';

/** The SQLSTATE (`23505`) or Node system code (`ECONNREFUSED`) of a failure, if any. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The DETAIL of a database error, if it has one. */
export function errorDetail(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'detail' in err) {
    const detail = (err as { detail: unknown }).detail;
    if (typeof detail === 'string') return detail;
  }
  return undefined;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/**
 * A postgres:// URL with the password (userinfo and `password=` parameter)
 * replaced by `***`; a generic phrase when the text is not a URL at all, since
 * an unparsable string could be anything, a password included.
 */
export function redactDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'the configured database URL';
  }
  if (parsed.password !== '') parsed.password = '***';
  for (const key of [...parsed.searchParams.keys()]) {
    if (/pass/i.test(key)) parsed.searchParams.set(key, '***');
  }
  return parsed.toString();
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * `operation` says what was attempted ("store an update of example.com/app").
 * Errors Signet raised on purpose pass through unchanged.
 */
export function storageErrorFrom(err: unknown, operation: string, location: string, configHint: string): TrustError {
  if (err instanceof TrustError) return err;
  const code = errorCode(err) ?? '';
  const where = `the database at ${location}`;
  let message: string;
  if (NETWORK_CODES.has(code) || /Connection terminated|connection timeout|timeout expired/i.test(messageOf(err))) {
    message = `cannot ${operation}: ${where} is unreachable (${code || 'connection failed'}); check that PostgreSQL is running and ${configHint}`;
  } else if (code === '28P01' || code === '28000') {
    message = `cannot ${operation}: ${where} refused the login; check the user and password in the database URL`;
  } else if (code === '3D000') {
    message = `cannot ${operation}: the database named in ${location} does not exist; create it (createdb) or ${configHint}`;
  } else if (code === '57014') {
    message = `cannot ${operation}: ${where} did not answer within the statement timeout; check the database load or raise the statement timeout`;
  } else if (code === '53300') {
    message = `cannot ${operation}: ${where} has too many connections; lower the pool size of each server or raise max_connections`;
  } else if (code === '57P01' || code === '57P02' || code === '57P03') {
    message = `cannot ${operation}: ${where} is shutting down or starting up; retry shortly`;
  } else if (code === '42P01' || code === '42703') {
    message = `cannot ${operation}: the schema in ${location} is missing or older than this server (${code}); restart signet-server so it runs its migrations`;
  } else if (SQLSTATE.test(code)) {
    // Server messages name constraints and types, never connection secrets.
    message = `cannot ${operation}: ${where} answered ${code} (${messageOf(err)})`;
  } else {
    message = `cannot ${operation}: ${where} failed (${err instanceof Error ? err.name : typeof err}); see the server log and ${configHint}`;
  }
  return new StorageError('STORAGE', message, { cause: err });
}
