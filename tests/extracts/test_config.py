"""config/extracts.yml validation: the shipped file is valid, and each kind of mistake is refused
with an error that names the file, the subscriber and the field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from extracts.config import CONFIG_PATH, ConfigError, load_config, parse_config
from extracts.periods import Interval, due, parse_interval, periods

RAW = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))


def test_shipped_config_is_valid() -> None:
    config = load_config(CONFIG_PATH)
    kinds = {s.kind for s in config.subscribers}
    assert kinds == {"extract", "digest"}


def _broken(edit) -> str:
    raw = copy.deepcopy(RAW)
    edit(raw["subscribers"][0])
    with pytest.raises(ConfigError) as err:
        parse_config(raw, source="config/extracts.yml")
    return str(err.value)


@pytest.mark.parametrize(
    ("edit", "field", "why"),
    [
        (
            lambda s: s["contents"].append({"table": "fct_posts"}),
            "contents[5].table",
            "published_detail only",
        ),
        (
            lambda s: s["contents"].append({"table": "fct_keyword_contexts"}),
            "contents[5].table",
            "published_detail only",
        ),
        (
            lambda s: s["contents"].append({"table": "mart_nowhere"}),
            "contents[5].table",
            "not a published model",
        ),
        (
            lambda s: s["contents"][0].update(columns=["posts", "author"]),
            "contents[0].columns",
            "'author'",
        ),
        (
            lambda s: s["contents"][0].update(filters={"nope": ["x"]}),
            "contents[0].filters",
            "'nope'",
        ),
        (lambda s: s.update(grain="fortnight"), "grain", "Input should be"),
        (lambda s: s.update(schedule="every monday"), "schedule", "not a cron"),
        (lambda s: s.update(languages=["en", "tlh"]), "languages[1]", "no labels"),
        (lambda s: s.update(scope={}), "scope", "countries and/or cities"),
        (
            lambda s: s["deliveries"][0].update(connection="sftp://u:pw@host/"),
            "deliveries.0.connection",
            "environment variable",
        ),
        (
            lambda s: s["deliveries"][0].update(connection="MONITOR_PEPPER"),
            "deliveries.0.connection",
            "environment variable",
        ),
        (
            lambda s: s["deliveries"][0].update(password="hunter2"),
            "deliveries.0.password",
            "Extra inputs",
        ),
        (lambda s: s["deliveries"][1].update(to=["nobody"]), "deliveries.1.to", "not e-mail"),
    ],
)
def test_errors_name_file_subscriber_and_field(edit, field: str, why: str) -> None:
    message = _broken(edit)
    assert message.startswith("config/extracts.yml: ")
    assert "subscriber de_federal_ministry" in message
    assert field in message and why in message, message


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothing\.yml: file not found"):
        load_config(tmp_path / "nothing.yml")


def test_periods_and_due_intervals() -> None:
    from datetime import UTC, date, datetime

    assert due("0 6 2 * *", "month", datetime(2026, 7, 10, tzinfo=UTC)) == Interval(
        date(2026, 6, 1), date(2026, 7, 1)
    )
    # Before the 2nd's run, June is not due yet: May is the latest.
    assert due("0 6 2 * *", "month", datetime(2026, 7, 2, 5, tzinfo=UTC)).start == date(2026, 5, 1)
    assert due("0 7 * * 1", "week", datetime(2026, 7, 8, tzinfo=UTC)) == Interval(
        date(2026, 6, 29), date(2026, 7, 6)
    )
    assert due("0 6 15 1 *", "year", datetime(2027, 3, 1, tzinfo=UTC)).start == date(2026, 1, 1)
    year = periods(parse_interval("2026-01-01/2027-01-01"), "month")
    assert (
        len(year) == 12 and year[0].start == date(2026, 1, 1) and year[-1].end == date(2027, 1, 1)
    )
    assert periods(parse_interval("2026-06-03/2026-06-17"), "week")[0].start == date(2026, 6, 8)
    with pytest.raises(ValueError, match="END must be after START"):
        parse_interval("2026-02-01/2026-01-01")
