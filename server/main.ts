#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// signet-server: the composition root. Resolves the configuration, opens the
// store, builds the signer, trust service, timestamp refresher and HTTP app,
// listens (HTTP or HTTPS), and on SIGTERM/SIGINT stops accepting, lets
// in-flight requests finish (at most `graceMs`), then closes the store.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ConfigError, TrustError } from '../shared/errors.js';
import { createApp } from './app.js';
import { createAuthorizer } from './auth/authorizer.js';
import { parseServerArgs, type ServerConfig } from './config.js';
import { createTimestampRefresher } from './domain/refresher.js';
import { createTrustService } from './domain/trust-service.js';
import { createLogger, type Logger } from './log.js';
import { checkSignerPassphrase, createStoreSigner } from './signer/store-signer.js';
import { openPkcs11Signer } from './signer/pkcs11-signer.js';
import { openStore } from './storage/open-store.js';
import { PolicyChecker } from './policy/checker.js';
import { loadPolicyFile, ownNamespace } from './policy/load.js';
import { policyMetrics } from './policy/metrics.js';
import { attachPolicy } from './policy/registry.js';

export interface StartOptions {
  readonly logger?: Logger;
  /** Longest wait for in-flight requests on shutdown (default 25 s). */
  readonly graceMs?: number;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Stop accepting, drain, close the store. Idempotent. */
  shutdown(): Promise<void>;
  /** Settles once shut down. */
  readonly closed: Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function readPem(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (cause) {
    throw new ConfigError(`cannot read ${file} (--${flag}); check the path and its permissions`, { cause });
  }
}

function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'EADDRINUSE' ? 'the address is in use' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EADDRNOTAVAIL' ? 'no such local address' : err.message;
      reject(new ConfigError(`cannot listen on ${host}:${port}: ${why}; choose another --listen`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const graceMs = options.graceMs ?? 25_000;
  // Everything that can be checked without the database is checked first.
  const authorizer = createAuthorizer(config.auth);
  const tls = config.tls === null ? null : { cert: readPem(config.tls.certFile, 'tls-cert'), key: readPem(config.tls.keyFile, 'tls-key') };
  // An invalid policy stops startup with its line and reason (PolicyError).
  const policy = config.policy === undefined ? undefined : { ...config.policy, policy: loadPolicyFile(config.policy.file) };

  logger.info({ storage: config.storage.kind }, 'opening the store (a new embedded data directory takes several seconds to initialise)');
  const store = await openStore(
    config.storage.kind === 'postgres'
      ? { databaseUrl: config.storage.databaseUrl, onBackgroundError: (err) => logger.warn({ err }, 'database connection error') }
      : { dataDir: config.storage.dataDir },
  );
  let server: http.Server;
  let refresher: ReturnType<typeof createTimestampRefresher>;
  let app: ReturnType<typeof createApp>;
  let closeSigner = async (): Promise<void> => undefined;
  try {
    // With --pkcs11-module the timestamp/snapshot keys live on the token (logged in here, so a bad PIN stops startup).
    const tokenSigner = config.pkcs11 === undefined ? undefined : await openPkcs11Signer({ ...config.pkcs11, env: process.env });
    closeSigner = async () => tokenSigner?.close();
    if (tokenSigner === undefined) await checkSignerPassphrase(store, config.signer.passphrase);
    const signer = tokenSigner ?? createStoreSigner({ store, passphrase: config.signer.passphrase });
    const service = createTrustService({ store, signer, maxMetadataBytes: config.limits.maxPartBytes });
    refresher = createTimestampRefresher({ service, store, onError: (gun, err) => logger.warn({ err, gun }, 'cannot re-sign the timestamp') });
    // PostgreSQL may be shared by several signet-server processes, and their NOTIFYs arrive only after the
    // writer has acknowledged: cached current responses are revalidated against the changefeed first.
    const sharedStore = config.storage.kind === 'postgres';
    app = createApp({ service, store, logger, authorizer, gunPrefixes: config.gunPrefixes, limits: config.limits, sharedStore });
    if (policy !== undefined) {
      const checker = new PolicyChecker({ service, policy: policy.policy, timeoutMs: policy.timeoutMs, metrics: policyMetrics(app.metrics.registry), changes: store, sharedStore });
      await checker.start();
      const own = ownNamespace();
      const exemptNamespaces = own === undefined || policy.exemptNamespaces.includes(own) ? policy.exemptNamespaces : [...policy.exemptNamespaces, own];
      attachPolicy(service, { checker, admission: { exemptNamespaces } });
      logger.info({ policy: policy.file, rules: policy.policy.rules.length, default: policy.policy.default, exemptNamespaces }, 'deploy policy loaded');
    }
    await app.ready;
  } catch (err) {
    await closeSigner().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }

  let inFlight = 0;
  let stopping = false;
  let drained: (() => void) | null = null;
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    inFlight++;
    if (stopping) res.setHeader('Connection', 'close');
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
    app.handler(req, res);
  };
  const { headersTimeoutMs } = config.connections;
  // Node closes a connection that has not sent a request's headers within headersTimeout (a new, silent
  // one too) when it checks, on this interval: at most 1.5 times the timeout instead of 30 s later.
  const connectionsCheckingInterval = Math.max(250, Math.min(30_000, Math.floor(headersTimeoutMs / 2)));
  try {
    server =
      tls === null
        ? http.createServer({ connectionsCheckingInterval }, listener)
        : https.createServer({ cert: tls.cert, key: tls.key, connectionsCheckingInterval, handshakeTimeout: headersTimeoutMs }, listener);
  } catch (cause) {
    await app.close();
    await store.close().catch(() => undefined);
    throw new ConfigError('--tls-cert / --tls-key are not a usable PEM certificate and matching private key', { cause });
  }
  server.headersTimeout = headersTimeoutMs; // slow-loris bound on request headers
  server.requestTimeout = Math.max(120_000, headersTimeoutMs); // whole request, including a large publish
  server.keepAliveTimeout = 5_000;
  // Further connections are closed on arrival, so silent sockets cannot use up the process's descriptors.
  server.maxConnections = config.connections.max;

  let address: AddressInfo;
  try {
    address = await listen(server, config.listen.host, config.listen.port);
  } catch (err) {
    await app.close();
    await store.close().catch(() => undefined);
    throw err;
  }
  refresher.start();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls === null ? 'http' : 'https'}://${host}:${address.port}`;
  logger.info({ url, storage: store.location, auth: config.auth.type, gunPrefixes: config.gunPrefixes }, 'signet-server listening');
  if (config.auth.type === 'none' && !LOOPBACK.test(config.listen.host)) {
    logger.warn({ listen: config.listen.host }, 'no authentication (--auth none) while listening beyond loopback: anyone who can reach this port can publish and delete');
  }

