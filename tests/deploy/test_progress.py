"""The progress watch of `monitor run`: every task try is reported, also one that started and
ended between two polls, and what had finished before the watch began is not."""

from __future__ import annotations

import psycopg2

from monitor.stack import Progress

_TASK_INSTANCE = """
CREATE TABLE task_instance (
    dag_id text, run_id text, task_id text, map_index int, try_number int, state text,
    end_date timestamptz
);
CREATE TABLE dag_run (dag_id text, run_id text, state text, end_date timestamptz)
"""


def _exec(url: str, sql: str, args: tuple = ()) -> None:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)


def _try(url: str, task: str, state: str, map_index: int = -1) -> None:
    _exec(
        url,
        "INSERT INTO task_instance VALUES ('dag', 'run1', %s, %s, 1, %s, "
        "CASE WHEN %s IN ('success', 'failed') THEN now() END)",
        (task, map_index, state, state),
    )


def test_progress_reports_tasks_finished_between_polls_once(warehouse_url: str) -> None:
    meta = warehouse_url  # the Airflow tables beside the warehouse's schemas
    _exec(meta, _TASK_INSTANCE)
    _try(meta, "before", "success")
    lines: list[str] = []
    progress = Progress(meta, warehouse_url, say=lines.append)

    progress.poll()
    assert len(lines) == 1 and "waiting for the scheduler" in lines[0]
    assert "before" not in lines[0]

    _try(meta, "quick", "success")  # ran and ended between two polls
    _try(meta, "slow", "running", map_index=0)
    progress.poll()
    assert "posts 0, classified 0" in lines[-1]
    assert "dag.quick (success)" in lines[-1] and "dag.slow[0]" in lines[-1]
    assert "(running)" not in lines[-1]

    _exec(
        meta, "UPDATE task_instance SET state = 'success', end_date = now() WHERE task_id = 'slow'"
    )
    progress.poll()
    # Seen running before, so its end is not announced again; nothing else is active.
    assert "waiting for the scheduler" in lines[-1], lines
    progress.poll()
    assert len(lines) == 3  # no change, no line

    _exec(meta, "INSERT INTO dag_run VALUES ('dag', 'run1', 'failed', now())")
    progress.poll()
    progress.poll()
    assert lines[3:] == ["          run failed: dag run1 (see its task logs)"]
