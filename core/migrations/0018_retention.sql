-- Retention (lifecycle.retention, docs/privacy.md "Retention"): the text of posts older than
-- MONITOR_RETENTION_DAYS goes, the figures stay.
--
-- * The text columns become nullable: NULL means "purged by retention". What is nulled:
--   raw.posts.text, ml.post_keywords.context (keyword-in-context windows), the record of
--   raw.rejected_records, and the context of the keyword-context tables dbt and publish built
--   from them. Everything the aggregates count (ids, days, cities, classifications, keyword
--   matches and their positions) stays, so the marts do not change.
-- * A month of raw.posts whose every day is older than the cutoff is purged once and then
--   sealed: a row trigger on that partition alone (raw.seal_posts_text) nulls the text of any
--   post that lands in it later (a re-read or late post of that month), so later runs skip the
--   partition instead of scanning it again. Posts of current months never meet the trigger.
-- * ops.retention_runs logs every run: cutoff, period, rows purged per table; never content.
SET ROLE monitor_loader;
ALTER TABLE raw.posts ALTER COLUMN text DROP NOT NULL;
ALTER TABLE ml.post_keywords ALTER COLUMN context DROP NOT NULL;
ALTER TABLE raw.rejected_records ALTER COLUMN record DROP NOT NULL;

CREATE FUNCTION raw.posts_text_retired() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  NEW.text := NULL;
  RETURN NEW;
END $$;

-- Seal one month's partition (raw.posts_YYYY_MM) after its text was purged; idempotent.
CREATE FUNCTION raw.seal_posts_text(part text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF part !~ '^posts_[0-9]{4}_[0-9]{2}$' OR to_regclass('raw.' || part) IS NULL THEN
    RAISE EXCEPTION 'not a partition of raw.posts: %', part;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_trigger
             WHERE tgrelid = ('raw.' || part)::regclass AND tgname = 'posts_text_retired') THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TRIGGER posts_text_retired BEFORE INSERT OR UPDATE OF text ON raw.%I '
                 'FOR EACH ROW EXECUTE FUNCTION raw.posts_text_retired()', part);
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION raw.seal_posts_text(text) FROM PUBLIC;
RESET ROLE;

CREATE SCHEMA IF NOT EXISTS ops;
REVOKE ALL ON SCHEMA ops FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA ops TO monitor_loader;
GRANT USAGE ON SCHEMA ops TO monitor_transformer;

SET ROLE monitor_loader;
CREATE TABLE ops.retention_runs (
    run_id          text PRIMARY KEY,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'succeeded', 'failed')),
    retention_days  integer NOT NULL CHECK (retention_days >= 1),
    cutoff          timestamptz NOT NULL,   -- text of posts created before it is purged
    purged_from     date,                   -- oldest day whose text this run purged
    purged_until    date,                   -- newest such day (before the cutoff)
    partitions      integer NOT NULL DEFAULT 0,  -- raw.posts partitions visited
    sealed          integer NOT NULL DEFAULT 0,  -- of which sealed by this run
    purged          jsonb NOT NULL DEFAULT '{}'::jsonb,  -- table -> rows whose text went
    error           text
);
GRANT SELECT ON ops.retention_runs TO monitor_transformer;
RESET ROLE;
