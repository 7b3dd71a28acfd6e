// SPDX-License-Identifier: Apache-2.0
// The client configuration, read the way the notary 0.7 CLI reads it so one
// ~/.notary/config.json serves both tools:
//   - the file is `-c` if given (then it must exist), else <home>/.notary/config.json
//     (optional); a file that exists but does not parse is always an error;
//   - flags win over the file: -d, -s, --tlscacert, --tlscert, --tlskey
//     (flag paths are relative to the working directory);
//   - remote_server.root_ca / tls_client_cert / tls_client_key are relative to
//     the config file's directory; trust_dir and trust_pinning.ca paths are
//     relative to the working directory (measured on the notary binary, which
//     differs from its docs here); a leading `~/` is expanded everywhere;
//   - keys are matched case-insensitively (viper lower-cases them).
// Stricter than notary: wrong value types are errors instead of being coerced,
// and the server URL must be http(s).

import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { isJSONObject, type JSONObject, type JSONValue } from '../shared/json/types.js';

export const DEFAULT_SERVER_URL = 'https://notary-server:4443';
const CONFIG_DIR_NAME = '.notary';

/** Global CLI flags that override the file. */
export interface ConfigFlags {
  configFile?: string;
  trustDir?: string;
  server?: string;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export interface TrustPinningConfig {
  /** GUN or `prefix*` -> pinned TUF key IDs of root certificates. */
  readonly certs: ReadonlyMap<string, readonly string[]>;
  /** GUN prefix -> CA bundle file (absolute). */
  readonly ca: ReadonlyMap<string, string>;
  readonly disableTofu: boolean;
}

export interface TlsConfig {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly skipVerify: boolean;
}

export interface ClientConfig {
  /** The config file consulted (absolute), whether or not it existed. */
  readonly configFile: string;
  readonly configFileFound: boolean;
  readonly trustDir: string;
  readonly serverUrl: string;
  readonly tls: TlsConfig;
  readonly trustPinning: TrustPinningConfig;
}

export interface ConfigEnvironment {
  /** Home directory; empty means unknown (notary then uses the working directory). */
  home: string;
  cwd: string;
}

export function defaultEnvironment(): ConfigEnvironment {
  // notary reads $HOME only: unset or empty, its trust dir is <cwd>/.notary (not the passwd home)
  return { home: process.env.HOME ?? '', cwd: process.cwd() };
}

/** Expand a leading `~` (alone or followed by `/`) to the home directory. */
export function expandHome(p: string, home: string): string {
  if (p === '~') return home === '' ? p : home;
  if (p.startsWith('~/')) return home === '' ? p : path.join(home, p.slice(2));
  return p;
}

/** Case-insensitive member lookup, as viper does. */
function member(obj: JSONObject, key: string): JSONValue | undefined {
  const want = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === want) return v;
  return undefined;
}

function optionalString(obj: JSONObject, key: string, where: string, file: string): string | undefined {
  const v = member(obj, key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ConfigError(`${file}: ${where}${key} must be a string`);
  return v;
}

function optionalBool(obj: JSONObject, key: string, where: string, file: string): boolean {
  const v = member(obj, key);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new ConfigError(`${file}: ${where}${key} must be true or false, not ${JSON.stringify(v)}`);
  return v;
}

function optionalObject(obj: JSONObject, key: string, where: string, file: string): JSONObject {
  const v = member(obj, key);
  if (v === undefined || v === null) return {};
  if (!isJSONObject(v)) throw new ConfigError(`${file}: ${where}${key} must be an object`);
  return v;
}

function readConfigFile(file: string, required: boolean): JSONObject | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (!required && code === 'ENOENT') return null;
    throw new ConfigError(`cannot read config file ${file} (${code ?? 'error'}); check the -c path`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (!isJSONObject(parsed)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  return parsed;
}

function parseTrustPinning(section: JSONObject, file: string, home: string, cwd: string): TrustPinningConfig {
  const certs = new Map<string, string[]>();
  for (const [gun, ids] of Object.entries(optionalObject(section, 'certs', 'trust_pinning.', file))) {
    if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === 'string')) {
      throw new ConfigError(`${file}: trust_pinning.certs["${gun}"] must be a list of key ID strings`);
    }
    certs.set(gun, ids);
  }
  const ca = new Map<string, string>();
  for (const [prefix, p] of Object.entries(optionalObject(section, 'ca', 'trust_pinning.', file))) {
    if (typeof p !== 'string' || p === '') throw new ConfigError(`${file}: trust_pinning.ca["${prefix}"] must be a CA bundle path`);
    ca.set(prefix, path.resolve(cwd, expandHome(p, home)));
  }
  return { certs, ca, disableTofu: optionalBool(section, 'disable_tofu', 'trust_pinning.', file) };
}

function checkServerUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new ConfigError(`${source}: server URL ${JSON.stringify(url)} is not a URL; use the form https://host:port`, { cause });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ConfigError(`${source}: server URL must start with https:// or http://, got ${JSON.stringify(url)}`);
  }
  return url.replace(/\/+$/, '');
}

/**
 * Resolve the effective configuration from the file and flags.
 * @throws {ConfigError} when the file is missing (only with -c), unreadable, not JSON, or holds wrong types.
 */
export function loadConfig(flags: ConfigFlags = {}, env: ConfigEnvironment = defaultEnvironment()): ClientConfig {
  const { home, cwd } = env;
  // notary: no home -> <cwd>/.notary
  const defaultTrustDir = path.resolve(cwd, path.join(home, CONFIG_DIR_NAME));
  const required = flags.configFile !== undefined && flags.configFile !== '';
  const configFile = required ? path.resolve(cwd, flags.configFile!) : path.join(defaultTrustDir, 'config.json');
  const raw = readConfigFile(configFile, required);
  const doc = raw ?? {};
  const configDir = path.dirname(configFile);

  const remote = optionalObject(doc, 'remote_server', '', configFile);
  const fromConfigDir = (key: string): string | undefined => {
    const v = optionalString(remote, key, 'remote_server.', configFile);
    return v === undefined ? undefined : path.resolve(configDir, expandHome(v, home));
  };
  const fromCwd = (v: string | undefined): string | undefined =>
    v === undefined || v === '' ? undefined : path.resolve(cwd, expandHome(v, home));

  const trustDirSetting = flags.trustDir !== undefined && flags.trustDir !== '' ? flags.trustDir : optionalString(doc, 'trust_dir', '', configFile);
  const trustDir = trustDirSetting === undefined ? defaultTrustDir : path.resolve(cwd, expandHome(trustDirSetting, home));

  const serverSource = flags.server ? '-s/--server' : configFile;
  const serverUrl = checkServerUrl(flags.server || optionalString(remote, 'url', 'remote_server.', configFile) || DEFAULT_SERVER_URL, serverSource);

  const caFile = fromCwd(flags.tlsCaCert) ?? fromConfigDir('root_ca');
  const certFile = fromCwd(flags.tlsCert) ?? fromConfigDir('tls_client_cert');
  const keyFile = fromCwd(flags.tlsKey) ?? fromConfigDir('tls_client_key');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError('either give both a TLS client certificate and key (remote_server.tls_client_cert/tls_client_key or --tlscert/--tlskey), or neither');
  }
  const tls: TlsConfig = {
    ...(caFile === undefined ? {} : { caFile }),
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
    skipVerify: optionalBool(remote, 'skipTLSVerify', 'remote_server.', configFile),
  };

  const trustPinning = parseTrustPinning(optionalObject(doc, 'trust_pinning', '', configFile), configFile, home, cwd);
  return { configFile, configFileFound: raw !== null, trustDir, serverUrl, tls, trustPinning };
}
