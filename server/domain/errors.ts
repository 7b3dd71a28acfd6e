// SPDX-License-Identifier: Apache-2.0
// The one error class of the trust domain: a publish was refused. It carries
// the Go error type notary-server reports (`detail.Name`), so the HTTP layer
// can answer INVALID_UPDATE exactly as notary does and the stock notary CLI
// prints a meaningful message; `code` says precisely what was wrong.

import { CryptoError, RepositoryError, type ErrorCode } from '../../shared/errors.js';
import type { UpdateRefusal } from './service.js';

export type NotaryErrorName = UpdateRefusal['notaryName'];

export interface UpdateRefusalOptions {
  readonly cause?: unknown;
  /** The role whose metadata was refused, when there is one. */
  readonly role?: string;
  /** ErrBadHierarchy only: the role the update lacks (`snapshot`), as notary's `Missing` field. */
  readonly missing?: string;
}

/** A publish was refused; nothing was stored. The message says which role, what was wrong and what to do. */
export class UpdateRefusalError extends RepositoryError implements UpdateRefusal {
  readonly notaryName: NotaryErrorName;
  readonly role: string | undefined;
  readonly missing: string | undefined;
  constructor(notaryName: NotaryErrorName, code: ErrorCode, message: string, options?: UpdateRefusalOptions) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.notaryName = notaryName;
    this.role = options?.role;
    this.missing = options?.missing;
  }

  /**
   * Wrap a verifier error as a refusal of `role`, keeping its code and cause.
   * Only bad-input errors are wrapped; anything else (a storage or key-store failure, a bug)
   * is rethrown as is, so it reaches the HTTP layer as a server error, not as the client's fault.
   */
  static wrap(notaryName: NotaryErrorName, role: string, error: unknown, hint?: string): UpdateRefusalError {
    if (error instanceof UpdateRefusalError) return error;
    if (!(error instanceof RepositoryError || error instanceof CryptoError)) throw error;
    const message = hint === undefined ? `${role}: ${error.message}` : `${role}: ${error.message}; ${hint}`;
    return new UpdateRefusalError(notaryName, error.code, message, { cause: error, role });
  }
}
