"""Every classification task over the warehouse, with one shared encoder pass per post.

    classify_warehouse(url) -> {"language": n, "areas": n, "sentiment": n, ...}
    classify_warehouse(url, shard=Shard(1, 4))      # only posts with post_id % 4 = 1

- Registers the current model version of each task in ml.model_versions (one current version
  per task; the previous one stays, no longer current: the marts read the current one only),
  with its measured error rates (ml.classifier_error_rates, from classifiers/heads/
  error_rates.json via the bundle) that the marts correct shares with.
- Picks only posts without a classification of the current version of some task, or whose
  text changed after that classification (raw.posts.updated_at), in bounded batches in post_id
  order (keyset pagination: each batch query starts after the previous batch).
- Shards are disjoint hash buckets of post ids (`post_id % count = index`), so workers classify
  shards in parallel without a global lock. A session advisory lock per shard keeps a retried
  task from running beside an attempt that is still alive; within a batch the posts are claimed
  (row locks on their raw.post_keys rows, SKIP LOCKED), so overlapping selections (shards of a
  changed shard count, `reclassify`) never classify one post in two transactions at once.
- Per batch, one transaction: claim, delete whatever the current versions wrote for those posts
  (a re-run after a crash or a changed text), classify (the encoder runs once per post, only for
  posts that need an embedding task), COPY the rows into ml.*, mark ml.classified_posts.
  A crash loses at most the batch in flight; a re-run continues where it stopped, and the rows
  are keyed by post and model version, so nothing is ever written twice.

`reclassify(url, source=..., since=..., post_ids=...)` classifies a subset again with the current
versions (same batch routine); `activate(url, task, version)` makes a registered version current
again (roll back, compare); `status(url)` reports versions and coverage. All are on the CLI:
`python -m classifiers warehouse classify|reclassify|activate|status`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg2.extensions import cursor as Cursor
from psycopg2.extras import execute_values

from classifiers import error_rates
from classifiers.bundle import EMBEDDING_TASKS, TASKS, Classifier, PostInput, PostResult
from core.copy import copy_rows
from core.db import Role, advisory_lock, connection

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2_000
# One reclassification at a time per database.
RUN_LOCK = "classification"
_WAITING = "another run holds the lock of {}; waiting for it"


@dataclass(frozen=True)
class Shard:
    """The posts with post_id % count = index."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 0 <= index < count")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def lock(self) -> str:
        return f"classification:shard:{self}"


def shards(count: int) -> list[Shard]:
    """Every shard of a split into `count`: together they cover each post exactly once."""
    return [Shard(i, count) for i in range(count)]


Row = tuple[Any, ...]
OUTPUTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "language": ("ml.post_languages", ("post_id", "model_version", "lang", "confidence")),
    "areas": ("ml.post_areas", ("post_id", "model_version", "area_id", "score")),
    "sentiment": (
        "ml.post_sentiment",
        ("post_id", "model_version", "sentiment", "score", "p_negative", "p_neutral", "p_positive"),
    ),
    "hate": ("ml.post_hate", ("post_id", "model_version", "is_hate", "probability")),
    "cities": (
        "ml.post_cities",
        ("post_id", "model_version", "city_code", "from_text", "from_hashtag", "from_source"),
    ),
    "keywords": (
        "ml.post_keywords",
        ("post_id", "model_version", "position", "keyword", "kind", "label", "context"),
    ),
}


def output_rows(task: str, post_id: int, version: str, res: PostResult) -> list[Row]:
    if task == "language":
        return [(post_id, version, res.lang, res.lang_confidence)]
    if task == "areas":
        return [(post_id, version, a, res.area_scores[a]) for a in res.areas]
    if task == "sentiment":
        p = res.sentiment_proba
        return [
            (post_id, version, res.sentiment, res.sentiment_score,
             p["negative"], p["neutral"], p["positive"])
        ]  # fmt: skip
    if task == "hate":
        return [(post_id, version, res.hate, res.hate_score)]
    if task == "cities":
        return [
            (post_id, version, c.code, c.from_text, c.from_hashtag, c.from_source)
            for c in res.cities
        ]
    if task == "keywords":
        return [
            (post_id, version, k.start, k.keyword, k.kind, k.label, k.context) for k in res.keywords
        ]
    raise ValueError(f"unknown task {task!r}")


