// SPDX-License-Identifier: Apache-2.0
// What the command modules get from cli.ts: the I/O, a session factory, the
// runner that maps errors to exit codes, and output helpers. Also the
// session extras (-v/-D logging, progress bars) derived from the global flags.

import { InvalidArgumentError, type Command } from 'commander';
import type { CliIo } from '../cli.js';
import { createLog, type CliLog } from '../log.js';
import { createProgress, progressAllowed, type Progress } from '../progress.js';
import type { RepositorySession } from '../repository.js';

export interface OutputOptions {
  readonly output: 'text' | 'json';
  /** notary's `--output FILE`, given where signet's --output would take a format (see takesOutputFile). */
  readonly outputFile?: string;
}

// The commands where notary 0.7's `-o, --output FILE` names a file (key export,
// key generate, verify). signet's global --output selects text or json; on these
// commands any other value is taken as notary's file, so notary habits keep working.
const OUTPUT_FILE_COMMANDS = new WeakSet<Command>();

/** Mark a command whose `--output <value>` may be notary's file rather than a format. */
export function takesOutputFile(cmd: Command): Command {
  OUTPUT_FILE_COMMANDS.add(cmd);
  return cmd;
}

export function acceptsOutputFile(cmd: Command): boolean {
  return OUTPUT_FILE_COMMANDS.has(cmd);
}

export interface CommandContext {
  readonly io: CliIo;
  session(gun: string): RepositorySession;
  run(action: (g: OutputOptions) => Promise<void>): Promise<void>;
  out(text: string): void;
  json(value: unknown): void;
}

/** Logging and progress for a session, from -v/-D and the terminal. Logs never carry secrets (see log.ts). */
export function sessionExtras(io: CliIo, g: { debug?: boolean; verbose?: boolean }): { log: CliLog; progress: Progress } {
  const env = io.env ?? process.env;
  const level = g.debug === true ? 'debug' : g.verbose === true ? 'info' : 'quiet';
  return { log: createLog(io.stderr, level), progress: createProgress(io.stderr, progressAllowed(io.stdout, io.stderr, env)) };
}

/** Append an Examples section to a command's --help. */
export function examples(cmd: Command, lines: readonly string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

/**
 * Repeatable, comma-separated option values (`--paths a,b --paths c` = a, b, c): every option notary
 * declares as a StringSlice uses this one parser. Each value is one CSV record as Go's encoding/csv
 * reads it, so `"a,b"` is one value with a comma and `""` (quoted) is the empty string; an empty
 * value adds nothing, as in notary. Callers refuse the empty strings they cannot use.
 * @throws {InvalidArgumentError} for a quote notary's CSV reader would refuse too.
 */
export function csvValues(value: string, previous: string[] = []): string[] {
  if (value === '') return previous;
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (value[i] === '"') {
      // quoted field: "" is a literal quote; the closing quote must end the value or precede a comma
      for (i++; ; i++) {
        if (i >= value.length) throw new InvalidArgumentError(`a quoted value in ${JSON.stringify(value)} is not closed; close it with "`);
        if (value[i] !== '"') field += value[i];
        else if (value[i + 1] === '"') field += value[i++];
        else break;
      }
      i++;
      if (i < value.length && value[i] !== ',') throw new InvalidArgumentError(`${JSON.stringify(value)} has text after a closing quote; quote the whole value, and write a quote inside it as ""`);
    } else {
      const end = value.indexOf(',', i);
      field = value.slice(i, end === -1 ? value.length : end);
      // notary's reader would keep only the first line and drop the rest silently
      if (/[\r\n]/.test(field)) throw new InvalidArgumentError(`${JSON.stringify(value)} spans several lines; give each value in an option of its own`);
      if (field.includes('"')) throw new InvalidArgumentError(`${JSON.stringify(value)} has a quote inside an unquoted value; quote the whole value, and write a quote inside it as ""`);
      i = end === -1 ? value.length : end;
    }
    fields.push(field);
    if (i >= value.length) break;
    i++; // the comma
  }
  return [...previous, ...fields];
}

/** Publish after staging (`-p`), with notary's messages. */
export function autoPublish(ctx: CommandContext, s: RepositorySession, g: OutputOptions): Promise<{ readonly published: readonly string[]; readonly applied: number }> {
  return publishReported(ctx, s, g, 'Auto-publishing changes to');
}

/** Publish with notary's text messages (`heading`, then the outcome); the JSON fields for the caller's one document. */
export async function publishReported(ctx: CommandContext, s: RepositorySession, g: OutputOptions, heading: string): Promise<{ readonly published: readonly string[]; readonly applied: number }> {
  if (g.output !== 'json') ctx.out(`${heading} ${s.gun}\n`);
  const r = await s.publish();
  if (g.output !== 'json') ctx.out(r.roles.length === 0 ? `No unpublished changes for ${s.gun}\n` : `Successfully published changes for repository ${s.gun}\n`);
  return { published: r.roles, applied: r.applied };
}
