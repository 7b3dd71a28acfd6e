// SPDX-License-Identifier: Apache-2.0
// notary-server's PostgreSQL tables, as its server migrations define them
// (notaryproject/notary migrations/server/postgresql/0001_initial and
// 0002_changefeed; notary 0.7 does not create them itself). The bench loads
// this into a scratch database it creates and drops.

export const NOTARY_SERVER_PG_SCHEMA = `
CREATE TABLE tuf_files (
  id         serial PRIMARY KEY,
  created_at timestamp NULL DEFAULT NULL,
  updated_at timestamp NULL DEFAULT NULL,
  deleted_at timestamp NULL DEFAULT NULL,
  gun        varchar(255) NOT NULL,
  role       varchar(255) NOT NULL,
  version    integer NOT NULL,
  data       bytea NOT NULL,
  sha256     char(64) DEFAULT NULL,
  UNIQUE (gun, role, version)
);
CREATE INDEX tuf_files_sha256_idx ON tuf_files (sha256);

CREATE TABLE change_category (category varchar(20) PRIMARY KEY);
INSERT INTO change_category VALUES ('update'), ('deletion');

CREATE TABLE changefeed (
  id         serial PRIMARY KEY,
  created_at timestamp DEFAULT CURRENT_TIMESTAMP,
  gun        varchar(255) NOT NULL,
  version    integer NOT NULL,
  sha256     char(64) DEFAULT NULL,
  category   varchar(20) NOT NULL DEFAULT 'update' REFERENCES change_category
);
CREATE INDEX idx_changefeed_gun ON changefeed (gun);
`;
