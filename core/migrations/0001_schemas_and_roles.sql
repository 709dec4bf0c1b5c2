-- The warehouse schemas (docs/architecture.md) and the least-privilege roles that use them.
-- Roles are cluster-wide: create them only if missing, so several databases can share a server.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['monitor_loader', 'monitor_transformer', 'monitor_bi', 'monitor_extracts']
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      -- LOGIN without a password: local trust auth in the embedded server; production sets
      -- passwords (or maps its own login roles into these with GRANT).
      EXECUTE format('CREATE ROLE %I LOGIN', r);
    END IF;
  END LOOP;
END $$;

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS ml;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS intermediate;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS published;
CREATE SCHEMA IF NOT EXISTS quality;

-- Nobody but the owner sees anything unless granted below.
REVOKE ALL ON SCHEMA raw, ml, staging, intermediate, marts, published, quality FROM PUBLIC;
DO $$ BEGIN EXECUTE format('REVOKE CREATE, CONNECT ON DATABASE %I FROM PUBLIC', current_database()); END $$;
DO $$ BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO monitor_loader, monitor_transformer, monitor_bi, monitor_extracts', current_database());
END $$;

-- Loader: writes raw and ml.
GRANT USAGE, CREATE ON SCHEMA raw, ml TO monitor_loader;

-- Transformer (dbt, quality gate, publish): reads raw and ml, owns the dbt schemas and published.
GRANT USAGE ON SCHEMA raw, ml TO monitor_transformer;
GRANT USAGE, CREATE ON SCHEMA staging, intermediate, marts, published, quality TO monitor_transformer;

-- BI (Superset) and extracts read published only: never raw text.
GRANT USAGE ON SCHEMA published TO monitor_bi, monitor_extracts;
ALTER DEFAULT PRIVILEGES FOR ROLE monitor_transformer IN SCHEMA published
  GRANT SELECT ON TABLES TO monitor_bi, monitor_extracts;
