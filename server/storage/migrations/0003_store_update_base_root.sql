-- SPDX-License-Identifier: Apache-2.0
-- Signet storage schema 3: an update is stored only onto the root it was
-- validated against. Versions alone could not tell: after a DELETE nothing is
-- stored, so a publish validated just before it passed the version check and
-- left targets, snapshot and timestamp without a root, which no client can
-- use and no `init` can replace (its versions are not newer). The caller
-- passes the SHA-256 of the stored root it judged the update against (NULL:
-- there was none); under the GUN lock, which DELETE takes too, a different
-- current root (deleted, rotated or re-initialised meanwhile) raises SG412.
-- Otherwise as migration 0002.
DROP FUNCTION signet_store_update(text, text[], bigint[], bytea[], text[], bigint, text, text, text);
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
  p_base_root text         -- SHA-256 of the root the update was validated against, NULL for none
) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  stale record;
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
