// SPDX-License-Identifier: Apache-2.0
// `addhash`, `remove`, `verify` and the CI command `sign`.

import fs from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../shared/errors.js';
import { RepositoryMissingError } from '../update.js';
import { envPassphraseRetriever } from '../../keys/index.js';
import { addHashChanges, checkContent, parseDigest, parseHexHashes, parseSize, removeChanges, signableRoles, targetRoles } from '../targets-ops.js';
import { autoPublish, csvValues, examples, takesOutputFile, type CommandContext } from './context.js';
import { createHttpSend } from '../http-transport.js';
import { resolveSignTarget } from '../registry.js';
import { writeFileAtomic } from '../atomic-file.js';

/** Content for `verify`: all of stdin, capped so a runaway pipe cannot exhaust memory. */
export const MAX_VERIFY_BYTES = 1 << 30;

function readInputFile(file: string): Buffer {
  let size: number;
  try {
    size = fs.statSync(file).size;
    if (size > MAX_VERIFY_BYTES) throw new UsageError(`verify reads at most ${MAX_VERIFY_BYTES} bytes; ${file} has ${size}`);
    return fs.readFileSync(file);
  } catch (cause) {
    if (cause instanceof UsageError) throw cause;
    throw new UsageError(`cannot read --input ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'}); check the path`, { cause });
  }
}

