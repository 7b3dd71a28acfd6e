// SPDX-License-Identifier: Apache-2.0
// GET /v2/_trust/changefeed and /v2/<gun>/_trust/changefeed (notary-wire.md §6.6).
// `records` is required (base-10 int32, 0 means 100, negative walks back);
// `change_id` is optional (int32, default 0, negative = newest). Errors and
// body as notary writes them: text/plain JSON, `ID` a string, CreatedAt in
// RFC 3339 with trimmed fraction, `"records":null` when empty, no newline.
// Stricter: at most 1000 records per page (notary returns up to 2^31).

import { GO_ERROR_DETAIL, sendNotaryError } from '../errors.js';
import { goJson, goParseInt32, goRfc3339Nano } from '../go-format.js';
import { queryGet } from '../routes.js';
import { sendText, type RequestContext } from '../context.js';
import type { Change } from '../../storage/meta-store.js';

export const MAX_CHANGEFEED_RECORDS = 1000;

export function changefeedBody(changes: readonly Change[]): string {
  const records = changes.map((c) => ({ ID: c.id, CreatedAt: goRfc3339Nano(c.createdAt), GUN: c.gun, Version: c.version, SHA256: c.sha256, Category: c.category }));
  return goJson({ count: records.length, records: records.length === 0 ? null : records });
}

export async function changefeedHandler(ctx: RequestContext): Promise<void> {
  const records = goParseInt32(queryGet(ctx.query, 'records') ?? '');
  if (!records.ok) return sendNotaryError(ctx.res, 'INVALID_PARAMETERS', `invalid records parameter: ${records.error}`);
  const rawChangeId = queryGet(ctx.query, 'change_id') ?? '';
  const changeId = rawChangeId === '' ? { ok: true as const, value: 0 } : goParseInt32(rawChangeId);
  if (!changeId.ok) return sendNotaryError(ctx.res, 'INVALID_PARAMETERS', GO_ERROR_DETAIL);

  let count = records.value === 0 ? 100 : records.value;
  count = Math.sign(count) * Math.min(Math.abs(count), MAX_CHANGEFEED_RECORDS);
  const gun = ctx.match.gun;
  let changes: Change[];
  try {
    changes = await ctx.deps.store.getChanges({ ...(gun === '' ? {} : { gun }), changeId: changeId.value, records: count });
  } catch (err) {
    ctx.deps.logger.error({ err, reqId: ctx.requestId }, 'cannot read the changefeed');
    return sendNotaryError(ctx.res, 'UNKNOWN', GO_ERROR_DETAIL);
  }
  sendText(ctx.res, changefeedBody(changes));
}
