"""Publish: copy the audited marts into `published` atomically, only after a passed gate.

Every table is rebuilt as `<name>__next` and swapped in inside one transaction (PostgreSQL DDL is
transactional), so readers see either the whole previous publication or the whole new one.

Two publications, one transaction:

* `published_detail.*` (role `monitor_detail`): every published mart in full, plus post-level
  detail (`fct_posts`) and keyword-in-context samples. Never readable by BI.
* `published.*` (roles `monitor_bi`, `monitor_extracts`): aggregates with small-cell suppression
  (DESIGN.md §4): a row whose post count (every column in `SUPPRESS[table]`) is below k
  (`MONITOR_MIN_CELL_SIZE`, default 10) is withheld. Withholding the row (rather than nulling its
  figures) keeps the contract of `mart_city_area_daily` (posts >= 1, shares in (0, 1]); a cell
  that survives has at least k posts behind every share and mean it carries.
"""

from __future__ import annotations

import logging
import os

from psycopg2 import sql

from monitor.warehouse import connection

log = logging.getLogger(__name__)

TRANSFORMER_ROLE = "monitor_transformer"
BI_ROLES = ("monitor_bi", "monitor_extracts")
DETAIL_ROLE = "monitor_detail"

# Aggregates and reference tables published to BI (suppressed where they count posts).
PUBLISHED_TABLES = (
    "mart_city_area_daily",
    "mart_city_area_weekly",
    "mart_city_area_monthly",
    "mart_city_comparison",
    "mart_focal_points",
    "mart_event_reactions",
    "mart_keywords_daily",
    "mart_source_coverage",
    "mart_labour_migration",
    "fct_city_statistics",
    "fct_country_statistics",
    "dim_cities",
    "dim_countries",
    "dim_integration_areas",
)
# Post-level detail: published to the detail role only.
DETAIL_ONLY_TABLES = ("fct_posts", "fct_keyword_contexts")

# table -> post-count columns that must all be >= k for a row to reach BI.
SUPPRESS: dict[str, tuple[str, ...]] = {
    "mart_city_area_daily": ("posts",),
    "mart_city_area_weekly": ("posts",),
    "mart_city_area_monthly": ("posts",),
    "mart_city_comparison": ("posts",),
    "mart_focal_points": ("posts",),
    "mart_event_reactions": ("posts_before", "posts_after"),
    "mart_keywords_daily": ("posts",),
    "mart_source_coverage": ("posts",),
}

# Indexes of the published tables, for the dashboards' filters (city, period, area).
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "mart_city_area_daily": (("city_code", "day"), ("day",), ("country_code", "day")),
    "mart_city_area_weekly": (("city_code", "week"), ("week",)),
    "mart_city_area_monthly": (("city_code", "month"), ("month",)),
    "mart_city_comparison": (("period_type", "period_start"), ("city_code",)),
    "mart_focal_points": (("day",), ("city_code", "day")),
    "mart_keywords_daily": (("city_code", "day"), ("keyword",)),
    "mart_source_coverage": (("month",), ("city_code", "month")),
    "fct_posts": (("post_id",), ("city_code", "day")),
    "fct_keyword_contexts": (("city_code", "day", "keyword"),),
}


class GateNotPassed(RuntimeError):
    pass


def min_cell_size() -> int:
    return int(os.environ.get("MONITOR_MIN_CELL_SIZE", "10"))


def _swap(cur, schema: str, table: str, where: sql.Composable | None, roles: tuple[str, ...]):
    name, nxt = sql.Identifier(table), sql.Identifier(f"{table}__next")
    target = sql.Identifier(schema)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(target, nxt))
    query = sql.SQL("CREATE TABLE {}.{} AS SELECT * FROM marts.{}").format(target, nxt, name)
    if where is not None:
        query = query + sql.SQL(" WHERE ") + where
    cur.execute(query)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(target, name))
    cur.execute(sql.SQL("ALTER TABLE {}.{} RENAME TO {}").format(target, nxt, name))
    for i, cols in enumerate(INDEXES.get(table, ())):
        cur.execute(
            sql.SQL("CREATE INDEX {} ON {}.{} ({})").format(
                sql.Identifier(f"{table}_{i}_idx"),
                target,
                name,
                sql.SQL(", ").join(map(sql.Identifier, cols)),
            )
        )
    cur.execute(
        sql.SQL("GRANT SELECT ON {}.{} TO {}").format(
            target, name, sql.SQL(", ").join(map(sql.Identifier, roles))
        )
    )
    cur.execute(sql.SQL("ANALYZE {}.{}").format(target, name))


def _existing(cur, tables: tuple[str, ...]) -> tuple[str, ...]:
    cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
        "AND table_name = ANY(%s)",
        (list(tables),),
    )
    found = {r[0] for r in cur.fetchall()}
    return tuple(t for t in tables if t in found)


def publish(
    url: str,
    gate_run_id: str,
    *,
    tables: tuple[str, ...] = PUBLISHED_TABLES,
    detail_tables: tuple[str, ...] = DETAIL_ONLY_TABLES,
    k: int | None = None,
) -> None:
    k = min_cell_size() if k is None else k
    with connection(url, role=TRANSFORMER_ROLE) as conn, conn.cursor() as cur:
        cur.execute("SELECT passed FROM quality.gate_runs WHERE gate_run_id = %s", (gate_run_id,))
        row = cur.fetchone()
        if row is None or not row[0]:
            raise GateNotPassed(
                f"quality gate run {gate_run_id} did not pass (or does not exist): "
                "nothing was published; see quality.check_results for the failed checks"
            )
        missing = [t for t in tables if t not in _existing(cur, tables)]
        if missing:
            raise RuntimeError(f"marts missing, nothing published: {', '.join(missing)}")
        for table in tables:
            _swap(cur, "published_detail", table, None, (DETAIL_ROLE,))
            counts = SUPPRESS.get(table)
            where = (
                sql.SQL(" AND ").join(
                    sql.SQL("{} >= {}").format(sql.Identifier(c), sql.Literal(k)) for c in counts
                )
                if counts
                else None
            )
            _swap(cur, "published", table, where, (*BI_ROLES, DETAIL_ROLE))
        for table in _existing(cur, detail_tables):
            _swap(cur, "published_detail", table, None, (DETAIL_ROLE,))
        cur.execute(
            "UPDATE quality.gate_runs SET published = true WHERE gate_run_id = %s", (gate_run_id,)
        )
    log.info("published %s (gate run %s, k=%d)", ", ".join(tables), gate_run_id, k)
