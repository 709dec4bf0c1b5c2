-- Live sources: cursors per source and stream, the source-coverage registry, and the
-- orchestrator's batch id on every run. Written by the extractors as the loader role.
SET ROLE monitor_loader;

-- Which orchestrator run (e.g. an Airflow DAG run) started an extraction run, and over which
-- window; lets a DAG summarise exactly its own runs.
ALTER TABLE raw.import_runs
    ADD COLUMN batch_id     text,
    ADD COLUMN window_start timestamptz,
    ADD COLUMN window_end   timestamptz,
    ADD COLUMN error        text;
CREATE INDEX import_runs_batch_idx ON raw.import_runs (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX import_runs_source_idx ON raw.import_runs (source, started_at);

-- Where each stream of a source stopped. Saved in the same transaction as the page it follows,
-- so a crash resumes exactly after the last landed page: nothing lost, nothing twice.
-- stream: 'live/<name>' for the incremental stream, 'backfill/<start>/<end>/<name>' for a
-- backfilled window (deleted when that window completes).
CREATE TABLE raw.source_cursors (
    source      text NOT NULL,
    stream      text NOT NULL,
    cursor      jsonb NOT NULL DEFAULT '{}'::jsonb,  -- connector-specific (ids, paging cursor, ETag)
    watermark   timestamptz,                          -- everything created before it has landed
    run_id      text REFERENCES raw.import_runs (run_id),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, stream)
);

-- Source-coverage registry: what each source covers, so every figure can say how representative
-- it is. Declared fields come from config/sources.yml; post figures are maintained by the loader
-- in the same statement that lands the posts (counts only ever count newly inserted posts).
CREATE TABLE raw.source_coverage (
    source          text PRIMARY KEY,
    kind            text,                 -- connector kind: mastodon, bluesky, reddit, rss, file
    platform        text,
    scope           text,                 -- human description, e.g. 'hashtags #migration on mastodon.social'
    location        text,                 -- endpoint or file pattern (never credentials)
    languages       text[] NOT NULL DEFAULT '{}',
    cities          text[] NOT NULL DEFAULT '{}',   -- Urban Audit codes
    countries       text[] NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    first_post_at   timestamptz,
    last_post_at    timestamptz,
    posts_total     bigint NOT NULL DEFAULT 0,
    last_run_id     text,
    last_run_at     timestamptz,
    last_run_status text,
    last_error      text,
    registered_at   timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Posts per source and UTC day, split by the language and city the source declared for them
-- (NULL when unknown).
CREATE TABLE raw.source_coverage_daily (
    source  text NOT NULL,
    day     date NOT NULL,
    lang    text,
    city    text,
    posts   integer NOT NULL CHECK (posts >= 0),
    CONSTRAINT source_coverage_daily_key UNIQUE NULLS NOT DISTINCT (source, day, lang, city)
);

GRANT SELECT ON raw.source_cursors, raw.source_coverage, raw.source_coverage_daily
    TO monitor_transformer;
RESET ROLE;
