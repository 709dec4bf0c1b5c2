-- erfc() for PostgreSQL 15: the event-reaction mart's two-sided p-values use erfc(|z| / sqrt 2).
-- PostgreSQL 16 has erfc built in (pg_catalog, searched before public, so the built-in one is
-- used there and this file creates nothing). On 15 a SQL version goes into public: the
-- complementary error function of Numerical Recipes (erfcc, Chebyshev fit, fractional error
-- below 1.2e-7 everywhere), ample for p-values compared with alpha = 0.05.
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('pg_catalog', 'public') AND p.proname = 'erfc'
  ) THEN
    CREATE FUNCTION public.erfc(x double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $f$
      -- clamped to the true range ([0, 1] for x >= 0, [1, 2] below): the fit is 1 + 3e-8 at 0
      SELECT CASE WHEN x >= 0 THEN least(r, 1.0) ELSE greatest(2.0 - r, 1.0) END
      -- beyond |x| = 26, erfc is below 1e-295 and exp() would underflow (an error in PostgreSQL)
      FROM (SELECT CASE WHEN z > 26 THEN 0.0 ELSE t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (
               0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (
               1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))) END AS r
            FROM (SELECT abs(x) AS z, 1.0 / (1.0 + 0.5 * abs(x)) AS t) AS a) AS b
    $f$;
  END IF;
END $$;
