-- What an extract needs to know about the publication it reads, readable by monitor_extracts
-- in `published` without granting it `quality`, `ml` or `published_detail`: the gate runs that
-- published, the classifier versions behind the marts, and how many cells suppression withheld
-- in a scope. Owned by the migrating login, so they read the underlying tables with its rights
-- and expose only these summaries.

CREATE VIEW published.extract_publications AS
SELECT gate_run_id, started_at, finished_at, passed, published, summary
FROM quality.gate_runs
WHERE finished_at IS NOT NULL;

CREATE VIEW published.extract_model_versions AS
SELECT task, model_version, description, registered_at
FROM ml.model_versions
WHERE is_current;

-- Rows of published_detail.<table> missing from published.<table> (withheld by small-cell
-- suppression) within a period and scope. Both copies are swapped in one transaction by
-- publish, so within one snapshot their difference is exactly what suppression removed. Only
-- tables published to both schemas and identifier arguments (quoted with %I) are accepted.
CREATE FUNCTION published.extract_withheld_cells(
    table_name text,
    time_column text,
    period_start date,
    period_end date,
    countries text[],
    cities text[],
    filters jsonb
) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
  cond text := 'true';
  f record;
  geo text[] := '{}';
  detail bigint;
  shown bigint;
BEGIN
  IF to_regclass(format('published.%I', table_name)) IS NULL
     OR to_regclass(format('published_detail.%I', table_name)) IS NULL THEN
    RAISE EXCEPTION 'not published to both schemas: %', table_name;
  END IF;
  IF time_column IS NOT NULL THEN
    IF time_column = 'year' THEN
      cond := cond || format(' AND make_date(%I, 1, 1) >= %L AND make_date(%I, 1, 1) < %L',
                             time_column, period_start, time_column, period_end);
    ELSE
      cond := cond || format(' AND %I >= %L AND %I < %L',
                             time_column, period_start, time_column, period_end);
    END IF;
  END IF;
  IF countries IS NOT NULL THEN
    geo := geo || format('country_code = ANY(%L)', countries);
  END IF;
  IF cities IS NOT NULL THEN
    geo := geo || format('city_code = ANY(%L)', cities);
  END IF;
  IF cardinality(geo) > 0 THEN
    cond := cond || ' AND (' || array_to_string(geo, ' OR ') || ')';
  END IF;
  FOR f IN SELECT key, value FROM jsonb_each(coalesce(filters, '{}'::jsonb))
  LOOP
    cond := cond || format(' AND %I::text = ANY(%L)', f.key,
                           ARRAY(SELECT jsonb_array_elements_text(f.value)));
  END LOOP;
  EXECUTE format('SELECT count(*) FROM published_detail.%I WHERE %s', table_name, cond)
    INTO detail;
  EXECUTE format('SELECT count(*) FROM published.%I WHERE %s', table_name, cond) INTO shown;
  RETURN detail - shown;
END $$;

REVOKE ALL ON FUNCTION published.extract_withheld_cells(text, text, date, date, text[], text[], jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION published.extract_withheld_cells(text, text, date, date, text[], text[], jsonb) TO monitor_extracts;
GRANT SELECT ON published.extract_publications, published.extract_model_versions TO monitor_extracts;
