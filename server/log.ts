// SPDX-License-Identifier: Apache-2.0
// Structured JSON logs (pino). Request lines carry a request id, the route
// family, status and duration; never bodies, keys, passphrases, tokens or
// Authorization headers. The redact list is a second line of defence for
// anything that would reach a log object under those names by mistake.

import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

const REDACT = [
  'authorization',
  'password',
  'passphrase',
  'token',
  '*.authorization',
  '*.password',
  '*.passphrase',
  '*.token',
  'headers.authorization',
  'req.headers.authorization',
  'config.signer.passphrase',
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'signet-server' }, redact: { paths: REDACT, censor: '[redacted]' } };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/**
 * The logger for per-request lines: the same destination and level, without
 * redaction. A request line is built from fixed fields (id, address, method,
 * path without query, route, GUN, user, status, duration), none of them a
 * secret, and pino's wildcard redaction cost ~23 µs per line, a tenth of a
 * cached GET's CPU.
 */
export function requestLineLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: [] } });
}
