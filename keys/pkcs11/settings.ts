// SPDX-License-Identifier: Apache-2.0
// Client token settings: the `pkcs11` section of the client config file
// (~/.notary/config.json or -c), overridden per setting by the environment,
// which is what scripts use:
//
//   env                     config file          meaning
//   SIGNET_PKCS11_MODULE    pkcs11.module        module path; unset = no token
//   SIGNET_PKCS11_TOKEN     pkcs11.token         token label
//   SIGNET_PKCS11_SLOT      pkcs11.slot          slot ID (instead of, or with, the label)
//   SIGNET_PKCS11_ROLES     pkcs11.roles         roles whose new keys go on the token (default root)
//   SIGNET_PKCS11_TOUCH     pkcs11.touch         print "touch the token" before signing (default: on for ykcs11)
//   SIGNET_PKCS11_BACKUP    pkcs11.backup        back new root keys up to an encrypted file (key made in software)
//   SIGNET_PKCS11_FALLBACK  pkcs11.fallback      "files": use the file store when the token is missing
//   SIGNET_PKCS11_PIN       (never in the file)  the user PIN; else a silent prompt on a terminal

import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../shared/errors.js';

export interface TokenSettings {
  readonly modulePath: string;
  readonly label?: string;
  readonly slot?: number;
  readonly roles: readonly string[];
  readonly touch: boolean;
  readonly backup: boolean;
  readonly fallback: boolean;
}

type Section = Record<string, unknown>;

function readSection(configFile: string | undefined): { section: Section; where: string } {
  const where = configFile === undefined ? 'config' : `${configFile}: pkcs11`;
  if (configFile === undefined) return { section: {}, where };
  let text: string;
  try {
    text = fs.readFileSync(configFile, 'utf8');
  } catch {
    return { section: {}, where }; // the config loader already reported a file it needed
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`config file ${configFile} is not valid JSON`, { cause });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { section: {}, where };
  const entry = Object.entries(doc).find(([k]) => k.toLowerCase() === 'pkcs11');
  if (entry === undefined || entry[1] === null) return { section: {}, where };
  if (typeof entry[1] !== 'object' || Array.isArray(entry[1])) throw new ConfigError(`${where} must be an object`);
  const section: Section = {};
  for (const [k, v] of Object.entries(entry[1] as Section)) section[k.toLowerCase()] = v;
  // SECURITY: a PIN in a config file is a secret at rest; refuse it rather than use it.
  if ('pin' in section) throw new ConfigError(`${where}.pin: do not store the token PIN in the config file; set SIGNET_PKCS11_PIN or type it when asked`);
  return { section, where };
}

function flag(env: NodeJS.ProcessEnv, name: string, fileValue: unknown, where: string, fallback: boolean): boolean {
  const v = env[name];
  if (v !== undefined && v !== '') {
    const t = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['0', 'false', 'no', 'off'].includes(t)) return false;
    throw new ConfigError(`${name}=${v} is not a boolean; use 1 or 0`);
  }
  if (fileValue === undefined || fileValue === null) return fallback;
  if (typeof fileValue !== 'boolean') throw new ConfigError(`${where} must be true or false`);
  return fileValue;
}

function text(env: NodeJS.ProcessEnv, name: string, fileValue: unknown, where: string): string | undefined {
  const v = env[name];
  if (v !== undefined && v !== '') return v;
  if (fileValue === undefined || fileValue === null || fileValue === '') return undefined;
  if (typeof fileValue !== 'string') throw new ConfigError(`${where} must be a string`);
  return fileValue;
}

/**
 * The token settings, or null when no module is configured.
 * @throws {ConfigError} for a setting of the wrong type or value (the message names it).
 */
export function tokenSettings(env: NodeJS.ProcessEnv, configFile?: string): TokenSettings | null {
  const { section, where } = readSection(configFile);
  const modulePath = text(env, 'SIGNET_PKCS11_MODULE', section.module, `${where}.module`);
  if (modulePath === undefined) return null;
  if (!path.isAbsolute(modulePath)) throw new ConfigError(`the PKCS#11 module must be an absolute path (SIGNET_PKCS11_MODULE / ${where}.module), got ${JSON.stringify(modulePath)}`);
  const label = text(env, 'SIGNET_PKCS11_TOKEN', section.token, `${where}.token`);
  const slotText = text(env, 'SIGNET_PKCS11_SLOT', typeof section.slot === 'number' ? String(section.slot) : section.slot, `${where}.slot`);
  if (slotText !== undefined && !/^[0-9]{1,15}$/.test(slotText)) throw new ConfigError(`the token slot (SIGNET_PKCS11_SLOT / ${where}.slot) must be a slot ID number, got ${JSON.stringify(slotText)}`);
  let roles: string[] = ['root'];
  const rolesEnv = env.SIGNET_PKCS11_ROLES;
  if (rolesEnv !== undefined && rolesEnv !== '') roles = rolesEnv.split(',').map((r) => r.trim()).filter((r) => r !== '');
  else if (section.roles !== undefined && section.roles !== null) {
    if (!Array.isArray(section.roles) || !section.roles.every((r): r is string => typeof r === 'string')) throw new ConfigError(`${where}.roles must be a list of role names`);
    roles = section.roles;
  }
  const fallbackText = text(env, 'SIGNET_PKCS11_FALLBACK', section.fallback, `${where}.fallback`) ?? 'none';
  if (fallbackText !== 'files' && fallbackText !== 'none') throw new ConfigError(`the token fallback (SIGNET_PKCS11_FALLBACK / ${where}.fallback) must be "files" or "none", got ${JSON.stringify(fallbackText)}`);
  return {
    modulePath,
    ...(label === undefined ? {} : { label }),
    ...(slotText === undefined ? {} : { slot: Number(slotText) }),
    roles,
    touch: flag(env, 'SIGNET_PKCS11_TOUCH', section.touch, `${where}.touch`, /ykcs11/i.test(path.basename(modulePath))),
    backup: flag(env, 'SIGNET_PKCS11_BACKUP', section.backup, `${where}.backup`, false),
    fallback: fallbackText === 'files',
  };
}
