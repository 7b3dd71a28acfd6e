// SPDX-License-Identifier: Apache-2.0
// `-v` / `-D` logging on stderr: what signet asks the server, what it
// applies and signs. Callers pass facts only (URLs without user info, role
// names, public key IDs, HTTP status codes); passphrases, private keys,
// tokens and Authorization headers are never handed to the logger.

import type { HttpSend } from './http-transport.js';

export type LogLevel = 'quiet' | 'info' | 'debug';

export interface CliLog {
  readonly level: LogLevel;
  info(message: string): void;
  debug(message: string): void;
}

export const quietLog: CliLog = { level: 'quiet', info: () => undefined, debug: () => undefined };

export function createLog(stream: NodeJS.WritableStream, level: LogLevel): CliLog {
  const write = (tag: string, message: string): void => {
    stream.write(`signet ${tag}: ${message}\n`);
  };
  return {
    level,
    info: (m) => (level === 'quiet' ? undefined : write('info', m)),
    debug: (m) => (level === 'debug' ? write('debug', m) : undefined),
  };
}

/** A URL as it may be logged: user info and query dropped (tokens and passwords live there). */
export function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Wrap a transport so each exchange is logged at info level (method, URL, status, size, time). */
export function loggingSend(send: HttpSend, log: CliLog): HttpSend {
  if (log.level === 'quiet') return send;
  return async (req) => {
    const started = Date.now();
    try {
      const res = await send(req);
      log.info(`${req.method} ${safeUrl(req.url)} -> ${res.status} (${res.body.length} bytes, ${Date.now() - started} ms)`);
      return res;
    } catch (e) {
      log.info(`${req.method} ${safeUrl(req.url)} failed after ${Date.now() - started} ms: ${(e as Error).message}`);
      throw e;
    }
  };
}
