// SPDX-License-Identifier: Apache-2.0
// One error hierarchy for the whole project. Callers catch a family root
// (RepositoryError, CryptoError, ...) and branch on the stable `code`; the
// server maps codes to Notary's HTTP error envelope and the CLI maps families
// to exit codes. Messages are lower-case facts a user can act on; they never
// contain secrets or whole metadata bodies.

export type ErrorCode =
  // parsing untrusted bytes
  | 'MALFORMED_JSON'
  | 'INVALID_FIELD'
  | 'CANONICAL_JSON'
  // verification of untrusted metadata
  | 'THRESHOLD_NOT_MET'
  | 'INVALID_KEY_ID'
  | 'NO_SIGNATURES'
  | 'EXPIRED'
  | 'VERSION_ROLLBACK'
  | 'VERSION_EQUAL'
  | 'VERSION_JUMP'
  | 'HASH_MISMATCH'
  | 'LENGTH_MISMATCH'
  | 'WRONG_TYPE'
  | 'BAD_ROOT'
  | 'BAD_DELEGATION'
  | 'PATH_NOT_DELEGATED'
  | 'MISSING_META'
  | 'UNTRUSTED_ROOT'
  // crypto
  | 'UNSUPPORTED_ALGORITHM'
  | 'INVALID_KEY'
  | 'SIGNING_FAILED'
  | 'SIGNATURE_ENCODING'
  | 'INVALID_CERTIFICATE'
  // state machine misuse (a programming error, not bad input)
  | 'BAD_STATE'
  // key stores
  | 'KEY_NOT_FOUND'
  | 'PASSPHRASE_REQUIRED'
  | 'PASSPHRASE_WRONG'
  | 'KEY_FILE_INVALID'
  | 'TOKEN'
  | 'KEY_ROLE_INVALID'
  | 'KEY_STORE_IO'
  // server storage
  | 'VERSION_CONFLICT'
  | 'STORAGE'
  // client (CLI): configuration, usage, talking to a server
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'RESPONSE_TOO_LARGE'
  | 'HTTP_STATUS'
  | 'SERVER_REJECTED'
  | 'METADATA_NOT_FOUND'
  | 'AUTH_REQUIRED'
  // server trust domain: refused publishes
  | 'INVALID_ROLE'
  | 'DUPLICATE_ROLE'
  | 'METADATA_TOO_LARGE'
  | 'NO_ROOT'
  | 'SERVER_KEY_MISSING'
  // client key lifecycle: a change that would lock out clients or signers
  | 'UNSAFE_KEY_CHANGE'
  // hardware tokens (PKCS#11): module not loadable, token absent, PIN locked, no room left
  | 'PKCS11_UNAVAILABLE'
  | 'TOKEN_MISSING'
  | 'TOKEN_LOCKED'
  | 'TOKEN_FULL'
  // deploy policy (shared/policy): a policy file that cannot be used
  | 'POLICY_INVALID'
  // the client's trust directory: a cache or changelist path that cannot be read or written
  | 'TRUST_DIR_IO';

export interface TrustErrorOptions {
  cause?: unknown;
}

/** Base of every error Signet raises on purpose. */
export class TrustError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: TrustErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** Untrusted input (metadata from a server, an upload, a file) is bad. */
export class RepositoryError extends TrustError {}

/** Bytes could not be parsed into the model. `field` is a JSON path such as `signed.roles.root.threshold`. */
export class DeserializationError extends RepositoryError {
  readonly field: string;
  constructor(field: string, message: string, options?: TrustErrorOptions & { code?: ErrorCode }) {
    super(options?.code ?? 'INVALID_FIELD', field === '' ? message : `${field}: ${message}`, options);
    this.field = field;
  }
}

/** A role's signatures do not meet its threshold, or a signature is malformed. */
export class UnsignedMetadataError extends RepositoryError {}

/** Version rules were broken (rollback, equal version where a newer one is required, root version jump). */
export class BadVersionError extends RepositoryError {}

/** Metadata is past its `expires` at the reference time (freeze attack). */
export class ExpiredMetadataError extends RepositoryError {}

/** Bytes do not match the length or hashes that a trusted role recorded (mix-and-match, endless data). */
export class LengthOrHashMismatchError extends RepositoryError {}

/** A crypto operation could not be performed (unknown algorithm, unusable key). */
export class CryptoError extends TrustError {}

/** The state machine or an API was used in the wrong order; a bug in the caller, not bad input. */
export class StateError extends TrustError {
  constructor(message: string) {
    super('BAD_STATE', message);
  }
}

