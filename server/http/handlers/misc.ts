// SPDX-License-Identifier: Apache-2.0
// The small routes: GET /v2/ (`{}`, the Go client's "is auth required" ping),
// the catch-all 404, health (503 with the failing check, as
// docker/distribution's health handler writes it) and Prometheus metrics.

import { JSON_CONTENT_TYPE, sendNotaryError } from '../errors.js';
import { goJson } from '../go-format.js';
import { sendText, type RequestContext } from '../context.js';

const HEALTH_TIMEOUT_MS = 2000;

export function mainHandler(ctx: RequestContext): void {
  sendText(ctx.res, '{}');
}

export function notFoundHandler(ctx: RequestContext): void {
  sendNotaryError(ctx.res, 'METADATA_NOT_FOUND');
}

async function pingWithin(ping: () => Promise<void>, ms: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${ms} ms`), ms);
  });
  try {
    return await Promise.race([ping().then(() => null), timeout]);
  } catch (err) {
    return err instanceof Error ? err.message.slice(0, 200) : 'database check failed';
  } finally {
    clearTimeout(timer);
  }
}

export async function healthHandler(ctx: RequestContext): Promise<void> {
  const problem = await pingWithin(() => ctx.deps.store.ping(), HEALTH_TIMEOUT_MS);
  const body = Buffer.from(goJson(problem === null ? {} : { 'DB operational': problem }), 'utf8');
  ctx.res.writeHead(problem === null ? 200 : 503, ['Content-Type', JSON_CONTENT_TYPE, 'Content-Length', String(body.length)]);
  ctx.res.end(body);
}

export async function metricsHandler(ctx: RequestContext): Promise<void> {
  const registry = ctx.deps.metrics.registry;
  const body = Buffer.from(await registry.metrics(), 'utf8');
  ctx.res.writeHead(200, ['Content-Type', registry.contentType, 'Content-Length', String(body.length)]);
  ctx.res.end(body);
}
