-- SPDX-License-Identifier: Apache-2.0
-- Signet storage schema 4: an update signed with server keys is stored only
-- while their rows are. A server caches decrypted keys; another server on the
-- same database may delete the GUN, and its key rows with it, meanwhile. The
-- check runs here, under the GUN lock DELETE takes too, after the base-root
-- check (a GUN deleted or re-rooted is that conflict first): no gap between
-- check and insert, and no extra round trip. SG410 when a key row is gone.
-- Otherwise as migration 0003, whose 11-argument function stays beside this
-- 13-argument one: servers of the previous version still running on the same
-- database during an upgrade keep publishing through it (a later migration may
-- drop it once no such server can be left).
CREATE FUNCTION signet_store_update(
  p_gun text,
  p_roles text[],
  p_versions bigint[],
  p_data bytea[],
  p_sha256 text[],
  p_feed_version bigint,   -- the timestamp's version, or NULL: no changefeed row
  p_feed_sha256 text,
  p_channel text,          -- NOTIFY channel and payload, or NULL (embedded)
  p_payload text,
  p_check_base boolean,    -- compare the current root with p_base_root
  p_base_root text,        -- SHA-256 of the root the update was validated against, NULL for none
  p_key_roles text[],      -- server keys (role, key ID) that signed parts of the update: each must
  p_key_ids text[]         -- still be stored for the GUN
) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  stale record;
  gone record;
  current_root text;
BEGIN
  -- 0x53494747 'SIGG', as LOCK_GUN_SQL
  PERFORM pg_advisory_xact_lock(1397311303, hashtext(p_gun));
  IF p_check_base THEN
    SELECT f.sha256 INTO current_root FROM tuf_files f WHERE f.gun = p_gun AND f.role = 'root' ORDER BY f.version DESC LIMIT 1;
    IF current_root IS DISTINCT FROM p_base_root THEN
      -- Read by sql-meta-store.ts as a VersionConflictError: the update must be validated again.
      RAISE EXCEPTION USING ERRCODE = 'SG412', MESSAGE = 'base root changed', DETAIL = coalesce(current_root, 'none');
    END IF;
  END IF;
  SELECT w.role, w.key_id INTO gone
    FROM unnest(p_key_roles, p_key_ids) AS w(role, key_id)
    WHERE NOT EXISTS (SELECT 1 FROM server_keys k WHERE k.gun = p_gun AND k.key_id = w.key_id AND k.role = w.role)
    LIMIT 1;
  IF FOUND THEN
    -- Read by sql-meta-store.ts as a ServerKeyGoneError.
    RAISE EXCEPTION USING ERRCODE = 'SG410', MESSAGE = 'server key gone', DETAIL = gone.role || ' ' || gone.key_id;
  END IF;
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
