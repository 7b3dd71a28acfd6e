-- SPDX-License-Identifier: Apache-2.0
-- Signet storage schema 2: a publish is stored in one statement (one round
-- trip instead of eight: BEGIN, GUN lock, version check, insert, feed lock,
-- feed insert, NOTIFY, COMMIT). Same rules as before (sql-meta-store.ts):
-- the GUN's advisory lock serialises writers, the version check runs under
-- it, UNIQUE(gun, role, version) stays the last guard, and the changefeed row
-- is inserted under the feed lock so IDs follow commit order. In a VOLATILE
-- PL/pgSQL function each statement takes a new snapshot, so the check sees
-- every publish that committed while this one waited for the lock.
CREATE FUNCTION signet_store_update(
  p_gun text,
  p_roles text[],
  p_versions bigint[],
  p_data bytea[],
  p_sha256 text[],
  p_feed_version bigint,   -- the timestamp's version, or NULL: no changefeed row
  p_feed_sha256 text,
  p_channel text,          -- NOTIFY channel and payload, or NULL (embedded)
  p_payload text
) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  stale record;
BEGIN
  -- 0x53494747 'SIGG', as LOCK_GUN_SQL
  PERFORM pg_advisory_xact_lock(1397311303, hashtext(p_gun));
  SELECT u.role, u.version INTO stale
    FROM unnest(p_roles, p_versions) AS u(role, version)
    CROSS JOIN LATERAL (SELECT max(f.version) AS version FROM tuf_files f WHERE f.gun = p_gun AND f.role = u.role) s
    WHERE s.version IS NOT NULL AND u.version <= s.version
    LIMIT 1;
  IF FOUND THEN
    -- Read by sql-meta-store.ts as a VersionConflictError for this role and version.
    RAISE EXCEPTION USING ERRCODE = 'SG409', MESSAGE = 'version conflict', DETAIL = stale.version::text || ' ' || stale.role;
  END IF;
  INSERT INTO tuf_files (gun, role, version, data, sha256)
    SELECT p_gun, u.role, u.version, u.data, u.sha256 FROM unnest(p_roles, p_versions, p_data, p_sha256) AS u(role, version, data, sha256);
  IF p_feed_version IS NOT NULL THEN
    -- 0x53494746 'SIGF', as LOCK_FEED_SQL
    PERFORM pg_advisory_xact_lock(1397311302, hashtext(current_schema()));
    INSERT INTO changefeed (gun, version, sha256, category) VALUES (p_gun, p_feed_version, p_feed_sha256, 'update');
  END IF;
  IF p_channel IS NOT NULL THEN
    PERFORM pg_notify(p_channel, p_payload);
  END IF;
END
$$;
