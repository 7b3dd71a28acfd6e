// SPDX-License-Identifier: Apache-2.0
// The request listener: decode and clean the path (gorilla redirects unclean
// paths with 301), match a route, apply the GUN prefix filter and the GUN
// name rules (before auth, as notary filters prefixes), check the route's
// access for that GUN, run the handler, then log one line and record metrics. Unexpected errors become 500 UNKNOWN
// with an empty detail; their text goes to the log, not to the client.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { assertGun } from '../../shared/tuf/names.js';
import { accessDetail, requiredAccess } from '../auth/access.js';
import { GO_ERROR_DETAIL, sendNotaryError } from './errors.js';
import { goStringSlice } from './go-format.js';
import { cleanPath, decodePath, escapePath, matchRoute, type Operation, type RouteMatch } from './routes.js';
import type { HttpDeps, RequestContext } from './context.js';
import { requestLineLogger } from '../log.js';
import { getByChecksumHandler, getByVersionHandler, getCurrentHandler } from './handlers/metadata.js';
import { postUpdateHandler } from './handlers/update.js';
import { getKeyHandler, rotateKeyHandler } from './handlers/keys.js';
import { deleteHandler } from './handlers/delete.js';
import { changefeedHandler } from './handlers/changefeed.js';
import { healthHandler, mainHandler, metricsHandler, notFoundHandler } from './handlers/misc.js';
import { policyCheckHandler } from './handlers/policy.js';
import { admissionMutateHandler, admissionValidateHandler } from './handlers/admission.js';

type Handler = (ctx: RequestContext) => Promise<void> | void;

const HANDLERS: Readonly<Record<Operation, Handler>> = {
  Main: mainHandler,
  UpdateTUF: postUpdateHandler,
  GetRoleByHash: getByChecksumHandler,
  GetRoleByVersion: getByVersionHandler,
  GetRole: getCurrentHandler,
  GetKey: getKeyHandler,
  RotateKey: rotateKeyHandler,
  DeleteTUF: deleteHandler,
  Changefeed: changefeedHandler,
  GlobalChangefeed: changefeedHandler,
  Health: healthHandler,
  Metrics: metricsHandler,
  PolicyCheck: policyCheckHandler,
  AdmissionValidate: admissionValidateHandler,
  AdmissionMutate: admissionMutateHandler,
  NotFound: notFoundHandler,
};

const ID_PREFIX = randomBytes(4).toString('hex');
let sequence = 0;

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given)) return given;
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return `${ID_PREFIX}-${sequence}`;
}

interface Outcome {
  operation: Operation | 'Unrouted';
  gun?: string;
  user?: string;
  denied?: string;
}

function gunProblem(gun: string): string | null {
  try {
    assertGun(gun);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : 'invalid repository name';
  }
}

function splitUrl(url: string): { rawPath: string; query: string } {
  if (!url.startsWith('/')) {
    try {
      const u = new URL(url); // absolute-form request target
      return { rawPath: u.pathname, query: u.search.slice(1) };
    } catch {
      return { rawPath: url, query: '' };
    }
  }
  const q = url.indexOf('?');
  return q < 0 ? { rawPath: url, query: '' } : { rawPath: url.slice(0, q), query: url.slice(q + 1) };
}

// Node reads and writes header values as latin1, one char per byte. The
// challenge carries realm, service and GUN (scope) text that may be non-ASCII;
// notary-server (Go) writes such strings as their UTF-8 bytes and Go clients
// (docker/distribution's challenge parser) read bytes back as UTF-8, so the
// text goes out, and the Host it may echo comes in, as UTF-8.
function toHeaderBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}
function fromHeaderBytes(value: string | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value, 'latin1').toString('utf8');
}

function plain(res: ServerResponse, status: number, text: string, extra: readonly string[] = []): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, ['Content-Type', 'text/plain; charset=utf-8', ...extra, 'Content-Length', String(body.length)]);
  res.end(body);
}

