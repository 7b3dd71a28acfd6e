// SPDX-License-Identifier: Apache-2.0
// Settings of the Kubernetes admission webhooks.

export interface AdmissionOptions {
  /** Namespaces never checked (the webhook's own, kube-system, ...). */
  readonly exemptNamespaces: readonly string[];
}

export const DEFAULT_ADMISSION_OPTIONS: AdmissionOptions = { exemptNamespaces: ['kube-system'] };
