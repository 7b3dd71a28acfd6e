// SPDX-License-Identifier: Apache-2.0
// signet-server configuration: command-line flags, SIGNET_<FLAG> environment
// variables and a JSON config file, in that order of precedence, over
// defaults. Everything is validated here, at startup, so a bad setting stops
// the process with a message naming the flag to fix rather than failing on
// the first request. The signer passphrase is a secret: it is never printed,
// logged or shown as a default.

import { Command, CommanderError, Option } from 'commander';
import fs from 'node:fs';
import { ConfigError, UsageError } from '../shared/errors.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type AuthConfig =
  | { readonly type: 'none' }
  | { readonly type: 'token'; readonly realm: string; readonly service: string; readonly issuer: string; readonly rootCertsFile: string; readonly autoRedirect: boolean }
  | { readonly type: 'htpasswd'; readonly file: string; readonly realm: string };

export interface UploadLimits {
  /** Whole request body of a publish. */
  readonly maxBodyBytes: number;
  /** One metadata file. */
  readonly maxPartBytes: number;
  /** Files in one publish. */
  readonly maxParts: number;
  /** Publish bodies held at once, all requests together; beyond it a publish is answered 503. */
  readonly maxInFlightBytes: number;
}

export interface ServerConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly storage: { readonly kind: 'embedded'; readonly dataDir: string } | { readonly kind: 'postgres'; readonly databaseUrl: string };
  readonly auth: AuthConfig;
  /** notary's repositories.gun_prefixes; empty = every GUN. */
  readonly gunPrefixes: readonly string[];
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  /** Passphrase that encrypts server-held private keys at rest (used by server/signer). */
  readonly signer: { readonly passphrase: string; readonly insecureDevKey: boolean };
  /** Timestamp/snapshot keys on a PKCS#11 token instead of encrypted rows (--pkcs11-module); absent = rows. */
  readonly pkcs11?: { readonly modulePath: string; readonly label?: string; readonly slot?: number; readonly pinSource: string };
  readonly logLevel: LogLevel;
  readonly limits: UploadLimits;
  /** Client connections: how many at once, and how long one may take to send a request's headers. */
  readonly connections: { readonly max: number; readonly headersTimeoutMs: number };
  /** Deploy policy (--policy): the check API and admission webhooks; absent = those routes answer 404. */
  readonly policy?: { readonly file: string; readonly exemptNamespaces: readonly string[]; readonly timeoutMs: number };
}

/** Fixed, published passphrase used with --insecure-dev-signer-key: keys are then effectively unencrypted. */
export const INSECURE_DEV_PASSPHRASE = 'signet-insecure-dev-signer-key';
export const BASIC_AUTH_REALM = 'signet-server';
const MIB = 1024 * 1024;

type Kind = 'string' | 'boolean' | 'integer' | 'list';
interface Spec {
  readonly flag: string;
  readonly kind: Kind;
  readonly arg?: string;
  readonly help: string;
  readonly default?: string;
  readonly choices?: readonly string[];
  readonly secret?: boolean;
}

