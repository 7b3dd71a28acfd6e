// SPDX-License-Identifier: Apache-2.0
// POST /v2/_policy/check: {"images": [...], "explain"?: true} ->
// {"results": [{image, allowed, digest, signedBy, rule, reasons, mode}]}, one
// per image in order. `explain` (a dry run: nothing is admitted or changed)
// adds `explanation`, saying which rule matched and why.

import type { IncomingMessage } from 'node:http';
import { JSON_CONTENT_TYPE, sendNotaryError } from '../errors.js';
import type { RequestContext } from '../context.js';
import { policyFor, type PolicyBinding } from '../../policy/registry.js';

export const MAX_POLICY_BODY_BYTES = 3 * 1024 * 1024;
export const MAX_IMAGES = 256;

/** The request body parsed as JSON, or a reason for the client. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_POLICY_BODY_BYTES): Promise<{ ok: true; value: unknown } | { ok: false; reason: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return { ok: false, reason: `request body exceeds ${limit} bytes` };
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return { ok: false, reason: 'request body is not JSON' };
  }
}

export function sendJson(ctx: RequestContext, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  ctx.res.writeHead(status, ['Content-Type', JSON_CONTENT_TYPE, 'Content-Length', String(body.length)]);
  ctx.res.end(body);
}

/** The configured policy, or a 404 answer saying how to configure one. */
export function requirePolicy(ctx: RequestContext): PolicyBinding | undefined {
  const binding = policyFor(ctx.deps.service);
  if (binding === undefined) sendNotaryError(ctx.res, 'GENERIC_NOT_FOUND', 'this server has no deploy policy; start signet-server with --policy FILE');
  return binding;
}

export async function policyCheckHandler(ctx: RequestContext): Promise<void> {
  const binding = requirePolicy(ctx);
  if (binding === undefined) return;
  const body = await readJsonBody(ctx.req);
  if (!body.ok) return sendNotaryError(ctx.res, 'MALFORMED_JSON', body.reason);
  const value = body.value as { images?: unknown; explain?: unknown } | null;
  const images = typeof value === 'object' && value !== null ? value.images : undefined;
  if (!Array.isArray(images) || images.length === 0 || images.length > MAX_IMAGES || !images.every((i): i is string => typeof i === 'string')) {
    return sendNotaryError(ctx.res, 'INVALID_PARAMETERS', `send {"images": ["<image reference>", ...]} with 1 to ${MAX_IMAGES} strings`);
  }
  if (value?.explain !== undefined && typeof value.explain !== 'boolean') return sendNotaryError(ctx.res, 'INVALID_PARAMETERS', '"explain" must be true or false');
  const results = await binding.checker.check(images, { explain: value?.explain === true, source: 'api' });
  sendJson(ctx, 200, { results });
}
