// SPDX-License-Identifier: Apache-2.0
// Child process for the PIN prompt test: generates a root key on a token the
// way the CLI does (PIN from SIGNET_PKCS11_PIN, else a silent prompt), then
// closes the session. Prints `OK generated <id>`, or `<code>: <message>` on
// stderr with exit status 3.
//   node pin-child.js <module> <token label>
import { TokenError } from '../../../shared/errors.js';
import { envPinSource, PIN_ENV, promptPinSource } from '../../../keys/pkcs11/pin.js';
import { Pkcs11TokenStore } from '../../../keys/pkcs11/token-store.js';
import { TokenSession } from '../../../keys/pkcs11/token-session.js';

const [modulePath, label] = process.argv.slice(2);
const session = new TokenSession({ modulePath: modulePath!, selector: { label: label! }, pin: envPinSource(process.env, PIN_ENV, promptPinSource()) });
const store = new Pkcs11TokenStore({ session });
try {
  const pub = await store.generate({ role: 'root' });
  await store.close();
  process.stdout.write(`OK generated ${pub.id}\n`);
  process.exit(0);
} catch (e) {
  if (!(e instanceof TokenError)) throw e;
  process.stderr.write(`${e.code}: ${e.message}\n`);
  process.exit(3);
}