const SPECS: readonly Spec[] = [
  { flag: 'listen', kind: 'string', arg: 'host:port', help: 'address to listen on ([::1]:4443 for IPv6)', default: '127.0.0.1:4443' },
  { flag: 'data-dir', kind: 'string', arg: 'dir', help: 'embedded database directory (PGlite); used unless --database-url is set', default: './signet-data' },
  { flag: 'database-url', kind: 'string', arg: 'url', help: 'PostgreSQL URL (postgres://user@host:5432/db) instead of the embedded database' },
  { flag: 'auth', kind: 'string', arg: 'type', help: 'none | token (notary-compatible bearer tokens) | htpasswd (basic auth; every authenticated user may pull, push and delete)', default: 'none', choices: ['none', 'token', 'htpasswd'] },
  { flag: 'token-realm', kind: 'string', arg: 'url', help: 'token auth: URL of the token service, sent in the challenge' },
  { flag: 'token-service', kind: 'string', arg: 'name', help: 'token auth: required `aud` claim, sent in the challenge' },
  { flag: 'token-issuer', kind: 'string', arg: 'name', help: 'token auth: required `iss` claim' },
  { flag: 'token-root-certs', kind: 'string', arg: 'file', help: 'token auth: PEM bundle of the token-signing root certificates' },
  { flag: 'token-autoredirect', kind: 'boolean', help: 'token auth: use https://<Host>/auth/token as the realm' },
  { flag: 'htpasswd', kind: 'string', arg: 'file', help: 'htpasswd auth: Apache htpasswd file with bcrypt ($2y$) or {SHA} entries' },
  { flag: 'gun-prefix', kind: 'list', arg: 'prefix', help: 'only serve GUNs starting with this prefix (repeatable; env and file: comma-separated or a JSON array)' },
  { flag: 'tls-cert', kind: 'string', arg: 'file', help: 'serve HTTPS with this PEM certificate (chain)' },
  { flag: 'tls-key', kind: 'string', arg: 'file', help: 'PEM private key of --tls-cert' },
  { flag: 'signer-key-passphrase', kind: 'string', arg: 'passphrase', help: 'encrypts the server-held timestamp/snapshot keys at rest; prefer the environment variable (flags are visible to other local users)', secret: true },
  { flag: 'pkcs11-module', kind: 'string', arg: 'path', help: 'keep the timestamp/snapshot keys on a PKCS#11 token: absolute path of its module (e.g. /usr/lib/softhsm/libsofthsm2.so); no signer passphrase is then needed' },
  { flag: 'pkcs11-token', kind: 'string', arg: 'label', help: 'label of the token to use (default: the only token present)' },
  { flag: 'pkcs11-slot', kind: 'integer', arg: 'id', help: 'slot ID of the token to use, instead of or with its label' },
  { flag: 'pkcs11-pin-source', kind: 'string', arg: 'source', help: 'where the token user PIN comes from: env:NAME or file:PATH', default: 'env:SIGNET_PKCS11_PIN' },
  { flag: 'insecure-dev-signer-key', kind: 'boolean', help: 'development only: encrypt server keys with a fixed, published passphrase' },
  { flag: 'log-level', kind: 'string', arg: 'level', help: LOG_LEVELS.join(' | '), default: 'info', choices: LOG_LEVELS },
  { flag: 'max-upload-bytes', kind: 'integer', arg: 'n', help: 'largest publish request body', default: String(64 * MIB) },
  { flag: 'max-part-bytes', kind: 'integer', arg: 'n', help: 'largest metadata file in a publish', default: String(16 * MIB) },
  { flag: 'max-upload-parts', kind: 'integer', arg: 'n', help: 'most metadata files in one publish', default: '1000' },
  { flag: 'max-upload-bytes-in-flight', kind: 'integer', arg: 'n', help: 'publish bodies held in memory at once, all clients together; a publish beyond it is answered 503 with Retry-After', default: String(256 * MIB) },
  { flag: 'max-connections', kind: 'integer', arg: 'n', help: 'open client connections at once; further ones are closed on arrival', default: '1024' },
  { flag: 'headers-timeout-ms', kind: 'integer', arg: 'n', help: 'a connection must send a request\'s headers within this time (also a new, silent one)', default: '20000' },
  { flag: 'policy', kind: 'string', arg: 'file', help: 'deploy policy (YAML or JSON) for POST /v2/_policy/check and the Kubernetes admission webhooks' },
  { flag: 'policy-exempt-namespace', kind: 'list', arg: 'ns', help: 'namespace the admission webhooks never check (repeatable; replaces the default, so list kube-system too, and the webhook\'s own)', default: 'kube-system' },
  { flag: 'policy-timeout-ms', kind: 'integer', arg: 'n', help: 'deadline of one image check; an unfinished check denies (keep it below the webhook timeoutSeconds)', default: '3000' },
];

export const envName = (flag: string): string => 'SIGNET_' + flag.toUpperCase().replace(/-/g, '_');
const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

type Raw = string | boolean | string[];
type Source = 'flag' | 'env' | 'file' | 'default';
interface Setting {
  readonly value: Raw;
  readonly source: Source;
}

