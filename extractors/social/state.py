"""Cursors and watermarks per source and stream, in `raw.source_cursors`.

`save` runs in the caller's transaction, the one that lands the page the state follows: after a
crash the stored state and the landed posts always agree, so a resume neither skips nor repeats.
"""

from __future__ import annotations

import json

from psycopg2.extensions import connection as Connection

from core.db import Role, connection
from extractors.social.connectors.base import StreamState


def load(url: str, source: str, stream: str) -> StreamState:
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT cursor, watermark FROM raw.source_cursors WHERE source = %s AND stream = %s",
            (source, stream),
        )
        row = cur.fetchone()
    return StreamState(dict(row[0]), row[1]) if row else StreamState()


def save(conn: Connection, source: str, stream: str, state: StreamState, run_id: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """
            INSERT INTO raw.source_cursors (source, stream, cursor, watermark, run_id)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (source, stream) DO UPDATE SET cursor = EXCLUDED.cursor,
                watermark = EXCLUDED.watermark, run_id = EXCLUDED.run_id, updated_at = now()
            """,
            (source, stream, json.dumps(state.cursor), state.watermark, run_id),
        )


def delete(url: str, source: str, stream: str) -> None:
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "DELETE FROM raw.source_cursors WHERE source = %s AND stream = %s", (source, stream)
        )
