// SPDX-License-Identifier: Apache-2.0
// PKCS#11 failures as TokenErrors: the CKR_* name is kept on the error (`ckr`)
// and mapped to a code and a remedy the user can act on. pkcs11js reports a
// module failure as an Error whose message starts with the CKR name
// (`CKR_PIN_INCORRECT`, sometimes `CKR_ATTRIBUTE_READ_ONLY:16`); anything
// without one (a missing library file, a bad argument) is reported as the
// module being unusable.

import { TokenError, type ErrorCode } from '../../shared/errors.js';

interface Mapping {
  readonly code: ErrorCode;
  readonly remedy: string;
}

const MISSING: Mapping = { code: 'TOKEN_MISSING', remedy: 'insert the token (or check SIGNET_PKCS11_TOKEN / SIGNET_PKCS11_SLOT), then try again' };

const BY_CKR: Readonly<Record<string, Mapping>> = {
  CKR_PIN_INCORRECT: { code: 'PASSPHRASE_WRONG', remedy: 'the PIN is wrong; check SIGNET_PKCS11_PIN (each wrong PIN brings the token closer to locking)' },
  CKR_PIN_LEN_RANGE: { code: 'PASSPHRASE_WRONG', remedy: 'the PIN has the wrong length for this token; check SIGNET_PKCS11_PIN' },
  CKR_PIN_LOCKED: { code: 'TOKEN_LOCKED', remedy: "the token's user PIN is locked after too many wrong PINs; unblock it with the security officer PIN or PUK (e.g. `yubico-piv-tool -a unblock-pin`)" },
  CKR_PIN_EXPIRED: { code: 'TOKEN_LOCKED', remedy: "the token's user PIN has expired; set a new one with the token's own tool" },
  CKR_USER_PIN_NOT_INITIALIZED: { code: 'TOKEN_LOCKED', remedy: 'the token has no user PIN yet; initialise it with the token tool (e.g. `softhsm2-util --init-token`)' },
  CKR_DEVICE_MEMORY: { code: 'TOKEN_FULL', remedy: 'the token has no room for another key; remove a key you no longer need (`signet key remove`) or use another token' },
  CKR_TOKEN_NOT_PRESENT: MISSING,
  CKR_DEVICE_REMOVED: MISSING,
  CKR_TOKEN_NOT_RECOGNIZED: MISSING,
  CKR_SLOT_ID_INVALID: MISSING,
  CKR_FUNCTION_CANCELED: { code: 'TOKEN', remedy: 'the operation was cancelled on the token (no touch or PIN in time?); try again and touch the token when asked' },
  CKR_TOKEN_WRITE_PROTECTED: { code: 'TOKEN', remedy: 'the token is write-protected; use another token or remove the protection' },
  CKR_MECHANISM_INVALID: { code: 'TOKEN', remedy: 'the token cannot make or use ECDSA P-256 keys; use a token that supports CKM_EC_KEY_PAIR_GEN and CKM_ECDSA' },
  CKR_CRYPTOKI_ALREADY_INITIALIZED: { code: 'PKCS11_UNAVAILABLE', remedy: 'the module is already initialised by other code in this process' },
};

/** The CKR_* name in an error from the addon, or undefined. */
export function ckrName(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  return /\bCKR_[A-Z0-9_]+/.exec(err.message)?.[0];
}

/** Whether `err` says the token went away (so a new session may help after it is back). */
export function isTokenGone(err: unknown): boolean {
  const ckr = err instanceof TokenError ? err.ckr : ckrName(err);
  return ckr === 'CKR_DEVICE_REMOVED' || ckr === 'CKR_TOKEN_NOT_PRESENT' || ckr === 'CKR_SESSION_HANDLE_INVALID' || ckr === 'CKR_SESSION_CLOSED';
}

/** A TokenError for a failed attempt to `action` with the module at `modulePath`. */
export function toTokenError(err: unknown, action: string, modulePath: string): TokenError {
  if (err instanceof TokenError) return err;
  const ckr = ckrName(err);
  if (ckr === undefined) {
    return new TokenError(
      'PKCS11_UNAVAILABLE',
      `cannot ${action}: the PKCS#11 module ${modulePath} is not usable (${err instanceof Error ? err.message : String(err)}); check SIGNET_PKCS11_MODULE names the token's module (e.g. /usr/lib/softhsm/libsofthsm2.so, libykcs11.so)`,
      { cause: err },
    );
  }
  const m = BY_CKR[ckr] ?? { code: 'TOKEN', remedy: 'see the token vendor documentation for this error' };
  return new TokenError(m.code, `cannot ${action} (${ckr}): ${m.remedy}`, { cause: err, ckr });
}
