-- Results of every quality check (dbt tests and Great Expectations) and every publish, kept for
-- the data-quality dashboard and for audits of what was published when.
SET ROLE monitor_transformer;

CREATE TABLE quality.gate_runs (
    gate_run_id  text PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    passed       boolean,
    published    boolean NOT NULL DEFAULT false,
    summary      text
);

CREATE TABLE quality.check_results (
    gate_run_id  text NOT NULL REFERENCES quality.gate_runs (gate_run_id),
    suite        text NOT NULL,
    check_name   text NOT NULL,
    target       text NOT NULL,            -- table (and column) checked
    severity     text NOT NULL CHECK (severity IN ('blocking', 'warning')),
    success      boolean NOT NULL,
    observed     text,
    checked_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX check_results_run_idx ON quality.check_results (gate_run_id);
RESET ROLE;
