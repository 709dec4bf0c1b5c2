"""Warehouse benchmark: incremental build vs full rebuild, full refresh, dashboard query p95.

    .venv/bin/python -m bench.warehouse --posts 10000000 [--increment 100000] [--keep]

Posts come from the demo generator and are COPYed straight into raw.posts (text as generated,
authors pseudonymised); the classifier outputs (language, areas, sentiment, hate, keywords) are
bulk-derived from the generator's ground-truth labels ("oracle classifications", model versions
`oracle-labels`) - classifying 10M posts is the classifier benchmark's job, not this one's.
Figures go to stdout as JSON; docs/benchmarks.md "Warehouse" records a run.

`load_oracle_classifications` is also what tests/dbt use to give the marts known sentiment,
hate and keyword inputs.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from core.db import Role
from core.text import fold
from demo.generate import DEFAULT_DAYS, DEFAULT_START, _Generator, load_keywords

log = logging.getLogger("bench.warehouse")

ORACLE_VERSION = "oracle-labels"
# Probabilities exactly representable as float4: polarity is +-0.625 or 0.
P_MAIN, P_OTHER = 0.75, 0.125
POLARITY = {"negative": -0.625, "neutral": 0.0, "positive": 0.625}
ORACLE_TASKS = ("sentiment", "hate", "keywords")


class OracleKeywords:
    """Taxonomy keywords of the post's labelled areas found in its text (the generator's rule:
    NFC + casefold, no word character before or after), first occurrence, 60-character KWIC."""

    def __init__(self) -> None:
        # (lang, area) -> [(keyword, its first word, regex)]: a post only looks at its areas.
        self.by_area: dict[tuple[str, str], list[tuple[str, str, re.Pattern[str]]]] = {}
        for lang, by_area in load_keywords().items():
            for area, kws in by_area.items():
                self.by_area[(lang, area)] = [
                    (k, k.split()[0], re.compile(r"(?<!\w)" + re.escape(k) + r"(?!\w)"))
                    for k in map(fold, kws)
                ]

    def find(self, text: str, lang: str, areas: Iterable[str]) -> list[tuple[int, str, str, str]]:
        norm = fold(text)
        out = []
        for area in dict.fromkeys(areas):
            for kw, first_word, rx in self.by_area.get((lang, area), ()):
                if first_word not in norm:
                    continue
                m = rx.search(norm)
                if m:
                    pos = m.start()
                    context = norm[max(0, pos - 60) : m.end() + 60]
                    out.append((pos, kw, area, context))
        return out


def _copy(cur, table: str, columns: str, rows: Iterable[tuple]) -> int:
    buf = io.StringIO()
    n = 0
    for row in rows:
        buf.write(
            "\t".join(
                "\\N"
                if v is None
                else str(v)
                .replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
                for v in row
            )
            + "\n"
        )
        n += 1
    buf.seek(0)
    cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buf)
    return n


def register_oracle_versions(cur, tasks: Iterable[str]) -> None:
    for task in tasks:
        cur.execute(
            "UPDATE ml.model_versions SET is_current = false WHERE task = %s AND is_current",
            (task,),
        )
        cur.execute(
            "INSERT INTO ml.model_versions (task, model_version, description, is_current) "
            "VALUES (%s, %s, 'ground-truth labels of the demo generator (tests, benchmark)', true) "
            "ON CONFLICT (task, model_version) DO UPDATE SET is_current = true",
            (task, ORACLE_VERSION),
        )


def oracle_rows(posts: Iterable[tuple[int, str, str, dict]], kw: OracleKeywords):
    """(post_id, text, lang, labels) -> rows of ml.post_sentiment, post_hate, post_keywords,
    classified_posts (keywords task)."""
    sent, hate, kws, done = [], [], [], []
    for post_id, text, lang, labels in posts:
        s = labels["sentiment"]
        p = {c: (P_MAIN if c == s else P_OTHER) for c in ("negative", "neutral", "positive")}
        sent.append(
            (post_id, ORACLE_VERSION, s, P_MAIN, p["negative"], p["neutral"], p["positive"])
        )
        hate.append((post_id, ORACLE_VERSION, labels["hate"], 0.875 if labels["hate"] else 0.125))
        for pos, k, area, ctx in kw.find(text, lang, labels["areas"]):
            kws.append((post_id, ORACLE_VERSION, pos, k, "taxonomy", area, ctx))
        done.append(("keywords", ORACLE_VERSION, post_id))
    return sent, hate, kws, done


def write_oracle(cur, sent, hate, kws, done) -> None:
    _copy(cur, "ml.post_sentiment", "post_id, model_version, sentiment, score, p_negative, "
          "p_neutral, p_positive", sent)  # fmt: skip
    _copy(cur, "ml.post_hate", "post_id, model_version, is_hate, probability", hate)
    _copy(cur, "ml.post_keywords", "post_id, model_version, position, keyword, kind, label, "
          "context", kws)  # fmt: skip
    _copy(cur, "ml.classified_posts", "task, model_version, post_id", done)


def load_oracle_classifications(url: str, posts: list[dict]) -> int:
    """Sentiment, hate and keywords for every landed post from the generator's labels (matched
    on source and external id); the posts' current language and area classifications stay."""
    from core.db import connection

    labels = {(p["source"], p["external_id"]): p for p in posts}
    kw = OracleKeywords()
    with connection(url, role=Role.LOADER) as conn, conn.cursor() as cur:
        register_oracle_versions(cur, ORACLE_TASKS)
        cur.execute(
            "SELECT p.post_id, p.source, p.external_id, p.text FROM raw.posts p "
            "WHERE NOT EXISTS (SELECT 1 FROM ml.post_sentiment s WHERE s.post_id = p.post_id "
            "AND s.model_version = %s) ORDER BY p.post_id",
            (ORACLE_VERSION,),
        )
        rows = [
            (pid, text, labels[(src, ext)]["lang"], labels[(src, ext)]["labels"])
            for pid, src, ext, text in cur.fetchall()
            if (src, ext) in labels
        ]
        write_oracle(cur, *oracle_rows(rows, kw))
    return len(rows)


