// SPDX-License-Identifier: Apache-2.0
// Builds the configured authorizer at startup; files are read once here, so
// a missing or unusable file stops the server with a message naming it.

import fs from 'node:fs';
import { ConfigError } from '../../shared/errors.js';
import type { AuthConfig } from '../config.js';
import type { Authorizer } from './access.js';
import { createHtpasswdAuthorizer } from './htpasswd.js';
import { createTokenAuthorizer } from './token.js';

function read(file: string, flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read ${file} (--${flag}); check the path and its permissions`, { cause });
  }
}

/** null for `--auth none`. */
export function createAuthorizer(auth: AuthConfig): Authorizer | null {
  switch (auth.type) {
    case 'none':
      return null;
    case 'token':
      return createTokenAuthorizer({
        realm: auth.realm,
        service: auth.service,
        issuer: auth.issuer,
        rootCertsPem: read(auth.rootCertsFile, 'token-root-certs'),
        rootCertsSource: auth.rootCertsFile,
        autoRedirect: auth.autoRedirect,
      });
    case 'htpasswd':
      return createHtpasswdAuthorizer({ text: read(auth.file, 'htpasswd'), source: auth.file, realm: auth.realm });
  }
}