function buildCommand(): Command {
  const cmd = new Command('signet-server')
    .description('Notary v1 compatible trust server (TUF metadata for content trust)')
    .helpOption('-h, --help', 'show this help')
    .option('--config <file>', `JSON config file; keys are flag names, e.g. {"listen": "0.0.0.0:4443", "gun-prefix": ["example.com/"]} [env: ${envName('config')}]`)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .allowExcessArguments(false);
  for (const s of SPECS) {
    const meta = `[env: ${envName(s.flag)}]` + (s.default !== undefined ? ` (default: ${s.default})` : '');
    const opt = new Option(s.kind === 'boolean' ? `--${s.flag}` : `--${s.flag} <${s.arg ?? 'value'}>`, `${s.help} ${meta}`);
    if (s.kind === 'list') opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
  }
  return cmd;
}

const HELP_AFTER =
  '\nPrecedence: command-line flags override SIGNET_* environment variables, which override the config file,\n' +
  'which overrides the defaults. Boolean variables accept 1/0, true/false, yes/no.\n' +
  'The server refuses to start without a signer passphrase (--signer-key-passphrase or\n' +
  'SIGNET_SIGNER_KEY_PASSPHRASE) unless --insecure-dev-signer-key is given.\n' +
  'Logs are JSON lines on stdout; request bodies, keys, passphrases and tokens are never logged.\n';

export function helpText(): string {
  return buildCommand().helpInformation() + HELP_AFTER;
}

function fromEnv(s: Spec, value: string): Raw {
  const name = envName(s.flag);
  if (s.kind === 'boolean') {
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
    throw new ConfigError(`${name}=${s.secret ? '…' : value} is not a boolean; use 1 or 0`);
  }
  if (s.kind === 'list') return value.split(',').map((x) => x.trim()).filter((x) => x !== '');
  return value;
}

function fromFile(s: Spec, value: unknown, file: string): Raw {
  const where = `config file ${file}: "${s.flag}"`;
  if (s.kind === 'boolean') {
    if (typeof value !== 'boolean') throw new ConfigError(`${where} must be true or false`);
    return value;
  }
  if (s.kind === 'list') {
    if (typeof value === 'string') return fromEnv(s, value);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    throw new ConfigError(`${where} must be an array of strings`);
  }
  if (s.kind === 'integer' && typeof value === 'number') return String(value);
  if (typeof value !== 'string') throw new ConfigError(`${where} must be a string`);
  return value;
}

function readConfigFile(file: string, readFile: (p: string) => string): Map<string, unknown> {
  let text: string;
  try {
    text = readFile(file);
  } catch (cause) {
    throw new ConfigError(`cannot read config file ${file}; check --config / ${envName('config')}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`config file ${file} is not valid JSON`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${file} must hold a JSON object of flag names`);
  const known = new Set(SPECS.map((s) => s.flag));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new ConfigError(`config file ${file}: unknown setting "${key}"; settings are the flag names listed by --help`);
  }
  return new Map(Object.entries(parsed));
}

export type ParseResult = { readonly kind: 'help'; readonly text: string } | { readonly kind: 'config'; readonly config: ServerConfig; readonly warnings: readonly string[] };

/**
 * Resolve the configuration from argv (without node and script), the environment and the config file.
 * @throws {UsageError} for unknown flags or missing flag values; {ConfigError} for invalid settings.
 */
export function parseServerArgs(argv: readonly string[], env: NodeJS.ProcessEnv, readFile: (p: string) => string = (p) => fs.readFileSync(p, 'utf8')): ParseResult {
  const cmd = buildCommand();
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && err.code === 'commander.helpDisplayed') return { kind: 'help', text: helpText() };
    const message = err instanceof Error ? err.message.replace(/^error: /, '') : String(err);
    throw new UsageError(`${message}; see signet-server --help`, { cause: err });
  }
  const flags = cmd.opts<Record<string, Raw | undefined>>();
  const configPath = (flags.config as string | undefined) ?? env[envName('config')];
  const file = configPath !== undefined && configPath !== '' ? readConfigFile(configPath, readFile) : new Map<string, unknown>();

  const settings = new Map<string, Setting>();
  for (const s of SPECS) {
    const f = flags[camel(s.flag)];
    const e = env[envName(s.flag)];
    if (f !== undefined) settings.set(s.flag, { value: f, source: 'flag' });
    else if (e !== undefined) settings.set(s.flag, { value: fromEnv(s, e), source: 'env' });
    else if (file.has(s.flag)) settings.set(s.flag, { value: fromFile(s, file.get(s.flag), configPath ?? ''), source: 'file' });
    else if (s.default !== undefined) settings.set(s.flag, { value: s.default, source: 'default' });
  }
  return resolve(settings);
}

