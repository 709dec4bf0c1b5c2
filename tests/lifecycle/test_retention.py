"""Retention on a built warehouse (real PostgreSQL, real dbt): the text of posts before the
cutoff goes from every table that holds it, month by month, old months are sealed, the log
holds counts only, and an incremental build and a full rebuild afterwards publish the same
aggregates as before the purge."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from extractors.social.file_import import import_file
from lifecycle import retention
from monitor import pipeline, transform
from tests.conftest import TEST_PEPPER
from tests.lifecycle.conftest import checksums, query

pytestmark = pytest.mark.slow


def test_cutoff_is_a_utc_midnight() -> None:
    assert retention.cutoff_for(date(2026, 3, 1), 400) == datetime(2025, 1, 25, tzinfo=UTC)


def test_purge_keeps_every_figure(built: str, tmp_path: Path) -> None:
    url = built
    (first, last), *_ = query(url, "SELECT min(created_at), max(created_at) FROM raw.posts")
    # Cut in the middle of the second month, so that one month is wholly before the cutoff.
    first_month = first.astimezone(UTC).date().replace(day=1)
    cut_day = (first_month + timedelta(days=45)).replace(day=15)
    assert first.astimezone(UTC).date() < cut_day < last.astimezone(UTC).date()
    today = date.today()
    days = (today - cut_day).days
    cutoff = retention.cutoff_for(today, days)
    bi_before = checksums(url, "published")
    detail_before = checksums(url, "published_detail")
    old_posts = query(url, "SELECT count(*) FROM raw.posts WHERE created_at < %s", (cutoff,))[0][0]
    old_contexts = query(
        url,
        "SELECT count(*) FROM ml.post_keywords k JOIN raw.posts p USING (post_id) "
        "WHERE p.created_at < %s",
        (cutoff,),
    )[0][0]
    assert old_posts and old_contexts

    run = retention.purge(url, retention_days=days, today=today)

    assert run.cutoff == cutoff
    assert run.purged["raw.posts"] == old_posts
    assert run.purged["ml.post_keywords"] == old_contexts
    assert run.purged["marts.fct_keyword_contexts"] > 0
    assert run.purged["published_detail.fct_keyword_contexts"] > 0
    assert run.partitions == 2 and run.sealed == 1
    # Text before the cutoff is gone everywhere; after it, it is all there.
    assert query(
        url,
        "SELECT created_at < %s, bool_and(text IS NULL), bool_and(text IS NOT NULL) "
        "FROM raw.posts GROUP BY 1 ORDER BY 1",
        (cutoff,),
    ) == [(False, False, True), (True, True, False)]
    assert query(
        url,
        "SELECT p.created_at < %s, bool_and(k.context IS NULL), bool_and(k.context IS NOT NULL) "
        "FROM ml.post_keywords k JOIN raw.posts p USING (post_id) GROUP BY 1 ORDER BY 1",
        (cutoff,),
    ) == [(False, False, True), (True, True, False)]
    for schema in ("marts", "published_detail"):
        assert query(
            url,
            f"SELECT day < %s, bool_and(context IS NULL), bool_and(context IS NOT NULL) "
            f"FROM {schema}.fct_keyword_contexts GROUP BY 1 ORDER BY 1",
            (cutoff.date(),),
        ) == [(False, False, True), (True, True, False)]
    # The log: cutoff, period and counts; no content.
    (status, logged_cutoff, purged, purged_from, purged_until), *_ = query(
        url,
        "SELECT status, cutoff, purged, purged_from, purged_until FROM ops.retention_runs "
        "WHERE run_id = %s",
        (run.run_id,),
    )
    assert (status, logged_cutoff, purged) == ("succeeded", cutoff, run.purged)
    assert purged_from == first.astimezone(UTC).date() and purged_until < cutoff.date()

    # Nothing BI reads changed, nor any detail figure: only the windows' text went.
    assert checksums(url, "published") == bi_before
    detail_purged = checksums(url, "published_detail")
    assert {t for t in detail_before if detail_before[t] != detail_purged[t]} == {
        "fct_keyword_contexts"
    }
    # An incremental build and a full rebuild publish exactly the same again.
    for args in (["build"], ["build", "--full-refresh"]):
        transform.run_dbt(url, args)
        pipeline.publish_marts(url, pipeline.audit(url))
        assert checksums(url, "published") == bi_before, args
        assert checksums(url, "published_detail") == detail_purged, args

    # A second run skips the sealed month and finds nothing new.
    again = retention.purge(url, retention_days=days, today=today)
    assert again.partitions == 1 and again.sealed == 0
    assert sum(again.purged.values()) == 0
    # A post of a sealed month that lands later never keeps its text.
    late = tmp_path / "late.ndjson"
    created = (first_month + timedelta(days=3)).isoformat() + "T12:00:00Z"
    late.write_text(
        json.dumps(
            {
                "source": "demo_late",
                "platform": "news",
                "external_id": "late-1",
                "created_at": created,
                "author_id": "someone",
                "text": "Ein später Beitrag über Wohnungen in Berlin.",
            }
        )
        + "\n"
    )
    import_file(url, late, pepper=TEST_PEPPER)
    assert query(url, "SELECT text FROM raw.posts WHERE source = 'demo_late'") == [(None,)]
