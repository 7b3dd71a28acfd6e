// SPDX-License-Identifier: Apache-2.0
// `delegation list|add|remove|purge`, staging the same changes notary stages.

import type { Command } from 'commander';
import { UsageError } from '../../shared/errors.js';
import { isCiEnv } from '../../keys/index.js';
import { canonicalKeyId } from '../../shared/codec/notary-keys.js';
import { delegationNameProblem } from '../../shared/tuf/names.js';
import { delegationAddChanges, delegationDeleteChange, delegationRemoveChanges, purgeKeysChange } from '../changes.js';
import { readDelegationKey } from '../delegation-keys.js';
import { delegationToJson, formatDelegations, listDelegations } from '../delegations.js';
import { autoPublish, csvValues, examples, type CommandContext } from './context.js';

function checkRole(role: string): void {
  const problem = delegationNameProblem(role);
  if (problem === null) return;
  const shown = role.length > 80 ? `${JSON.stringify(role.slice(0, 80))}... (${role.length} characters)` : JSON.stringify(role);
  const hint = role.startsWith('targets/') ? '' : '; use targets/<name> with lower-case letters, digits, "-", "_" and "/"';
  throw new UsageError(`invalid delegation name ${shown}: it ${problem}${hint}`);
}

/** notary prettyPaths inside its messages. */
function pretty(paths: readonly string[]): string {
  return [...paths].sort().map((p) => (p === '' ? '"" <all paths>' : p)).join('\n');
}

async function confirm(ctx: CommandContext, question: string): Promise<boolean> {
  const input = ctx.io.stdin;
  if (input === undefined || input.isTTY !== true || isCiEnv(ctx.io.env ?? process.env)) return false;
  ctx.io.stderr.write(`${question} (yes/no) `);
  const answer = await new Promise<string>((resolve) => {
    input.once('data', (d: Buffer | string) => resolve(d.toString()));
  });
  return /^\s*y(es)?\s*$/i.test(answer);
}

