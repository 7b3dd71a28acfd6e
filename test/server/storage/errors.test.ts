// SPDX-License-Identifier: Apache-2.0
// Failures an operator meets: wrong configuration, unreachable or slow
// database, a data directory in use; messages say what to do and never show
// the password from --database-url.
import { after, afterEach, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StorageError } from '../../../shared/errors.js';
import { LOCK_FILE, dataDirRemedy, processStartTime } from '../../../server/storage/data-dir-lock.js';
import { openStore } from '../../../server/storage/open-store.js';
import { redactDatabaseUrl } from '../../../server/storage/sql-errors.js';
import { PgClient } from '../../../server/storage/pg-client.js';
import { LOCK_GUN_SQL, SqlMetaStore } from '../../../server/storage/sql-meta-store.js';
import { PG_URL, embeddedBackend, itOn, postgresBackend, stateAfter, uniqueGun } from './backends.js';
import { sleep } from '../../support/net.js';

const SECRET = 'pa55-S3cret';

function storageError(pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof StorageError, `expected a StorageError, got ${String(err)}`);
    assert.equal(err.code, 'STORAGE');
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes(SECRET), `message shows the password: ${err.message}`);
    return true;
  };
}

describe('redactDatabaseUrl', () => {
  it('hides passwords in the user info and in parameters', () => {
    assert.equal(redactDatabaseUrl(`postgres://alice:${SECRET}@db:5432/signet`), 'postgres://alice:***@db:5432/signet');
    assert.equal(redactDatabaseUrl(`postgres://alice@db/signet?password=${SECRET}&sslmode=require`), 'postgres://alice@db/signet?password=***&sslmode=require');
    assert.equal(redactDatabaseUrl('postgres://db/signet'), 'postgres://db/signet');
    assert.equal(redactDatabaseUrl(`not a url ${SECRET}`), 'the configured database URL');
  });
});

