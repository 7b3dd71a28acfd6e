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

/**
 * The request body parsed as JSON, or a reason for the client. An oversized body is not read on:
 * the answer then closes the connection (`close`). The stream is never destroyed mid-request (a
 * `for await` left early does that, and the request's socket was then gone when the request was
 * logged, which stopped the process).
 */
export function readJsonBody(req: IncomingMessage, limit = MAX_POLICY_BODY_BYTES): Promise<{ ok: true; value: unknown } | { ok: false; reason: string; close: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return; // discarded until the connection closes after the answer
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        resolve({ ok: false, reason: `request body exceeds ${limit} bytes`, close: true });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      try {
        resolve({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      } catch {
        resolve({ ok: false, reason: 'request body is not JSON', close: false });
      }
    });
    req.on('error', () => {
      if (done) return;
      done = true;
      resolve({ ok: false, reason: 'request body could not be read', close: true });
    });
  });
}

/** The MALFORMED_JSON answer for a body readJsonBody refused. */
export function sendBodyError(ctx: RequestContext, body: { reason: string; close: boolean }): void {
  sendNotaryError(ctx.res, 'MALFORMED_JSON', body.reason, body.close ? ['Connection', 'close'] : []);
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
  if (!body.ok) return sendBodyError(ctx, body);
  const value = body.value as { images?: unknown; explain?: unknown } | null;
  const images = typeof value === 'object' && value !== null ? value.images : undefined;
  if (!Array.isArray(images) || images.length === 0 || images.length > MAX_IMAGES || !images.every((i): i is string => typeof i === 'string')) {
    return sendNotaryError(ctx.res, 'INVALID_PARAMETERS', `send {"images": ["<image reference>", ...]} with 1 to ${MAX_IMAGES} strings`);
  }
  if (value?.explain !== undefined && typeof value.explain !== 'boolean') return sendNotaryError(ctx.res, 'INVALID_PARAMETERS', '"explain" must be true or false');
  const results = await binding.checker.check(images, { explain: value?.explain === true, source: 'api' });
  sendJson(ctx, 200, { results });
}