# --- Benchmark loader --------------------------------------------------------------------------

_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _esc(value: str) -> str:
    """COPY text escaping; generated texts almost never need it, so look before translating."""
    return value.translate(_ESCAPE) if _NEEDS_ESCAPE.search(value) else value


# COPY targets, in load order (raw.posts first: the ml rows reference it).
COPY_TABLES = {
    "raw.post_keys": "post_id, source, external_id, created_at",
    "raw.posts": "post_id, source, external_id, platform, created_at, author_pseudonym, text, "
    "lang_hint, city_hint, country_hint, content_hash, run_id",
    "ml.post_languages": "post_id, model_version, lang, confidence",
    "ml.post_areas": "post_id, model_version, area_id, score",
    "ml.post_sentiment": "post_id, model_version, sentiment, score, p_negative, p_neutral, "
    "p_positive",
    "ml.post_hate": "post_id, model_version, is_hate, probability",
    "ml.post_keywords": "post_id, model_version, position, keyword, kind, label, context",
    "ml.classified_posts": "task, model_version, post_id",
}


class ChunkRenderer:
    """Renders one (day, hour) chunk of the demo generator straight into COPY text for raw.posts
    and every oracle ml table - the same rows as `oracle_rows` - without building dicts.

    Chunks are independent (the generator seeds each one), so worker processes render them in
    parallel; post ids are the posts' stream positions (`first_id` + index - `lo`), which the
    identity column of raw.posts reproduces when the chunks are COPYed in plan order.
    """

    def __init__(self, total: int, seed: int) -> None:
        self.gen = _Generator(total, seed, DEFAULT_START, DEFAULT_DAYS)
        self.kw = OracleKeywords()
        v = ORACLE_VERSION
        self.sent_tail = {}
        for s in POLARITY:
            p = [P_MAIN if c == s else P_OTHER for c in ("negative", "neutral", "positive")]
            self.sent_tail[s] = f"\t{v}\t{s}\t{P_MAIN}\t{p[0]}\t{p[1]}\t{p[2]}\n"
        self.hate_tail = {True: f"\t{v}\ttrue\t0.875\n", False: f"\t{v}\tfalse\t0.125\n"}

    def render(self, task: tuple[int, int, int, int], lo: int, hi: int, first_id: int,
               run_id: str) -> tuple[int, list[bytes]]:  # fmt: skip
        """COPY text per table (COPY_TABLES order) of the chunk's posts with stream index in
        [lo, hi), and how many there are."""
        v, sha, find = ORACLE_VERSION, hashlib.sha256, self.kw.find
        keys, posts, langs, areas, sent, hate, kws, done = [], [], [], [], [], [], [], []
        n = 0
        for i, rec in enumerate(self.gen.chunk(*task)):
            idx = task[3] + i
            if idx < lo or idx >= hi:
                continue
            n += 1
            pid = first_id + idx - lo
            source, platform, ext_id, created, handle = rec[:5]
            text, lang, city, country, labels = rec[6], rec[7], rec[8], rec[9], rec[11]
            author = sha(("bench:" + handle).encode()).hexdigest()[:32]
            keys.append(f"{pid}\t{source}\t{ext_id}\t{created}\n")
            posts.append(
                f"{pid}\t{source}\t{ext_id}\t{platform}\t{created}\t{author}\t{_esc(text)}"
                f"\t{lang}\t{city}\t{country}\t{sha(text.encode()).hexdigest()}\t{run_id}\n"
            )
            langs.append(f"{pid}\t{v}\t{lang}\t0.99\n")
            for a in sorted(set(labels)):
                areas.append(f"{pid}\t{v}\t{a}\t1.0\n")
            sent.append(f"{pid}{self.sent_tail[rec[12]]}")
            hate.append(f"{pid}{self.hate_tail[rec[13]]}")
            for pos, k, area, ctx in find(text, lang, labels):
                kws.append(f"{pid}\t{v}\t{pos}\t{k}\ttaxonomy\t{area}\t{_esc(ctx)}\n")
            done.append(f"keywords\t{v}\t{pid}\nlanguage\t{v}\t{pid}\nareas\t{v}\t{pid}\n")
        return n, [
            "".join(rows).encode() for rows in (keys, posts, langs, areas, sent, hate, kws, done)
        ]


