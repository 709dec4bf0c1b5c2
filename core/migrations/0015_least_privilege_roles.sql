-- Least privilege for the warehouse roles (docs/privacy.md, "Roles").
--
-- * The writing roles are NOLOGIN groups: nobody logs in as monitor_loader or
--   monitor_transformer; a stage reaches its role by SET ROLE from the warehouse owner's login.
-- * monitor_publisher, a new NOLOGIN group, is the only writer of `published` and
--   `published_detail`: the transformer (dbt, the gate) can no longer rewrite what users read,
--   so nothing reaches them without passing `publication.publish` and its gate check.
-- * The reading roles (monitor_bi, monitor_extracts, monitor_detail) keep LOGIN; their passwords
--   are set by `core.db.set_login_passwords`, never by a migration.
-- * TEMPORARY is no longer PUBLIC's: a BI login cannot create temporary tables.
DO $$
DECLARE r text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'monitor_publisher') THEN
    CREATE ROLE monitor_publisher NOLOGIN;
  END IF;
  FOREACH r IN ARRAY ARRAY['monitor_loader', 'monitor_transformer', 'monitor_publisher']
  LOOP
    IF (SELECT rolcanlogin FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('ALTER ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END $$;

DO $$ BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  -- The landing's COPY batches and dbt's incremental models use temporary tables.
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO monitor_loader, monitor_transformer',
                 current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO monitor_publisher', current_database());
END $$;

-- The transformer neither reads nor writes the publications any more.
REVOKE ALL ON SCHEMA published, published_detail FROM monitor_transformer;
GRANT USAGE, CREATE ON SCHEMA published, published_detail TO monitor_publisher;

-- Tables published so far change hands (indexes follow their table).
DO $$
DECLARE t record;
BEGIN
  FOR t IN
    SELECT schemaname, tablename FROM pg_tables
    WHERE schemaname IN ('published', 'published_detail')
  LOOP
    EXECUTE format('ALTER TABLE %I.%I OWNER TO monitor_publisher', t.schemaname, t.tablename);
  END LOOP;
END $$;

ALTER DEFAULT PRIVILEGES FOR ROLE monitor_transformer IN SCHEMA published
  REVOKE SELECT ON TABLES FROM monitor_bi, monitor_extracts, monitor_detail;
ALTER DEFAULT PRIVILEGES FOR ROLE monitor_transformer IN SCHEMA published_detail
  REVOKE SELECT ON TABLES FROM monitor_detail;
ALTER DEFAULT PRIVILEGES FOR ROLE monitor_publisher IN SCHEMA published
  GRANT SELECT ON TABLES TO monitor_bi, monitor_extracts, monitor_detail;
ALTER DEFAULT PRIVILEGES FOR ROLE monitor_publisher IN SCHEMA published_detail
  GRANT SELECT ON TABLES TO monitor_detail;

-- The publisher reads the audited marts (the tables dbt creates as monitor_transformer) ...
GRANT USAGE ON SCHEMA marts TO monitor_publisher;
SET ROLE monitor_transformer;
GRANT SELECT ON ALL TABLES IN SCHEMA marts TO monitor_publisher;
ALTER DEFAULT PRIVILEGES IN SCHEMA marts GRANT SELECT ON TABLES TO monitor_publisher;
-- ... and the gate's verdicts, marking the run it published; it never records a verdict.
RESET ROLE;
GRANT USAGE ON SCHEMA quality TO monitor_publisher;
SET ROLE monitor_transformer;
GRANT SELECT, UPDATE (published) ON quality.gate_runs TO monitor_publisher;
RESET ROLE;
