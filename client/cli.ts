// SPDX-License-Identifier: Apache-2.0
// The `signet` command line (commander), notary-compatible flags and output.
// `runCli` never calls process.exit: it returns the exit code (table in
// exit-codes.ts), so tests can drive it in-process. Passphrases and logins
// come from the environment or a TTY prompt; with CI=true or without a TTY
// nothing ever prompts, and the missing secret is named in the error.

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { TrustError } from '../shared/errors.js';
import { defaultPassphraseRetriever, type PassphraseRetriever } from '../keys/index.js';
import { defaultEnvironment, loadConfig, type ConfigFlags } from './config.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { SIGNET_VERSION } from './version.js';
import { changeToJson, formatLookup, formatStatus, formatTargets, targetToJson } from './output.js';
import { RepositorySession } from './repository.js';
import { registerKeyCommands } from './commands/key.js';
import { credentialsFor } from './key-context.js';
import { keyStoresWithToken } from '../keys/pkcs11/index.js';
import { registerPublishingCommands, sessionExtras } from './commands/index.js';
import { acceptsOutputFile, autoPublish, csvValues, publishReported, type CommandContext } from './commands/context.js';

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Tests: a fixed passphrase source instead of env + prompt. */
  readonly retriever?: PassphraseRetriever;
}

interface GlobalOptions {
  server?: string;
  trustDir?: string;
  configFile?: string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  debug?: boolean;
  verbose?: boolean;
  output: 'text' | 'json';
  outputFile?: string;
}

const OUTPUT_FORMATS: ReadonlySet<string> = new Set(['text', 'json']);

/** The parsed global options, with a non-format --output value moved to outputFile (notary's file). */
function normalizedGlobals(program: Command): GlobalOptions {
  const raw = program.opts<Omit<GlobalOptions, 'output'> & { output: string }>();
  if (OUTPUT_FORMATS.has(raw.output)) return { ...raw, output: raw.output as GlobalOptions['output'] };
  return { ...raw, output: 'text', outputFile: raw.output };
}