_RENDERER: ChunkRenderer | None = None


def _init_renderer(total: int, seed: int) -> None:
    global _RENDERER
    _RENDERER = ChunkRenderer(total, seed)


def _render(job: tuple) -> tuple[int, list[bytes]]:
    assert _RENDERER is not None
    return _RENDERER.render(*job)


def load_posts(url: str, total: int, lo: int, hi: int, *, seed: int = 42, workers: int = 2,
               batch: int = 100_000) -> None:  # fmt: skip
    """COPY posts [lo, hi) of a generated stream of `total` posts, with their oracle ml rows,
    into a database whose post ids are dense so far (ids `lo + 1` .. `hi`).

    `workers` processes render chunks while this one COPYs them, one transaction per `batch`
    posts: generation and PostgreSQL's COPY overlap on separate cores.
    """
    import multiprocessing

    from core.db import connect

    conn = connect(url)
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    with conn.cursor() as cur:
        # The ml.* foreign keys are row-by-row triggers and raw.posts has its reference checks
        # (migration 0012): they would make PostgreSQL, not the generator, the bottleneck; replica
        # mode skips them all. The rows reference each other by construction (ids are stream
        # positions); the checks after the load verify them.
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET ROLE monitor_loader")
        register_oracle_versions(cur, ("language", "areas", *ORACLE_TASKS))
        cur.execute(
            "INSERT INTO raw.import_runs (run_id, source, location, status) "
            "VALUES (%s, 'bench', 'bench.warehouse', 'succeeded')",
            (run_id,),
        )
        cur.execute("SELECT coalesce(max(post_id), 0) FROM raw.post_keys")
        assert cur.fetchone()[0] == lo, "post ids are not dense: load into a fresh database"
        # raw.posts is partitioned by month: the months of the period must exist first.
        months = sorted({DEFAULT_START + timedelta(days=d) for d in range(DEFAULT_DAYS)})
        cur.execute("SELECT raw.ensure_post_partitions(%s::date[])", (months,))
    conn.commit()
    plan = _Generator(total, seed, DEFAULT_START, DEFAULT_DAYS).plan
    jobs = [(t, lo, hi, lo + 1, run_id) for t in plan if t[3] < hi and t[3] + t[2] > lo]
    bufs: list[list[bytes]] = [[] for _ in COPY_TABLES]
    pending = loaded = 0
    copy_s: dict[str, float] = {}

    def flush() -> None:
        with conn.cursor() as cur:
            for (table, columns), parts in zip(COPY_TABLES.items(), bufs, strict=True):
                t = time.perf_counter()
                cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.BytesIO(b"".join(parts)))
                copy_s[table] = copy_s.get(table, 0.0) + time.perf_counter() - t
                parts.clear()
        conn.commit()
        log.info(
            "loaded %d posts; COPY seconds so far %s",
            loaded,
            {k: round(v, 1) for k, v in copy_s.items()},
        )

    with multiprocessing.get_context("fork").Pool(workers, _init_renderer, (total, seed)) as pool:
        for n, parts in pool.imap(_render, jobs, chunksize=4):
            for buf, part in zip(bufs, parts, strict=True):
                buf.append(part)
            pending += n
            loaded += n
            if pending >= batch:
                flush()
                pending = 0
        if pending:
            flush()
    with conn.cursor() as cur:
        # Keys are exactly the ids lo+1..hi and every other row's id lies in that range, so
        # every reference the skipped foreign keys would have checked holds.
        for table in COPY_TABLES:
            count = "count(*)" if table.startswith("raw.") else "NULL"  # min/max: index only
            cur.execute(
                f"SELECT {count}, min(post_id), max(post_id) FROM {table} WHERE post_id > %s",
                (lo,),
            )
            n, first, last = cur.fetchone()
            assert (first == lo + 1 and last == hi) or not table.startswith("raw."), table
            assert n in (None, hi - lo) and first >= lo + 1 and last <= hi, f"{table}: bad ids"
        # Ids were given explicitly: later landings continue after them.
        cur.execute("SELECT setval(pg_get_serial_sequence('raw.post_keys', 'post_id'), %s)", (hi,))
    conn.commit()
    conn.close()


