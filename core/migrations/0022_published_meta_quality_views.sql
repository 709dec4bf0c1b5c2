-- What BI may know about the publication itself, in its own schema `published_meta`: the quality
-- gate's runs, check results and alerts for the data-quality dashboard. Views over quality.*
-- (whose tables are created here by migrations and never rebuilt), so the BI role reads them
-- without any right on quality.*. Check observations are cut to 500 characters: an unexpected-
-- values list is enough to see what failed, and a dashboard cell holds no more.
CREATE SCHEMA IF NOT EXISTS published_meta;
REVOKE ALL ON SCHEMA published_meta FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA published_meta TO monitor_transformer;
GRANT USAGE ON SCHEMA published_meta TO monitor_bi, monitor_detail;

SET ROLE monitor_transformer;

CREATE OR REPLACE VIEW published_meta.gate_runs AS
SELECT
    gate_run_id,
    started_at,
    finished_at,
    date_trunc('day', started_at)::date AS day,
    extract(epoch FROM finished_at - started_at)::double precision AS seconds,
    passed,
    published,
    CASE WHEN passed IS NULL THEN 'running' WHEN passed THEN 'passed' ELSE 'failed' END AS outcome,
    summary
FROM quality.gate_runs;

CREATE OR REPLACE VIEW published_meta.check_results AS
SELECT
    c.gate_run_id,
    r.started_at AS gate_started_at,
    c.checked_at,
    date_trunc('day', c.checked_at)::date AS day,
    c.suite,
    c.check_name,
    c.target,
    c.severity,
    c.success,
    CASE WHEN c.success THEN 'passed' ELSE 'failed' END AS outcome,
    left(c.observed, 500) AS observed
FROM quality.check_results AS c
LEFT JOIN quality.gate_runs AS r USING (gate_run_id);

CREATE OR REPLACE VIEW published_meta.alerts AS
SELECT
    alert_id,
    raised_at,
    date_trunc('day', raised_at)::date AS day,
    dag_id,
    task_id,
    run_id,
    gate_run_id,
    message
FROM quality.alerts;

GRANT SELECT ON published_meta.gate_runs, published_meta.check_results, published_meta.alerts
    TO monitor_bi, monitor_detail;

RESET ROLE;
