"""The COPY text writer: whatever a value holds, PostgreSQL reads back exactly that value."""

from __future__ import annotations

from core.copy import copy_rows, copy_text, escape, field
from core.db import connection

NASTY = ["plain", "tab\there", "new\nline", "cr\rlf\r\n", "back\\slash", "\\N", "", "ünï 😀"]


def test_fields() -> None:
    assert field(None) == "\\N"
    assert field(True) == "t" and field(False) == "f"
    assert field(3) == "3" and field(0.5) == "0.5"
    assert escape("a\tb\\c\nd\re") == "a\\tb\\\\c\\nd\\re"
    assert escape("nothing to do") == "nothing to do"
    assert copy_text([("a", None), ("b\tc", 1)]) == "a\t\\N\nb\\tc\t1\n"


def test_round_trip_through_postgres(fresh_database: str) -> None:
    rows = [(i, text, i % 2 == 0, None if i == 3 else i / 4) for i, text in enumerate(NASTY)]
    with connection(fresh_database) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE t (i int, s text, b boolean, x double precision)")
        assert copy_rows(cur, "t", ("i", "s", "b", "x"), rows) == len(rows)
        assert copy_rows(cur, "t", ("i", "s", "b", "x"), []) == 0
        cur.execute("SELECT i, s, b, x FROM t ORDER BY i")
        assert cur.fetchall() == rows
