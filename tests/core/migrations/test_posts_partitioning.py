"""raw.posts partitioned by month (migration 0009): partitions appear for the months that need
them, every post sits in its month's partition, and the guarantees of the unpartitioned table
hold - natural-key idempotence, edit by content hash, exact coverage counts, erasure cascading
to the classifier rows - also for a database migrated from 0008 with rows in it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import psycopg2.errors
import pytest

from core.db import Role, connect, connection
from core.migrate import available, migrate
from extractors.social.landing import (
    ImportStats,
    copy_batch,
    draw_ids,
    land,
    land_batch,
    land_posts,
    start_run,
)
from extractors.social.records import Post


def _post(ext: str, when: datetime, text: str = "Wohnungsmarkt in Berlin", **kw) -> Post:
    fields = {
        "source": "m_test",
        "external_id": ext,
        "platform": "mastodon",
        "created_at": when,
        "author_pseudonym": kw.get("author", "a" * 32),
        "text": text,
        "lang_hint": "de",
        "city_hint": "DE001C",
        "country_hint": "DE",
        "payload": {},
        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
    }
    return Post(**fields)


def _rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with connection(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _land(url: str, posts: list[Post], *, direct: bool = False) -> ImportStats:
    stats = ImportStats(start_run(url, source="m_test", location="test"))
    with connection(url, role=Role.LOADER) as conn:
        ids = draw_ids(conn, len(posts)) if direct else None
        land(conn, stats, "m_test", copy_batch(posts, stats.run_id, ids), [], direct=direct)
    return stats


JUL = datetime(2026, 7, 14, 9, 30, tzinfo=UTC)
AUG = datetime(2026, 8, 1, 0, 0, tzinfo=UTC)  # first instant of August: August's partition
JUL_LAST = datetime(2026, 7, 31, 23, 59, 59, tzinfo=UTC)
OLD = datetime(2019, 2, 3, 4, 5, tzinfo=UTC)

PLACEMENT = """
SELECT p.external_id, p.tableoid::regclass::text, pg_get_expr(c.relpartbound, c.oid)
FROM raw.posts p JOIN pg_class c ON c.oid = p.tableoid ORDER BY 1
"""


def _partitions(url: str) -> list[str]:
    return [
        r[0]
        for r in _rows(
            url,
            "SELECT i.inhrelid::regclass::text FROM pg_inherits i "
            "WHERE i.inhparent = 'raw.posts'::regclass ORDER BY 1",
        )
    ]


@pytest.mark.parametrize("direct", [True, False], ids=["copy", "upsert"])
def test_posts_land_in_their_months_partition(warehouse_url: str, direct: bool) -> None:
    assert _partitions(warehouse_url) == []
    stats = _land(
        warehouse_url,
        [_post("1", JUL), _post("2", JUL_LAST), _post("3", AUG), _post("4", OLD)],
        direct=direct,
    )
    assert stats.inserted == 4
    assert _partitions(warehouse_url) == [
        "raw.posts_2019_02",
        "raw.posts_2026_07",
        "raw.posts_2026_08",
    ]
    assert _rows(warehouse_url, PLACEMENT) == [
        ("1", "raw.posts_2026_07", "FOR VALUES FROM ('2026-07-01 00:00:00+00') TO ('2026-08-01 00:00:00+00')"),
        ("2", "raw.posts_2026_07", "FOR VALUES FROM ('2026-07-01 00:00:00+00') TO ('2026-08-01 00:00:00+00')"),
        ("3", "raw.posts_2026_08", "FOR VALUES FROM ('2026-08-01 00:00:00+00') TO ('2026-09-01 00:00:00+00')"),
        ("4", "raw.posts_2019_02", "FOR VALUES FROM ('2019-02-01 00:00:00+00') TO ('2019-03-01 00:00:00+00')"),
    ]  # fmt: skip
    # Every post has its registry row, with the same key and created_at.
    assert _rows(
        warehouse_url,
        "SELECT count(*) FROM raw.posts p JOIN raw.post_keys k "
        "USING (post_id, source, external_id, created_at)",
    ) == [(4,)]
    # A month query reads its partition only.
    plan = "\n".join(
        r[0]
        for r in _rows(
            warehouse_url,
            "EXPLAIN SELECT count(*) FROM raw.posts WHERE created_at >= '2026-07-01T00:00Z' "
            "AND created_at < '2026-08-01T00:00Z'",
        )
    )
    assert "posts_2026_07" in plan and "posts_2026_08" not in plan and "posts_2019_02" not in plan


def test_partition_indexes_and_owner(warehouse_url: str) -> None:
    _land(warehouse_url, [_post("1", JUL)])
    indexes = _rows(
        warehouse_url,
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'raw' AND tablename = 'posts_2026_07' "
        "ORDER BY 1",
    )
    defs = " | ".join(r[0] for r in indexes)
    assert "USING brin (created_at)" in defs
    assert "UNIQUE INDEX posts_2026_07_pkey" in defs and "(post_id, created_at)" in defs
    assert "USING btree (created_at)" not in defs  # dropped by 0013: pruning + BRIN serve ranges
    # Created through the SECURITY DEFINER function: the loader owns it whoever called.
    assert _rows(
        warehouse_url, "SELECT tableowner FROM pg_tables WHERE tablename = 'posts_2026_07'"
    ) == [("monitor_loader",)]


def test_reimport_is_idempotent_and_edits_update_by_hash(warehouse_url: str) -> None:
    first = [_post(str(i), JUL if i % 2 else AUG) for i in range(10)]
    stats = _land(warehouse_url, first, direct=True)
    assert (stats.inserted, stats.updated, stats.unchanged) == (10, 0, 0)
    ids = _rows(
        warehouse_url,
        "SELECT external_id, post_id, tableoid::regclass::text FROM raw.posts ORDER BY 1",
    )
    coverage = _rows(warehouse_url, "SELECT posts_total FROM raw.source_coverage")
    daily = _rows(warehouse_url, "SELECT day, posts FROM raw.source_coverage_daily ORDER BY 1")
    assert coverage == [(10,)] and daily == [(JUL.date(), 5), (AUG.date(), 5)]

    # The same interval again, once through the direct COPY attempt and once by upsert.
    for direct in (True, False):
        again = _land(warehouse_url, first, direct=direct)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 10)

    # Edited posts (new text, new hash) update in place; one of them also comes back with a
    # corrected created_at in another month: still one row, same id, same partition.
    edited = [_post("3", JUL, "Wohnungsmarkt in Berlin (korrigiert)"),
              _post("4", OLD, "Wohnungsmarkt in Hamburg"),
              _post("10", JUL)]  # fmt: skip
    stats = _land(warehouse_url, edited, direct=True)
    assert (stats.inserted, stats.updated, stats.unchanged) == (1, 2, 0)
    after = _rows(
        warehouse_url,
        "SELECT external_id, post_id, tableoid::regclass::text FROM raw.posts ORDER BY 1",
    )
    assert [r for r in after if r[0] != "10"] == ids
    assert _rows(
        warehouse_url,
        "SELECT text, created_at, updated_at IS NOT NULL FROM raw.posts WHERE external_id = '4'",
    ) == [("Wohnungsmarkt in Hamburg", AUG, True)]
    assert "raw.posts_2019_02" not in _partitions(warehouse_url) or _rows(
        warehouse_url, "SELECT count(*) FROM raw.posts_2019_02"
    ) == [(0,)]
    # Coverage counts only what was inserted: the edits add nothing.
    assert _rows(warehouse_url, "SELECT posts_total FROM raw.source_coverage") == [(11,)]
    assert _rows(warehouse_url, "SELECT day, posts FROM raw.source_coverage_daily ORDER BY 1") == [
        (JUL.date(), 6),
        (AUG.date(), 5),
    ]
    assert _rows(warehouse_url, "SELECT count(*), count(DISTINCT post_id) FROM raw.post_keys") == [
        (11, 11)
    ]


def _classify(url: str) -> None:
    """Classifier rows for every post, as classifiers.warehouse writes them."""
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO ml.model_versions (task, model_version, description, is_current) "
            "VALUES ('language', 't1', 'test', true) ON CONFLICT DO NOTHING"
        )
        cur.execute(
            "INSERT INTO ml.classified_posts (task, model_version, post_id) "
            "SELECT 'language', 't1', post_id FROM raw.posts"
        )
        cur.execute(
            "INSERT INTO ml.post_languages (post_id, model_version, lang, confidence) "
            "SELECT post_id, 't1', 'de', 0.9 FROM raw.posts"
        )


def _ml_posts(url: str) -> list[str]:
    return [
        r[0]
        for r in _rows(
            url,
            "SELECT k.external_id FROM ml.post_languages l JOIN raw.post_keys k USING (post_id) "
            "JOIN ml.classified_posts c USING (post_id) ORDER BY 1",
        )
    ]


def test_erasure_cascades_to_keys_and_classifier_rows(warehouse_url: str) -> None:
    posts = [_post("1", JUL), _post("2", AUG), _post("3", OLD, author="b" * 32), _post("4", JUL),
             _post("5", AUG, author="b" * 32), _post("6", OLD)]  # fmt: skip
    _land(warehouse_url, posts, direct=True)
    _classify(warehouse_url)
    assert _ml_posts(warehouse_url) == ["1", "2", "3", "4", "5", "6"]
    with connection(warehouse_url, role=Role.LOADER) as conn, conn.cursor() as cur:
        # One post, deleted where its text is.
        cur.execute("DELETE FROM raw.posts WHERE external_id = '1'")
        # An author: every post of the pseudonym, in whichever partition.
        cur.execute("DELETE FROM raw.posts WHERE author_pseudonym = %s", ("b" * 32,))
        # A post deleted by its key.
        cur.execute("DELETE FROM raw.post_keys WHERE external_id = '2'")
    assert _ml_posts(warehouse_url) == ["4", "6"]
    assert _rows(warehouse_url, "SELECT external_id FROM raw.posts ORDER BY 1") == [("4",), ("6",)]
    assert _rows(warehouse_url, "SELECT external_id FROM raw.post_keys ORDER BY 1") == [
        ("4",),
        ("6",),
    ]
    # An erased post that is published again lands as a new post.
    stats = _land(warehouse_url, [_post("1", JUL)], direct=True)
    assert stats.inserted == 1

    # Retention: a month goes with its keys and classifier rows; other months stay.
    with connection(warehouse_url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute("SELECT raw.drop_posts_month('2026-07-01')")
        assert cur.fetchone() == (2,)
    assert "raw.posts_2026_07" not in _partitions(warehouse_url)
    assert _ml_posts(warehouse_url) == ["6"]
    assert _rows(warehouse_url, "SELECT external_id FROM raw.post_keys ORDER BY 1") == [("6",)]
    # The month comes back when a post of it lands again.
    assert _land(warehouse_url, [_post("7", JUL)]).inserted == 1
    assert "raw.posts_2026_07" in _partitions(warehouse_url)

    # Emptying raw.posts empties the registry and the classifier rows with it.
    with connection(warehouse_url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE raw.posts")
    assert _rows(warehouse_url, "SELECT count(*) FROM raw.post_keys") == [(0,)]
    assert _ml_posts(warehouse_url) == []


def test_keys_guard_the_posts(warehouse_url: str) -> None:
    """The database itself refuses a post row that disagrees with its registry row, and a month
    without partition fails with a clear error."""
    _land(warehouse_url, [_post("1", JUL)])
    columns = "post_id, source, external_id, platform, created_at, text, content_hash, run_id"
    copy_of_1 = (
        f"INSERT INTO raw.posts ({columns}) SELECT post_id, source, external_id, platform, "
        "created_at + %s::interval, text, content_hash, run_id FROM raw.posts"
    )
    for shift in ("1 day", "0"):  # same id in the same month again / under another created_at
        with (
            pytest.raises((psycopg2.errors.UniqueViolation, psycopg2.errors.ForeignKeyViolation)),
            connection(warehouse_url, role=Role.LOADER) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(copy_of_1, (shift,))
    with (
        pytest.raises(psycopg2.errors.CheckViolation, match="no partition of relation"),
        connection(warehouse_url, role=Role.LOADER) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(copy_of_1, ("400 days",))


def test_references_are_checked_per_statement(warehouse_url: str) -> None:
    """Migration 0012 checks raw.posts' references once per statement: a row without its
    registry row or naming an unknown run fails the whole statement with a foreign-key error
    that says which row, registry rows cannot change, and an upsert locks the keys it lands
    under like a foreign key (a concurrent erasure waits for it)."""
    _land(warehouse_url, [_post("1", JUL)])
    columns = "post_id, source, external_id, platform, created_at, text, content_hash, run_id"
    with connection(warehouse_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT run_id FROM raw.posts")
        (run_id,) = cur.fetchone()
    rows = "(%s, 'm_test', %s, 'mastodon', %s, 't', 'h', %s)"
    cases = [
        # a good row beside one whose post_id has no key (the message names it), with a known
        # run and with an unknown one (the key is checked first): nothing of the statement lands
        ([(10**9, "x", JUL, run_id)], "post_id 1000000000, source m_test, external_id x"),
        ([(10**9, "x", JUL, "no-such-run")], r"has no matching row in raw\.post_keys"),
    ]
    for values, message in cases:
        with (
            pytest.raises(psycopg2.errors.ForeignKeyViolation, match=message),
            connection(warehouse_url, role=Role.LOADER) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(
                "INSERT INTO raw.post_keys (post_id, source, external_id, created_at) "
                "VALUES (2000000000, 'm_test', 'ok', %s)",
                (JUL,),
            )
            cur.execute(
                f"INSERT INTO raw.posts ({columns}) VALUES {rows}, {rows}",
                (2000000000, "ok", JUL, run_id, *values[0]),
            )
    # A row whose key exists but whose run does not.
    with (
        pytest.raises(psycopg2.errors.ForeignKeyViolation, match="run_id no-such-run, which is"),
        connection(warehouse_url, role=Role.LOADER) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("UPDATE raw.posts SET run_id = 'no-such-run'")
    with (
        pytest.raises(psycopg2.errors.ForeignKeyViolation, match=r"raw\.post_keys rows do not"),
        connection(warehouse_url, role=Role.LOADER) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("UPDATE raw.post_keys SET created_at = created_at + interval '1 day'")
    assert _rows(warehouse_url, "SELECT count(*) FROM raw.posts") == [(1,)]
    assert _rows(warehouse_url, "SELECT count(*) FROM raw.post_keys") == [(1,)]

    # An erasure waits for a concurrent edit of the same post, then removes it.
    stats = ImportStats(start_run(warehouse_url, source="m_test", location="test"))
    edit = connect(warehouse_url)
    eraser = connect(warehouse_url)
    try:
        with edit.cursor() as cur:
            cur.execute(f"SET ROLE {Role.LOADER}")
        land(edit, stats, "m_test", copy_batch([_post("1", JUL, "edited")], stats.run_id), [])
        assert stats.updated == 1
        # The key row itself is locked (FOR KEY SHARE), not only the updated post row.
        with pytest.raises(psycopg2.errors.LockNotAvailable), eraser.cursor() as cur:
            cur.execute("SELECT 1 FROM raw.post_keys WHERE external_id = '1' FOR UPDATE NOWAIT")
        eraser.rollback()
        with (
            pytest.raises(psycopg2.errors.LockNotAvailable),
            eraser.cursor() as cur,
        ):
            cur.execute("SET lock_timeout = '300ms'")
            cur.execute("DELETE FROM raw.post_keys WHERE external_id = '1'")
        eraser.rollback()
        edit.commit()
        with eraser.cursor() as cur:  # after the edit commits, the erasure goes through
            cur.execute("DELETE FROM raw.post_keys WHERE external_id = '1'")
        eraser.commit()
    finally:
        edit.close()
        eraser.close()
    assert _rows(warehouse_url, "SELECT count(*) FROM raw.posts") == [(0,)]


def test_landing_posts_in_many_months_in_one_batch(warehouse_url: str) -> None:
    stamps = [datetime(2020 + i // 12, i % 12 + 1, 15, tzinfo=UTC) for i in range(30)]
    run_id = start_run(warehouse_url, source="m_test", location="test")
    with connection(warehouse_url, role=Role.LOADER) as conn:
        assert land_posts(conn, run_id, [_post(str(i), t) for i, t in enumerate(stamps)]) == (
            30,
            0,
            0,
        )
    assert len(_partitions(warehouse_url)) == 30
    assert _rows(
        warehouse_url,
        "SELECT count(*) FROM raw.posts p WHERE p.tableoid::regclass::text = "
        "'raw.posts_' || to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY_MM')",
    ) == [(30,)]


def test_migrating_a_0008_database_with_rows(fresh_database: str) -> None:
    """An existing database (migrations up to 0008, posts and classifier rows) migrates: same
    post ids, same rows and counts, ids continue after the highest ever handed out, the
    guarantees hold afterwards."""
    url = fresh_database
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE public.schema_migrations (version text PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for path in available():
            if path.stem >= "0009":
                break
            cur.execute(path.read_text())
            cur.execute("INSERT INTO public.schema_migrations (version) VALUES (%s)", (path.stem,))
    conn.commit()
    conn.close()
    posts = [_post(str(i), [JUL, AUG, OLD][i % 3], f"Post {i}") for i in range(30)]
    stats = ImportStats(start_run(url, source="m_test", location="before"))
    # The 0008 landing, as it was: rows straight into the unpartitioned table.
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        for p in posts:
            cur.execute(
                "INSERT INTO raw.posts (source, external_id, platform, created_at, "
                "author_pseudonym, text, lang_hint, city_hint, country_hint, content_hash, run_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (*p[:9], p.content_hash, stats.run_id),
            )
        cur.execute("DELETE FROM raw.posts WHERE external_id IN ('28', '29')")  # ids 29, 30 gone
    _classify(url)
    snapshot = "SELECT post_id, source, external_id, created_at, text, content_hash FROM raw.posts ORDER BY 1"
    before = _rows(url, snapshot)
    assert len(before) == 28 and before[-1][0] == 28

    assert migrate(url)[0] == "0009_posts_partitioned_by_month"
    assert _rows(url, snapshot) == before
    assert _rows(
        url, "SELECT post_id, source, external_id, created_at FROM raw.post_keys ORDER BY 1"
    ) == [r[:4] for r in before]
    assert _partitions(url) == ["raw.posts_2019_02", "raw.posts_2026_07", "raw.posts_2026_08"]
    assert _rows(
        url, "SELECT tableoid::regclass::text, count(*) FROM raw.posts GROUP BY 1 ORDER BY 1"
    ) == [("raw.posts_2019_02", 9), ("raw.posts_2026_07", 10), ("raw.posts_2026_08", 9)]
    assert len(_ml_posts(url)) == 28
    assert _rows(
        url,
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
        "AND confrelid = 'raw.post_keys'::regclass AND connamespace = 'ml'::regnamespace",
    ) == [(7,)]
    assert {
        r[0] for r in _rows(url, "SELECT indexname FROM pg_indexes WHERE tablename = 'posts'")
    } == {
        "posts_pkey",
        "posts_created_at_brin",
    }

    # Re-reading the old posts adds nothing; a new post gets an id after the deleted 29 and 30.
    again = _land(url, [*posts[:28], _post("new", JUL)])  # upsert: draws no id for old keys
    assert (again.inserted, again.unchanged) == (1, 28)
    assert _rows(url, "SELECT post_id FROM raw.posts WHERE external_id = 'new'") == [(31,)]
    # Erasure still reaches the classifier rows.
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM raw.posts WHERE external_id = '0'")
    assert "0" not in _ml_posts(url) and len(_ml_posts(url)) == 27


def test_direct_copy_with_ids_not_in_one_range(warehouse_url: str) -> None:
    """The ids a batch draws are normally one range (sent back as its bounds); when they are not
    (another writer drew in between - here forced by a sequence step of 2), they come back one
    by one and the posts still land under exactly the ids drawn."""
    with connection(warehouse_url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('raw.post_keys', 'post_id'), 100); "
            "ALTER TABLE raw.post_keys ALTER COLUMN post_id SET INCREMENT BY 2"
        )
    stats = _land(warehouse_url, [_post(str(i), JUL) for i in range(5)], direct=True)
    assert stats.inserted == 5
    assert _rows(warehouse_url, "SELECT post_id FROM raw.posts ORDER BY 1") == [
        (102,),
        (104,),
        (106,),
        (108,),
        (110,),
    ]
    assert _rows(warehouse_url, "SELECT post_id FROM raw.post_keys ORDER BY 1") == [
        (i,) for i in range(102, 111, 2)
    ]


def test_direct_copy_needs_enough_post_ids(warehouse_url: str) -> None:
    posts = [_post(str(i), JUL) for i in range(3)]
    with pytest.raises(ValueError, match="3 posts but only 2 post ids"):
        copy_batch(posts, "run", range(2))
    with (
        connection(warehouse_url, role=Role.LOADER) as conn,
        pytest.raises(ValueError, match="needs post ids"),
    ):
        land_batch(conn, "run", copy_batch(posts, "run"), direct=True)
    assert _rows(warehouse_url, "SELECT count(*) FROM raw.post_keys") == [(0,)]
