-- Erasure (lifecycle.erasure, docs/privacy.md "Erasure"): the log of erasure requests, the
-- (city, day) cells whose aggregates still count erased posts, and the registry through which
-- other packages name more tables to erase from.
--
-- A request is logged by a hash of its normalised lines and by counts: never the ids it names.
-- Its rows go in one transaction: raw.post_keys (whose triggers and foreign keys take raw.posts
-- and every ml.* row with them, migrations 0009 and 0012), the attributable rejected records,
-- every other table with a post_id or author_pseudonym column, and the registered targets.
-- ops.erasure_cells then lists the cells to recompute; the app rebuilds exactly those
-- (dbt vars rebuild_cells / rebuild_days), republishes through the gate, and deletes the cells
-- (they say where and when the person wrote), leaving the counts.
SET ROLE monitor_loader;

CREATE TABLE ops.erasure_requests (
    request_id    text PRIMARY KEY,
    received_at   timestamptz NOT NULL DEFAULT now(),
    kind          text NOT NULL CHECK (kind IN ('post', 'author', 'batch')),
    request_hash  text NOT NULL,            -- sha256 of the normalised request lines
    items         integer NOT NULL,         -- lines of the request
    posts         integer NOT NULL,         -- posts found and erased
    deleted       jsonb NOT NULL DEFAULT '{}'::jsonb,  -- table -> rows deleted
    cells         integer NOT NULL DEFAULT 0,          -- (city, day) cells to recompute
    days          integer NOT NULL DEFAULT 0,          -- days to recompute
    status        text NOT NULL DEFAULT 'erased'
                  CHECK (status IN ('erased', 'rebuilt', 'published')),
    rebuilt_at    timestamptz,
    gate_run_id   text,
    published_at  timestamptz
);
CREATE INDEX erasure_requests_pending ON ops.erasure_requests (received_at)
    WHERE status <> 'published';

-- city_code NULL: the post had no city; only the per-day figures (source coverage) count it.
CREATE TABLE ops.erasure_cells (
    request_id  text NOT NULL REFERENCES ops.erasure_requests (request_id) ON DELETE CASCADE,
    city_code   text,
    day         date NOT NULL,
    CONSTRAINT erasure_cells_once UNIQUE NULLS NOT DISTINCT (request_id, city_code, day)
);

-- More tables to erase from, for packages whose tables the automatic scan would miss (no
-- post_id or author_pseudonym column), e.g. extracts not yet delivered. `match`:
--   post_id           rows whose post_id is an erased post's
--   author_pseudonym  rows of an erased author
--   cell              rows whose (city_code, day) is an affected cell (aggregates counting the
--                     erased posts; the owner rebuilds them)
--   interval          rows whose [interval_start, interval_end) holds an affected day
-- `only_where` is an SQL condition on the table's columns that limits the deletion (e.g.
-- 'delivered_at IS NULL': delivered extracts are the recipient's); NULL means every row.
-- The deletion runs in the erasure's transaction, as the table's owner.
CREATE TABLE ops.erasure_targets (
    schema_name  text NOT NULL,
    table_name   text NOT NULL,
    match        text NOT NULL CHECK (match IN ('post_id', 'author_pseudonym', 'cell', 'interval')),
    only_where   text,
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, table_name, match)
);

-- Scheduled extracts (extracts.deliveries, migration 0020) are built from `published` at each
-- run: a package not delivered yet whose period holds an erased post's day is withdrawn, and
-- the next extracts run builds it again from the republished marts. Delivered ones are the
-- recipient's. (A target whose table does not exist is skipped.)
INSERT INTO ops.erasure_targets (schema_name, table_name, match, only_where)
VALUES ('extracts', 'deliveries', 'interval', 'status <> ''delivered''');

GRANT SELECT ON ops.erasure_requests, ops.erasure_cells TO monitor_transformer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ops.erasure_targets TO monitor_transformer;
RESET ROLE;

DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'monitor_publisher') THEN
    GRANT USAGE ON SCHEMA ops TO monitor_publisher;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ops.erasure_targets TO monitor_publisher;
  END IF;
END $$;
