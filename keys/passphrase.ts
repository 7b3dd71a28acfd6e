// SPDX-License-Identifier: Apache-2.0
// Where key passphrases come from. A PassphraseRetriever is asked once per
// attempt; stores give up after MAX_PASSPHRASE_ATTEMPTS wrong answers with
// PASSPHRASE_WRONG. Retrievers abort by throwing a KeyStoreError.
//
// Order (defaultPassphraseRetriever): environment, then a TTY prompt
// (prompt.ts), else PASSPHRASE_REQUIRED naming the variable to set.
// SECURITY: passphrases are never logged, echoed or put into error messages.

import { read } from 'read';
import { KeyStoreError } from '../shared/errors.js';

export interface PassphraseRequest {
  /** Canonical key ID (or another short name for the key). */
  readonly keyName: string;
  /** The key's role (`root`, `targets`, `targets/releases`, `delegation`, ...). */
  readonly role: string;
  readonly gun?: string;
  /** True when choosing a passphrase for a new encryption (generate, import, passphrase change). */
  readonly createNew: boolean;
  /** 0 for the first try; > 0 after the previous answer did not decrypt the key. */
  readonly attempt: number;
}

export type PassphraseRetriever = (req: PassphraseRequest) => Promise<string>;

/** Wrong passphrases tolerated per key before PASSPHRASE_WRONG (Notary's prompt allows 3 too). */
export const MAX_PASSPHRASE_ATTEMPTS = 3;

const BASE_ROLES = new Set(['root', 'targets', 'snapshot', 'timestamp']);

/**
 * Environment variables consulted for a role, in priority order. NOTARY_* wins
 * over DOCKER_CONTENT_TRUST_*: it is the role-specific name of the tool we are
 * compatible with, while Docker's repository variable is one value shared by
 * several roles; a user who set both meant the more specific one here.
 * Timestamp keys have no variable (Notary has none either).
 */
