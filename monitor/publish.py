"""Publish: copy the audited marts into `published` atomically, only after a passed gate.

Every table is rebuilt as `<name>__next` and swapped in inside one transaction (PostgreSQL DDL is
transactional), so readers see either the whole previous publication or the whole new one.
"""

from __future__ import annotations

import logging

from psycopg2 import sql

from monitor.warehouse import connection

log = logging.getLogger(__name__)

TRANSFORMER_ROLE = "monitor_transformer"
# Aggregates and reference tables only: post-level detail (fct_posts) is never published to BI.
PUBLISHED_TABLES = (
    "mart_city_area_daily",
    "fct_city_statistics",
    "fct_country_statistics",
    "dim_cities",
    "dim_countries",
    "dim_integration_areas",
)


class GateNotPassed(RuntimeError):
    pass


def publish(url: str, gate_run_id: str, *, tables: tuple[str, ...] = PUBLISHED_TABLES) -> None:
    with connection(url, role=TRANSFORMER_ROLE) as conn, conn.cursor() as cur:
        cur.execute("SELECT passed FROM quality.gate_runs WHERE gate_run_id = %s", (gate_run_id,))
        row = cur.fetchone()
        if row is None or not row[0]:
            raise GateNotPassed(
                f"quality gate run {gate_run_id} did not pass (or does not exist): "
                "nothing was published; see quality.check_results for the failed checks"
            )
        for table in tables:
            name, nxt = sql.Identifier(table), sql.Identifier(f"{table}__next")
            cur.execute(sql.SQL("DROP TABLE IF EXISTS published.{}").format(nxt))
            cur.execute(sql.SQL("CREATE TABLE published.{} AS TABLE marts.{}").format(nxt, name))
            cur.execute(sql.SQL("DROP TABLE IF EXISTS published.{}").format(name))
            cur.execute(sql.SQL("ALTER TABLE published.{} RENAME TO {}").format(nxt, name))
            cur.execute(
                sql.SQL("GRANT SELECT ON published.{} TO monitor_bi, monitor_extracts").format(name)
            )
        cur.execute(
            "UPDATE quality.gate_runs SET published = true WHERE gate_run_id = %s", (gate_run_id,)
        )
    log.info("published %s (gate run %s)", ", ".join(tables), gate_run_id)
