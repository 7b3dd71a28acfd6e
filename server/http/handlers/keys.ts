// SPDX-License-Identifier: Apache-2.0
// GET/POST <gun>/_trust/tuf/{timestamp,snapshot}.key (notary-wire.md §6.4):
// the server key's public part as Go marshals data.PublicKey, text/plain, no
// cache headers. GET returns the active key (created on first use); POST
// always creates a new one.

import { GO_ERROR_DETAIL, sendNotaryError } from '../errors.js';
import { goJson } from '../go-format.js';
import { sendText, type RequestContext } from '../context.js';
import type { ServerPublicKey } from '../../domain/service.js';

export function publicKeyJson(key: ServerPublicKey): string {
  return goJson({ keytype: key.keyType, keyval: { public: key.publicValue, private: null } });
}

async function keyHandler(ctx: RequestContext, rotate: boolean): Promise<void> {
  const { gun, role } = ctx.match;
  if (role !== 'timestamp' && role !== 'snapshot') return sendNotaryError(ctx.res, 'INVALID_ROLE', role);
  let key: ServerPublicKey;
  try {
    key = rotate ? await ctx.deps.service.rotateKey(gun, role) : await ctx.deps.service.getOrCreateKey(gun, role);
  } catch (err) {
    ctx.deps.logger.error({ err, reqId: ctx.requestId, gun, role }, rotate ? 'cannot rotate the server key' : 'cannot get or create the server key');
    return sendNotaryError(ctx.res, 'UNKNOWN', GO_ERROR_DETAIL);
  }
  sendText(ctx.res, publicKeyJson(key));
}

export const getKeyHandler = (ctx: RequestContext): Promise<void> => keyHandler(ctx, false);
export const rotateKeyHandler = (ctx: RequestContext): Promise<void> => keyHandler(ctx, true);