def register(cur: Cursor, clf: Classifier, tasks: Iterable[str]) -> None:
    """Register each task's version and make it the current one (previous versions stay), with
    its measured error rates (ml.classifier_error_rates) when the bundle has them."""
    for task in tasks:
        version = clf.versions[task]
        cur.execute(
            "INSERT INTO ml.model_versions (task, model_version, description) VALUES (%s, %s, %s) "
            "ON CONFLICT (task, model_version) DO NOTHING",
            (task, version, clf.descriptions[task][:1000]),
        )
        # two statements: the partial unique index allows one current row per task at a time
        cur.execute(
            "UPDATE ml.model_versions SET is_current = false "
            "WHERE task = %s AND is_current AND model_version <> %s",
            (task, version),
        )
        cur.execute(
            "UPDATE ml.model_versions SET is_current = true "
            "WHERE task = %s AND model_version = %s AND NOT is_current",
            (task, version),
        )
        rows = clf.error_rates.get(task, [])
        if rows:
            # a re-evaluation of the same version replaces its counts
            execute_values(
                cur,
                f"INSERT INTO ml.classifier_error_rates ({', '.join(error_rates.COLUMNS)}) "
                "VALUES %s ON CONFLICT (task, model_version, class, lang) DO UPDATE SET "
                + ", ".join(f"{c} = EXCLUDED.{c}" for c in error_rates.COLUMNS[4:]),
                rows,
            )


def _process_batch(
    cur: Cursor,
    clf: Classifier,
    posts: list[tuple[int, str, str | None, str | None, str | None]],
    pending: list[set[str]],
    batch_size: int | None,
) -> dict[str, int]:
    """Classify one batch and replace the current versions' rows of its posts, in `cur`'s
    transaction. posts: (post_id, text, lang_hint, city_hint, country_hint)."""
    needed = set().union(*pending) if pending else set()
    results = clf.classify(
        [PostInput(text, lang, city, country) for _, text, lang, city, country in posts],
        needed,
        embed_mask=[bool(p & EMBEDDING_TASKS) for p in pending],
        batch_size=batch_size,
    )
    counts: dict[str, int] = {}
    for task in TASKS:
        ids = [post[0] for post, p in zip(posts, pending, strict=True) if task in p]
        if not ids:
            continue
        version = clf.versions[task]
        table, columns = OUTPUTS[task]
        cur.execute(
            f"DELETE FROM {table} WHERE model_version = %s AND post_id = ANY(%s)", (version, ids)
        )
        cur.execute(
            "DELETE FROM ml.classified_posts WHERE task = %s AND model_version = %s "
            "AND post_id = ANY(%s)",
            (task, version, ids),
        )
        copy_rows(
            cur,
            table,
            columns,
            (
                row
                for post, p, res in zip(posts, pending, results, strict=True)
                if task in p
                for row in output_rows(task, post[0], version, res)
            ),
        )
        copy_rows(
            cur,
            "ml.classified_posts",
            ("task", "model_version", "post_id"),
            ((task, version, i) for i in ids),
        )
        counts[task] = len(ids)
    return counts


# Posts whose text retention purged (NULL, lifecycle.retention) keep the classifications they
# had: there is nothing left to classify.
_PENDING_SQL = """
SELECT p.post_id, p.text, p.lang_hint, p.city_hint, p.country_hint, d.done
FROM raw.posts p
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(c.task), '{}') AS done
    FROM ml.classified_posts c
    JOIN unnest(%(tasks)s::text[], %(versions)s::text[]) AS t (task, version)
        ON c.task = t.task AND c.model_version = t.version
    WHERE c.post_id = p.post_id AND (p.updated_at IS NULL OR c.classified_at >= p.updated_at)
) d
JOIN raw.post_keys k ON k.post_id = p.post_id
WHERE p.post_id > %(after)s AND p.post_id %% %(count)s = %(index)s
    AND cardinality(d.done) < %(n)s AND p.text IS NOT NULL
ORDER BY p.post_id
LIMIT %(limit)s
FOR NO KEY UPDATE OF k SKIP LOCKED
"""


