// SPDX-License-Identifier: Apache-2.0
// Child process for the passphrase tests: runs one store operation with the
// default retriever (environment, then TTY prompt) the way a CLI would, and
// reports the outcome on stdout / the error code on stderr (exit status 3).
//   node passphrase-child.js unlock <trustDir> <keyId>
//   node passphrase-child.js generate <trustDir> <role>
import { KeyStoreError } from '../../../shared/errors.js';
import { FileKeyStore } from '../../../keys/file-store.js';
import { defaultPassphraseRetriever } from '../../../keys/passphrase.js';

const [op, dir, arg] = process.argv.slice(2);
const store = new FileKeyStore(dir!, { retriever: defaultPassphraseRetriever() });
try {
  if (op === 'unlock') {
    await store.getSigner(arg!);
    process.stdout.write(`OK unlocked ${arg!}\n`);
  } else {
    const pub = await store.generate({ role: arg! });
    process.stdout.write(`OK generated ${pub.id}\n`);
  }
  process.exit(0);
} catch (e) {
  if (!(e instanceof KeyStoreError)) throw e;
  process.stderr.write(`${e.code}: ${e.message}\n`);
  process.exit(3);
}
