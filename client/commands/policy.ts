// SPDX-License-Identifier: Apache-2.0
// `signet policy check <image>…`: the CI deploy gate. Each image is decided
// by the shared evaluator (shared/policy) over trust data verified here:
// online (default) the GUN is refreshed from the trust server through the
// normal client update; with --offline only the trust dir's cached metadata
// is used, and it is verified all the same (root -> timestamp -> snapshot ->
// targets -> delegations through TrustedMetadataSet, expiry included), so a
// tampered or stale cache denies instead of allowing.
// Exit codes (docs/policy-cli.md): 0 every image allowed; 4 at least one
// denied (including images whose trust data did not verify); 2 unusable
// policy file or arguments; 3/5 credentials/network as elsewhere.

import fs from 'node:fs';
import { notaryCodec } from '../../shared/codec/notary.js';
import { PolicyError, RemoteError, RepositoryError, TrustError, UsageError } from '../../shared/errors.js';
import { delegationOrder, isSkippableDelegationFailure, notaryRootKeyRules, TrustedMetadataSet } from '../../shared/verify/index.js';
import {
  decide,
  decideWithoutMetadata,
  needsMetadata,
  parsePolicy,
  planImage,
  rootRoleKeys,
  viewFromTrustedSet,
  type ExplainedResult,
  type Policy,
  type VerifiedRepositoryView,
} from '../../shared/policy/index.js';
import type { MetadataCache } from '../cache.js';
import { defaultEnvironment, loadConfig } from '../config.js';
import { createHttpSend } from '../http-transport.js';
import { credentialSource, resolveCredentials } from '../credentials.js';
import { sendWithLogin, TokenCache } from '../token-auth.js';
import type { CommandContext } from './context.js';
import { DEFAULT_POLICY_FILE } from './policy-command.js';

/** At least one image was denied; the results were written before this is thrown (exit 4, as other trust failures). */
export class PolicyDeniedError extends RepositoryError {
  constructor(denied: number, total: number) {
    super('THRESHOLD_NOT_MET', `${denied} of ${total} image${total === 1 ? '' : 's'} denied by the deploy policy; see the reasons above`);
  }
}

const MAX_POLICY_BYTES = 1024 * 1024;

/**
 * Read and parse the policy file: --policy, else $SIGNET_POLICY, else ./signet-policy.yaml.
 * @throws {UsageError} when it cannot be read or is invalid (the parser's file:line message).
 */
