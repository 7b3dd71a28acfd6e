// SPDX-License-Identifier: Apache-2.0
// The @peculiar/asn1-* libraries, loaded on first use instead of at start-up:
// importing them (asn1js, tslib, pvtsutils) costs 200-300 ms, which every CLI
// command paid even when it never touched a certificate or a DER signature.
// require() keeps the callers synchronous; these packages ship CommonJS builds,
// and an ESM import elsewhere gets the same module instances from require's cache.

import { createRequire } from 'node:module';
import type * as Ecc from '@peculiar/asn1-ecc';
import type * as Rsa from '@peculiar/asn1-rsa';
import type * as Schema from '@peculiar/asn1-schema';
import type * as X509 from '@peculiar/asn1-x509';

export interface Asn1Libraries {
  readonly schema: typeof Schema;
  readonly x509: typeof X509;
  readonly rsa: typeof Rsa;
  readonly ecc: typeof Ecc;
}

const require = createRequire(import.meta.url);
let loaded: Asn1Libraries | undefined;

/** The ASN.1 libraries, loaded on the first call. */
export function asn1(): Asn1Libraries {
  loaded ??= {
    schema: require('@peculiar/asn1-schema') as typeof Schema,
    x509: require('@peculiar/asn1-x509') as typeof X509,
    rsa: require('@peculiar/asn1-rsa') as typeof Rsa,
    ecc: require('@peculiar/asn1-ecc') as typeof Ecc,
  };
  return loaded;
}
