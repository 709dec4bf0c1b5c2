-- The quality gate's verdicts are written by the gate alone (docs/privacy.md, "Roles").
--
-- monitor_gate, a NOLOGIN group, owns `quality.gate_runs`, `quality.check_results` and
-- `quality.alerts` and is the only role that inserts, updates or deletes them (publish keeps its
-- UPDATE of the column `published`). The transformer, which builds the marts the gate judges,
-- may only read them: it cannot record a passing run for data that fails, so what it builds
-- reaches `published` only through a verdict it could not write. The gate reads the marts
-- (SELECT only) to validate and fingerprint them.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'monitor_gate') THEN
    CREATE ROLE monitor_gate NOLOGIN;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO monitor_gate', current_database());
END $$;

-- The verdict tables change hands; their identity sequences and indexes follow. The grants
-- their former owner made (publish's SELECT and UPDATE (published)) stay, now granted by the gate.
ALTER TABLE quality.gate_runs OWNER TO monitor_gate;
ALTER TABLE quality.check_results OWNER TO monitor_gate;
ALTER TABLE quality.alerts OWNER TO monitor_gate;

-- The transformer reads the verdicts (the views of published_meta it owns read them) and
-- creates nothing more in `quality`.
REVOKE CREATE ON SCHEMA quality FROM monitor_transformer;
REVOKE ALL ON quality.gate_runs, quality.check_results, quality.alerts FROM monitor_transformer;
GRANT USAGE ON SCHEMA quality TO monitor_transformer;
GRANT SELECT ON quality.gate_runs, quality.check_results, quality.alerts TO monitor_transformer;
GRANT USAGE ON SCHEMA quality TO monitor_gate;

-- The gate reads what it validates: the marts dbt creates as monitor_transformer, now and later,
-- and the function that fingerprints them.
GRANT USAGE ON SCHEMA marts TO monitor_gate;
SET ROLE monitor_transformer;
GRANT SELECT ON ALL TABLES IN SCHEMA marts TO monitor_gate;
ALTER DEFAULT PRIVILEGES IN SCHEMA marts GRANT SELECT ON TABLES TO monitor_gate;
RESET ROLE;
GRANT EXECUTE ON FUNCTION quality.tables_fingerprint(text, text[]) TO monitor_gate;
