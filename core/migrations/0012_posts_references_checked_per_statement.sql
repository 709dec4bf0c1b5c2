-- raw.posts' references checked once per statement instead of once per row (landing
-- throughput), with the same guarantees as the foreign keys of 0009.
--
-- A foreign key checks every inserted row with its own query (an RI trigger per row): for the
-- two of raw.posts, (post_id, created_at, source, external_id) -> raw.post_keys and run_id ->
-- raw.import_runs, that was about half of the database's CPU per landed post (measured with
-- bench.ingest's landing-only path on 200,000 posts: 21-25 µs per post with them, 14 µs with
-- the statement checks below, 11 µs with no check at all). A COPY or INSERT of 10,000 posts now
-- runs one set-based query per reference over the statement's transition table:
--   - every new or changed raw.posts row has its registry row with the same post_id,
--     created_at, source and external_id (the partitioned table's keys stay exactly those of
--     the registry: natural key unique, post_id unique across partitions);
--   - every run_id it names is in raw.import_runs.
-- A violation fails the statement with SQLSTATE 23503 (foreign_key_violation), as the foreign
-- keys did, naming the first offending row and what to do.
--
-- What the foreign keys also did, done here explicitly:
--   - ON DELETE CASCADE from the registry: deleting raw.post_keys rows deletes their posts (a
--     statement trigger; the ml.* foreign keys to the registry still cascade as before);
--   - no registry row can change under its post: raw.post_keys rows are immutable (an UPDATE is
--     refused; the landing never updates them, it inserts keys or does nothing);
--   - a registry row cannot be deleted while a concurrent transaction lands its post (the
--     foreign key's row lock): the direct COPY writes new keys and their posts in one
--     transaction, so no other transaction sees such a key before its post exists; the upsert
--     path, which lands posts under keys that already exist, locks them FOR KEY SHARE as the
--     foreign key did (extractors/social/landing.py), so an erasure waits for it or it sees the
--     erasure; and the check below runs with a fresh snapshot, so a key deleted meanwhile fails
--     the statement instead of leaving a post without key.
-- import_runs rows are never deleted by the platform (they are the audit trail of landing).
SET ROLE monitor_loader;

ALTER TABLE raw.posts DROP CONSTRAINT posts_key;
ALTER TABLE raw.posts DROP CONSTRAINT posts_run_id_fkey;
-- Only the posts' foreign key used this unique index; the registry's PK finds a row's key.
ALTER TABLE raw.post_keys DROP CONSTRAINT post_keys_row;

CREATE FUNCTION raw.posts_check_references() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  bad record;
BEGIN
  SELECT a.post_id, a.source, a.external_id, a.created_at INTO bad
  FROM landed a
  WHERE NOT EXISTS (
    SELECT 1 FROM raw.post_keys k
    WHERE k.post_id = a.post_id AND k.created_at = a.created_at
      AND k.source = a.source AND k.external_id = a.external_id)
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = format('raw.posts row (post_id %s, source %s, external_id %s, created_at %s) '
                       'has no matching row in raw.post_keys',
                       bad.post_id, bad.source, bad.external_id, bad.created_at),
      HINT = 'Land posts through extractors.social.landing, which writes the key registry first.';
  END IF;
  SELECT r.run_id INTO bad
  FROM (SELECT DISTINCT run_id FROM landed) r
  WHERE NOT EXISTS (SELECT 1 FROM raw.import_runs i WHERE i.run_id = r.run_id)
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = format('raw.posts rows name run_id %s, which is not in raw.import_runs',
                       bad.run_id),
      HINT = 'Start the run first (extractors.social.landing.start_run).';
  END IF;
  RETURN NULL;
END $$;
-- Transition tables allow one event per trigger: one for inserts (COPY included), one for
-- updates (the upsert of an edited post).
CREATE TRIGGER posts_check_inserted AFTER INSERT ON raw.posts
    REFERENCING NEW TABLE AS landed
    FOR EACH STATEMENT EXECUTE FUNCTION raw.posts_check_references();
CREATE TRIGGER posts_check_updated AFTER UPDATE ON raw.posts
    REFERENCING NEW TABLE AS landed
    FOR EACH STATEMENT EXECUTE FUNCTION raw.posts_check_references();

-- Registry -> posts cascade. The created_at bounds of the deleted keys let PostgreSQL prune
-- the partitions of other months (not measured: retention drops a month's partition before it
-- deletes that month's keys, so its cascade finds nothing to delete either way). Statement
-- triggers fire for zero rows too: an empty transition table returns at once, which also ends
-- the round trip with raw.posts_deleted (posts -> keys).
CREATE FUNCTION raw.post_keys_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  first_at timestamptz;
  last_at timestamptz;
BEGIN
  SELECT min(created_at), max(created_at) INTO first_at, last_at FROM gone;
  IF first_at IS NULL THEN
    RETURN NULL;
  END IF;
  DELETE FROM raw.posts p USING gone g
  WHERE p.post_id = g.post_id AND p.created_at = g.created_at
    AND p.created_at >= first_at AND p.created_at <= last_at;
  RETURN NULL;
END $$;
CREATE TRIGGER post_keys_delete_posts AFTER DELETE ON raw.post_keys
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION raw.post_keys_deleted();

CREATE OR REPLACE FUNCTION raw.posts_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM raw.post_keys;
  ELSIF EXISTS (SELECT 1 FROM gone) THEN
    DELETE FROM raw.post_keys k USING gone g WHERE k.post_id = g.post_id;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION raw.post_keys_immutable() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
    MESSAGE = format('raw.post_keys rows do not change (post_id %s): raw.posts rows match them',
                     OLD.post_id),
    HINT = 'Delete the key (its post and classifier rows go with it) and land the post again.';
END $$;
CREATE TRIGGER post_keys_no_update BEFORE UPDATE ON raw.post_keys
    FOR EACH ROW EXECUTE FUNCTION raw.post_keys_immutable();
RESET ROLE;
