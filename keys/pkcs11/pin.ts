// SPDX-License-Identifier: Apache-2.0
// Where a token's user PIN comes from: an environment variable (scripts, CI,
// the server), a file (the server's secrets mount), or a silent prompt on a
// terminal. A PinSource is asked once per login attempt.
//
// SECURITY: a PIN is never echoed, logged, cached on disk or put into an
// error message. A PIN from the environment or a file is not retried after
// the token refused it: the same value cannot become right, and every wrong
// try counts towards locking the token.

import fs from 'node:fs';
import { TokenError } from '../../shared/errors.js';
import { isCiEnv, readHidden } from '../passphrase.js';

export interface PinRequest {
  /** Token label, to say which token the PIN is for. */
  readonly token: string;
  /** 0 for the first try; > 0 after the token refused the previous PIN. */
  readonly attempt: number;
  /** The token says the next wrong PIN locks it. */
  readonly finalTry: boolean;
}

export type PinSource = (req: PinRequest) => Promise<string>;

export const PIN_ENV = 'SIGNET_PKCS11_PIN';

function refusedAgain(where: string, token: string): TokenError {
  return new TokenError('PASSPHRASE_WRONG', `token ${token} refused the PIN from ${where}; set the right PIN there (further wrong PINs lock the token)`, { ckr: 'CKR_PIN_INCORRECT' });
}

/** The PIN in `env[name]`; asks `fallback` when unset (or fails with PASSPHRASE_REQUIRED). */
export function envPinSource(env: NodeJS.ProcessEnv, name = PIN_ENV, fallback?: PinSource): PinSource {
  return async (req) => {
    const value = env[name];
    if (value === undefined || value === '') {
      if (fallback !== undefined) return fallback(req);
      throw new TokenError('PASSPHRASE_REQUIRED', `token ${req.token} needs its user PIN: set ${name}, or run on an interactive terminal to type it`);
    }
    if (req.attempt > 0) throw refusedAgain(name, req.token);
    return value;
  };
}

/** The first line of `file` (a secrets mount); read at each login so a rotated PIN is picked up. */
export function filePinSource(file: string): PinSource {
  return async (req) => {
    if (req.attempt > 0) throw refusedAgain(file, req.token);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (cause) {
      throw new TokenError('PASSPHRASE_REQUIRED', `cannot read the PIN file ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'}) for token ${req.token}; check the path and its permissions`, { cause });
    }
    const pin = text.split(/\r?\n/)[0] ?? '';
    if (pin === '') throw new TokenError('PASSPHRASE_REQUIRED', `the PIN file ${file} is empty; write token ${req.token}'s user PIN into it`);
    return pin;
  };
}

export interface PinPromptOptions {
  readonly input?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Prompts go to stderr so that stdout stays clean. */
  readonly output?: NodeJS.WritableStream;
  readonly env?: NodeJS.ProcessEnv;
}

/** Asks on the terminal without echo. Never prompts in CI (isCiEnv) or without a TTY. */
export function promptPinSource(opts: PinPromptOptions = {}): PinSource {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stderr;
  const env = opts.env ?? process.env;
  return async (req) => {
    if (isCiEnv(env) || input.isTTY !== true) {
      throw new TokenError('PASSPHRASE_REQUIRED', `token ${req.token} needs its user PIN and there is no terminal to ask on: set ${PIN_ENV}`);
    }
    if (req.attempt > 0) output.write('Wrong PIN. Please retry.\n');
    if (req.finalTry) output.write('Warning: the token will lock after one more wrong PIN.\n');
    return readHidden(`Enter the user PIN of token ${req.token}:`, input, output, (cause) => new TokenError('PASSPHRASE_REQUIRED', 'PIN entry was cancelled', { cause }));
  };
}