export function passphraseEnvNames(role: string): readonly string[] {
  switch (role) {
    case 'root':
      return ['NOTARY_ROOT_PASSPHRASE', 'DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE'];
    case 'targets':
      return ['NOTARY_TARGETS_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'];
    case 'snapshot':
      return ['NOTARY_SNAPSHOT_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'];
    case 'timestamp':
      return [];
    default:
      // `delegation`, `targets/*` and any other non-base name (Notary: "not a base role").
      return BASE_ROLES.has(role) ? [] : ['NOTARY_DELEGATION_PASSPHRASE', 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'];
  }
}

function describeKey(req: PassphraseRequest): string {
  const id = req.keyName.length > 7 ? req.keyName.slice(0, 7) : req.keyName;
  return `${req.role === '' ? 'unlabelled' : req.role} key ${id}${req.gun === undefined || req.gun === '' ? '' : ` (${req.gun})`}`;
}

/**
 * The PASSPHRASE_REQUIRED error for a request nobody could answer. `prompts`: whether a terminal
 * would have been asked (false for commands that only read the environment, such as `sign`).
 */
export function passphraseRequiredError(req: PassphraseRequest, prompts = true): KeyStoreError {
  const names = passphraseEnvNames(req.role);
  const terminal = prompts ? ', or run on an interactive terminal' : ' (this command never prompts)';
  const how = names.length > 0 ? `set ${names.join(' or ')}${terminal}` : `no environment variable covers this role${prompts ? '; run on an interactive terminal' : ' and this command never prompts'}`;
  const what = req.createNew ? 'a new passphrase is needed for the' : 'a passphrase is needed to unlock the';
  return new KeyStoreError('PASSPHRASE_REQUIRED', `${what} ${describeKey(req)}: ${how}`);
}

/** Always answers `passphrase` (tests, server-held keys). */
export function constantPassphraseRetriever(passphrase: string): PassphraseRetriever {
  return async () => passphrase;
}

/**
 * Answers from the environment; asks `fallback` when no variable is set (or
 * throws PASSPHRASE_REQUIRED when there is no fallback). Empty values count as
 * unset, as in Notary. An environment passphrase that was already rejected is
 * not retried: the same value cannot become right.
 */
export function envPassphraseRetriever(env: NodeJS.ProcessEnv = process.env, fallback?: PassphraseRetriever): PassphraseRetriever {
  return async (req) => {
    for (const name of passphraseEnvNames(req.role)) {
      const value = env[name];
      if (value === undefined || value === '') continue;
      if (req.attempt > 0 && !req.createNew) {
        throw new KeyStoreError('PASSPHRASE_WRONG', `the passphrase in ${name} does not decrypt the ${describeKey(req)}: set ${name} to the key's passphrase`);
      }
      return value;
    }
    if (fallback !== undefined) return fallback(req);
    throw passphraseRequiredError(req, false);
  };
}

/**
 * Whether `env` says we run in CI, where nothing may prompt. CI systems set CI to true, True, 1, yes
 * or their own name; 0, false, no, off (any case) and empty mean not CI. Every CI check uses this one.
 */
export function isCiEnv(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && !['0', 'false', 'no', 'off'].includes(value);
}

export interface PromptOptions {
  readonly input?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where prompts go; stderr so that stdout stays clean for command output. */
  readonly output?: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Reads one line from a terminal without echo (passphrases, token PINs), trimmed as notary
 * trims it, so the same keystrokes open the same key. `cancelled` builds the error for Ctrl-C/EOF.
 */
export async function readHidden(prompt: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream, cancelled: (cause: unknown) => Error): Promise<string> {
  try {
    const typed = await read({ prompt, silent: true, replace: '', input, output });
    output.write('\n'); // silent mode swallows the newline the user typed
    return typed.trim();
  } catch (cause) {
    throw cancelled(cause);
  }
}

/** Notary's minimum for a new passphrase typed at the prompt. */
const MIN_NEW_PASSPHRASE_LENGTH = 8;

/**
 * Interactive retriever: reads without echo on a TTY, confirms new passphrases,
 * caches the last answer per role (as Notary does, so `init` asks once per role).
 * Never prompts in CI (isCiEnv) or when stdin is not a TTY: throws PASSPHRASE_REQUIRED
 * naming the environment variable instead.
 */
export function promptPassphraseRetriever(opts: PromptOptions = {}): PassphraseRetriever {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stderr;
  const env = opts.env ?? process.env;
  const cache = new Map<string, string>();
  const ask = (prompt: string): Promise<string> =>
    readHidden(prompt, input, output, (cause) => new KeyStoreError('PASSPHRASE_REQUIRED', 'passphrase entry was cancelled', { cause }));
  return async (req) => {
    if (isCiEnv(env) || input.isTTY !== true) throw passphraseRequiredError(req);
    const cached = cache.get(req.role);
    // A new passphrase is always typed: reusing a cached one would make a passphrase change a no-op.
    if (req.attempt === 0 && !req.createNew && cached !== undefined) return cached;
    if (req.attempt > 0 && !req.createNew) output.write('Passphrase incorrect. Please retry.\n');
    if (!req.createNew) {
      const pass = await ask(`Enter passphrase for ${describeKey(req)}:`);
      cache.set(req.role, pass);
      return pass;
    }
    if (req.role === 'root') output.write('You are about to choose the passphrase of a root key, the most sensitive key of a repository: use a long random passphrase from a password manager; a lost passphrase cannot be recovered.\n');
    for (let i = 0; i < MAX_PASSPHRASE_ATTEMPTS; i++) {
      const pass = await ask(`Enter passphrase for new ${describeKey(req)}:`);
      if (pass.length < MIN_NEW_PASSPHRASE_LENGTH) {
        output.write(`Passphrase is too short (minimum ${MIN_NEW_PASSPHRASE_LENGTH} characters). Please retry.\n`);
        continue;
      }
      if ((await ask(`Repeat passphrase for new ${describeKey(req)}:`)) !== pass) {
        output.write('Passphrases do not match. Please retry.\n');
        continue;
      }
      cache.set(req.role, pass);
      return pass;
    }
    throw new KeyStoreError('PASSPHRASE_REQUIRED', `no acceptable passphrase for the new ${describeKey(req)} after ${MAX_PASSPHRASE_ATTEMPTS} tries: type the same passphrase of at least ${MIN_NEW_PASSPHRASE_LENGTH} characters twice`);
  };
}

/** Environment first, then the TTY prompt (Notary's order); PASSPHRASE_REQUIRED when neither can answer. */
export function defaultPassphraseRetriever(opts: PromptOptions = {}): PassphraseRetriever {
  return envPassphraseRetriever(opts.env ?? process.env, promptPassphraseRetriever(opts));
}
