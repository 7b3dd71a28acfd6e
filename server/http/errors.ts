// SPDX-License-Identifier: Apache-2.0
// notary-server's error table (server/errors/errors.go plus docker/distribution's
// UNAUTHORIZED) and the envelope it writes: `{"errors":[{code,message,detail}]}`
// followed by "\n" (json.Encoder), `Content-Type: application/json; charset=utf-8`.
// The Go client matches on codes and, for INVALID_UPDATE, parses `detail`, so
// codes, texts and statuses are kept exactly.

import type { ServerResponse } from 'node:http';
import { goJson, type GoJsonValue } from './go-format.js';

export type NotaryErrorCode =
  | 'NO_STORAGE'
  | 'NO_FILENAME'
  | 'INVALID_ROLE'
  | 'MALFORMED_JSON'
  | 'UPDATING'
  | 'VERSION'
  | 'METADATA_NOT_FOUND'
  | 'INVALID_UPDATE'
  | 'MALFORMED_UPLOAD'
  | 'GENERIC_NOT_FOUND'
  | 'NO_CRYPTOSERVICE'
  | 'NO_KEYALGORITHM'
  | 'INVALID_GUN'
  | 'INVALID_PARAMETERS'
  | 'UNKNOWN'
  | 'UNAUTHORIZED'
  | 'UNAVAILABLE';

interface Descriptor {
  readonly status: number;
  readonly message: string;
}

export const NOTARY_ERRORS: Readonly<Record<NotaryErrorCode, Descriptor>> = {
  NO_STORAGE: { status: 500, message: 'The server is misconfigured and has no storage.' },
  NO_FILENAME: { status: 400, message: 'No file/role name provided.' },
  INVALID_ROLE: { status: 400, message: 'The role you are attempting to operate on is invalid.' },
  MALFORMED_JSON: { status: 400, message: 'JSON sent by the client could not be parsed by the server' },
  UPDATING: { status: 500, message: 'An error has occurred while updating the TUF repository.' },
  VERSION: { status: 400, message: 'A newer version of metadata is already available.' },
  METADATA_NOT_FOUND: { status: 404, message: 'You have requested metadata that does not exist.' },
  INVALID_UPDATE: { status: 400, message: 'Update sent by the client is invalid.' },
  MALFORMED_UPLOAD: { status: 400, message: 'The body of your request is malformed.' },
  GENERIC_NOT_FOUND: { status: 404, message: 'You have requested a resource that does not exist.' },
  NO_CRYPTOSERVICE: { status: 500, message: 'The server does not have a signing service configured.' },
  NO_KEYALGORITHM: { status: 500, message: 'The server does not have a key algorithm configured.' },
  INVALID_GUN: { status: 400, message: 'The server does not support actions on images of this name.' },
  INVALID_PARAMETERS: { status: 400, message: 'The parameters provided are not valid.' },
  UNKNOWN: { status: 500, message: 'unknown error' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  // docker/distribution's errcode.ErrorCodeUnavailable; the notary client reports a 503 as a busy server.
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
};

/** What Go writes for `WithDetail(err)` when err is a Go error value without exported fields. */
export const GO_ERROR_DETAIL: GoJsonValue = {};

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The envelope bytes; `detail` undefined means omitted (Go's `omitempty` on a nil detail). */
export function notaryErrorBody(code: NotaryErrorCode, detail?: GoJsonValue): Buffer {
  const entry: Record<string, GoJsonValue> = { code, message: NOTARY_ERRORS[code].message };
  if (detail !== undefined) entry.detail = detail;
  return Buffer.from(goJson({ errors: [entry] }) + '\n', 'utf8');
}

/** Write a Notary error response. `headers` are added before the standard ones (e.g. Www-Authenticate). */
export function sendNotaryError(res: ServerResponse, code: NotaryErrorCode, detail?: GoJsonValue, headers: readonly string[] = []): void {
  const body = notaryErrorBody(code, detail);
  res.writeHead(NOTARY_ERRORS[code].status, ['Content-Type', JSON_CONTENT_TYPE, ...headers, 'Content-Length', String(body.length)]);
  res.end(body);
}

/** Largest error body the Go client parses (storage/httpstore.go MaxErrorResponseSize). */
export const MAX_CLIENT_ERROR_BODY = 1024;
