// SPDX-License-Identifier: Apache-2.0
// Registers `signet policy check`. The implementation (policy.ts, with the
// policy parser and its YAML library) is imported only when the command runs,
// so other commands do not load it at start-up.

import type { Command } from 'commander';
import type { ExplainedResult } from '../../shared/policy/index.js';
import { UsageError } from '../../shared/errors.js';
import { examples, type CommandContext } from './context.js';
import type { GlobalFlags } from './policy.js';

export const DEFAULT_POLICY_FILE = 'signet-policy.yaml';

interface CheckOptions {
  policy?: string;
  offline?: boolean;
  serverCheck?: boolean;
}

function formatResult(r: ExplainedResult): string {
  const verdict = r.allowed ? (r.reasons.length > 0 ? 'ALLOWED (warn)' : 'ALLOWED') : 'DENIED';
  const head = `${verdict} ${r.image}${r.digest === null ? '' : ` ${r.digest}`}${r.signedBy.length > 0 ? ` signed by ${r.signedBy.join(', ')}` : ''}${r.rule === null ? ' (policy default)' : ` (rule ${r.rule})`}\n`;
  return head + r.reasons.map((x) => `  - ${x}\n`).join('');
}

export function registerPolicyCommands(program: Command, ctx: CommandContext): void {
  const policy = program.command('policy').description('deploy policy: decide whether images may run');
  examples(
    policy
      .command('check')
      .description(
        'CI gate: decide each image against the deploy policy, over verified trust data (online: refreshed from the trust server; ' +
          '--offline: the trust dir\'s cached metadata, verified). Exit 0 when every image is allowed, 4 when any is denied ' +
          '(or its trust data did not verify), 2 for an unusable policy file.',
      )
      .argument('<image...>', 'image references, e.g. registry.example.com/team/app:1.4.2 or …@sha256:<hex>')
      .option('--policy <file>', `policy file (default: $SIGNET_POLICY, else ./${DEFAULT_POLICY_FILE})`)
      .option('--offline', 'use only the cached metadata in the trust dir (still verified)')
      .option('--server-check', 'let the trust server decide with its own policy (POST /v2/_policy/check; signet-server --policy)')
      .action((images: string[], o: CheckOptions, cmd: Command) =>
        ctx.run(async (g) => {
          const { checkImages, loadPolicy, PolicyDeniedError, serverPolicyCheck } = await import('./policy.js');
          const env = ctx.io.env ?? process.env;
          if (o.serverCheck === true && (o.offline === true || o.policy !== undefined)) throw new UsageError('--server-check uses the server\'s policy and trust data; drop --policy and --offline');
          const results =
            o.serverCheck === true
              ? await serverPolicyCheck(ctx, cmd.optsWithGlobals<GlobalFlags>(), images)
              : await checkImages(ctx, loadPolicy(o.policy, env, ctx.io.cwd ?? process.cwd()), images, { offline: o.offline === true, now: new Date() });
          const allowed = results.every((r) => r.allowed);
          if (g.output === 'json') ctx.json({ allowed, results });
          else ctx.out(results.map(formatResult).join(''));
          const denied = results.filter((r) => !r.allowed).length;
          if (denied > 0) throw new PolicyDeniedError(denied, results.length);
        }),
      )
      .addHelpText(
        'after',
        '\nWith --output json: {"allowed": bool, "results": [{"image", "allowed", "digest": "sha256:<hex>"|null, "signedBy": [role], "rule": pattern|null, "reasons": [text], "mode": "enforce"|"warn"}]}.',
      ),
    ['signet -s https://notary.example.com policy check registry.example.com/team/app:1.4.2 --policy deploy-policy.yaml', 'signet policy check --offline --output json registry.example.com/team/app@sha256:<hex>'],
  );
}
