// SPDX-License-Identifier: Apache-2.0
// `witness` (re-sign roles unchanged) and `delete` (local and remote trust data).

import type { Command } from 'commander';
import { UsageError } from '../../shared/errors.js';
import { isWitnessable, witnessChange } from '../changes.js';
import { autoPublish, examples, type CommandContext } from './context.js';

export function registerRepoCommands(program: Command, ctx: CommandContext): void {
  examples(
    program
      .command('witness')
      .description(
        'stage re-signing roles with their content unchanged (version + 1, fresh expiry), e.g. to bring a delegation back ' +
          'to validity after its keys changed, or to renew it before it expires',
      )
      .argument('<gun>')
      .argument('<roles...>', 'targets and/or delegations')
      .option('-p, --publish', 'publish right away')
      .action((gun: string, roles: string[], o: { publish?: boolean }) =>
        ctx.run(async (g) => {
          for (const r of roles) {
            if (!isWitnessable(r)) throw new UsageError(`cannot witness ${JSON.stringify(r)}: only targets and delegations (targets/<name>) can be witnessed`);
          }
          const s = ctx.session(gun);
          s.stage(roles.map(witnessChange));
          if (g.output !== 'json') ctx.out(`The following roles were successfully marked for witnessing on the next publish:\n\t- ${roles.join('\n\t- ')}\n`);
          const published = o.publish === true ? await autoPublish(ctx, s, g) : {};
          if (g.output === 'json') ctx.json({ gun, witnessed: roles, ...published });
        }),
      ),
    ['signet witness example.com/app targets/releases -p', 'signet witness example.com/app targets targets/jenkins'],
  );

  examples(
    program
      .command('delete')
      .description('delete the local trust data of a repository (cached metadata, staged changes; keys stay); with --remote also every version on the server')
      .argument('<gun>')
      .option('--remote', 'also delete the repository on the server (needs admin rights there)')
      .action((gun: string, o: { remote?: boolean }) =>
        ctx.run(async (g) => {
          const s = ctx.session(gun);
          const remote = o.remote === true;
          if (g.output !== 'json') ctx.out(`Deleting trust data for repository ${gun}\n`);
          await s.deleteTrustData({ remote });
          if (g.output === 'json') ctx.json({ gun, deletedLocal: true, deletedRemote: remote });
          else ctx.out(`Successfully deleted local${remote ? ' and remote' : ''} trust data for repository ${gun}\n`);
        }),
      ),
    ['signet delete example.com/app', 'signet delete example.com/app --remote'],
  );
}
