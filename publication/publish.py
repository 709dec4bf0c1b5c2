"""Publish: copy the audited marts into `published` atomically, only after the gate passed them.

What is published, where, with which suppression and indexes is declared by each dbt model
(`meta.publication`, read through `core.publications`); nothing here lists tables.

Every table is rebuilt as `<name>__next` and swapped in inside one transaction (PostgreSQL DDL is
transactional), so readers see either the whole previous publication or the whole new one. The
transaction runs as `monitor_publisher`, the only role that may write the publications.

A gate run publishes only the data it validated. Inside the transaction (REPEATABLE READ: every
statement reads the same snapshot), publish recomputes the fingerprint of the marts it is about
to copy (`quality.tables_fingerprint`) and refuses when the gate run did not pass, validated
other data (another build, or rows changed since), or is not the latest gate run of that data.

Two publications, one transaction:

* `published_detail.*` (role `monitor_detail`): every published model in full, post-level detail
  (`fct_posts`) and keyword-in-context samples included. Never readable by BI.
* `published.*` (roles `monitor_bi`, `monitor_extracts`): the models with `bi: true`, with
  small-cell suppression: a row whose post counts (every column in `suppress`) are below k
  (`MONITOR_MIN_CELL_SIZE`, default 10) is withheld. Withholding the row (rather than nulling its
  figures) keeps the contract of `mart_city_area_daily` (posts >= 1, shares in (0, 1]); a cell
  that survives has at least k posts behind every share and mean it carries.
"""

from __future__ import annotations

import logging

from psycopg2 import sql

from core.db import Role, connection, transaction_lock
from core.publications import Publication, load_publications
from core.settings import load_settings

log = logging.getLogger(__name__)

BI_READERS = (Role.BI, Role.EXTRACTS)
PUBLISH_LOCK = "publish"


class GateNotPassed(RuntimeError):
    """The gate run does not allow publishing the marts as they are now."""


def min_cell_size() -> int:
    return load_settings().min_cell_size


def _swap(
    cur,
    schema: str,
    pub: Publication,
    where: sql.Composable | None,
    roles: tuple[str, ...],
) -> None:
    table = pub.table
    name, nxt = sql.Identifier(table), sql.Identifier(f"{table}__next")
    target = sql.Identifier(schema)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(target, nxt))
    query = sql.SQL("CREATE TABLE {}.{} AS SELECT * FROM marts.{}").format(target, nxt, name)
    if where is not None:
        query = query + sql.SQL(" WHERE ") + where
    cur.execute(query)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(target, name))
    cur.execute(sql.SQL("ALTER TABLE {}.{} RENAME TO {}").format(target, nxt, name))
    for i, cols in enumerate(pub.indexes):
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


def _check_gate_run(cur, gate_run_id: str, tables: tuple[str, ...]) -> None:
    cur.execute(
        "SELECT passed, fingerprint, run_seq FROM quality.gate_runs WHERE gate_run_id = %s",
        (gate_run_id,),
    )
    row = cur.fetchone()
    if row is None or not row[0]:
        raise GateNotPassed(
            f"quality gate run {gate_run_id} did not pass (or does not exist): "
            "nothing was published; see quality.check_results for the failed checks"
        )
    _, validated, seq = row
    cur.execute("SELECT quality.tables_fingerprint('marts', %s)", (sorted(tables),))
    current = cur.fetchone()[0]
    if validated != current:
        raise GateNotPassed(
            f"quality gate run {gate_run_id} validated other data than the marts now hold "
            f"(fingerprint {validated}, now {current}): a later build or a change since; "
            "run the gate on this build; nothing was published"
        )
    cur.execute(
        "SELECT gate_run_id FROM quality.gate_runs WHERE fingerprint = %s AND run_seq > %s "
        "ORDER BY run_seq DESC LIMIT 1",
        (current, seq),
    )
    later = cur.fetchone()
    if later is not None:
        raise GateNotPassed(
            f"quality gate run {gate_run_id} is not the latest gate run of this build "
            f"({later[0]} is): publish that one; nothing was published"
        )


def publish(
    url: str,
    gate_run_id: str,
    *,
    publications: tuple[Publication, ...] | None = None,
    k: int | None = None,
) -> None:
    """Publish every model the manifest declares (or `publications`), if `gate_run_id` is the
    latest passed gate run of exactly the marts as they are; else raise `GateNotPassed`."""
    k = min_cell_size() if k is None else k
    publications = load_publications() if publications is None else publications
    wanted = tuple(p.table for p in publications)
    with connection(url, role=Role.PUBLISHER) as conn, conn.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        transaction_lock(cur, PUBLISH_LOCK)
        missing = sorted(set(wanted) - set(_existing(cur, wanted)))
        if missing:
            raise RuntimeError(f"marts missing, nothing published: {', '.join(missing)}")
        _check_gate_run(cur, gate_run_id, wanted)
        for pub in publications:
            _swap(cur, "published_detail", pub, None, (Role.DETAIL,))
            if not pub.bi:
                continue
            where = (
                sql.SQL(" AND ").join(
                    sql.SQL("{} >= {}").format(sql.Identifier(c), sql.Literal(k))
                    for c in pub.suppress
                )
                if pub.suppress
                else None
            )
            _swap(cur, "published", pub, where, (*BI_READERS, Role.DETAIL))
        cur.execute(
            "UPDATE quality.gate_runs SET published = true WHERE gate_run_id = %s", (gate_run_id,)
        )
    log.info("published %s (gate run %s, k=%d)", ", ".join(wanted), gate_run_id, k)