export function registerDelegationCommands(program: Command, ctx: CommandContext): void {
  const delegation = examples(
    program.command('delegation').description('list and stage changes to delegations (roles below targets, such as targets/releases)'),
    ['signet delegation list example.com/app', 'signet delegation add example.com/app targets/releases releases.crt --all-paths -p'],
  );

  examples(
    delegation
      .command('list')
      .description(
        'list the delegations of a repository (online, verified), with canonical key IDs as `key list` shows them. ' +
          'With --output json: an array of {"role", "paths" ("" = all paths), "keyIds" (canonical), "threshold"}',
      )
      .argument('<gun>')
      .action((gun: string) =>
        ctx.run(async (g) => {
          const list = listDelegations(await ctx.session(gun).trusted());
          if (g.output === 'json') ctx.json(list.map(delegationToJson));
          else ctx.out(formatDelegations(list));
        }),
      ),
    ['signet delegation list example.com/app', 'signet delegation list example.com/app --output json'],
  );

  examples(
    delegation
      .command('add')
      .description('stage a new delegation or more keys/paths for one (offline); keys are X.509 certificates or PEM public keys')
      .argument('<gun>')
      .argument('<role>')
      .argument('[keys...]', 'PEM files: certificates (ecdsa-x509/rsa-x509) or public keys')
      .option('--paths <path>', 'path prefix(es) the delegate may sign (repeatable, comma-separated; --all-paths for every path)', csvValues)
      .option('--all-paths', 'let the delegate sign every path')
      .option('-p, --publish', 'publish right away')
      .action((gun: string, role: string, files: string[], o: { paths?: string[]; allPaths?: boolean; publish?: boolean }) =>
        ctx.run(async (g) => {
          checkRole(role);
          if (files.length === 0 && (o.paths ?? []).length === 0 && o.allPaths !== true) {
            // notary stages nothing for `--paths ""` and says it did; refuse instead
            throw new UsageError(
              o.paths === undefined
                ? 'give the delegate\'s certificate or public key file(s) and/or paths (--paths <prefix> or --all-paths)'
                : `nothing to add to ${role}: --paths "" is an empty list of paths (as in notary), not the "" path; for every path give --all-paths (or --paths '""'), else a path prefix or a key file`,
            );
          }
          const keys = files.map((f) => readDelegationKey(f, new Date()));
          // notary checkAllPaths: --all-paths or a "" path means exactly [""].
          const paths = o.allPaths === true || (o.paths ?? []).includes('') ? [''] : o.paths;
          const s = ctx.session(gun);
          const staged = s.stage(delegationAddChanges(role, keys, paths));
          const ids = keys.map(canonicalKeyId);
          if (g.output !== 'json') {
            const items = `${ids.length > 0 ? `with keys [${ids.join(' ')}], ` : ''}${paths !== undefined ? `with paths [${pretty(paths)}], ` : ''}`;
            ctx.out(`\nAddition of delegation role ${role} ${items}to repository "${gun}" staged for next publish.\n\n`);
          }
          const published = o.publish === true ? await autoPublish(ctx, s, g) : {};
          if (g.output === 'json') ctx.json({ gun, role, keyIds: ids, paths: paths ?? [], staged: staged.map((c) => c.file), ...published });
        }),
      ),
    [
      'signet delegation add example.com/app targets/releases releases.crt --all-paths -p',
      'signet delegation add example.com/app targets/jenkins jenkins.crt --paths jenkins/',
      'signet delegation add example.com/app targets/ci ci-pub.pem --paths ci/ --paths nightly/',
    ],
  );

  examples(
    delegation
      .command('remove')
      .description('stage removing keys or paths from a delegation, or (with only the role) the whole delegation (offline)')
      .argument('<gun>')
      .argument('<role>')
      .argument('[keyIds...]', 'canonical key IDs, as `delegation list` prints them')
      .option('--paths <path>', 'path prefix(es) to remove (repeatable, comma-separated)', csvValues)
      .option('--all-paths', 'remove every path')
      .option('-y, --yes', 'remove the whole delegation without asking')
      .option('-p, --publish', 'publish right away')
      .action((gun: string, role: string, keyIds: string[], o: { paths?: string[]; allPaths?: boolean; yes?: boolean; publish?: boolean }) =>
        ctx.run(async (g) => {
          checkRole(role);
          const s = ctx.session(gun);
          const removeAll = keyIds.length === 0 && o.paths === undefined && o.allPaths !== true;
          if (removeAll) {
            if (o.yes !== true && !(await confirm(ctx, `Remove delegation ${role} of ${gun} with all its keys and paths?`))) {
              throw new UsageError(`removing the whole delegation ${role} needs confirmation: answer yes on a terminal, or pass --yes`);
            }
            s.stage([delegationDeleteChange(role)]);
            if (g.output !== 'json') ctx.out(`\nForced removal (including all keys and paths) of delegation role ${role} to repository "${gun}" staged for next publish.\n\n`);
          } else {
            const paths = o.allPaths === true ? [] : (o.paths ?? []);
            const changes = delegationRemoveChanges(role, keyIds, paths, o.allPaths === true);
            if (changes.length === 0) {
              // only `--paths ""` gets here; notary stages nothing for it and says it did
              throw new UsageError(
                `nothing to remove from ${role}: --paths "" is an empty list of paths (as in notary), not the "" path; ` +
                  `give --paths '""' to remove the "" (all paths) path, --all-paths to remove every path, or only the role to remove the whole delegation`,
              );
            }
            s.stage(changes);
            if (g.output !== 'json') {
              const items = `${keyIds.length > 0 ? `with keys [${keyIds.join(' ')}], ` : ''}${o.allPaths === true ? 'with all paths, ' : ''}${paths.length > 0 ? `with paths [${pretty(paths)}], ` : ''}`;
              ctx.out(`\nRemoval of delegation role ${role} ${items}to repository "${gun}" staged for next publish.\n\n`);
            }
          }
          const published = o.publish === true ? await autoPublish(ctx, s, g) : {};
          if (g.output === 'json') ctx.json({ gun, role, removedRole: removeAll, keyIds, ...published });
        }),
      ),
    [
      'signet delegation remove example.com/app targets/releases --yes -p',
      'signet delegation remove example.com/app targets/releases 1d755a17...0612',
      'signet delegation remove example.com/app targets/jenkins --paths jenkins/old/',
    ],
  );

  examples(
    delegation
      .command('purge')
      .description('stage removing a key from every delegation that lists it (offline), e.g. when a delegate leaves')
      .argument('<gun>')
      .requiredOption('--key <keyId>', 'canonical key ID(s) to remove (repeatable, comma-separated)', csvValues)
      .option('-p, --publish', 'publish right away')
      .action((gun: string, o: { key: string[]; publish?: boolean }) =>
        ctx.run(async (g) => {
          // `--key ""` is an empty list (notary refuses it too); `--key a,` holds an empty ID, which notary would stage
          if (o.key.length === 0 || o.key.includes('')) {
            throw new UsageError(`--key needs a key ID, as \`delegation list\` prints them, and got ${o.key.length === 0 ? 'none' : `an empty one in ${JSON.stringify(o.key)}`}`);
          }
          const s = ctx.session(gun);
          s.stage([purgeKeysChange(o.key)]);
          if (g.output !== 'json') ctx.out(`Removal of the following keys from all delegations in ${gun} staged for next publish:\n\t- ${o.key.join('\n\t- ')}\n`);
          const published = o.publish === true ? await autoPublish(ctx, s, g) : {};
          if (g.output === 'json') ctx.json({ gun, keyIds: o.key, ...published });
        }),
      ),
    ['signet delegation purge example.com/app --key 1d755a17...0612 -p'],
  );
}
