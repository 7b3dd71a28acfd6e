// SPDX-License-Identifier: Apache-2.0
// How Signet names its keys on a token. CKA_ID is the 32 bytes of the
// canonical key ID (so `pkcs11-tool --list-objects` shows the ID `signet key
// list` prints); CKA_LABEL is `<role> <gun> <created>`: the role, the GUN
// (empty for root and delegation keys), and the creation time in ISO 8601,
// which orders a server's keys oldest first. Objects with other labels are
// not Signet's and are left alone.

import { KeyStoreError } from '../../shared/errors.js';

export interface KeyLabel {
  readonly role: string;
  readonly gun?: string;
  readonly createdAt: Date;
}

const ROLE_RE = /^[A-Za-z0-9_.\-/]+$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The CKA_LABEL text for a key.
 * @throws {KeyStoreError} KEY_ROLE_INVALID for a role or GUN with spaces (the label separator).
 */
export function formatKeyLabel(label: KeyLabel): string {
  const gun = label.gun ?? '';
  if (!ROLE_RE.test(label.role) || /\s/.test(gun)) {
    throw new KeyStoreError('KEY_ROLE_INVALID', `role ${JSON.stringify(label.role)} / gun ${JSON.stringify(gun)} cannot be stored on a token: neither may contain spaces`);
  }
  return `${label.role} ${gun} ${label.createdAt.toISOString()}`;
}

/** The parts of a Signet CKA_LABEL, or null for a label Signet did not write. */
export function parseKeyLabel(text: string): KeyLabel | null {
  const parts = text.split(' ');
  if (parts.length !== 3) return null;
  const [role, gun, created] = parts as [string, string, string];
  if (!ROLE_RE.test(role) || !ISO_RE.test(created)) return null;
  const createdAt = new Date(created);
  if (Number.isNaN(createdAt.getTime())) return null;
  return { role, ...(gun === '' ? {} : { gun }), createdAt };
}