function indexes(value: string, previous: number[] = []): number[] {
  const out = [...previous];
  for (const part of value.split(',')) {
    const n = Number(part.trim());
    if (!/^\d+$/.test(part.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('-n takes change numbers as `status` shows them, such as 0 or 0,2');
    out.push(n);
  }
  return out;
}

export function buildProgram(io: CliIo, run: (action: (g: GlobalOptions) => Promise<void>) => Promise<void>): Command {
  const program = new Command('signet')
    .description('Sign and verify content with a Notary v1 compatible trust server')
    .option('-s, --server <url>', 'remote trust server location')
    .option('-d, --trustDir <dir>', 'directory where the trust data is persisted to')
    .option('-c, --configFile <file>', 'path to the configuration file to use')
    .option('--tlscacert <file>', 'trust certs signed only by this CA')
    .option('--tlscert <file>', 'path to TLS certificate file')
    .option('--tlskey <file>', 'path to TLS key file')
    .option('-D, --debug', 'debug output')
    .option('-v, --verbose', 'verbose output')
    .addOption(new Option('--output <format>', "output format: text or json (on key export, key generate and verify, notary's --output FILE)").default('text'))
    .hook('preAction', (_program, action) => {
      const file = normalizedGlobals(program).outputFile;
      if (file !== undefined && !acceptsOutputFile(action)) {
        // error() prints it with the command's --help hint, then throws (exitOverride)
        action.error(
          `signet: --output takes text or json here, got ${JSON.stringify(file)}; a file name is taken only by key export, key generate and verify (as notary's -o/--output)`,
          { exitCode: EXIT.USAGE, code: 'signet.badOutput' },
        );
      }
    })
    .version(`signet Version: ${SIGNET_VERSION}, Node.js: ${process.version}`, '--version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError(false);
  const globals = (): GlobalOptions => normalizedGlobals(program);
  const out = (s: string): void => {
    io.stdout.write(s);
  };
  const json = (v: unknown): void => out(JSON.stringify(v, null, 2) + '\n');
  const session = (gun: string): RepositorySession => {
    const g = globals();
    const env = io.env ?? process.env;
    const flags: ConfigFlags = {
      ...(g.configFile === undefined ? {} : { configFile: g.configFile }),
      ...(g.trustDir === undefined ? {} : { trustDir: g.trustDir }),
      ...(g.server === undefined ? {} : { server: g.server }),
      ...(g.tlscacert === undefined ? {} : { tlsCaCert: g.tlscacert }),
      ...(g.tlscert === undefined ? {} : { tlsCert: g.tlscert }),
      ...(g.tlskey === undefined ? {} : { tlsKey: g.tlskey }),
    };
    const config = loadConfig(flags, { ...defaultEnvironment(), home: env.HOME ?? defaultEnvironment().home, ...(io.cwd === undefined ? {} : { cwd: io.cwd }) });
    const retriever =
      io.retriever ?? defaultPassphraseRetriever({ env, output: io.stderr, ...(io.stdin === undefined ? {} : { input: io.stdin }) });
    return new RepositorySession({
      config,
      gun,
      retriever,
      credentials: credentialsFor(io, config, gun),
      env,
      warn: (m) => io.stderr.write(`warning: ${m}\n`),
      ...sessionExtras(io, g),
      keyStores: (files) => keyStoresWithToken(files, { env, configFile: config.configFile, retriever, output: io.stderr, ...(io.stdin === undefined ? {} : { input: io.stdin }) }),
    });
  };
  const ctx: CommandContext = { io, session, run, out, json };

  program
    .command('version')
    .description('print the version (as notary version)')
    .action(() => out(`signet\n Version:    ${SIGNET_VERSION}\n Node.js:    ${process.version}\n`));

  program
    .command('init')
    .description('initialize a trusted collection locally (online: asks the server for its timestamp key)')
    .argument('<gun>')
    .option('-p, --publish', 'publish right away')
    .option('--rootkey <file>', 'encrypted root private key to initialize the repository with (imported into the key store with the root passphrase)')
    .option('--rootcert <file>', 'root certificate to use instead of a self-signed one (e.g. issued by a CA pinned with trust_pinning.ca); must match the root key: the --rootkey one, else one in the key store')
    .action((gun: string, o: { publish?: boolean; rootkey?: string; rootcert?: string }) =>
      run(async (g) => {
        const s = session(gun);
        const r = await s.init({ ...(o.rootkey === undefined ? {} : { rootKeyFile: o.rootkey }), ...(o.rootcert === undefined ? {} : { rootCertFile: o.rootcert }) });
        if (g.output !== 'json') out(`${r.rootKeyCreated ? 'Root key created' : 'Root key found'}, using: ${r.rootKeyId}\n`);
        // one JSON document for both steps, so that stdout parses as one value
        const published = o.publish === true ? await autoPublish(ctx, s, g) : {};
        if (g.output === 'json') json({ gun, rootKeyId: r.rootKeyId, rootKeyCreated: r.rootKeyCreated, ...published });
      }),
    );

  program
    .command('add')
    .description('stage a file as a target (offline); publish with `publish` or -p')
    .argument('<gun>')
    .argument('<target>')
    .argument('<file>')
    .option('-p, --publish', 'publish right away')
    .option('--custom <file>', 'JSON file with custom data for the target')
    .option('-r, --roles <role>', 'delegation role(s) to add the target to (repeatable, comma-separated)', csvValues)
    .action((gun: string, target: string, file: string, o: { publish?: boolean; custom?: string; roles?: string[] }) =>
      run(async (g) => {
        const s = session(gun);
        const staged = s.add(target, file, { ...(o.roles === undefined ? {} : { roles: o.roles }), ...(o.custom === undefined ? {} : { customFile: o.custom }) });
        if (g.output !== 'json') out(`Addition of target "${target}" to repository "${gun}" staged for next publish.\n`);
        const published = o.publish === true ? await autoPublish(ctx, s, g) : {};
        if (g.output === 'json') json({ gun, staged: staged.map((c) => ({ role: c.role, path: c.path, file: c.file })), ...published });
      }),
    );

  program
    .command('publish')
    .description('publish the staged changes')
    .argument('<gun>')
    .action((gun: string) =>
      run(async (g) => {
        const published = await publishReported(ctx, session(gun), g, 'Pushing changes to');
        if (g.output === 'json') json({ gun, ...published });
      }),
    );

  program
    .command('list')
    .description('list the targets of a trusted collection (online, verified)')
    .argument('<gun>')
    .option('-r, --roles <role>', 'list only targets of these roles (repeatable, comma-separated)', csvValues)
    .action((gun: string, o: { roles?: string[] }) =>
      run(async (g) => {
        const targets = await session(gun).list(o.roles ?? []);
        if (g.output === 'json') json(targets.map(targetToJson));
        else out(formatTargets(targets));
      }),
    );

  program
    .command('lookup')
    .description('look up one target (online, verified)')
    .argument('<gun>')
    .argument('<target>')
    .action((gun: string, target: string) =>
      run(async (g) => {
        const t = await session(gun).lookup(target);
        if (g.output === 'json') json(targetToJson(t));
        else out(formatLookup(t));
      }),
    );

  program
    .command('status')
    .description('show unpublished changes')
    .argument('<gun>')
    .action((gun: string) =>
      run(async (g) => {
        const changes = session(gun).status();
        if (g.output === 'json') json({ gun, changes: changes.map(changeToJson) });
        else out(formatStatus(gun, changes));
      }),
    );

  program
    .command('reset')
    .description('drop unpublished changes')
    .argument('<gun>')
    .option('--all', 'drop every staged change')
    .option('-n, --number <index>', 'number of a change to drop, as shown by status (repeatable, comma-separated)', indexes)
    .action((gun: string, o: { all?: boolean; number?: number[] }) =>
      run(async (g) => {
        session(gun).reset({ ...(o.all === undefined ? {} : { all: o.all }), ...(o.number === undefined ? {} : { indexes: o.number }) });
        if (g.output === 'json') json({ gun, reset: true });
        else out(`Successfully reset specified changes for repository ${gun}\n`);
      }),
    );

  registerPublishingCommands(program, ctx);
  registerKeyCommands(program, io, run);
  addHelpHints(program);
  return program;
}

/** Parser errors (unknown option, missing argument) end with where to read the usage of the very command. */
function addHelpHints(cmd: Command, names: readonly string[] = []): void {
  const full = [...names, cmd.name()].join(' ');
  cmd.showHelpAfterError(`(run '${full} --help' for its usage)`);
  for (const sub of cmd.commands) addHelpHints(sub, [...names, cmd.name()]);
}

function describe(error: unknown, debug: boolean): string {
  if (!(error instanceof Error)) return String(error);
  if (!debug) return error.message;
  const lines = [error.stack ?? error.message];
  for (let c = error.cause; c instanceof Error; c = c.cause) lines.push(`caused by: ${c.stack ?? c.message}`);
  return lines.join('\n');
}

/** Run the CLI on `argv` (without node and script path); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(io, async (action) => {
    const g = normalizedGlobals(program);
    try {
      await action(g);
    } catch (error) {
      code = exitCodeFor(error);
      const known = error instanceof TrustError;
      io.stderr.write(`signet: ${known ? '' : 'unexpected error: '}${describe(error, g.debug === true || !known)}\n`);
    }
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return EXIT.OK;
      return EXIT.USAGE;
    }
    throw error;
  }
  return code;
}
