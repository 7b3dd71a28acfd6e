// SPDX-License-Identifier: Apache-2.0
// One logged-in session with one token: which token (by label, by slot ID,
// or the only one present), opening the module and the session on first use,
// logging in with the PIN only when an operation needs the private keys, and
// closing it all (logout, close session, finalise the module) on close().
// Public key objects are readable without a login, so listing keys never
// asks for a PIN. Operations run one at a time through the module's queue.
// A session the module has dropped (token pulled and re-inserted) is
// reopened once; a token that is gone is reported as TOKEN_MISSING.

import { TokenError } from '../../shared/errors.js';
import { CK, openPkcs11Module, type Handle, type Pkcs11Binding, type TokenInfo } from './binding.js';
import type { PinSource } from './pin.js';
import { isTokenGone } from './token-errors.js';

/** Which token to use: by label, by slot ID, or (neither) the only initialised token present. */
export interface TokenSelector {
  readonly label?: string;
  readonly slot?: number;
}

export interface TokenSessionOptions {
  readonly modulePath: string;
  readonly selector: TokenSelector;
  readonly pin: PinSource;
  /** Told before a login on a PIN pad (protected authentication path). */
  readonly notify?: (message: string) => void;
  /** Tests: how the module is opened (default openPkcs11Module). */
  readonly openModule?: (modulePath: string) => Pkcs11Binding;
}

/** Most PINs asked for per login; the token's own retry counter is usually 3 to 10. */
export const MAX_PIN_ATTEMPTS = 3;

export type SessionWork<T> = (binding: Pkcs11Binding, session: Handle) => T | Promise<T>;

function slotNumber(slot: Handle): number {
  return slot.length >= 8 ? Number(slot.readBigUInt64LE(0)) : slot.readUInt32LE(0);
}

function describe(selector: TokenSelector): string {
  const parts = [selector.label === undefined ? '' : `labelled ${JSON.stringify(selector.label)}`, selector.slot === undefined ? '' : `in slot ${selector.slot}`];
  return parts.filter((p) => p !== '').join(' ') || '(any)';
}

export class TokenSession {
  readonly modulePath: string;
  readonly #options: TokenSessionOptions;
  #binding: Pkcs11Binding | undefined;
  #slot: { handle: Handle; info: TokenInfo } | undefined;
  #session: Handle | undefined;
  #loggedIn = false;
  /** The label of the token last found (kept when the session is closed, for messages and `key list`). */
  #foundLabel: string | undefined;

  constructor(options: TokenSessionOptions) {
    this.modulePath = options.modulePath;
    this.#options = options;
  }

  /** The token's label once found (an unlabelled token: `slot N`), else what was asked for. */
  get tokenName(): string {
    return this.#foundLabel ?? this.#options.selector.label ?? (this.#options.selector.slot === undefined ? 'token' : `slot ${this.#options.selector.slot}`);
  }

