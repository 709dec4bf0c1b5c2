"""PostgreSQL COPY in text format: the one escaper and writer every loader uses.

Text format escapes backslash, tab, newline and carriage return; NULL is `\\N`. `str.translate`
does all four in one pass, and most values need none, which a membership test tells cheaply.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

NULL = "\\N"
# psycopg2 sends COPY data in pieces of this size (its default, 8 KiB, costs a Python-level read
# per 8 KiB of a batch of several MB).
CHUNK_BYTES = 1 << 18
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def field(value: Any) -> str:
    """One value as a COPY text field: None -> NULL, booleans -> t/f, the rest by `str`."""
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    return escape(value if isinstance(value, str) else str(value))


def copy_text(rows: Iterable[Sequence[Any]]) -> str:
    return "".join("\t".join(map(field, row)) + "\n" for row in rows)


def copy_data(cur: Any, statement: str, data: bytes) -> None:
    """Run `COPY ... FROM STDIN` on ready COPY text."""
    cur.copy_expert(statement, io.BytesIO(data), size=CHUNK_BYTES)


def copy_rows(cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY `rows` into `table (columns)`; return how many rows were sent (none: no statement)."""
    text = copy_text(rows)
    if not text:
        return 0
    copy_data(cur, f"COPY {table} ({', '.join(columns)}) FROM STDIN", text.encode())
    return text.count("\n")
