// SPDX-License-Identifier: Apache-2.0
// The narrow face of a PKCS#11 module: only the C_* calls the token store
// uses (notary's IPKCS11Ctx idea), over the optional `pkcs11js` addon.
//
// - The addon is loaded lazily with require(), so Signet installs and runs
//   without it; asking for a token then fails with PKCS11_UNAVAILABLE.
// - Its types are not imported either: the shapes used are declared here, so
//   the project also compiles where the optional dependency is absent.
// - A module is C_Initialize'd once per path and process and C_Finalize'd when
//   its last user releases it (a module cannot be initialised twice, and
//   SoftHSM only sees new tokens after a re-initialisation). On process exit
//   every session still open is closed, which also logs the user out.
// - Calls go through `run`, one at a time per module: sessions are not
//   thread-safe, and C_Sign runs on a worker thread (a YubiKey may wait there
//   for a touch) so the event loop stays free.
// Every failure leaves as a TokenError (see token-errors.ts).

import { createRequire } from 'node:module';
import { TokenError } from '../../shared/errors.js';
import { toTokenError } from './token-errors.js';

export type Handle = Buffer;

export interface Attribute {
  readonly type: number;
  readonly value?: number | boolean | string | Buffer;
}

export interface TokenInfo {
  /** Label with the blank padding removed. */
  readonly label: string;
  readonly serialNumber: string;
  readonly model: string;
  readonly flags: number;
}

/** Standard PKCS#11 v2.40 numbers (pkcs11t.h); only those used. */
export const CK = Object.freeze({
  CKF_RW_SESSION: 0x2,
  CKF_SERIAL_SESSION: 0x4,
  CKF_LOGIN_REQUIRED: 0x4,
  CKF_PROTECTED_AUTHENTICATION_PATH: 0x100,
  CKF_TOKEN_INITIALIZED: 0x400,
  CKF_USER_PIN_COUNT_LOW: 0x10000,
  CKF_USER_PIN_FINAL_TRY: 0x20000,
  CKF_USER_PIN_LOCKED: 0x40000,
  CKU_USER: 1,
  CKO_PUBLIC_KEY: 2,
  CKO_PRIVATE_KEY: 3,
  CKK_EC: 3,
  CKA_CLASS: 0x0,
  CKA_TOKEN: 0x1,
  CKA_PRIVATE: 0x2,
  CKA_LABEL: 0x3,
  CKA_VALUE: 0x11,
  CKA_KEY_TYPE: 0x100,
  CKA_ID: 0x102,
  CKA_SENSITIVE: 0x103,
  CKA_SIGN: 0x108,
  CKA_VERIFY: 0x10a,
  CKA_EXTRACTABLE: 0x162,
  CKA_NEVER_EXTRACTABLE: 0x164,
  CKA_ALWAYS_SENSITIVE: 0x165,
  CKA_EC_PARAMS: 0x180,
  CKA_EC_POINT: 0x181,
  CKM_EC_KEY_PAIR_GEN: 0x1040,
  CKM_ECDSA: 0x1041,
});

/** The calls the token store makes. Handles are opaque; errors are TokenErrors. */
export interface Pkcs11Binding {
  readonly modulePath: string;
  /** Runs `work` when no other call on this module is running. */
  run<T>(work: () => T | Promise<T>): Promise<T>;
  slots(): Handle[];
  tokenInfo(slot: Handle): TokenInfo;
  openSession(slot: Handle): Handle;
  closeSession(session: Handle): void;
  /** CKU_USER login; `pin` null for a protected authentication path (PIN pad). */
  login(session: Handle, pin: string | null): void;
  logout(session: Handle): void;
  findObjects(session: Handle, template: readonly Attribute[]): Handle[];
  /** Values of `types`, in order. Throws (CKR_ATTRIBUTE_SENSITIVE, ...) as the module does. */
  attributes(session: Handle, object: Handle, types: readonly number[]): Buffer[];
  createObject(session: Handle, template: readonly Attribute[]): Handle;
  setAttributes(session: Handle, object: Handle, template: readonly Attribute[]): void;
  destroyObject(session: Handle, object: Handle): void;
  generateKeyPair(session: Handle, mechanism: number, publicTemplate: readonly Attribute[], privateTemplate: readonly Attribute[]): Promise<{ publicKey: Handle; privateKey: Handle }>;
  sign(session: Handle, mechanism: number, key: Handle, data: Buffer): Promise<Buffer>;
  /** Drops this user of the module; the last one finalises it. */
  release(): void;
}

// What pkcs11js offers, as far as it is used (its own d.ts is not imported: see above).
interface NativeTokenInfo {
  label: string;
  serialNumber: string;
  model: string;
  flags: number;
}
interface NativeModule {
  load(path: string): void;
  C_Initialize(): void;
  C_Finalize(): void;
  C_GetSlotList(tokenPresent?: boolean): Handle[];
  C_GetTokenInfo(slot: Handle): NativeTokenInfo;
  C_OpenSession(slot: Handle, flags: number): Handle;
  C_CloseSession(session: Handle): void;
  C_Login(session: Handle, userType: number, pin?: string): void;
  C_Logout(session: Handle): void;
  C_FindObjectsInit(session: Handle, template: Attribute[]): void;
  C_FindObjects(session: Handle, max: number): Handle[];
  C_FindObjectsFinal(session: Handle): void;
  C_GetAttributeValue(session: Handle, object: Handle, template: Attribute[]): { type: number; value: Buffer }[];
  C_CreateObject(session: Handle, template: Attribute[]): Handle;
  C_SetAttributeValue(session: Handle, object: Handle, template: Attribute[]): void;
  C_DestroyObject(session: Handle, object: Handle): void;
  C_GenerateKeyPairAsync(session: Handle, mechanism: { mechanism: number }, pub: Attribute[], priv: Attribute[]): Promise<{ publicKey: Handle; privateKey: Handle }>;
  C_SignInit(session: Handle, mechanism: { mechanism: number }, key: Handle): void;
  C_SignAsync(session: Handle, data: Buffer, out: Buffer): Promise<Buffer>;
}
interface NativeAddon {
  PKCS11: new () => NativeModule;
}