/** The checked content, written whole or not at all (a failed write leaves no partial file). */
function writeOutputFile(file: string, content: Buffer): void {
  try {
    writeFileAtomic(file, content);
  } catch (cause) {
    throw new UsageError(`cannot write --out ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'}); check the path`, { cause });
  }
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (stream === undefined) throw new UsageError('verify reads the content from standard input; pipe it in');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > MAX_VERIFY_BYTES) throw new UsageError(`verify reads at most ${MAX_VERIFY_BYTES} bytes from standard input`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export function registerTargetCommands(program: Command, ctx: CommandContext): void {
  examples(
    program
      .command('addhash')
      .description('stage a target given by its size and hashes, without the file (offline); publish with `publish` or -p')
      .argument('<gun>')
      .argument('<target>')
      .argument('<size>', 'length of the target in bytes')
      .option('--sha256 <hex>', 'SHA-256 of the target, hex')
      .option('--sha512 <hex>', 'SHA-512 of the target, hex')
      .option('--custom <file>', 'JSON file with custom data for the target')
      .option('-r, --roles <role>', 'delegation role(s) to add the target to (repeatable, comma-separated)', csvValues)
      .option('-p, --publish', 'publish right away')
      .action((gun: string, target: string, size: string, o: { sha256?: string; sha512?: string; custom?: string; roles?: string[]; publish?: boolean }) =>
        ctx.run(async (g) => {
          const hashes = parseHexHashes(o);
          const changes = addHashChanges({ name: target, length: parseSize(size), hashes, ...(o.custom === undefined ? {} : { customFile: o.custom }) }, targetRoles(o.roles));
          const s = ctx.session(gun);
          const staged = s.stage(changes);
          if (g.output !== 'json') ctx.out(`Addition of target "${target}" by ${[...hashes.keys()].join(', ')} hash to repository "${gun}" staged for next publish.\n`);
          const published = o.publish === true ? await autoPublish(ctx, s, g) : {};
          if (g.output === 'json') ctx.json({ gun, staged: staged.map((c) => ({ role: c.role, path: c.path, file: c.file })), ...published });
        }),
      ),
    [
      'signet addhash example.com/app v1.2 1024 --sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'signet addhash example.com/app v1.2 1024 --sha256 <hex> -r targets/releases -p',
    ],
  );

  examples(
    program
      .command('remove')
      .description('stage the removal of a target (offline); publish with `publish` or -p')
      .argument('<gun>')
      .argument('<target>')
      .option('-r, --roles <role>', 'delegation role(s) to remove the target from (repeatable, comma-separated)', csvValues)
      .option('-p, --publish', 'publish right away')
      .action((gun: string, target: string, o: { roles?: string[]; publish?: boolean }) =>
        ctx.run(async (g) => {
          const s = ctx.session(gun);
          const staged = s.stage(removeChanges(target, targetRoles(o.roles)));
          if (g.output !== 'json') ctx.out(`Removal of ${target} from ${gun} staged for next publish.\n`);
          const published = o.publish === true ? await autoPublish(ctx, s, g) : {};
          if (g.output === 'json') ctx.json({ gun, staged: staged.map((c) => ({ role: c.role, path: c.path, file: c.file })), ...published });
        }),
      ),
    ['signet remove example.com/app v1.2 -p', 'signet remove example.com/app release-1 -r targets/releases'],
  );

  examples(
    takesOutputFile(program.command('verify'))
      .description('check content (standard input, or -i) against the trusted hashes of a target (online); writes it out (standard output, or -o) only when it matches')
      .argument('<gun>')
      .argument('<target>')
      .option('-i, --input <file>', 'read the content from this file instead of standard input')
      .option('-o, --out <file>', "write the checked content to this file instead of standard output (notary's --output <file> works too)")
      .option('-q, --quiet', 'write nothing but errors')
      .action((gun: string, target: string, o: { input?: string; out?: string; quiet?: boolean }) =>
        ctx.run(async (g) => {
          const outFile = o.out ?? g.outputFile;
          const content = o.input === undefined ? await readAll(ctx.io.stdin) : readInputFile(o.input);
          const match = await ctx.session(gun).lookup(target);
          checkContent(content, match);
          if (o.quiet === true) return;
          if (outFile !== undefined) return writeOutputFile(outFile, content);
          await new Promise<void>((resolve, reject) => ctx.io.stdout.write(content, (e) => (e ? reject(e) : resolve())));
        }),
      ),
    ['signet verify example.com/app v1.2 < app-1.2.tar.gz > checked.tar.gz', 'curl -s https://example.com/app.tgz | signet verify example.com/app v1.2 | tar xz', 'signet verify example.com/app v1.2 -i app-1.2.tar.gz -q && echo trusted'],
  );

  examples(
    program
      .command('sign')
      .description(
        'CI: sign an image tag and publish it in one step, never prompting (passphrases from NOTARY_*_PASSPHRASE). ' +
          'The target is named after the tag and holds the manifest digest and size, as `docker trust sign` writes it. ' +
          'Without -r the roles are chosen as docker does: `targets` if the repository has no delegations, else every ' +
          'top-level delegation whose paths cover the tag and whose key you hold. Only this tag is published; other staged changes stay staged. ' +
          'Given one pushed image <registry>/<repo>:<tag> and no --digest/--size, the manifest digest and size are read from the registry ' +
          '(verified by hashing the manifest; login from SIGNET_REGISTRY_AUTH or docker config.json) and the GUN is <registry>/<repo>.',
      )
      .argument('<gun>', 'the GUN, or a pushed image <registry>/<repo>:<tag>')
      .argument('[tag]')
      .option('--digest <digest>', 'manifest digest, sha256:<hex> (default: read from the registry)')
      .option('--size <bytes>', 'manifest size in bytes (default: read from the registry)')
      .option('--insecure-registry', 'talk to the registry over plain http (loopback registries always are)')
      .option('-r, --roles <role>', 'role(s) to sign into (repeatable, comma-separated)', csvValues)
      .action((first: string, tagArg: string | undefined, opts: { digest?: string; size?: string; insecureRegistry?: boolean; roles?: string[] }) =>
        ctx.run(async (g) => {
          const t = await resolveSignTarget(first, tagArg, opts, ctx.io.env ?? process.env, createHttpSend(undefined, { env: ctx.io.env ?? process.env }));
          const { gun, tag } = t;
          const o = { digest: t.digest, roles: opts.roles };
          const hashes = new Map([['sha256', parseDigest(o.digest)]]);
          const length = parseSize(String(t.size));
          // Never prompts, even on a terminal: passphrases come from NOTARY_*_PASSPHRASE or the command fails (exit 3).
          const s = ctx.session(gun).withRetriever(envPassphraseRetriever(ctx.io.env ?? process.env)).withoutLoginPrompt();
          let roles = o.roles;
          if (roles === undefined || roles.length === 0) {
            let set;
            try {
              set = await s.trusted();
            } catch (e) {
              // Not published yet: a fresh repository has no delegations.
              if (!(e instanceof RepositoryMissingError)) throw e;
              set = undefined;
            }
            roles = set === undefined ? ['targets'] : await signableRoles(set, tag, s.keyService());
          }
          const changes = addHashChanges({ name: tag, length, hashes }, targetRoles(roles)).map((c, i) => ({ ...c, file: `sign-${i}` }));
          const r = await s.publish(changes);
          if (g.output === 'json') ctx.json({ gun, tag, digest: o.digest, size: length, roles, published: r.roles });
          else ctx.out(`Signed ${tag} (${o.digest}, ${length} bytes) into ${roles.join(', ')} and published ${gun}\n`);
        }),
      ),
    [
      'signet sign example.com/app 1.4.2 --digest sha256:<hex> --size 528',
      'signet sign example.com/app 1.4.2 --digest sha256:<hex> --size 528 -r targets/releases -r targets/jenkins --output json',
      'signet sign registry.example.com:5000/team/app:1.4.2   # digest and size from the registry',
    ],
  );
}