  let closing: Promise<void> | null = null;
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const shutdown = (): Promise<void> => {
    closing ??= (async () => {
      stopping = true;
      logger.info({ inFlight }, 'shutting down: no new connections; waiting for requests in flight');
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, graceMs).unref();
        });
      }
      server.closeAllConnections();
      await serverClosed;
      await refresher.stop();
      await app.close();
      await store.close();
      await closeSigner();
      logger.info('signet-server stopped');
      resolveClosed();
    })();
    return closing;
  };
  return { url, port: address.port, shutdown, closed };
}

/** The CLI: returns the process exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed: ReturnType<typeof parseServerArgs>;
  try {
    parsed = parseServerArgs(argv, env);
  } catch (err) {
    process.stderr.write(`signet-server: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return 0;
  }
  const logger = createLogger(parsed.config.logLevel);
  for (const warning of parsed.warnings) logger.warn(warning);
  let running: RunningServer;
  try {
    running = await startServer(parsed.config, { logger });
  } catch (err) {
    logger.fatal({ err }, 'cannot start');
    const message = err instanceof TrustError ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`signet-server: ${message}\n`);
    return 1;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    logger.info({ signal }, 'signal received');
    void running.shutdown();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await running.closed;
  return 0;
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return fs.realpathSync(entry) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
