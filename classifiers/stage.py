"""Running a classifier over the warehouse: only posts the current model version has not seen,
in bounded batches, each committed on its own (idempotent and resumable).

A task registers its model version as the current one for its task name; the marts read the
current version only, so switching versions is explicit and never mixes outputs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from psycopg2.extensions import cursor as Cursor

from monitor.warehouse import connection

log = logging.getLogger(__name__)

LOADER_ROLE = "monitor_loader"


class ClassifierTask(Protocol):
    task: str  # 'language', 'areas', ...
    model_version: str
    description: str
    output_table: str  # ml.<table>
    output_columns: tuple[str, ...]  # first column is post_id, second model_version

    def predict(
        self, texts: Sequence[str], langs: Sequence[str | None]
    ) -> list[list[tuple[Any, ...]]]:
        """For each text (and its language by the current language model, if known yet), the
        output rows without post_id and model_version."""
        ...


def register(cur: Cursor, task: ClassifierTask, *, make_current: bool = True) -> None:
    cur.execute(
        "INSERT INTO ml.model_versions (task, model_version, description) VALUES (%s, %s, %s) "
        "ON CONFLICT (task, model_version) DO NOTHING",
        (task.task, task.model_version, task.description),
    )
    if make_current:
        cur.execute(
            "UPDATE ml.model_versions SET is_current = (model_version = %s) WHERE task = %s "
            "AND is_current <> (model_version = %s)",
            (task.model_version, task.task, task.model_version),
        )


def _copy(cur: Cursor, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    from classifiers.warehouse import copy_rows  # escapes tabs, newlines and backslashes

    copy_rows(cur, table, columns, rows)


def classify_pending(
    url: str, task: ClassifierTask, *, batch_size: int = 5_000, limit: int | None = None
) -> int:
    """Classify every post without an output of `task.model_version`; return how many."""
    with connection(url, role=LOADER_ROLE) as conn, conn.cursor() as cur:
        register(cur, task)
    done = 0
    started = time.monotonic()
    while limit is None or done < limit:
        size = batch_size if limit is None else min(batch_size, limit - done)
        with connection(url, role=LOADER_ROLE) as conn, conn.cursor() as cur:
            cur.execute(
                """
                SELECT p.post_id, p.text, pl.lang FROM raw.posts p
                LEFT JOIN ml.model_versions lv ON lv.task = 'language' AND lv.is_current
                LEFT JOIN ml.post_languages pl
                    ON pl.post_id = p.post_id AND pl.model_version = lv.model_version
                WHERE NOT EXISTS (
                    SELECT 1 FROM ml.classified_posts c
                    WHERE c.task = %s AND c.model_version = %s AND c.post_id = p.post_id)
                ORDER BY p.post_id LIMIT %s
                """,
                (task.task, task.model_version, size),
            )
            batch = cur.fetchall()
            if not batch:
                break
            outputs = task.predict([t for _, t, _ in batch], [lang for _, _, lang in batch])
            rows = [
                (post_id, task.model_version, *out)
                for (post_id, _, _), post_rows in zip(batch, outputs, strict=True)
                for out in post_rows
            ]
            if rows:
                _copy(cur, task.output_table, task.output_columns, rows)
            _copy(
                cur,
                "ml.classified_posts",
                ("task", "model_version", "post_id"),
                [(task.task, task.model_version, post_id) for post_id, _, _ in batch],
            )
        done += len(batch)
        log.info(
            "%s %s: %d posts classified (%.0f posts/s)",
            task.task,
            task.model_version,
            done,
            done / max(time.monotonic() - started, 1e-9),
        )
    return done