# Done-ness read again once the batch is claimed: in READ COMMITTED each statement sees what
# committed before it started, so a post another transaction finished while the batch query
# ran is dropped here rather than classified a second time.
_DONE_SQL = """
SELECT c.post_id, array_agg(c.task)
FROM ml.classified_posts c
JOIN unnest(%(tasks)s::text[], %(versions)s::text[]) AS t (task, version)
    ON c.task = t.task AND c.model_version = t.version
JOIN raw.posts p ON p.post_id = c.post_id
WHERE c.post_id = ANY(%(ids)s) AND (p.updated_at IS NULL OR c.classified_at >= p.updated_at)
GROUP BY c.post_id
"""


def _resolve(clf: Classifier | None, tasks: Iterable[str] | None) -> tuple[Classifier, list[str]]:
    tasks = list(tasks or TASKS)
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise ValueError(f"unknown tasks {unknown}; known: {', '.join(TASKS)}")
    return clf or Classifier(), [t for t in TASKS if t in tasks]


def _reporter(label: str) -> Callable[[dict[str, int], int], None]:
    started = time.monotonic()

    def report(counts: dict[str, int], posts: int) -> None:
        rate = posts / max(time.monotonic() - started, 1e-9)
        log.info("%s: %d posts (%.0f posts/s), per task %s", label, posts, rate, counts)

    return report


def register_versions(
    url: str, *, tasks: Iterable[str] | None = None, classifier: Classifier | None = None
) -> dict[str, str]:
    """Make the current classifier's versions current (once, before shards start); return them."""
    clf, tasks = _resolve(classifier, tasks)
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        register(cur, clf, tasks)
    return {t: clf.versions[t] for t in tasks}


def classify_warehouse(
    url: str,
    *,
    shard: Shard = Shard(),
    batch_size: int = DEFAULT_BATCH_SIZE,
    limit: int | None = None,
    tasks: Iterable[str] | None = None,
    classifier: Classifier | None = None,
) -> dict[str, int]:
    """Run every task (or `tasks`) on the posts of `shard` (default: all) that need it; return
    task -> posts classified now. `limit` bounds the posts looked at in this call (the rest
    waits for the next)."""
    clf, tasks = _resolve(classifier, tasks)
    counts = dict.fromkeys(tasks, 0)
    report = _reporter(f"classify_warehouse shard {shard}")
    seen = 0
    with advisory_lock(url, shard.lock, on_wait=_WAITING.format(f"shard {shard}")):
        with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
            register(cur, clf, tasks)
        params = {"tasks": tasks, "versions": [clf.versions[t] for t in tasks]}
        after = 0
        while limit is None or seen < limit:
            size = batch_size if limit is None else min(batch_size, limit - seen)
            with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
                cur.execute(
                    _PENDING_SQL,
                    {
                        **params,
                        "after": after,
                        "index": shard.index,
                        "count": shard.count,
                        "n": len(tasks),
                        "limit": size,
                    },
                )
                batch = cur.fetchall()
                if not batch:
                    break
                cur.execute(_DONE_SQL, {**params, "ids": [b[0] for b in batch]})
                done = {post_id: set(tasks_done) for post_id, tasks_done in cur.fetchall()}
                todo = [
                    (b[:5], set(tasks) - done.get(b[0], set()))
                    for b in batch
                    if set(tasks) - done.get(b[0], set())
                ]
                done_now = (
                    _process_batch(cur, clf, [t[0] for t in todo], [t[1] for t in todo], None)
                    if todo
                    else {}
                )
            for task, n in done_now.items():
                counts[task] += n
            seen += len(batch)
            after = batch[-1][0]
            report(counts, seen)
    return counts