function resolve(settings: Map<string, Setting>): ParseResult {
  const warnings: string[] = [];
  const str = (flag: string): string | undefined => {
    const v = settings.get(flag)?.value;
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const bool = (flag: string): boolean => settings.get(flag)?.value === true;
  const require = (flag: string, why: string): string => {
    const v = str(flag);
    if (v === undefined) throw new ConfigError(`${why} needs --${flag} (or ${envName(flag)})`);
    return v;
  };
  const int = (flag: string): number => {
    const v = str(flag) ?? '';
    if (!/^[1-9][0-9]*$/.test(v) || !Number.isSafeInteger(Number(v))) throw new ConfigError(`--${flag} must be a positive integer, got "${v}"`);
    return Number(v);
  };
  const choice = <T extends string>(flag: string): T => {
    const v = str(flag) ?? '';
    const spec = SPECS.find((s) => s.flag === flag);
    if (!spec?.choices?.includes(v)) throw new ConfigError(`--${flag} must be one of ${spec?.choices?.join(', ') ?? ''}, got "${v}"`);
    return v as T;
  };

  // Storage is one setting: the most specific source that names either option decides.
  const rank: Record<Source, number> = { flag: 0, env: 1, file: 2, default: 3 };
  const dir = settings.get('data-dir');
  const url = settings.get('database-url');
  if (dir !== undefined && url !== undefined && dir.source === url.source) {
    throw new ConfigError(`--data-dir and --database-url are both set (${dir.source}); use one: the embedded database or PostgreSQL`);
  }
  const usePostgres = url !== undefined && (dir === undefined || rank[url.source] < rank[dir.source]);
  const storage: ServerConfig['storage'] = usePostgres ? { kind: 'postgres', databaseUrl: require('database-url', 'PostgreSQL storage') } : { kind: 'embedded', dataDir: require('data-dir', 'embedded storage') };
  if (storage.kind === 'postgres' && !/^postgres(ql)?:\/\//.test(storage.databaseUrl)) throw new ConfigError('--database-url must start with postgres:// or postgresql://');

  const authType = choice<AuthConfig['type']>('auth');
  let auth: AuthConfig;
  if (authType === 'token') {
    auth = {
      type: 'token',
      realm: require('token-realm', '--auth token'),
      service: require('token-service', '--auth token'),
      issuer: require('token-issuer', '--auth token'),
      rootCertsFile: require('token-root-certs', '--auth token'),
      autoRedirect: bool('token-autoredirect'),
    };
  } else if (authType === 'htpasswd') {
    auth = { type: 'htpasswd', file: require('htpasswd', '--auth htpasswd'), realm: BASIC_AUTH_REALM };
  } else {
    auth = { type: 'none' };
  }
  const unusedAuth = SPECS.filter((s) => (s.flag.startsWith('token-') && authType !== 'token') || (s.flag === 'htpasswd' && authType !== 'htpasswd'));
  for (const s of unusedAuth) if (settings.has(s.flag)) warnings.push(`--${s.flag} is ignored with --auth ${authType}`);

  const cert = str('tls-cert');
  const key = str('tls-key');
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('TLS needs both --tls-cert and --tls-key');

  const passphrase = str('signer-key-passphrase');
  const insecure = bool('insecure-dev-signer-key');
  const pkcs11 = resolvePkcs11(str);
  if (passphrase === undefined && !insecure && pkcs11 === undefined) {
    throw new ConfigError(`server keys must be encrypted at rest: set ${envName('signer-key-passphrase')} (or --signer-key-passphrase), or pass --insecure-dev-signer-key for local testing`);
  }
  if (passphrase !== undefined && insecure) warnings.push('--insecure-dev-signer-key is ignored because a signer passphrase is set');
  if (insecure && passphrase === undefined) warnings.push('server keys are encrypted with a published passphrase (--insecure-dev-signer-key); never use this in production');
  if (settings.get('signer-key-passphrase')?.source === 'flag') warnings.push(`the signer passphrase was given as a flag, which other local users can see; use ${envName('signer-key-passphrase')}`);

  const limits: UploadLimits = { maxBodyBytes: int('max-upload-bytes'), maxPartBytes: int('max-part-bytes'), maxParts: int('max-upload-parts'), maxInFlightBytes: int('max-upload-bytes-in-flight') };
  if (limits.maxPartBytes > limits.maxBodyBytes) throw new ConfigError('--max-part-bytes cannot exceed --max-upload-bytes');
  if (limits.maxInFlightBytes < limits.maxBodyBytes) throw new ConfigError('--max-upload-bytes-in-flight cannot be less than --max-upload-bytes (no publish of the largest size could ever be taken)');
  const connections = { max: int('max-connections'), headersTimeoutMs: int('headers-timeout-ms') };
  if (connections.headersTimeoutMs < 100) throw new ConfigError('--headers-timeout-ms must be at least 100');

  const prefixes = settings.get('gun-prefix')?.value;
  const policyFile = str('policy');
  const exempt = settings.get('policy-exempt-namespace')?.value;
  const policy = policyFile === undefined ? undefined : { file: policyFile, exemptNamespaces: Array.isArray(exempt) ? exempt.filter((n) => n !== '') : typeof exempt === 'string' ? exempt.split(',').filter((n) => n !== '') : [], timeoutMs: int('policy-timeout-ms') };
  if (policy !== undefined && (policy.timeoutMs < 10 || policy.timeoutMs > 29_000)) throw new ConfigError('--policy-timeout-ms must be 10 to 29000 (Kubernetes waits at most 30 s for a webhook)');
  return {
    kind: 'config',
    warnings,
    config: {
      listen: parseListen(require('listen', 'the server')),
      storage,
      auth,
      gunPrefixes: Array.isArray(prefixes) ? prefixes.filter((p) => p !== '') : [],
      tls: cert !== undefined && key !== undefined ? { certFile: cert, keyFile: key } : null,
      signer: { passphrase: passphrase ?? INSECURE_DEV_PASSPHRASE, insecureDevKey: passphrase === undefined },
      ...(pkcs11 === undefined ? {} : { pkcs11 }),
      logLevel: choice<LogLevel>('log-level'),
      limits,
      connections,
      ...(policy === undefined ? {} : { policy }),
    },
  };
}

/** `host:port`, `[v6]:port`. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):([0-9]{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) throw new ConfigError(`--listen must be host:port (e.g. 127.0.0.1:4443 or [::1]:4443), got "${value}"`);
  return { host: m[1] ?? m[2] ?? '', port };
}

function resolvePkcs11(str: (flag: string) => string | undefined): ServerConfig['pkcs11'] {
  const modulePath = str('pkcs11-module');
  if (modulePath === undefined) return undefined;
  if (!modulePath.startsWith('/')) throw new ConfigError(`--pkcs11-module must be an absolute path, got "${modulePath}"`);
  const pinSource = str('pkcs11-pin-source') ?? 'env:SIGNET_PKCS11_PIN';
  // SECURITY: the value is not echoed: a PIN given here by mistake must not reach the logs.
  if (!/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/.test(pinSource)) throw new ConfigError('--pkcs11-pin-source must be env:NAME (a variable holding the PIN) or file:PATH, not the PIN itself');
  const label = str('pkcs11-token');
  const slot = str('pkcs11-slot');
  if (slot !== undefined && !/^[0-9]{1,15}$/.test(slot)) throw new ConfigError(`--pkcs11-slot must be a slot ID number, got "${slot}"`);
  return { modulePath, pinSource, ...(label === undefined ? {} : { label }), ...(slot === undefined ? {} : { slot: Number(slot) }) };
}
