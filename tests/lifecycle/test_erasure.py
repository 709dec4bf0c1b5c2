"""Erasure on a built warehouse (real PostgreSQL, real dbt): an author and one more post are
erased; no row of theirs is left in any table of any schema; only their cells were rebuilt;
and the publications equal a full rebuild without their posts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lifecycle import erasure
from monitor import lifecycle, pipeline, transform
from tests.conftest import TEST_PEPPER
from tests.lifecycle.conftest import checksums, query

pytestmark = pytest.mark.slow

SCHEMAS_SKIPPED = ("pg_catalog", "information_schema", "pg_toast")


def _leftovers(url: str, strings: list[str], post_ids: list[int]) -> list[str]:
    """Every column of every table and view that holds one of `strings` (as text) or, for the
    columns named like post_id, one of `post_ids`."""
    cols = query(
        url,
        """
        SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
          AND a.attnum > 0 AND NOT a.attisdropped
          AND n.nspname <> ALL (%s) AND n.nspname NOT LIKE 'pg_%%'
        """,
        (list(SCHEMAS_SKIPPED),),
    )
    found = []
    for schema, table, column, kind in cols:
        rel = f'{schema}."{table}"'
        if kind in ("text", "jsonb", "json", "text[]") or kind.startswith("character"):
            hits = query(
                url,
                f'SELECT count(*) FROM {rel} WHERE "{column}"::text LIKE ANY (%s)',
                ([f"%{s}%" for s in strings],),
            )[0][0]
        elif "post_id" in column and kind in ("bigint", "integer"):
            hits = query(
                url, f'SELECT count(*) FROM {rel} WHERE "{column}" = ANY (%s)', (post_ids,)
            )[0][0]
        else:
            continue
        if hits:
            found.append(f"{schema}.{table}.{column}: {hits}")
    return found


def _cells_xmin(url: str) -> dict[tuple, str]:
    return {
        (c, d, a): x
        for c, d, a, x in query(
            url,
            "SELECT city_code, day, area_id, xmin::text "
            "FROM intermediate.int_city_area_days__summed",
        )
    }


def test_erasing_an_author_and_a_post(built: str) -> None:
    url = built
    (author, n_author), *_ = query(
        url,
        "SELECT author_pseudonym, count(*) FROM raw.posts WHERE city_hint IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
    )
    assert n_author >= 2
    (post_id, source, external_id), *_ = query(
        url,
        "SELECT post_id, source, external_id FROM raw.posts WHERE author_pseudonym <> %s "
        "AND city_hint IS NOT NULL ORDER BY post_id LIMIT 1",
        (author,),
    )
    erased = query(
        url,
        "SELECT post_id, external_id, city_hint, (created_at AT TIME ZONE 'UTC')::date "
        "FROM raw.posts WHERE author_pseudonym = %s OR post_id = %s",
        (author, post_id),
    )
    erased_ids = [r[0] for r in erased]
    external_ids = [r[1] for r in erased]
    want_cells = {(c, d) for _, _, c, d in erased}
    # The keyword samples of their posts were published in full to the detail role.
    assert query(
        url,
        "SELECT count(*) FROM published_detail.fct_keyword_contexts WHERE post_id = ANY (%s)",
        (erased_ids,),
    )[0][0]
    before = _cells_xmin(url)

    request = [erasure.item("author", author), erasure.item("post", f"{source}:{external_id}")]
    started = time.monotonic()
    done = erasure.erase(url, request, pepper=TEST_PEPPER)
    erased_s = time.monotonic() - started
    rebuild = lifecycle.rebuild_erased(url)
    total_s = time.monotonic() - started
    print(
        f"erasure of {done.posts} posts: {erased_s:.2f} s, with rebuild+gate+publish {total_s:.1f} s"
    )

    assert done.posts == n_author + 1 == len(erased_ids)
    assert done.kind == "batch" and done.items == 2
    assert done.deleted["raw.posts"] == done.deleted["raw.post_keys"] == done.posts
    assert (
        done.deleted["marts.fct_posts"] == done.deleted["published_detail.fct_posts"] == done.posts
    )
    assert done.deleted["ml.classified_posts"] > 0

    # Nothing of theirs anywhere: pseudonym, external ids, post ids.
    assert _leftovers(url, [author, *external_ids], erased_ids) == []

    # Only their cells were recomputed: the dbt vars name exactly them, the rows of every other
    # cell are the very rows written before (same xmin), and theirs were rewritten or removed.
    assert {(c, d) for c, d in rebuild.dbt_vars["rebuild_cells"]} == {
        (c, d.isoformat()) for c, d in want_cells
    }
    assert set(rebuild.dbt_vars["rebuild_days"]) == {d.isoformat() for _, d in want_cells}
    after = _cells_xmin(url)
    untouched = {k for k in before if (k[0], k[1]) not in want_cells}
    assert untouched and all(after[k] == before[k] for k in untouched)
    rewritten = {k for k in after if (k[0], k[1]) in want_cells}
    assert all(after[k] != before.get(k) for k in rewritten)
    assert len(after) - len(untouched) == len(rewritten)

    # The log: counts and a hash, no ids; cells deleted once published.
    (status, kind, posts, hash_, gate), *_ = query(
        url,
        "SELECT status, kind, posts, request_hash, gate_run_id FROM ops.erasure_requests "
        "WHERE request_id = %s",
        (done.request_id,),
    )
    assert (status, kind, posts, gate) == ("published", "batch", done.posts, rebuild.gate_run_id)
    assert hash_ == erasure.request_hash(request)
    assert query(url, "SELECT count(*) FROM ops.erasure_cells") == [(0,)]
    assert lifecycle.rebuild_erased(url).request_ids == ()  # nothing pending: no dbt run

    # The publications equal a fresh full build without their posts.
    incremental = (checksums(url, "published"), checksums(url, "published_detail"))
    transform.run_dbt(url, ["build", "--full-refresh"])
    pipeline.publish_marts(url, pipeline.audit(url))
    assert (checksums(url, "published"), checksums(url, "published_detail")) == incremental

    # Erasing again finds nothing and changes nothing.
    again = erasure.erase(url, request, pepper=TEST_PEPPER)
    assert again.posts == 0 and again.cells == []


def test_request_files(built: str, tmp_path: Path) -> None:
    url = built
    (source, external_id, post_id), *_ = query(
        url, "SELECT source, external_id, post_id FROM raw.posts ORDER BY post_id LIMIT 1"
    )
    folder = tmp_path / "requests"
    folder.mkdir()
    (folder / "a.txt").write_text(f"# from the DPO\npost {source}:{external_id}\n\n")
    done = lifecycle.erase_request_files(url, folder, pepper=TEST_PEPPER)
    assert [d["posts"] for d in done] == [1]
    assert not (folder / "a.txt").exists()  # it named a person; the log keeps its hash
    assert query(url, "SELECT count(*) FROM raw.post_keys WHERE post_id = %s", (post_id,)) == [(0,)]
    (folder / "bad.txt").write_text("post without-a-colon\n")
    with pytest.raises(
        erasure.RequestError, match=r"bad.txt: line 1: a post is SOURCE:EXTERNAL_ID"
    ):
        lifecycle.erase_request_files(url, folder, pepper=TEST_PEPPER)
    assert (folder / "bad.txt").exists()


def test_request_lines() -> None:
    items = erasure.parse_lines(["author abc", "post src:at://did:plc:x/post/1", "# note", ""])
    assert items == [
        erasure.Item("author", "abc"),
        erasure.Item("post", "src:at://did:plc:x/post/1"),
    ]
    assert items[1].natural_key() == ("src", "at://did:plc:x/post/1")
    assert erasure.request_hash(items) == erasure.request_hash(list(reversed(items)) * 2)
    with pytest.raises(erasure.RequestError, match="line 1: unknown kind"):
        erasure.parse_lines(["user abc"])


def test_erase_command_refuses_a_bad_item_without_echoing_it() -> None:
    from monitor.cli import main

    with pytest.raises(SystemExit, match=r"^monitor erase: a post is SOURCE:EXTERNAL_ID$"):
        main(["erase", "--post", "someone-private"])
