-- Warehouse marts: a detail-access publication next to the suppressed one, alerts of
-- the quality gate, and indexes that keep the incremental builds cheap.
--
-- raw.posts is NOT converted to a monthly-partitioned table here. PostgreSQL requires every
-- unique constraint of a partitioned table to contain the partition key, so partitioning by
-- month of created_at would (1) replace the global natural key posts_natural_key
-- (source, external_id), which extractors/social/landing.py relies on (ON CONFLICT ON CONSTRAINT
-- posts_natural_key), by a per-month one (a post whose created_at is corrected would land
-- twice), and (2) drop the primary key on post_id alone that the foreign keys of seven ml tables
-- (ON DELETE CASCADE: erasure) reference. Both are correctness guarantees; the safe design
-- (a small unpartitioned key registry raw.post_keys(post_id identity PK, source, external_id
-- UNIQUE) that keeps both keys and the FK targets, with raw.posts partitioned by month and
-- referencing it) needs the landing code to insert through the registry, so it is
-- left to a coordinated change (docs/marts.md, "Partitioning"). What the warehouse needs from
-- partitioning today - month-range scans for incremental builds and retention - is served by a
-- BRIN index on created_at and by the incremental models reading new post ids only.

-- Detail access: a role that may read post-level detail and unsuppressed aggregates.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'monitor_detail') THEN
    CREATE ROLE monitor_detail LOGIN;
  END IF;
END $$;
DO $$ BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO monitor_detail', current_database());
END $$;

CREATE SCHEMA IF NOT EXISTS published_detail;
REVOKE ALL ON SCHEMA published_detail FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA published_detail TO monitor_transformer;
GRANT USAGE ON SCHEMA published_detail TO monitor_detail;
-- monitor_detail also reads what everyone reads.
GRANT USAGE ON SCHEMA published TO monitor_detail;
ALTER DEFAULT PRIVILEGES FOR ROLE monitor_transformer IN SCHEMA published_detail
  GRANT SELECT ON TABLES TO monitor_detail;
ALTER DEFAULT PRIVILEGES FOR ROLE monitor_transformer IN SCHEMA published
  GRANT SELECT ON TABLES TO monitor_detail;

-- Month-range scans of raw posts (incremental builds, retention) without partitioning.
SET ROLE monitor_loader;
CREATE INDEX IF NOT EXISTS posts_created_at_brin ON raw.posts USING brin (created_at);
RESET ROLE;

SET ROLE monitor_transformer;
-- A failed gate alerts through Airflow (on_failure_callback) and leaves a row here.
CREATE TABLE quality.alerts (
    alert_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    raised_at    timestamptz NOT NULL DEFAULT now(),
    dag_id       text,
    task_id      text,
    run_id       text,
    gate_run_id  text,
    message      text NOT NULL
);
RESET ROLE;