let addon: NativeAddon | undefined;

function loadAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  try {
    addon = createRequire(import.meta.url)('pkcs11js') as NativeAddon;
    return addon;
  } catch (cause) {
    throw new TokenError(
      'PKCS11_UNAVAILABLE',
      'hardware tokens need the optional pkcs11js addon, which is not installed or did not build; run `npm ci` with a C++ toolchain (python3, make, g++), or unset SIGNET_PKCS11_MODULE to use key files',
      { cause },
    );
  }
}

interface Loaded {
  readonly native: NativeModule;
  users: number;
  readonly sessions: Set<Handle>;
  queue: Promise<unknown>;
}

const loaded = new Map<string, Loaded>();

function closeEverything(): void {
  for (const [path, m] of loaded) {
    for (const s of m.sessions) {
      try {
        m.native.C_CloseSession(s);
      } catch {
        // exiting: nothing useful can be done with a session that will not close
      }
    }
    try {
      m.native.C_Finalize();
    } catch {
      // as above
    }
    loaded.delete(path);
  }
}
let exitHookInstalled = false;

function guarded<T>(action: string, modulePath: string, work: () => T): T {
  try {
    return work();
  } catch (err) {
    throw toTokenError(err, action, modulePath);
  }
}

async function guardedAsync<T>(action: string, modulePath: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toTokenError(err, action, modulePath);
  }
}

function initialise(modulePath: string): Loaded {
  const existing = loaded.get(modulePath);
  if (existing !== undefined) return existing;
  const Native = loadAddon().PKCS11;
  const native = new Native();
  guarded('load the PKCS#11 module', modulePath, () => native.load(modulePath));
  guarded('initialise the PKCS#11 module', modulePath, () => native.C_Initialize());
  const m: Loaded = { native, users: 0, sessions: new Set(), queue: Promise.resolve() };
  loaded.set(modulePath, m);
  if (!exitHookInstalled) {
    process.once('exit', closeEverything);
    exitHookInstalled = true;
  }
  return m;
}

/**
 * Opens (or shares) the module at `modulePath`. Release it when done.
 * @throws {TokenError} PKCS11_UNAVAILABLE when the addon or the module cannot be loaded.
 */
export function openPkcs11Module(modulePath: string): Pkcs11Binding {
  const m = initialise(modulePath);
  m.users++;
  let released = false;
  const n = m.native;
  const g = <T>(action: string, work: () => T): T => guarded(action, modulePath, work);
  return {
    modulePath,
    run<T>(work: () => T | Promise<T>): Promise<T> {
      const result = m.queue.then(work, work);
      m.queue = result.catch(() => undefined);
      return result;
    },
    slots: () => g('list the slots', () => n.C_GetSlotList(true)),
    tokenInfo(slot) {
      const t = g('read the token information', () => n.C_GetTokenInfo(slot));
      return { label: t.label.replace(/[ \0]+$/, ''), serialNumber: t.serialNumber.trim(), model: t.model.trim(), flags: t.flags };
    },
    openSession(slot) {
      const s = g('open a session', () => n.C_OpenSession(slot, CK.CKF_SERIAL_SESSION | CK.CKF_RW_SESSION));
      m.sessions.add(s);
      return s;
    },
    closeSession(session) {
      m.sessions.delete(session);
      g('close the session', () => n.C_CloseSession(session));
    },
    // SECURITY: the PIN goes to the module and nowhere else; errors never carry it.
    login: (session, pin) => g('log in', () => (pin === null ? n.C_Login(session, CK.CKU_USER) : n.C_Login(session, CK.CKU_USER, pin))),
    logout: (session) => g('log out', () => n.C_Logout(session)),
    findObjects(session, template) {
      return g('search the token', () => {
        n.C_FindObjectsInit(session, [...template]);
        try {
          const out: Handle[] = [];
          for (;;) {
            const batch = n.C_FindObjects(session, 32);
            if (batch.length === 0) return out;
            out.push(...batch);
          }
        } finally {
          n.C_FindObjectsFinal(session);
        }
      });
    },
    attributes: (session, object, types) =>
      g('read key attributes', () => n.C_GetAttributeValue(session, object, types.map((type) => ({ type }))).map((a) => a.value)),
    createObject: (session, template) => g('store the key on the token', () => n.C_CreateObject(session, [...template])),
    setAttributes: (session, object, template) => g('label the key', () => n.C_SetAttributeValue(session, object, [...template])),
    destroyObject: (session, object) => g('delete the key from the token', () => n.C_DestroyObject(session, object)),
    generateKeyPair: (session, mechanism, pub, priv) =>
      guardedAsync('generate a key on the token', modulePath, () => n.C_GenerateKeyPairAsync(session, { mechanism }, [...pub], [...priv])),
    sign: (session, mechanism, key, data) =>
      guardedAsync('sign on the token', modulePath, async () => {
        n.C_SignInit(session, { mechanism }, key);
        return n.C_SignAsync(session, data, Buffer.alloc(512));
      }),
    release() {
      if (released) return;
      released = true;
      m.users--;
      if (m.users > 0) return;
      loaded.delete(modulePath);
      for (const s of m.sessions) {
        try {
          n.C_CloseSession(s);
        } catch {
          // finalising below closes it anyway
        }
      }
      g('finalise the PKCS#11 module', () => n.C_Finalize());
    },
  };
}