  /**
   * Runs `work` with an open session, logged in first when `login` is set.
   * @throws {TokenError} PKCS11_UNAVAILABLE, TOKEN_MISSING, TOKEN_LOCKED, PASSPHRASE_REQUIRED / PASSPHRASE_WRONG, or what `work` throws.
   */
  run<T>(login: boolean, work: SessionWork<T>): Promise<T> {
    const binding = (this.#binding ??= (this.#options.openModule ?? openPkcs11Module)(this.modulePath));
    return binding.run(async () => {
      try {
        return await this.#attempt(binding, login, work);
      } catch (err) {
        if (!isTokenGone(err)) throw err;
        this.#drop(binding);
        return this.#attempt(binding, login, work);
      }
    });
  }

  /** Logs out, closes the session and releases the module. Safe to call twice. */
  async close(): Promise<void> {
    const binding = this.#binding;
    if (binding === undefined) return;
    await binding.run(() => {
      if (this.#session !== undefined && this.#loggedIn) {
        try {
          binding.logout(this.#session);
        } catch {
          // closing the session below logs out as well
        }
      }
      this.#drop(binding);
    });
    this.#binding = undefined;
    binding.release();
  }

  #drop(binding: Pkcs11Binding): void {
    const s = this.#session;
    this.#session = undefined;
    this.#slot = undefined;
    this.#loggedIn = false;
    if (s === undefined) return;
    try {
      binding.closeSession(s);
    } catch {
      // the module already forgot it
    }
  }

  async #attempt<T>(binding: Pkcs11Binding, login: boolean, work: SessionWork<T>): Promise<T> {
    if (this.#session === undefined) {
      this.#slot = this.#findToken(binding);
      this.#foundLabel = this.#slot.info.label === '' ? `slot ${slotNumber(this.#slot.handle)}` : this.#slot.info.label;
      this.#session = binding.openSession(this.#slot.handle);
    }
    if (login && !this.#loggedIn) await this.#login(binding, this.#session);
    return work(binding, this.#session);
  }

  #findToken(binding: Pkcs11Binding): { handle: Handle; info: TokenInfo } {
    const { selector } = this.#options;
    const present = binding
      .slots()
      .map((handle) => ({ handle, id: slotNumber(handle), info: binding.tokenInfo(handle) }))
      .filter((t) => (t.info.flags & CK.CKF_TOKEN_INITIALIZED) !== 0);
    const matching = present.filter((t) => (selector.label === undefined || t.info.label === selector.label) && (selector.slot === undefined || t.id === selector.slot));
    const seen = present.map((t) => `${JSON.stringify(t.info.label)} (slot ${t.id})`).join(', ') || 'none';
    if (matching.length === 0) {
      throw new TokenError('TOKEN_MISSING', `no token ${describe(selector)} is present in ${this.modulePath} (tokens seen: ${seen}); insert it, or fix SIGNET_PKCS11_TOKEN / SIGNET_PKCS11_SLOT`);
    }
    if (matching.length > 1) {
      throw new TokenError('TOKEN', `${matching.length} tokens match ${describe(selector)} in ${this.modulePath} (${seen}); choose one with SIGNET_PKCS11_TOKEN (label) or SIGNET_PKCS11_SLOT`);
    }
    return matching[0]!;
  }

  async #login(binding: Pkcs11Binding, session: Handle): Promise<void> {
    const slot = this.#slot!;
    let flags = binding.tokenInfo(slot.handle).flags;
    const token = slot.info.label;
    if ((flags & CK.CKF_USER_PIN_LOCKED) !== 0) {
      throw new TokenError('TOKEN_LOCKED', `token ${token} has locked its user PIN after too many wrong PINs; unblock it with the security officer PIN or PUK (e.g. \`yubico-piv-tool -a unblock-pin\`), then try again`, { ckr: 'CKR_PIN_LOCKED' });
    }
    if ((flags & CK.CKF_LOGIN_REQUIRED) === 0) {
      this.#loggedIn = true;
      return;
    }
    for (let attempt = 0; ; attempt++) {
      let pin: string | null = null;
      if ((flags & CK.CKF_PROTECTED_AUTHENTICATION_PATH) !== 0) this.#options.notify?.(`Enter the PIN of token ${token} on its PIN pad.`);
      else pin = await this.#options.pin({ token, attempt, finalTry: (flags & CK.CKF_USER_PIN_FINAL_TRY) !== 0 });
      try {
        binding.login(session, pin);
        this.#loggedIn = true;
        return;
      } catch (err) {
        if (err instanceof TokenError && err.ckr === 'CKR_USER_ALREADY_LOGGED_IN') {
          // another session of this process logged in to the same token: login state is per token
          this.#loggedIn = true;
          return;
        }
        if (!(err instanceof TokenError) || err.code !== 'PASSPHRASE_WRONG' || attempt + 1 >= MAX_PIN_ATTEMPTS) throw err;
        flags = binding.tokenInfo(slot.handle).flags;
        if ((flags & CK.CKF_USER_PIN_LOCKED) !== 0) throw new TokenError('TOKEN_LOCKED', `token ${token} locked its user PIN after the last wrong PIN; unblock it with the security officer PIN or PUK`, { ckr: 'CKR_PIN_LOCKED' });
      }
    }
  }
}