async function route(deps: HttpDeps, req: IncomingMessage, res: ServerResponse, id: string, out: Outcome): Promise<void> {
  const { rawPath, query } = splitUrl(req.url ?? '/');
  const path = decodePath(rawPath);
  if (path === null) return plain(res, 400, '400 Bad Request', ['Connection', 'close']);
  const clean = cleanPath(path);
  if (clean !== path) {
    res.writeHead(301, ['Location', escapePath(clean) + (query === '' ? '' : '?' + query), 'Content-Length', '0']);
    res.end();
    return;
  }
  const match: RouteMatch | 404 | 405 = matchRoute(req.method ?? 'GET', path);
  if (match === 405) {
    res.writeHead(405, ['Content-Length', '0']);
    res.end();
    return;
  }
  if (match === 404) return plain(res, 404, '404 page not found\n', ['X-Content-Type-Options', 'nosniff']);
  const { route: r, gun } = match;
  out.operation = r.operation;
  if (gun !== '') out.gun = gun;

  if (r.outsidePrefix !== null && deps.gunPrefixes.length > 0 && !deps.gunPrefixes.some((p) => gun.startsWith(p))) {
    if (r.outsidePrefix === 'INVALID_GUN') return sendNotaryError(res, 'INVALID_GUN', `Require GUNs with prefix: ${goStringSlice(deps.gunPrefixes)}`);
    return sendNotaryError(res, 'METADATA_NOT_FOUND');
  }
  // Stricter than notary, which takes any `[^*]+`: nothing can be stored under a name the domain refuses.
  const badGun = r.outsidePrefix === null ? null : gunProblem(gun);
  if (badGun !== null) {
    if (r.outsidePrefix === 'INVALID_GUN') return sendNotaryError(res, 'INVALID_GUN', badGun);
    return sendNotaryError(res, 'METADATA_NOT_FOUND');
  }

  if (deps.authorizer !== null && r.scope.kind !== 'open') {
    const access = requiredAccess(r.scope.kind === 'catalog' ? '' : gun, r.scope.kind === 'repository' ? r.scope.actions : ['*']);
    const decision = await deps.authorizer.authorize({ authorization: req.headers.authorization, host: fromHeaderBytes(req.headers.host) }, access);
    if (!decision.ok) {
      out.denied = decision.reason;
      return sendNotaryError(res, 'UNAUTHORIZED', accessDetail(access), ['Www-Authenticate', toHeaderBytes(decision.challenge)]);
    }
    out.user = decision.user;
  }
  await HANDLERS[r.operation]({ req, res, match, query, deps, requestId: id });
}

export function createRequestListener(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, metrics } = deps;
  const requestLog = requestLineLogger(logger);
  return (req, res) => {
    const started = performance.now();
    const id = requestId(req);
    const out: Outcome = { operation: 'Unrouted' };
    route(deps, req, res, id, out)
      .catch((err: unknown) => {
        logger.error({ err, reqId: id, operation: out.operation, gun: out.gun }, 'request failed');
        if (!res.headersSent) sendNotaryError(res, 'UNKNOWN', GO_ERROR_DETAIL);
        else res.destroy();
      })
      .finally(() => {
        const ms = performance.now() - started;
        metrics.observeRequest(out.operation, req.method ?? '', res.statusCode, ms / 1000);
        // Path only: the query is client-chosen free text. Never headers or bodies.
        requestLog.info(
          // The socket is gone when the request was destroyed; a log line must never throw here.
          { reqId: id, remote: (req.socket as Socket | null)?.remoteAddress, method: req.method, path: splitUrl(req.url ?? '/').rawPath.slice(0, 300), operation: out.operation, gun: out.gun, user: out.user, denied: out.denied, status: res.statusCode, ms: Math.round(ms * 1000) / 1000 },
          'request',
        );
      });
  };
}
