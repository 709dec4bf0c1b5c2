-- Landing tables. Written by the loader role only; text is scrubbed and authors pseudonymised
-- before a row gets here (core.privacy).
SET ROLE monitor_loader;

CREATE TABLE raw.import_runs (
    run_id       text PRIMARY KEY,
    source       text NOT NULL,
    location     text NOT NULL,            -- file path or endpoint that was read
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    records_read integer NOT NULL DEFAULT 0,
    inserted     integer NOT NULL DEFAULT 0,
    updated      integer NOT NULL DEFAULT 0,
    unchanged    integer NOT NULL DEFAULT 0,
    rejected     integer NOT NULL DEFAULT 0
);

CREATE TABLE raw.posts (
    post_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           text NOT NULL,
    external_id      text NOT NULL,
    platform         text NOT NULL,
    created_at       timestamptz NOT NULL,
    author_pseudonym text,                  -- keyed HMAC, never the handle
    text             text NOT NULL,          -- scrubbed
    lang_hint        text,                   -- language declared by the platform, if any
    city_hint        text,                   -- Urban Audit code from the source (city subreddit, local feed)
    country_hint     text,
    payload          jsonb NOT NULL DEFAULT '{}'::jsonb,  -- allow-listed extra fields only
    content_hash     text NOT NULL,
    run_id           text NOT NULL REFERENCES raw.import_runs (run_id),
    fetched_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz,
    CONSTRAINT posts_natural_key UNIQUE (source, external_id)
);
CREATE INDEX posts_created_at_idx ON raw.posts (created_at);

-- Nothing is dropped silently: every record that failed validation, with why and where.
CREATE TABLE raw.rejected_records (
    rejected_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       text NOT NULL REFERENCES raw.import_runs (run_id),
    source       text NOT NULL,
    position     text NOT NULL,           -- e.g. file.ndjson:1234
    reason       text NOT NULL,
    record       text NOT NULL,           -- the record as read, scrubbed like post text
    record_hash  text NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now(),
    -- re-reading the same file must not file the same rejection twice
    CONSTRAINT rejected_records_once UNIQUE (source, position, record_hash)
);
CREATE INDEX rejected_records_run_idx ON raw.rejected_records (run_id);

CREATE TABLE raw.official_statistics (
    source       text NOT NULL,
    city_code    text NOT NULL,
    period       text NOT NULL,
    indicator    text NOT NULL,
    value        double precision,
    unit         text NOT NULL,
    flag         text,
    run_id       text NOT NULL REFERENCES raw.import_runs (run_id),
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, city_code, period, indicator)
);

GRANT SELECT ON ALL TABLES IN SCHEMA raw TO monitor_transformer;
ALTER DEFAULT PRIVILEGES IN SCHEMA raw GRANT SELECT ON TABLES TO monitor_transformer;
RESET ROLE;
