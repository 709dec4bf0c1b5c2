"""The warehouse catalogue as the lifecycle needs it: which tables hold a column, and acting
as a table's owner (every schema has its writer role; the lifecycle writes all of them)."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg2 import sql

from core.db import set_local_role

# Catalogue schemas, never data.
_SYSTEM = ("pg_catalog", "information_schema", "pg_toast")


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    owner: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Composable:
        return sql.Identifier(self.schema, self.name)


def tables_with(cur, *columns: str, exclude_schemas: tuple[str, ...] = ()) -> list[Table]:
    """Tables (plain or partitioned, not partitions) that have every one of `columns`, in
    schema and name order."""
    cur.execute(
        """
        SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname <> ALL (%s) AND n.nspname NOT LIKE 'pg_temp%%'
          AND n.nspname NOT LIKE 'pg_toast%%'
          AND (SELECT count(*) FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 AND a.attname = ANY (%s)) = %s
        ORDER BY 1, 2
        """,
        (list(_SYSTEM + exclude_schemas), list(columns), len(columns)),
    )
    return [Table(*row) for row in cur.fetchall()]


def act_as_owner(cur, table: Table) -> None:
    """Switch to the table's owner for what follows in this transaction (the login itself
    when it owns the table)."""
    cur.execute("SELECT session_user")
    set_local_role(cur, None if table.owner == cur.fetchone()[0] else table.owner)
