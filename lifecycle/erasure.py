"""Erasure: every row of a post, or of all an author's posts, deleted from every schema.

A request is a list of items: `post SOURCE:EXTERNAL_ID` or `author PSEUDONYM` (one per line in
a request file). In one transaction, as each table's owner:

1. the posts are found by their natural key (the external id as given and as stored,
   `core.privacy.external_key`) or by their author's pseudonym;
2. their rejected records are deleted (a rejection is attributable when its record names the
   post's source and external id);
3. every table outside raw and ml with a `post_id` column (post-level marts, publications,
   anything added later) loses their rows, and every table with an `author_pseudonym` column
   the author's rows; then their keys go from `raw.post_keys`, whose triggers and foreign keys
   delete their `raw.posts` rows and every `ml.*` row (migrations 0009, 0012);
4. the tables registered in `ops.erasure_targets` lose their matching rows (the hook for
   packages whose tables the column scan would miss);
5. the request is logged in `ops.erasure_requests` by a hash of its lines and by counts, and
   the (city, day) cells the posts counted in go to `ops.erasure_cells`.

The aggregates still count the posts until the app rebuilds exactly those cells and publishes
again (`monitor.lifecycle.rebuild_erased`); `mark_published` then deletes the cells.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from psycopg2 import sql

from core.db import Role, advisory_lock, connection, set_local_role
from core.privacy import external_key
from core.runs import new_run_id
from lifecycle.retention import LIFECYCLE_LOCK
from lifecycle.tables import Table, act_as_owner, tables_with

log = logging.getLogger(__name__)

KINDS = ("post", "author")


class RequestError(ValueError):
    """A request line that is not `post SOURCE:EXTERNAL_ID` or `author PSEUDONYM`."""


@dataclass(frozen=True, order=True)
class Item:
    kind: str  # 'post' or 'author'
    value: str  # SOURCE:EXTERNAL_ID, or a pseudonym

    @property
    def line(self) -> str:
        return f"{self.kind} {self.value}"

    def natural_key(self) -> tuple[str, str]:
        source, _, external_id = self.value.partition(":")
        return source, external_id


def item(kind: str, value: str) -> Item:
    value = value.strip()
    if kind not in KINDS:
        raise RequestError(f"unknown kind {kind!r}: expected 'post' or 'author'")
    if kind == "post":
        source, sep, external_id = value.partition(":")
        if not (source and sep and external_id):
            raise RequestError("a post is SOURCE:EXTERNAL_ID")
    elif not value or any(ch.isspace() for ch in value):
        raise RequestError("an author is one pseudonym (32 hex characters)")
    return Item(kind, value)


def parse_lines(lines: Iterable[str]) -> list[Item]:
    """Request lines (`post SOURCE:EXTERNAL_ID`, `author PSEUDONYM`; blank lines and `#`
    comments skipped). An error names the line number, never its content."""
    items = []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        kind, _, value = text.partition(" ")
        try:
            items.append(item(kind, value))
        except RequestError as exc:
            raise RequestError(f"line {number}: {exc}") from None
    return items


def read_request(path: Path) -> list[Item]:
    return parse_lines(Path(path).read_text(encoding="utf-8").splitlines())


def request_hash(items: Iterable[Item]) -> str:
    """sha256 of the sorted, de-duplicated lines: the same request always hashes the same."""
    lines = sorted({i.line for i in items})
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass
class Erasure:
    request_id: str
    request_hash: str
    kind: str  # 'post', 'author' (one item) or 'batch'
    items: int
    posts: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    cells: list[tuple[str | None, date]] = field(default_factory=list)

    @property
    def days(self) -> list[date]:
        return sorted({d for _, d in self.cells})


def erase(url: str, items: list[Item], *, pepper: str) -> Erasure:
    """Delete every row of the requested posts and authors; log the request; return counts
    and the cells to rebuild. Idempotent: a repeated request finds nothing and logs zeros."""
    if not items:
        raise RequestError("an empty request")
    unique = sorted(set(items))
    kind = unique[0].kind if len(unique) == 1 else "batch"
    result = Erasure(new_run_id("erasure"), request_hash(unique), kind, len(unique))
    keys: set[tuple[str, str]] = set()
    for i in unique:
        if i.kind == "post":
            source, external_id = i.natural_key()
            keys |= {(source, external_id), (source, external_key(external_id, pepper))}
    authors = sorted({i.value for i in unique if i.kind == "author"})
    with (
        advisory_lock(url, LIFECYCLE_LOCK, on_wait="waiting for another retention or erasure"),
        connection(url) as conn,
        conn.cursor() as cur,
    ):
        _erase(cur, result, sorted(keys), authors)
    log.info(
        "erasure %s (request %s...): %d posts, %d cells to rebuild, deleted %s",
        result.request_id,
        result.request_hash[:12],
        result.posts,
        len(result.cells),
        result.deleted,
    )
    return result


def _erase(cur, result: Erasure, keys: list[tuple[str, str]], authors: list[str]) -> None:
    set_local_role(cur, Role.LOADER)
    sources, external_ids = [k[0] for k in keys], [k[1] for k in keys]
    cur.execute(
        """
        SELECT k.post_id, k.source, k.external_id, p.city_hint,
               (k.created_at AT TIME ZONE 'UTC')::date
        FROM raw.post_keys k
        LEFT JOIN raw.posts p ON p.post_id = k.post_id AND p.created_at = k.created_at
        WHERE (k.source, k.external_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
        UNION
        SELECT p.post_id, p.source, p.external_id, p.city_hint,
               (p.created_at AT TIME ZONE 'UTC')::date
        FROM raw.posts p WHERE p.author_pseudonym = ANY (%s)
        """,
        (sources, external_ids, authors),
    )
    found = cur.fetchall()
    post_ids = sorted({r[0] for r in found})
    result.posts = len(post_ids)
    # A post counts for its source's city and for every city the places model found in it
    # (int_post_cities__attributed): cells of any model version, a superset is only rebuilt.
    cur.execute(
        "SELECT DISTINCT c.city_code, (k.created_at AT TIME ZONE 'UTC')::date "
        "FROM ml.post_cities c JOIN raw.post_keys k USING (post_id) WHERE c.post_id = ANY (%s)",
        (post_ids,),
    )
    cells = {(r[3], r[4]) for r in found} | set(cur.fetchall())
    result.cells = sorted(cells, key=lambda c: (c[0] or "", c[1]))
    # Rejections name a post by its source and external id (the record as read, scrubbed).
    named = sorted({(r[1], r[2]) for r in found} | set(keys))
    cur.execute(
        """
        DELETE FROM raw.rejected_records r
        USING unnest(%s::text[], %s::text[]) AS e (source, external_id)
        WHERE r.source = e.source
          AND strpos(r.record, '"external_id": ' || to_json(e.external_id)::text) > 0
        """,
        ([n[0] for n in named], [n[1] for n in named]),
    )
    result.deleted["raw.rejected_records"] = cur.rowcount

    by_post = tables_with(cur, "post_id")
    cascaded = [t for t in by_post if t.schema in ("raw", "ml")]
    for table in cascaded:  # counted now, deleted with the keys below
        act_as_owner(cur, table)
        cur.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE post_id = ANY (%s)").format(table.ident),
            (post_ids,),
        )
        result.deleted[table.qualified] = cur.fetchone()[0]
    for table in by_post:
        if table not in cascaded:
            _delete(cur, result, table, sql.SQL("post_id = ANY (%s)"), (post_ids,))
    for table in tables_with(cur, "author_pseudonym"):
        if authors and table not in cascaded:
            _delete(cur, result, table, sql.SQL("author_pseudonym = ANY (%s)"), (authors,))
    set_local_role(cur, Role.LOADER)
    cur.execute("DELETE FROM raw.post_keys WHERE post_id = ANY (%s)", (post_ids,))
    for table in cascaded:  # the triggers and foreign keys of raw.post_keys did it all
        act_as_owner(cur, table)
        cur.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE post_id = ANY (%s)").format(table.ident),
            (post_ids,),
        )
        left = cur.fetchone()[0]
        if left:
            raise RuntimeError(f"{table.qualified}: {left} rows survived their post keys")
    _registered(cur, result, post_ids, authors)

    set_local_role(cur, Role.LOADER)
    cur.execute(
        "INSERT INTO ops.erasure_requests (request_id, kind, request_hash, items, posts, "
        "deleted, cells, days) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            result.request_id,
            result.kind,
            result.request_hash,
            result.items,
            result.posts,
            json.dumps(result.deleted, sort_keys=True),
            sum(c is not None for c, _ in result.cells),
            len(result.days),
        ),
    )
    cur.executemany(
        "INSERT INTO ops.erasure_cells (request_id, city_code, day) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        [(result.request_id, c, d) for c, d in result.cells],
    )


def _delete(cur, result: Erasure, table: Table, where: sql.Composable, args: tuple) -> None:
    act_as_owner(cur, table)
    cur.execute(sql.SQL("DELETE FROM {} WHERE ").format(table.ident) + where, args)
    result.deleted[table.qualified] = result.deleted.get(table.qualified, 0) + cur.rowcount


def _registered(cur, result: Erasure, post_ids: list[int], authors: list[str]) -> None:
    """The targets other packages registered in ops.erasure_targets (looked up as the login:
    the loader may not see the schemas of the tables registered)."""
    set_local_role(cur, None)
    cur.execute(
        "SELECT t.schema_name, t.table_name, t.match, t.only_where, pg_get_userbyid(c.relowner) "
        "FROM ops.erasure_targets t "
        "JOIN pg_class c ON c.oid = to_regclass(quote_ident(t.schema_name) || '.' || "
        "quote_ident(t.table_name)) ORDER BY 1, 2, 3"
    )
    cells = [(c, d) for c, d in result.cells if c is not None]
    for schema, name, match, only_where, owner in cur.fetchall():
        table = Table(schema, name, owner)
        if match == "post_id":
            where, args = sql.SQL("post_id = ANY (%s)"), (post_ids,)
        elif match == "author_pseudonym":
            where, args = sql.SQL("author_pseudonym = ANY (%s)"), (authors,)
        elif match == "interval":
            where = sql.SQL(
                "EXISTS (SELECT 1 FROM unnest(%s::date[]) AS d (day) "
                "WHERE d.day >= interval_start AND d.day < interval_end)"
            )
            args = (result.days,)
        else:
            where = sql.SQL("(city_code, day) IN (SELECT * FROM unnest(%s::text[], %s::date[]))")
            args = ([c for c, _ in cells], [d for _, d in cells])
        if only_where:
            where = sql.SQL("({}) AND ({})").format(where, sql.SQL(only_where))
        _delete(cur, result, table, where, args)


@dataclass(frozen=True)
class Pending:
    """The erasures whose cells the aggregates still count, and those cells."""

    request_ids: tuple[str, ...]
    cells: tuple[tuple[str, date], ...]  # with a city: the per-city aggregates
    days: tuple[date, ...]  # every day: the per-day aggregates (source coverage)


def pending(url: str) -> Pending:
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT request_id FROM ops.erasure_requests WHERE status <> 'published' "
            "ORDER BY received_at, request_id"
        )
        ids = tuple(r[0] for r in cur.fetchall())
        cur.execute(
            "SELECT DISTINCT city_code, day FROM ops.erasure_cells WHERE request_id = ANY (%s)",
            (list(ids),),
        )
        rows = cur.fetchall()
    return Pending(
        ids,
        tuple(sorted((c, d) for c, d in rows if c is not None)),
        tuple(sorted({d for _, d in rows})),
    )


def mark_rebuilt(url: str, request_ids: Iterable[str]) -> None:
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE ops.erasure_requests SET status = 'rebuilt', rebuilt_at = now() "
            "WHERE request_id = ANY (%s) AND status = 'erased'",
            (list(request_ids),),
        )


def mark_published(url: str, request_ids: Iterable[str], gate_run_id: str | None) -> None:
    """The publication no longer counts the erased posts: the cells, which tell where and
    when the person wrote, go; the request keeps its counts."""
    ids = list(request_ids)
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE ops.erasure_requests SET status = 'published', published_at = now(), "
            "gate_run_id = %s WHERE request_id = ANY (%s)",
            (gate_run_id, ids),
        )
        cur.execute("DELETE FROM ops.erasure_cells WHERE request_id = ANY (%s)", (ids,))