DASHBOARD_QUERIES = {
    "attention_by_area_country_month": (
        "SELECT area_label, sum(posts) AS posts, sum(posts)::float / sum(city_posts) AS share "
        "FROM published.mart_city_area_daily WHERE country_code = 'DE' "
        "AND day >= date '2026-07-01' AND day < date '2026-08-01' GROUP BY 1 ORDER BY 2 DESC"
    ),
    "city_daily_volume": (
        "SELECT day, sum(posts) FROM published.mart_city_area_daily WHERE city_code = 'NL037C' "
        "GROUP BY day ORDER BY day"
    ),
    "city_area_weekly_tone": (
        "SELECT week, area_id, mean_sentiment, hate_share FROM published.mart_city_area_weekly "
        "WHERE city_code = 'DE001C' ORDER BY week, area_id"
    ),
    "city_comparison_year": (
        "SELECT city_name, posts_per_100k, hate_share, foreign_citizens_share, mipex_overall "
        "FROM published.mart_city_comparison WHERE period_type = 'year' ORDER BY 2 DESC"
    ),
    "focal_points_recent": (
        "SELECT city_name, area_label, day, posts, robust_z FROM published.mart_focal_points "
        "WHERE day >= date '2026-08-01' ORDER BY robust_z DESC LIMIT 20"
    ),
    "event_reactions": "SELECT * FROM published.mart_event_reactions ORDER BY event_date",
    "keywords_city_month": (
        "SELECT keyword, sum(posts) FROM published.mart_keywords_daily WHERE city_code = 'SE003C' "
        "AND day >= date '2026-06-01' AND day < date '2026-07-01' GROUP BY 1 ORDER BY 2 DESC "
        "LIMIT 20"
    ),
    "coverage_month": (
        "SELECT source, platform, sum(posts) FROM published.mart_source_coverage "
        "WHERE month = date '2026-07-01' GROUP BY 1, 2 ORDER BY 3 DESC"
    ),
}


