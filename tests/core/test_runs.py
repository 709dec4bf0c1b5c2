"""Run ids: one format, sortable by start time, unique."""

from __future__ import annotations

import re

from core.runs import new_run_id


def test_format_and_uniqueness() -> None:
    assert re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{8}", new_run_id())
    assert re.fullmatch(
        r"eurostat-urb_cpop1-\d{8}T\d{6}-[0-9a-f]{8}", new_run_id("eurostat", "urb_cpop1")
    )
    assert len({new_run_id() for _ in range(1000)}) == 1000
