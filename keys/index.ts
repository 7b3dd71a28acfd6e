// SPDX-License-Identifier: Apache-2.0
// Public surface of keys/: key stores, passphrase sources, key file codec.
// Private keys never leave this folder except through KeyStore.exportPem.

export { CryptoService } from './crypto-service.js';
export { FileKeyStore, type FileKeyStoreOptions } from './file-store.js';
export { MemoryKeyStore } from './memory-store.js';
export {
  DEFAULT_IMPORT_ROLE,
  DEFAULT_RSA_BITS,
  MIN_RSA_BITS,
  type ExportOptions,
  type GenerateAlgorithm,
  type GenerateOptions,
  type ImportOptions,
  type KeyInfo,
  type KeyStore,
} from './key-store.js';
export {
  constantPassphraseRetriever,
  defaultPassphraseRetriever,
  envPassphraseRetriever,
  isCiEnv,
  MAX_PASSPHRASE_ATTEMPTS,
  passphraseEnvNames,
  readHidden,
  promptPassphraseRetriever,
  type PassphraseRequest,
  type PassphraseRetriever,
  type PromptOptions,
} from './passphrase.js';
export { GUN_ROLES } from './key-file.js';
export { fileInTheWay, FileInTheWayError, trustDirRemedy } from './trust-dir.js';
