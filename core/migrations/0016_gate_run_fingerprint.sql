-- A gate run is bound to the data it validated: the fingerprint of the published models'
-- tables in `marts`, taken by the gate and recomputed by publish in its own transaction.
-- Publish refuses a run whose fingerprint differs from the marts it is about to copy, or that a
-- later gate run of the same data superseded (run_seq orders the runs).
SET ROLE monitor_transformer;
ALTER TABLE quality.gate_runs
  ADD COLUMN fingerprint text,
  ADD COLUMN run_seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX gate_runs_run_seq_idx ON quality.gate_runs (run_seq);
CREATE INDEX gate_runs_fingerprint_idx ON quality.gate_runs (fingerprint, run_seq);
RESET ROLE;

-- Order-independent content hash of tables: per table its columns (name and type), its row
-- count and two 60-bit sums of the rows' md5s, so any changed, added or removed row, and any
-- changed column, changes it. Output settings are pinned: a row's text form must not depend on
-- the session (time zone, date style, float digits) that asks.
CREATE FUNCTION quality.tables_fingerprint(schema_name text, table_names text[])
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
SET "TimeZone" = 'UTC'
SET "DateStyle" = 'ISO, YMD'
SET "IntervalStyle" = 'postgres'
SET extra_float_digits = 1
AS $$
DECLARE
  t text;
  columns text;
  content text;
  acc text := '';
BEGIN
  FOR t IN SELECT DISTINCT x FROM unnest(table_names) AS x ORDER BY x
  LOOP
    SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
      INTO columns
      FROM pg_attribute
      WHERE attrelid = format('%I.%I', schema_name, t)::regclass AND attnum > 0
        AND NOT attisdropped;
    EXECUTE format(
      'SELECT count(*) || '':'' || coalesce(sum((''x'' || substr(h, 1, 15))::bit(60)::bigint), 0)'
      ' || '':'' || coalesce(sum((''x'' || substr(h, 16, 15))::bit(60)::bigint), 0)'
      ' FROM (SELECT md5(r::text) AS h FROM %I.%I AS r) AS rows',
      schema_name, t) INTO content;
    acc := acc || t || '(' || columns || ')=' || content || ';';
  END LOOP;
  RETURN md5(acc);
END $$;
REVOKE ALL ON FUNCTION quality.tables_fingerprint(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION quality.tables_fingerprint(text, text[])
  TO monitor_transformer, monitor_publisher;