def reclassify(
    url: str,
    *,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    post_ids: Sequence[int] | None = None,
    tasks: Iterable[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    classifier: Classifier | None = None,
) -> dict[str, int]:
    """Classify the selected posts again with the current versions (their current rows are
    replaced batch by batch, atomically). At least one filter is required."""
    if source is None and since is None and until is None and post_ids is None:
        raise ValueError("reclassify needs a subset: source, since, until or post_ids")
    clf, tasks = _resolve(classifier, tasks)
    where, params = ["p.post_id > %s", "p.text IS NOT NULL"], []
    if source is not None:
        where.append("p.source = %s")
        params.append(source)
    if since is not None:
        where.append("p.created_at >= %s")
        params.append(since)
    if until is not None:
        where.append("p.created_at < %s")
        params.append(until)
    if post_ids is not None:
        where.append("p.post_id = ANY(%s)")
        params.append(list(post_ids))
    # Waits for (never skips) posts a shard has claimed: every selected post is redone.
    query = (
        "SELECT p.post_id, p.text, p.lang_hint, p.city_hint, p.country_hint FROM raw.posts p "
        "JOIN raw.post_keys k ON k.post_id = p.post_id "
        f"WHERE {' AND '.join(where)} ORDER BY p.post_id LIMIT %s FOR NO KEY UPDATE OF k"
    )
    counts = dict.fromkeys(tasks, 0)
    report = _reporter("reclassify")
    seen = 0
    with advisory_lock(url, RUN_LOCK, on_wait=_WAITING.format("reclassification")):
        with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
            register(cur, clf, tasks)
        after = 0
        while True:
            with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
                cur.execute(query, [after, *params, batch_size])
                batch = cur.fetchall()
                if not batch:
                    break
                done_now = _process_batch(cur, clf, batch, [set(tasks) for _ in batch], None)
            for task, n in done_now.items():
                counts[task] += n
            seen += len(batch)
            after = batch[-1][0]
            report(counts, seen)
    return counts


def status(url: str) -> dict[str, Any]:
    """Per task: the current version, when it was registered, posts it covers, posts in all."""
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM raw.posts")
        total = cur.fetchone()[0]
        cur.execute(
            """
            SELECT v.task, v.model_version, v.registered_at,
                   (SELECT count(*) FROM ml.classified_posts c
                    WHERE c.task = v.task AND c.model_version = v.model_version)
            FROM ml.model_versions v WHERE v.is_current ORDER BY v.task
            """
        )
        current = {
            task: {"model_version": version, "registered_at": str(at), "posts": n}
            for task, version, at, n in cur.fetchall()
        }
    return {"posts": total, "current": current}


def activate(url: str, task: str, version: str, *, force: bool = False) -> None:
    """Make a registered version of `task` current. Refuses when that version has not classified
    every post (the marts would silently lose posts) unless `force`."""
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT 1 FROM ml.model_versions WHERE task = %s AND model_version = %s",
            (task, version),
        )
        if cur.fetchone() is None:
            raise ValueError(f"{task} version {version!r} is not registered in ml.model_versions")
        cur.execute(
            "SELECT count(*) FROM raw.posts p WHERE NOT EXISTS (SELECT 1 FROM ml.classified_posts c"
            " WHERE c.task = %s AND c.model_version = %s AND c.post_id = p.post_id)",
            (task, version),
        )
        missing = cur.fetchone()[0]
        if missing and not force:
            raise ValueError(
                f"{task} version {version!r} has not classified {missing} posts; the marts would "
                "lose them. Classify with that version first, or pass force=True (--force)."
            )
        cur.execute(
            "UPDATE ml.model_versions SET is_current = false WHERE task = %s AND is_current",
            (task,),
        )
        cur.execute(
            "UPDATE ml.model_versions SET is_current = true WHERE task = %s AND model_version = %s",
            (task, version),
        )
