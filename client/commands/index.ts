// SPDX-License-Identifier: Apache-2.0
// Registers the second slice's commands on the program, and examples on the
// first slice's commands' --help.

import type { Command } from 'commander';
import { examples, type CommandContext } from './context.js';
import { registerDelegationCommands } from './delegation.js';
import { registerPolicyCommands } from './policy-command.js';
import { registerRepoCommands } from './repo.js';
import { registerTargetCommands } from './targets.js';

export { sessionExtras, type CommandContext } from './context.js';

const FIRST_SLICE_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  init: ['signet -s https://notary.example.com init example.com/app -p', 'NOTARY_ROOT_PASSPHRASE=… signet init example.com/app --rootkey root-encrypted.pem --rootcert root-by-our-ca.crt -p'],
  add: ['signet add example.com/app v1.0 ./app-1.0.tgz -p', 'signet add example.com/app release-1 ./r1.tgz -r targets/releases --custom meta.json'],
  publish: ['signet publish example.com/app'],
  list: ['signet list example.com/app', 'signet list example.com/app -r targets/releases --output json'],
  lookup: ['signet lookup example.com/app v1.0', 'signet lookup example.com/app v1.0 --output json'],
  status: ['signet status example.com/app', 'signet status example.com/app --output json'],
  reset: ['signet reset example.com/app -n 0,2', 'signet reset example.com/app --all'],
};

// The --output json shapes of the first slice's read commands (client/output.ts), documented where users look.
const JSON_FIELDS: Readonly<Record<string, string>> = {
  list: 'With --output json: an array of {"name", "role", "length", "hashes": {"sha256": hex, "sha512": hex}, "custom"?}, sorted by name.',
  lookup: 'With --output json: {"name", "role", "length", "hashes": {"sha256": hex, ...}, "custom"?}.',
  status: 'With --output json: {"gun", "changes": [{"index", "action", "scope", "type", "path", "file"}]}.',
};

export function registerPublishingCommands(program: Command, ctx: CommandContext): void {
  for (const c of program.commands) {
    const fields = JSON_FIELDS[c.name()];
    if (fields !== undefined) c.addHelpText('after', `\n${fields}`);
    const lines = FIRST_SLICE_EXAMPLES[c.name()];
    if (lines !== undefined) examples(c, lines);
  }
  registerTargetCommands(program, ctx);
  registerDelegationCommands(program, ctx);
  registerRepoCommands(program, ctx);
  registerPolicyCommands(program, ctx);
}
