// SPDX-License-Identifier: Apache-2.0
// POST /v2/<gun>/_trust/tuf/: read the multipart publish, hand the parts to
// the trust domain, answer as notary does (notary-wire.md §6.2, §6.8):
// 200 empty; INVALID_UPDATE with `{"Name":<ErrType>,"Error":{…}}` (the only
// detail shape the Go client parses, and only within 1 KiB); VERSION when a
// version is not newer; UPDATING for a storage failure.

import type { ServerResponse } from 'node:http';
import { RepositoryError, TrustError } from '../../../shared/errors.js';
import { VersionConflictError } from '../../storage/meta-store.js';
import { createKeyedQueue, type KeyedQueue } from '../../keyed-queue.js';
import { GO_ERROR_DETAIL, MAX_CLIENT_ERROR_BODY, notaryErrorBody, sendNotaryError } from '../errors.js';
import type { GoJsonValue } from '../go-format.js';
import { readUpload } from '../multipart.js';
import { sendEmptyOk, type RequestContext } from '../context.js';

const NOTARY_NAMES = new Set(['ErrBadRoot', 'ErrBadTargets', 'ErrBadSnapshot', 'ErrBadHierarchy', 'ErrValidation']);

/** The SerializableError detail, its Msg shortened so the whole body fits in what the Go client reads. */
export function invalidUpdateDetail(name: string, message: string, missing: string | undefined): GoJsonValue {
  const make = (msg: string): GoJsonValue => ({ Name: name, Error: name === 'ErrBadHierarchy' ? { Missing: missing ?? 'snapshot', Msg: msg } : { Msg: msg } });
  let msg = message;
  for (;;) {
    const over = notaryErrorBody('INVALID_UPDATE', make(msg)).length - MAX_CLIENT_ERROR_BODY;
    if (over <= 0 || msg.length === 0) return make(msg);
    msg = msg.slice(0, Math.max(0, msg.length - over - 1)) + '…';
    if (msg === '…') return make('');
  }
}

function refusal(err: unknown): { name: string; message: string; missing: string | undefined } | null {
  if (!(err instanceof Error) || !('notaryName' in err)) return null;
  const name = (err as { notaryName: unknown }).notaryName;
  if (typeof name !== 'string' || !NOTARY_NAMES.has(name)) return null;
  const missing = (err as { missing?: unknown }).missing;
  return { name, message: err.message, missing: typeof missing === 'string' ? missing : undefined };
}

function sendUpdateError(ctx: RequestContext, res: ServerResponse, err: unknown): void {
  const r = refusal(err);
  // Refusals are logged (the reason only; never the metadata) so an operator can see why a client failed.
  if (r !== null) {
    ctx.deps.logger.info({ reqId: ctx.requestId, gun: ctx.match.gun, refusal: r.name, reason: r.message }, 'publish refused');
    return sendNotaryError(res, 'INVALID_UPDATE', invalidUpdateDetail(r.name, r.message, r.missing));
  }
  if (err instanceof VersionConflictError || (err instanceof TrustError && err.code === 'VERSION_CONFLICT')) return sendNotaryError(res, 'VERSION', GO_ERROR_DETAIL);
  if (err instanceof RepositoryError) {
    // Metadata that parses as JSON but not as the model (a bad field, duplicate signatures):
    // notary reports these as ErrValidation; the detail tells the client which field.
    ctx.deps.logger.info({ reqId: ctx.requestId, gun: ctx.match.gun, refusal: 'ErrValidation', reason: err.message }, 'publish refused');
    return sendNotaryError(res, 'INVALID_UPDATE', invalidUpdateDetail('ErrValidation', err.message, undefined));
  }
  ctx.deps.logger.error({ err, reqId: ctx.requestId, gun: ctx.match.gun }, 'publish failed in storage or signing');
  sendNotaryError(res, 'UPDATING');
}

// Publishes to one GUN are applied one at a time per service: concurrent ones would all
// validate against the same stored state and all but one fail at commit with VERSION,
// their work wasted (bench:server, 8 GUNs x 4 clients: 70% lost). The store's
// version check still settles races between processes.
const queues = new WeakMap<object, KeyedQueue>();

function oneAtATime(owner: object, gun: string, run: () => Promise<void>): Promise<void> {
  let queue = queues.get(owner);
  if (queue === undefined) queues.set(owner, (queue = createKeyedQueue()));
  return queue(gun, run);
}

export async function postUpdateHandler(ctx: RequestContext): Promise<void> {
  const { gun } = ctx.match;
  const upload = await readUpload(ctx.req, ctx.deps.limits, ctx.deps.uploadBudget);
  if (!upload.ok) {
    const headers = [...(upload.closeConnection ? ['Connection', 'close'] : []), ...(upload.failure.code === 'UNAVAILABLE' ? ['Retry-After', '1'] : [])];
    return sendNotaryError(ctx.res, upload.failure.code, upload.failure.detail, headers);
  }
  try {
    await oneAtATime(ctx.deps.service, gun, () => ctx.deps.service.applyUpdate(gun, upload.parts));
  } catch (err) {
    return sendUpdateError(ctx, ctx.res, err);
  } finally {
    upload.release();
    ctx.deps.cache.invalidate(gun);
  }
  ctx.deps.logger.info({ reqId: ctx.requestId, gun, roles: upload.parts.map((p) => p.role) }, 'published');
  sendEmptyOk(ctx.res);
}
