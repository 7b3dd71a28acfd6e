-- SPDX-License-Identifier: Apache-2.0
-- Signet storage schema 1. Runs on PostgreSQL >= 12 and on embedded PGlite.
-- Applied once, inside the migration transaction (see migrate.ts); never edit
-- after release: add 0002_*.sql instead (the runner refuses changed files).

-- Every uploaded or server-signed metadata file, bytes verbatim.
CREATE TABLE tuf_files (
  id         bigserial   PRIMARY KEY,
  gun        text        NOT NULL,
  role       text        NOT NULL,
  version    bigint      NOT NULL CHECK (version >= 0),
  data       bytea       NOT NULL,
  sha256     char(64)    NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Last guard against racing publishes; also the index for "current version"
  -- (ORDER BY version DESC LIMIT 1 scans it backwards) and by-version lookups.
  CONSTRAINT tuf_files_gun_role_version_key UNIQUE (gun, role, version)
);

-- GET <role>.<sha256>.json
CREATE INDEX tuf_files_gun_role_sha256_idx ON tuf_files (gun, role, sha256);

-- Notary's changefeed: one `update` per stored timestamp, one `deletion` per
-- effective DELETE. IDs follow commit order (writers serialise on an advisory
-- lock before inserting here), so a reader paging by ID never skips a row.
CREATE TABLE changefeed (
  id         bigserial   PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  gun        text        NOT NULL,
  version    bigint      NOT NULL,
  -- varchar, not char(64): a deletion's '' must stay empty, not space-padded.
  sha256     varchar(64) NOT NULL,
  category   text        NOT NULL CHECK (category IN ('update', 'deletion')),
  CHECK ((category = 'update' AND sha256 ~ '^[0-9a-f]{64}$')
      OR (category = 'deletion' AND sha256 = '' AND version = 0))
);

-- Per-GUN changefeed.
CREATE INDEX changefeed_gun_id_idx ON changefeed (gun, id);

-- Timestamp and snapshot keys the server signs with; the private part arrives
-- already encrypted.
CREATE TABLE server_keys (
  id                bigserial   PRIMARY KEY,
  gun               text        NOT NULL,
  role              text        NOT NULL CHECK (role IN ('timestamp', 'snapshot')),
  key_id            text        NOT NULL,
  key_type          text        NOT NULL,
  public_value      text        NOT NULL,
  encrypted_private bytea       NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT server_keys_gun_key_id_key UNIQUE (gun, key_id)
);

CREATE INDEX server_keys_gun_role_idx ON server_keys (gun, role, id);