describe('openStore configuration errors', () => {
  it('needs exactly one of --database-url and --data-dir', async () => {
    await assert.rejects(openStore({}), storageError(/configure exactly one store: --database-url .* or --data-dir/));
    await assert.rejects(openStore({ databaseUrl: PG_URL, dataDir: '/tmp/x' }), storageError(/exactly one/));
  });

  it('rejects a malformed URL without echoing it', async () => {
    await assert.rejects(openStore({ databaseUrl: `postgres://alice:${SECRET}@[db/x` }), storageError(/not a valid URL; expected postgres:\/\//));
    await assert.rejects(openStore({ databaseUrl: `mysql://alice:${SECRET}@db/x` }), storageError(/must start with postgres:\/\/ \(got mysql:\/\/\)/));
    await assert.rejects(openStore({ databaseUrl: PG_URL, poolSize: 0 }), storageError(/pool size must be a positive integer/));
    await assert.rejects(openStore({ databaseUrl: PG_URL, schema: 'Robert"; DROP' }), storageError(/not a lower-case SQL identifier/));
  });

  it('says the database is unreachable, where, and what to check, without the password', async () => {
    // Port 1 on loopback: nothing listens there.
    await assert.rejects(
      openStore({ databaseUrl: `postgres://alice:${SECRET}@127.0.0.1:1/signet` }),
      storageError(/cannot prepare the database schema: the database at postgres:\/\/alice:\*\*\*@127\.0\.0\.1:1\/signet is unreachable \(ECONNREFUSED\); check that PostgreSQL is running and check --database-url/),
    );
  });

  it('reports a data dir that cannot be created', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-'));
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    try {
      await assert.rejects(openStore({ dataDir: path.join(file, 'data') }), storageError(/cannot create the data directory .*; check --data-dir/));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const backend of [await embeddedBackend('drain'), await postgresBackend('drain')]) {
  describe(`close (${backend.name})`, () => {
    const itOnBackend = itOn(backend);
    after(() => backend.cleanup());

    itOnBackend('waits for operations in flight, then refuses new ones', async () => {
      const client = await backend.client();
      const store = backend.storeOver(client);
      const gun = uniqueGun();
      let pending: Promise<void> | undefined;
      let closing: Promise<void> | undefined;
      await client.transaction(async (tx) => {
        await tx.query(LOCK_GUN_SQL, [gun]); // the update below waits for this
        pending = store.updateMany(gun, [{ role: 'timestamp', version: 1, data: Buffer.from('t') }]);
        await stateAfter(pending, 50);
        closing = store.close();
        assert.equal(await stateAfter(closing, 200), 'pending', 'close waits for the update');
        await assert.rejects(store.getCurrent(gun, 'timestamp'), storageError(/the store is closed/));
      });
      await pending; // finished, not cut off
      await closing;
      const check = await backend.client();
      const { rows } = await check.query('SELECT 1 FROM tuf_files WHERE gun = $1', [gun]);
      await check.close();
      assert.equal(rows.length, 1);
    });
  });
}

const pg = await postgresBackend('errors');
describe('PostgreSQL failures', () => {
  const itPg = itOn(pg);
  after(() => pg.cleanup());

  itPg('names a missing database and how to fix it', async () => {
    const url = new URL(PG_URL);
    url.pathname = '/signet_no_such_database';
    await assert.rejects(openStore({ databaseUrl: url.toString() }), storageError(/database named in .*signet_no_such_database does not exist; create it \(createdb\) or check --database-url/));
  });

  itPg('ping reports an unreachable database', async () => {
    const store = new SqlMetaStore(new PgClient({ databaseUrl: `postgres://alice:${SECRET}@127.0.0.1:1/signet`, connectTimeoutMs: 1000 }));
    try {
      await assert.rejects(store.ping(), storageError(/cannot check the database: .* is unreachable/));
    } finally {
      await store.close();
    }
  });

  itPg('the pool replaces a connection the server closed, without crashing', async () => {
    await (await pg.client()).close(); // migrate
    const client = new PgClient({ databaseUrl: PG_URL, schema: pg.options.schema!, poolSize: 1 });
    const store = pg.storeOver(client);
    const admin = new PgClient({ databaseUrl: PG_URL, poolSize: 1 });
    try {
      const gun = uniqueGun();
      await store.updateMany(gun, [{ role: 'targets', version: 1, data: Buffer.from('x') }]);
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
      await sleep(200); // the idle connection's error arrives; unhandled it would kill the process
      assert.equal((await store.getCurrent(gun, 'targets'))?.version, 1);
    } finally {
      await store.close();
      await admin.close();
    }
  });

  itPg('a statement that waits too long fails with the statement timeout, not a hang', async () => {
    const store = await openStore({ ...pg.options, statementTimeoutMs: 300 });
    const client = await pg.client();
    try {
      const gun = uniqueGun();
      await client.transaction(async (tx) => {
        await tx.query(LOCK_GUN_SQL, [gun]); // held by "another server"
        await assert.rejects(store.updateMany(gun, [{ role: 'targets', version: 1, data: Buffer.from('x') }]), storageError(/did not answer within the statement timeout/));
      });
    } finally {
      await client.close();
      await store.close();
    }
  });
});

const embedded = await embeddedBackend('errors');
describe('embedded data directory lock', () => {
  const backend = embedded;
  let store: SqlMetaStore;
  before(async () => {
    store = await openStore(backend.options);
  });
  after(async () => {
    await store.close();
    await backend.cleanup();
  });

  it('refuses a second open while a store is open on it', async () => {
    await assert.rejects(openStore(backend.options), storageError(/data directory .* is in use by this process .*; stop that server or choose another --data-dir/));
  });

  it('refuses a directory locked by another live process', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-locked-'));
    fs.writeFileSync(path.join(dir, LOCK_FILE), `${process.ppid}\n`); // our parent is alive
    await assert.rejects(openStore({ dataDir: dir }), storageError(new RegExp(`in use by process ${process.ppid}`)));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('close releases the lock', async () => {
    await store.close();
    await store.close(); // idempotent
    await assert.rejects(store.getCurrent(uniqueGun(), 'timestamp'), storageError(/cannot read the current timestamp of .*: the store is closed/));
    store = await openStore(backend.options);
  });

  it('takes over the lock of a process that died', async () => {
    await store.close();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(path.join(backend.options.dataDir!, LOCK_FILE), `${dead.stdout}\n`);
    store = await openStore(backend.options);
    assert.equal(fs.readFileSync(path.join(backend.options.dataDir!, LOCK_FILE), 'utf8').split(/\s/)[0], String(process.pid));
  });

  // In a container the server is PID 1 after every restart: a lock left by a killed container names a live PID.
  const noProc = fs.existsSync('/proc/self/stat') ? false : 'no /proc here: process start times are read on Linux only';

  it('records the start time and takes over a lock whose live PID started at another time', { skip: noProc }, async () => {
    await store.close();
    const started = processStartTime(process.pid)!;
    assert.match(started, /^\d+$/);
    const lockPath = path.join(backend.options.dataDir!, LOCK_FILE);
    fs.writeFileSync(lockPath, `${process.pid} ${BigInt(started) + 1n}\n`); // this PID, another process's life
    store = await openStore(backend.options);
    assert.equal(fs.readFileSync(lockPath, 'utf8'), `${process.pid} ${started}\n`);
  });

  it('refuses a lock whose live PID has the recorded start time', { skip: noProc }, async () => {
    await store.close();
    const lockPath = path.join(backend.options.dataDir!, LOCK_FILE);
    fs.writeFileSync(lockPath, `${process.pid} ${processStartTime(process.pid)}\n`);
    await assert.rejects(openStore(backend.options), storageError(/in use by this process/));
    fs.writeFileSync(lockPath, `${process.ppid} ${processStartTime(process.ppid)}\n`); // our parent is alive
    await assert.rejects(openStore(backend.options), storageError(new RegExp(`in use by process ${process.ppid}`)));
    fs.rmSync(lockPath);
    store = await openStore(backend.options);
  });
});

describe('embedded data directory on a full or read-only file system', () => {
  const failWith = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });
  afterEach(() => mock.restoreAll());

  it('says the disk is full or read-only, not that permissions are wrong', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-errno-'));
    try {
      const dataDir = path.join(dir, 'data');
      const mkdirSync = fs.mkdirSync;
      mock.method(fs, 'mkdirSync', (p: fs.PathLike, o?: fs.MakeDirectoryOptions) => {
        if (p === dataDir) throw failWith('EROFS');
        return mkdirSync(p, o);
      });
      await assert.rejects(openStore({ dataDir }), storageError(/cannot create the data directory .*: the file system is read-only \(EROFS\); mount it read-write/));
      mock.restoreAll();

      const writeFileSync = fs.writeFileSync;
      mock.method(fs, 'writeFileSync', (p: fs.PathOrFileDescriptor, data: string, o?: fs.WriteFileOptions) => {
        if (p === path.join(dataDir, LOCK_FILE)) throw failWith('ENOSPC');
        writeFileSync(p, data, o);
      });
      await assert.rejects(openStore({ dataDir }), storageError(/cannot create .*signet\.lock: the disk is full \(ENOSPC\); free some space/));
      mock.restoreAll();
      assert.match(dataDirRemedy(failWith('EACCES')), /permission denied \(EACCES\); check that --data-dir is writable/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