/** Key store failures (missing key, passphrase problems, hardware token problems). */
export class KeyStoreError extends TrustError {}

/** A file or directory of the local trust dir cannot be read or written; the message names it and the remedy. */
export class TrustDirError extends TrustError {
  constructor(message: string, options?: TrustErrorOptions) {
    super('TRUST_DIR_IO', message, options);
  }
}

/** Server storage failures; `VERSION_CONFLICT` is Notary's `VERSION` error. */
export class StorageError extends TrustError {}

/** The client configuration (config.json, flags) is unusable; the message names the file or flag to fix. */
export class ConfigError extends TrustError {
  constructor(message: string, options?: TrustErrorOptions) {
    super('CONFIG_INVALID', message, options);
  }
}

/** A CLI command was called wrongly (missing argument, conflicting flags). */
export class UsageError extends TrustError {
  constructor(message: string, options?: TrustErrorOptions) {
    super('USAGE', message, options);
  }
}

/**
 * Talking to a trust server failed: unreachable, timed out, oversized answer,
 * unexpected status, or the server refused the request (`serverCode` is the
 * Notary envelope code such as `VERSION` or `INVALID_UPDATE`; `detailName` the
 * `detail.Name` of an INVALID_UPDATE, e.g. `ErrBadRoot`).
 */
export class RemoteError extends TrustError {
  readonly httpStatus: number | undefined;
  readonly serverCode: string | undefined;
  readonly detailName: string | undefined;
  constructor(
    code: ErrorCode,
    message: string,
    options?: TrustErrorOptions & { httpStatus?: number; serverCode?: string; detailName?: string },
  ) {
    super(code, message, options);
    this.httpStatus = options?.httpStatus;
    this.serverCode = options?.serverCode;
    this.detailName = options?.detailName;
  }

  /** The same failure told differently (what it means for the command, what to do), with this one as its cause. */
  withMessage(message: string, code: ErrorCode = this.code): RemoteError {
    return new RemoteError(code, message, {
      cause: this,
      ...(this.httpStatus === undefined ? {} : { httpStatus: this.httpStatus }),
      ...(this.serverCode === undefined ? {} : { serverCode: this.serverCode }),
      ...(this.detailName === undefined ? {} : { detailName: this.detailName }),
    });
  }
}

/**
 * Control signal, not a failure: newly fetched metadata has the same version as
 * the trusted copy, which stays in use (python-tuf EqualVersionNumberError).
 * Catch it by class; code VERSION_EQUAL.
 */
export class EqualVersionError extends BadVersionError {
  constructor(message: string) {
    super('VERSION_EQUAL', message);
  }
}

/**
 * A model or tree cannot be written in a wire format, e.g. a string with a raw
 * control character that Go's encoder refuses. The writer must change its input.
 */
export class SerializationError extends TrustError {
  constructor(message: string, options?: TrustErrorOptions) {
    super('CANONICAL_JSON', message, options);
  }
}

/**
 * A key rotation, revocation or re-signing was refused before anything was
 * sent or written: its result would not verify for a client that trusted the
 * previous state, or would leave a role that nobody can sign. The message says
 * which keys or signatures are missing and how to proceed.
 */
export class UnsafeKeyChangeError extends RepositoryError {
  constructor(message: string, options?: TrustErrorOptions) {
    super('UNSAFE_KEY_CHANGE', message, options);
  }
}

/**
 * A PKCS#11 module or token failed (keys/pkcs11). `ckr` is the PKCS#11 return
 * value's name (`CKR_PIN_INCORRECT`, ...) when the module gave one. Codes:
 * PKCS11_UNAVAILABLE, TOKEN_MISSING, TOKEN_LOCKED, TOKEN_FULL, TOKEN (other
 * token failures), PASSPHRASE_REQUIRED / PASSPHRASE_WRONG for the PIN,
 * KEY_NOT_FOUND. The message says what to do; it never contains the PIN.
 */
export class TokenError extends KeyStoreError {
  readonly ckr: string | undefined;
  constructor(code: ErrorCode, message: string, options?: TrustErrorOptions & { ckr?: string }) {
    super(code, message, options);
    this.ckr = options?.ckr;
  }
}

/**
 * A deploy policy file (shared/policy) is unusable. `file` and `line` (1-based,
 * 0 when unknown) locate the problem; the message says what to change.
 */
export class PolicyError extends TrustError {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, reason: string, options?: TrustErrorOptions) {
    super('POLICY_INVALID', `${file}${line > 0 ? `:${line}` : ''}: ${reason}`, options);
    this.file = file;
    this.line = line;
  }
}
