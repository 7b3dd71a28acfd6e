// SPDX-License-Identifier: Apache-2.0
// `signet-server --policy FILE`: read and validate the policy at startup, so an
// invalid file stops the server with the line and the reason.

import { readFileSync } from 'node:fs';
import { PolicyError } from '../../shared/errors.js';
import { parsePolicy } from '../../shared/policy/parse.js';
import type { Policy } from '../../shared/policy/types.js';

const MAX_POLICY_BYTES = 4 * 1024 * 1024;

/** @throws {PolicyError} when the file cannot be read or is invalid. */
export function loadPolicyFile(file: string): Policy {
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_POLICY_BYTES) throw new PolicyError(file, 0, `the policy is larger than ${MAX_POLICY_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    throw new PolicyError(file, 0, `cannot read the policy file (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the --policy path`, { cause: err });
  }
  return parsePolicy(text, file);
}

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The namespace this server runs in when it runs in a Kubernetes pod (from its
 * service account), so the webhook never blocks its own pods; undefined elsewhere.
 */
export function ownNamespace(file = SERVICE_ACCOUNT_NAMESPACE): string | undefined {
  try {
    const ns = readFileSync(file, 'utf8').trim();
    return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}
