-- Scheduled extracts and alert digests: the delivery log (docs/extracts.md). One row per
-- package and destination; a package is identified by its SHA-256, so a re-run or a backfill
-- finds what was already delivered and never sends it twice, and a failed delivery keeps its
-- attempts and last error until a later run delivers it. Written by monitor_extracts, the only
-- role that writes here; it still reads data from `published` only.
CREATE SCHEMA IF NOT EXISTS extracts;
REVOKE ALL ON SCHEMA extracts FROM PUBLIC;

CREATE TABLE extracts.deliveries (
    delivery_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscriber      text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('extract', 'digest')),
    interval_start  date NOT NULL,
    interval_end    date NOT NULL CHECK (interval_end > interval_start),
    destination     text NOT NULL,           -- 'sftp:<name>', 'email:<name>', 'folder:<name>'
    package_name    text NOT NULL,
    package_sha256  text NOT NULL CHECK (package_sha256 ~ '^[0-9a-f]{64}$'),
    package_bytes   bigint NOT NULL,
    gate_run_id     text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    error           text,
    receipt         text,                    -- where it landed: remote path, SMTP reply, file
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (subscriber, destination, package_sha256)
);
CREATE INDEX deliveries_interval_idx ON extracts.deliveries (subscriber, interval_start);

-- Spikes an alert digest reported: each is reported to a subscriber once, whatever the period
-- or re-run that finds it again.
CREATE TABLE extracts.reported_spikes (
    subscriber   text NOT NULL,
    city_code    text NOT NULL,
    area_id      text NOT NULL,
    day          date NOT NULL,
    delivery_id  bigint NOT NULL REFERENCES extracts.deliveries (delivery_id),
    PRIMARY KEY (subscriber, city_code, area_id, day)
);

GRANT USAGE ON SCHEMA extracts TO monitor_extracts;
GRANT SELECT, INSERT, UPDATE ON extracts.deliveries TO monitor_extracts;
GRANT SELECT, INSERT ON extracts.reported_spikes TO monitor_extracts;
