-- Official statistics: Eurostat and national (PxWeb) observations kept as versions,
-- the fetch log that stamps each version, and MIPEX policy-index scores.
-- Written by the statistics extractors (extractors/statistics) as the loader role.
SET ROLE monitor_loader;

-- One row per fetch of a dataset (API call or file read). Every fetch is logged, even when it
-- brought nothing new, so "when did we last look" is always answerable (dbt source freshness).
CREATE TABLE raw.statistics_fetches (
    fetch_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id            text NOT NULL REFERENCES raw.import_runs (run_id),
    provider          text NOT NULL,          -- eurostat | pxweb | eurostat_file (a downloaded file)
    dataset           text NOT NULL,          -- urb_cpop1, scb_population_municipalities, ...
    request           text NOT NULL,          -- URL (and query) or file path; never credentials
    data_format       text NOT NULL,          -- jsonstat | sdmx-csv-1.0 | sdmx-csv-2.0
    content_hash      text NOT NULL,          -- sha256 of the response body as received
    source_updated_at timestamptz,            -- the provider's own "last update" of the dataset
    fetched_at        timestamptz NOT NULL DEFAULT now(),
    observations      integer NOT NULL DEFAULT 0,
    new_series        integer NOT NULL DEFAULT 0,  -- observations seen for the first time
    revised           integer NOT NULL DEFAULT 0,  -- observations whose value or flags changed
    unchanged         integer NOT NULL DEFAULT 0,
    rejected          integer NOT NULL DEFAULT 0
);
CREATE INDEX statistics_fetches_dataset_idx
    ON raw.statistics_fetches (provider, dataset, fetched_at);

-- Observations, append-only and versioned. Eurostat (like most statistics APIs) serves only the
-- latest value of a cell, so a new row is written only when a cell is new or its value, flags or
-- confidentiality changed since the latest stored version: revisions stay visible, and
-- re-running a fetch that brings nothing new writes nothing (idempotent).
CREATE TABLE raw.statistics_observations (
    provider        text NOT NULL,
    dataset         text NOT NULL,
    series_key      text NOT NULL,         -- codes of every dimension but time, '.'-joined
    period          text NOT NULL,         -- normalised: 2024, 2024-S1, 2024-Q1, 2024-01, 2024-W05
    period_start    date NOT NULL,
    frequency       text NOT NULL CHECK (frequency IN ('A', 'S', 'Q', 'M', 'W', 'D')),
    geo_code        text NOT NULL,         -- Eurostat country code (EL, UK), Urban Audit city
                                           -- code (SE003C) or aggregate (EU27_2020)
    geo_label       text,
    indicator       text NOT NULL,         -- configured alias or <dataset>.<codes>
    indicator_label text,
    unit            text,
    unit_label      text,
    value           double precision,      -- NULL: missing or confidential (see flags)
    flags           text NOT NULL DEFAULT '',  -- Eurostat observation flags, sorted letters (bep)
    confidential    boolean NOT NULL DEFAULT false,
    status_raw      text,                  -- the status exactly as published (|C, .., bp)
    dimensions      jsonb NOT NULL,        -- {dimension id: code} as published
    fetched_at      timestamptz NOT NULL,
    fetch_id        bigint NOT NULL REFERENCES raw.statistics_fetches (fetch_id),
    PRIMARY KEY (provider, dataset, series_key, period, fetched_at)
);
CREATE INDEX statistics_observations_geo_idx ON raw.statistics_observations (geo_code);

-- MIPEX (Migrant Integration Policy Index) scores per edition, country and policy strand, as
-- read from each published file. Two files may disagree (a reconciliation case): both are kept,
-- keyed by the file they came from. Country names that could not be matched to a country code
-- go to raw.rejected_records with the reason, never silently dropped.
CREATE TABLE raw.mipex_scores (
    source_file  text NOT NULL,            -- configured file id (config/statistics.yml)
    edition      integer NOT NULL CHECK (edition BETWEEN 2004 AND 2100),
    country_code text NOT NULL,            -- Eurostat country code after reconciliation
    country_name text NOT NULL,            -- as written in the file
    strand       text NOT NULL,            -- overall, labour_market_mobility, education, ...
    score        double precision NOT NULL CHECK (score BETWEEN 0 AND 100),
    run_id       text NOT NULL REFERENCES raw.import_runs (run_id),
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_file, edition, country_code, strand)
);

GRANT SELECT ON raw.statistics_fetches, raw.statistics_observations, raw.mipex_scores
    TO monitor_transformer;
RESET ROLE;
