-- Statistics, second step: cells that disappear from a later answer, and the Urban
-- Audit cities loaded from Eurostat's GISCO when online.
-- Written by the statistics extractors (extractors/statistics) as the loader role.
SET ROLE monitor_loader;

-- A cell that was in an earlier answer and is missing from a later one (Eurostat withdrew it)
-- gets a tombstone: a version with deleted = true and no value. The latest view no longer shows
-- the cell; its history stays. If the cell comes back, it is a new version again.
ALTER TABLE raw.statistics_observations
    ADD COLUMN deleted boolean NOT NULL DEFAULT false;
ALTER TABLE raw.statistics_fetches
    ADD COLUMN deleted integer NOT NULL DEFAULT 0;  -- tombstones written by this fetch

-- Urban Audit cities as GISCO distributes them (URAU_*_CITIES GeoJSON: one feature per city,
-- properties URAU_CODE, URAU_NAME, CNTR_CODE, NUTS3_2021, CITY_CPTL, FUA_CODE, AREA_SQM).
-- Replaced as a whole by each load (one GISCO release at a time); dbt reconciles it with the
-- project's seed (seed names and tags win; GISCO adds the cities the seed lacks).
CREATE TABLE raw.gisco_cities (
    city_code     text PRIMARY KEY CHECK (city_code ~ '^[A-Z]{2}[0-9]{3}C[0-9]?$'),
    city_name     text NOT NULL,          -- URAU_NAME (native, as GISCO writes it)
    country_code  text NOT NULL,          -- CNTR_CODE (Eurostat: EL, UK)
    nuts3_code    text,                   -- NUTS3_2021
    is_capital    boolean,                -- CITY_CPTL = 'Y'
    fua_code      text,                   -- FUA_CODE
    area_sqm      double precision,       -- AREA_SQM (square metres)
    lat           double precision CHECK (lat BETWEEN -90 AND 90),
    lon           double precision CHECK (lon BETWEEN -180 AND 180),
    release_year  integer NOT NULL,       -- the GISCO Urban Audit release (2021, 2020, ...)
    source_url    text NOT NULL,
    run_id        text NOT NULL REFERENCES raw.import_runs (run_id),
    loaded_at     timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT ON raw.gisco_cities TO monitor_transformer;
RESET ROLE;
