// SPDX-License-Identifier: Apache-2.0
// DELETE <gun>/_trust/tuf/: remove every file of exactly this GUN (not, as
// notary's memory store does, every GUN it prefixes); 200 with an empty body
// whether or not anything existed.

import { GO_ERROR_DETAIL, sendNotaryError } from '../errors.js';
import { sendEmptyOk, type RequestContext } from '../context.js';

export async function deleteHandler(ctx: RequestContext): Promise<void> {
  const { gun } = ctx.match;
  try {
    await ctx.deps.service.deleteGun(gun);
  } catch (err) {
    ctx.deps.logger.error({ err, reqId: ctx.requestId, gun }, 'cannot delete the repository');
    return sendNotaryError(ctx.res, 'UNKNOWN', GO_ERROR_DETAIL);
  } finally {
    ctx.deps.cache.invalidate(gun);
  }
  ctx.deps.logger.info({ reqId: ctx.requestId, gun }, 'trust data deleted');
  sendEmptyOk(ctx.res);
}
