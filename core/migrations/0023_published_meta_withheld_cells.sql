-- What small-cell suppression withheld, so that dashboards can say it: for every table published
-- both in full (published_detail) and suppressed (published) with a `posts` column, the cells
-- and posts of each month and country in the full copy that the suppressed copy lacks. Publish
-- swaps both copies in one transaction, so the two always describe the same publication.
--
-- A SECURITY DEFINER function with dynamic SQL rather than a view: a view would depend on the
-- published tables, and publish's DROP TABLE would then fail (or dbt's CASCADE drop it). The
-- tables, their period column (day, week, month or period_start) and whether they carry a
-- country are read from the catalogue at call time, so a newly published mart appears here
-- without a migration. Counts are of cells (city x area x period and the like): a post in
-- several areas or cities is counted in each of its cells, as in the marts themselves.
-- Owned by the publisher, the owner of both copies (migration 0015).
GRANT USAGE, CREATE ON SCHEMA published_meta TO monitor_publisher;
SET ROLE monitor_publisher;

CREATE OR REPLACE FUNCTION published_meta.withheld()
RETURNS TABLE (
    table_name text,
    month date,
    country_code text,
    cells_published bigint,
    cells_withheld bigint,
    posts_published bigint,
    posts_withheld bigint
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    period_col text;
    country_expr text;
BEGIN
    FOR t IN
        SELECT c.table_name AS name
        FROM information_schema.columns AS c
        WHERE c.table_schema = 'published' AND c.column_name = 'posts'
          AND EXISTS (SELECT 1 FROM information_schema.columns AS d
                      WHERE d.table_schema = 'published_detail'
                        AND d.table_name = c.table_name AND d.column_name = 'posts')
        ORDER BY 1
    LOOP
        SELECT c.column_name INTO period_col
        FROM information_schema.columns AS c
        WHERE c.table_schema = 'published' AND c.table_name = t.name
          AND c.column_name IN ('day', 'week', 'month', 'period_start')
        ORDER BY array_position(ARRAY['day', 'week', 'month', 'period_start'], c.column_name::text)
        LIMIT 1;
        CONTINUE WHEN period_col IS NULL;
        country_expr := CASE WHEN EXISTS (
                SELECT 1 FROM information_schema.columns AS c
                WHERE c.table_schema = 'published' AND c.table_name = t.name
                  AND c.column_name = 'country_code')
            THEN 'country_code::text'
            WHEN EXISTS (
                SELECT 1 FROM information_schema.columns AS c
                WHERE c.table_schema = 'published' AND c.table_name = t.name
                  AND c.column_name = 'city_code')
            -- Urban Audit codes start with the Eurostat country code (DE001C, EL001C).
            THEN 'CASE WHEN city_code ~ ''^[A-Z]{2}[0-9]'' THEN left(city_code, 2) END'
            ELSE 'NULL::text' END;
        RETURN QUERY EXECUTE format(
            $q$
            WITH full_copy AS (
                SELECT date_trunc('month', %1$I)::date AS month, %2$s AS country_code,
                       count(*) AS cells, sum(posts)::bigint AS posts
                FROM published_detail.%3$I GROUP BY 1, 2
            ), suppressed AS (
                SELECT date_trunc('month', %1$I)::date AS month, %2$s AS country_code,
                       count(*) AS cells, sum(posts)::bigint AS posts
                FROM published.%3$I GROUP BY 1, 2
            )
            SELECT %3$L::text, f.month, f.country_code,
                   coalesce(s.cells, 0), f.cells - coalesce(s.cells, 0),
                   coalesce(s.posts, 0), f.posts - coalesce(s.posts, 0)
            FROM full_copy AS f
            LEFT JOIN suppressed AS s
              ON s.month = f.month AND s.country_code IS NOT DISTINCT FROM f.country_code
            $q$,
            period_col, country_expr, t.name);
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION published_meta.withheld() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION published_meta.withheld() TO monitor_bi, monitor_detail;

CREATE OR REPLACE VIEW published_meta.withheld_cells AS
SELECT * FROM published_meta.withheld();

GRANT SELECT ON published_meta.withheld_cells TO monitor_bi, monitor_detail;

RESET ROLE;
