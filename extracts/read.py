"""Reading a publication as monitor_extracts: one read-only snapshot of schema `published`.

Everything a package holds comes from one REPEATABLE READ transaction, so its tables, the gate
run they were published under, the classifier versions and the withheld-cell counts all belong
to the same publication (publish swaps every table in one transaction). The role reads
`published` only; the publication record, the current model versions and the withheld counts
come from the summaries migration 0021 exposes there. A warehouse whose latest gate verdict is
a failure, or that never published, yields no snapshot: nothing is extracted from it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg2 import sql

from core.db import Role, connection
from extracts.periods import Interval


class NoPublication(RuntimeError):
    """The warehouse has no publication an extract may read (none yet, or the gate failed)."""


@dataclass(frozen=True)
class PublicationRecord:
    gate_run_id: str
    gate_finished_at: datetime
    summary: str | None


@dataclass(frozen=True)
class Scope:
    """A subscription's geography resolved against dim_cities."""

    countries: tuple[str, ...]
    cities: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    table: str
    columns: tuple[str, ...]
    time_column: str | None
    geo_column: str | None
    filters: dict[str, list[str]]


class Snapshot:
    def __init__(self, cur) -> None:
        self.cur = cur

    def publication(self) -> PublicationRecord:
        self.cur.execute(
            "SELECT gate_run_id, finished_at, passed, published, summary "
            "FROM published.extract_publications ORDER BY finished_at DESC, gate_run_id DESC "
            "LIMIT 1"
        )
        row = self.cur.fetchone()
        if row is None:
            raise NoPublication("no quality gate run has finished: nothing is published yet")
        gate_run_id, finished_at, passed, published, summary = row
        if not passed:
            raise NoPublication(
                f"the latest quality gate run {gate_run_id} failed: no package is built until "
                "a gate run passes and is published"
            )
        if not published:
            raise NoPublication(
                f"gate run {gate_run_id} passed but is not published yet: try after publish"
            )
        return PublicationRecord(gate_run_id, finished_at, summary)

    def model_versions(self) -> list[dict[str, str]]:
        self.cur.execute(
            "SELECT task, model_version, description FROM published.extract_model_versions "
            "ORDER BY task"
        )
        return [
            {"task": t, "model_version": v, "description": d} for t, v, d in self.cur.fetchall()
        ]

    def resolve_scope(self, countries: list[str], cities: list[str]) -> Scope:
        self.cur.execute(
            "SELECT city_code, country_code FROM published.dim_cities "
            "WHERE country_code = ANY(%s) OR city_code = ANY(%s) ORDER BY city_code",
            (list(countries), list(cities)),
        )
        rows = self.cur.fetchall()
        unknown = sorted(set(cities) - {c for c, _ in rows})
        if unknown:
            raise ValueError(f"cities not in published.dim_cities: {', '.join(unknown)}")
        return Scope(
            countries=tuple(sorted(set(countries) | {k for _, k in rows})),
            cities=tuple(c for c, _ in rows),
        )

    def column_types(self, table: str) -> dict[str, str]:
        self.cur.execute(
            "SELECT column_name, data_type, udt_name FROM information_schema.columns "
            "WHERE table_schema = 'published' AND table_name = %s ORDER BY ordinal_position",
            (table,),
        )
        types = {c: (u if t == "ARRAY" else t) for c, t, u in self.cur.fetchall()}
        if not types:
            raise NoPublication(f"published.{table} does not exist or is not readable")
        return types

    def _where(self, q: Query, interval: Interval, scope: Scope) -> tuple[sql.Composable, list]:
        parts: list[sql.Composable] = []
        args: list[Any] = []
        if q.time_column == "year":
            parts.append(sql.SQL("make_date(year, 1, 1) >= %s AND make_date(year, 1, 1) < %s"))
            args += [interval.start, interval.end]
        elif q.time_column:
            col = sql.Identifier(q.time_column)
            parts.append(sql.SQL("{} >= %s AND {} < %s").format(col, col))
            args += [interval.start, interval.end]
        if q.geo_column:
            parts.append(sql.SQL("{} = ANY(%s)").format(sql.Identifier(q.geo_column)))
            args.append(list(scope.cities if q.geo_column == "city_code" else scope.countries))
        for col, values in sorted(q.filters.items()):
            parts.append(sql.SQL("{}::text = ANY(%s)").format(sql.Identifier(col)))
            args.append([str(v) for v in values])
        return sql.SQL(" AND ").join(parts or [sql.SQL("true")]), args

    def rows(self, q: Query, interval: Interval, scope: Scope) -> list[tuple]:
        where, args = self._where(q, interval, scope)
        cols = sql.SQL(", ").join(map(sql.Identifier, q.columns))
        # Sorted on every column: the same publication gives the same files, row for row.
        order = sql.SQL(", ").join(sql.Literal(i + 1) for i in range(len(q.columns)))
        self.cur.execute(
            sql.SQL("SELECT {} FROM published.{} WHERE {} ORDER BY {}").format(
                cols, sql.Identifier(q.table), where, order
            ),
            args,
        )
        return self.cur.fetchall()

    def withheld(self, q: Query, interval: Interval, scope: Scope) -> int:
        countries = list(scope.countries) if q.geo_column == "country_code" else None
        cities = list(scope.cities) if q.geo_column == "city_code" else None
        self.cur.execute(
            "SELECT published.extract_withheld_cells(%s, %s, %s, %s, %s, %s, %s)",
            (
                q.table,
                q.time_column,
                interval.start,
                interval.end,
                countries,
                cities,
                json.dumps({k: [str(v) for v in vs] for k, vs in q.filters.items()}),
            ),
        )
        return int(self.cur.fetchone()[0])

    def coverage_caveats(self, interval: Interval, scope: Scope) -> list[dict[str, Any]]:
        """The sources behind the posts of the scope and interval, with their caveats."""
        self.cur.execute(
            "SELECT source, platform, source_kind, posts, caveats "
            "FROM published.mart_source_coverage "
            "WHERE month >= date_trunc('month', %s::date) AND month < %s AND city_code = ANY(%s) "
            "ORDER BY source, platform",
            (interval.start, interval.end, list(scope.cities)),
        )
        merged: dict[tuple, dict[str, Any]] = {}
        for source, platform, kind, posts, caveats in self.cur.fetchall():
            entry = merged.setdefault(
                (source, platform),
                {"source": source, "platform": platform, "kind": kind, "posts": 0, "caveats": []},
            )
            entry["posts"] += int(posts or 0)
            entry["caveats"] = sorted(set(entry["caveats"]) | set(caveats or ()))
        return list(merged.values())


@contextlib.contextmanager
def snapshot(url: str) -> Iterator[Snapshot]:
    """A read-only, repeatable-read view of `published` as monitor_extracts."""
    with connection(url, role=Role.EXTRACTS) as conn:
        conn.commit()  # SET ROLE stays for the session; the snapshot starts below
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute("SET LOCAL TIME ZONE 'UTC'")
            yield Snapshot(cur)