def p95_queries(url: str, *, repeats: int, indexed: bool) -> dict[str, float]:
    from core.db import connect

    conn = connect(url, autocommit=True)
    out = {}
    with conn.cursor() as cur:
        cur.execute("SET ROLE monitor_bi")
        if not indexed:
            cur.execute("SET enable_indexscan = off")
            cur.execute("SET enable_bitmapscan = off")
            cur.execute("SET enable_indexonlyscan = off")
        for name, q in DASHBOARD_QUERIES.items():
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                cur.execute(q)
                cur.fetchall()
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            out[name] = round(times[max(0, int(0.95 * len(times)) - 1)], 1)
    conn.close()
    return out


def slowest_models(n: int = 6) -> dict[str, float]:
    """Execution seconds of the `n` slowest models of the last dbt run (run_results.json)."""
    from monitor.transform import target_path

    results = json.loads((Path(target_path()) / "run_results.json").read_text())["results"]
    results.sort(key=lambda r: r["execution_time"], reverse=True)
    return {r["unique_id"].split(".")[-1]: round(r["execution_time"], 1) for r in results[:n]}


def main(argv: list[str] | None = None) -> int:
    from core.db import connect, drop_database, ensure_database
    from core.embedded import start_embedded
    from core.migrate import migrate
    from expectations.gate import validate
    from monitor import transform
    from publication import publish

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=10_000_000)
    ap.add_argument("--increment", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--admin-url", default=None, help="admin URL (default: embedded server)")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures here (JSON)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    admin = args.admin_url or start_embedded(Path(".local/test-pg"))
    name = f"bench_warehouse_{uuid.uuid4().hex[:8]}"
    # Our own dbt target directory: run_results.json (the slowest models) stays ours.
    os.environ["MONITOR_DBT_TARGET_PATH"] = str(Path(".local/bench/dbt-target").resolve())
    url = ensure_database(admin, name)
    figures: dict = {"posts": args.posts, "increment": args.increment}
    try:
        migrate(url)
        transform.run_dbt(url, ["seed"])
        total = args.posts + args.increment

        def timed(label, fn):
            # Every figure with the 1-minute load average at its end (the 2 cores are shared).
            t = time.perf_counter()
            result = fn()
            figures[label] = round(time.perf_counter() - t, 1)
            figures[label.removesuffix("_s") + "_load1"] = round(os.getloadavg()[0], 2)
            log.info("%s: %.1f s", label, figures[label])
            if args.out:
                args.out.write_text(json.dumps(figures, indent=2))
            return result

        def dbt_run(label, dbt_args):
            timed(label, lambda: transform.run_dbt(url, dbt_args))
            figures[label.removesuffix("_s") + "_slowest"] = slowest_models()

        timed("load_posts_s", lambda: load_posts(url, total, 0, args.posts))
        vacuum = connect(url, autocommit=True)
        timed("vacuum_analyze_s", lambda: vacuum.cursor().execute("VACUUM ANALYZE"))
        vacuum.close()
        dbt_run("full_refresh_s", ["run", "--full-refresh"])
        timed("load_increment_s", lambda: load_posts(url, total, args.posts, total))
        dbt_run("incremental_build_s", ["run"])
        timed("dbt_test_s", lambda: transform.run_dbt(url, ["test"]))
        gate = timed("gate_s", lambda: validate(url))
        figures["gate_passed"] = gate.passed
        if gate.passed:
            timed("publish_s", lambda: publish.publish(url, gate.gate_run_id))
            figures["p95_ms_indexed"] = p95_queries(url, repeats=args.repeats, indexed=True)
            figures["p95_ms_unindexed"] = p95_queries(url, repeats=args.repeats, indexed=False)
            figures["p95_load1"] = round(os.getloadavg()[0], 2)
        # The naive alternative to the incremental build: rebuild everything on N + increment.
        dbt_run("full_rebuild_s", ["run", "--full-refresh"])
        print(json.dumps(figures, indent=2))
    finally:
        if not args.keep:
            drop_database(admin, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