export function loadPolicy(file: string | undefined, env: NodeJS.ProcessEnv, cwd: string): Policy {
  const name = file ?? (env.SIGNET_POLICY !== undefined && env.SIGNET_POLICY !== '' ? env.SIGNET_POLICY : DEFAULT_POLICY_FILE);
  const resolved = name.startsWith('/') ? name : `${cwd}/${name}`;
  let text: string;
  try {
    const st = fs.statSync(resolved);
    if (st.size > MAX_POLICY_BYTES) throw new UsageError(`the policy file ${name} is larger than ${MAX_POLICY_BYTES} bytes`);
    text = fs.readFileSync(resolved, 'utf8');
  } catch (cause) {
    if (cause instanceof UsageError) throw cause;
    throw new UsageError(`cannot read the policy file ${name} (${(cause as NodeJS.ErrnoException).code ?? 'error'}); pass --policy FILE or set SIGNET_POLICY`, { cause });
  }
  try {
    return parsePolicy(text, name);
  } catch (e) {
    if (e instanceof PolicyError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
}

/**
 * Verify the cached metadata of one GUN without the network, as a refresh
 * would if the server sent back exactly the cached files.
 * @throws {RepositoryError} when the cache is missing a file or fails verification.
 */
export function verifiedFromCache(cache: MetadataCache, gun: string, now: Date): { set: TrustedMetadataSet; warnings: string[] } {
  const need = (role: string): Buffer => {
    const bytes = cache.read(role);
    if (bytes === null) throw new RepositoryError('MISSING_META', `no cached ${role} of ${gun} in the trust dir; run \`signet list ${gun}\` once online, or check without --offline`);
    return bytes;
  };
  const set = new TrustedMetadataSet(need('root'), { gun, now, codec: notaryCodec, rules: notaryRootKeyRules });
  set.updateTimestamp(need('timestamp'));
  // The set checks each file against the length, hashes and version its parent records (a rolled-back file fails).
  set.updateSnapshot(need('snapshot'));
  if (set.rootUpdateNeeded()) throw new RepositoryError('BAD_ROOT', `the cached snapshot of ${gun} names a newer root than the cached one; check without --offline to update`);
  set.updateTargets(need('targets'));
  const warnings: string[] = [];
  // Delegations in notary's download order; an expired or under-signed one is skipped (it then vouches for nothing), as in a refresh.
  const walk = delegationOrder(set);
  for (let step = walk.next(); step.done !== true; ) {
    const item = step.value;
    try {
      set.updateDelegatedTargets(need(item.role), item.role, item.parent);
      step = walk.next(true);
    } catch (e) {
      if (!isSkippableDelegationFailure(e)) throw e;
      warnings.push(`skipping ${item.role}: ${e.message}`);
      step = walk.next(false);
    }
  }
  return { set, warnings };
}

export interface GlobalFlags {
  server?: string;
  trustDir?: string;
  configFile?: string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

const MAX_CHECK_RESPONSE = 4 * 1024 * 1024;
const CHECK_TIMEOUT_MS = 60_000;

function isResult(v: unknown): v is ExplainedResult {
  const r = v as Record<string, unknown> | null;
  const strings = (x: unknown): boolean => Array.isArray(x) && x.every((s) => typeof s === 'string');
  return (
    typeof r === 'object' && r !== null && typeof r.image === 'string' && typeof r.allowed === 'boolean' &&
    (r.digest === null || typeof r.digest === 'string') && strings(r.signedBy) && (r.rule === null || typeof r.rule === 'string') &&
    strings(r.reasons) && (r.mode === 'enforce' || r.mode === 'warn')
  );
}

/**
 * Ask the trust server to decide (`POST /v2/_policy/check`, signet-server with
 * --policy): its policy, its verified view. Token auth as for metadata, scope registry:catalog:*.
 * @throws {RemoteError} when the server has no policy endpoint, refuses, or answers something unusable.
 */
export async function serverPolicyCheck(ctx: CommandContext, g: GlobalFlags, images: readonly string[]): Promise<ExplainedResult[]> {
  const env = ctx.io.env ?? process.env;
  const config = loadConfig(
    {
      ...(g.configFile === undefined ? {} : { configFile: g.configFile }),
      ...(g.trustDir === undefined ? {} : { trustDir: g.trustDir }),
      ...(g.server === undefined ? {} : { server: g.server }),
      ...(g.tlscacert === undefined ? {} : { tlsCaCert: g.tlscacert }),
      ...(g.tlscert === undefined ? {} : { tlsCert: g.tlscert }),
      ...(g.tlskey === undefined ? {} : { tlsKey: g.tlskey }),
    },
    { ...defaultEnvironment(), home: env.HOME ?? defaultEnvironment().home, ...(ctx.io.cwd === undefined ? {} : { cwd: ctx.io.cwd }) },
  );
  const send = createHttpSend(config.tls, { env });
  const url = new URL('v2/_policy/check', config.serverUrl.endsWith('/') ? config.serverUrl : `${config.serverUrl}/`);
  const body = Buffer.from(JSON.stringify({ images }));
  // policy checks gate deploys from scripts: the login comes from NOTARY_AUTH or docker config, never a prompt
  const credentials = credentialSource({ env, host: config.serverUrl, lookup: () => resolveCredentials(env, config.serverUrl, '') });
  const { res } = await sendWithLogin({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, maxBytes: MAX_CHECK_RESPONSE, timeoutMs: CHECK_TIMEOUT_MS }, null, {
    send,
    tokens: new TokenCache(),
    scopes: ['registry:catalog:*'],
    credentials,
    timeoutMs: CHECK_TIMEOUT_MS,
  });
  if (res.status === 401 || res.status === 403) throw new RemoteError('AUTH_REQUIRED', `${url.host} refused the policy check; set NOTARY_AUTH to a login allowed the registry:catalog:* scope`, { httpStatus: res.status });
  if (res.status === 404) {
    throw new RemoteError('HTTP_STATUS', `${url.host} has no deploy policy check (notary-server, or signet-server started without --policy); check locally with --policy instead of --server-check`, { httpStatus: 404 });
  }
  if (res.status !== 200) throw new RemoteError('HTTP_STATUS', `${url.host} answered ${res.status} to the policy check: ${res.body.toString('utf8').slice(0, 300)}`, { httpStatus: res.status });
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body.toString('utf8'));
  } catch (cause) {
    throw new RemoteError('HTTP_STATUS', `${url.host} answered the policy check with something that is not JSON`, { cause });
  }
  const results = (parsed as { results?: unknown } | null)?.results;
  // One well-formed result per image, in order: anything else must not open the gate.
  if (!Array.isArray(results) || results.length !== images.length || !results.every((r, i) => isResult(r) && r.image === images[i])) {
    throw new RemoteError('HTTP_STATUS', `${url.host} answered the policy check with results that do not match the ${images.length} images asked; is it a signet-server?`);
  }
  return results as ExplainedResult[];
}

type Verified = { view: VerifiedRepositoryView } | { failure: { reason: string; internal: boolean } };

async function verifiedView(ctx: CommandContext, gun: string, offline: boolean, now: Date): Promise<Verified> {
  try {
    const s = ctx.session(gun);
    // The root the chain is anchored on: the cached one (pinning is about who the repository was first trusted as).
    const cachedRoot = s.cache.read('root');
    let set: TrustedMetadataSet;
    if (offline) {
      const r = verifiedFromCache(s.cache, gun, now);
      for (const w of r.warnings) ctx.io.stderr.write(`warning: ${w}\n`);
      set = r.set;
    } else set = await s.trusted();
    const anchorRootKeys = cachedRoot === null ? rootRoleKeys(set) : rootRoleKeys({ root: notaryCodec.parse(cachedRoot, 'root') });
    return { view: viewFromTrustedSet(set, gun, { anchorRootKeys }) };
  } catch (e) {
    // Verification failures and missing repositories deny; transport trouble denies even warn-mode rules (fail closed).
    if (e instanceof RepositoryError || (e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND') || (e instanceof TrustError && e.code === 'METADATA_NOT_FOUND')) {
      return { failure: { reason: `trust data of ${gun} did not verify: ${e.message}`, internal: false } };
    }
    if (e instanceof RemoteError && e.code !== 'AUTH_REQUIRED') return { failure: { reason: `trust data of ${gun} could not be fetched: ${e.message}`, internal: true } };
    throw e;
  }
}

/** Decide every image; repositories are verified once each. */
export async function checkImages(ctx: CommandContext, policy: Policy, images: readonly string[], o: { offline: boolean; now: Date }): Promise<ExplainedResult[]> {
  const views = new Map<string, Verified>();
  const results: ExplainedResult[] = [];
  for (const image of images) {
    const plan = planImage(policy, image);
    if (!needsMetadata(plan) || plan.ref === undefined) {
      results.push(decideWithoutMetadata(policy, plan, null, { now: o.now }));
      continue;
    }
    const gun = plan.ref.gun;
    let v = views.get(gun);
    if (v === undefined) {
      v = await verifiedView(ctx, gun, o.offline, o.now);
      views.set(gun, v);
    }
    results.push('view' in v ? decide(policy, plan, v.view, { now: o.now }) : decideWithoutMetadata(policy, plan, v.failure, { now: o.now }));
  }
  return results;
}
