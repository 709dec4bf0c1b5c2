"""Warehouse benchmark: incremental build vs full rebuild, full refresh, dashboard query p95.

    .venv/bin/python -m bench.warehouse --posts 10000000 [--increment 100000] [--keep]

Posts come from the demo generator and are COPYed straight into raw.posts (text as generated,
authors pseudonymised); the classifier outputs (language, areas, sentiment, hate, keywords) are
bulk-derived from the generator's ground-truth labels ("oracle classifications", model versions
`oracle-labels`) - classifying 10M posts is the classifier benchmark's job, not this one's.
Figures go to stdout as JSON; docs/benchmarks.md "Warehouse" records a run.

`load_oracle_classifications` is also what tests/marts use to give the marts known sentiment,
hate and keyword inputs.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import re
import sys
import time
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from monitor.demo.generate import iter_posts, load_keywords

log = logging.getLogger("bench.warehouse")

ORACLE_VERSION = "oracle-labels"
# Probabilities exactly representable as float4: polarity is +-0.625 or 0.
P_MAIN, P_OTHER = 0.75, 0.125
POLARITY = {"negative": -0.625, "neutral": 0.0, "positive": 0.625}
_WORD = re.compile(r"\w+")
ORACLE_TASKS = ("sentiment", "hate", "keywords")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


class OracleKeywords:
    """Taxonomy keywords of the post's labelled areas found in its text (the generator's rule:
    NFC + casefold, no word character before or after), first occurrence, 60-character KWIC."""

    def __init__(self) -> None:
        self.by_lang: dict[str, list[tuple[str, str, re.Pattern[str]]]] = {}
        for lang, by_area in load_keywords().items():
            rows = []
            for area, kws in by_area.items():
                for kw in kws:
                    k = _norm(kw)
                    rows.append((area, k, re.compile(r"(?<!\w)" + re.escape(k) + r"(?!\w)")))
            self.by_lang[lang] = rows

    def find(self, text: str, lang: str, areas: Iterable[str]) -> list[tuple[int, str, str, str]]:
        norm = _norm(text)
        wanted = set(areas)
        out = []
        for area, kw, rx in self.by_lang.get(lang, []):
            if area not in wanted or kw.split()[0] not in norm:
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
    from monitor.warehouse import connection

    labels = {(p["source"], p["external_id"]): p for p in posts}
    kw = OracleKeywords()
    with connection(url, role="monitor_loader") as conn, conn.cursor() as cur:
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


# --- Benchmark ---------------------------------------------------------------------------------


def _bulk_posts(posts: Iterator[dict], first_id: int, run_id: str, kw: OracleKeywords, conn):
    """COPY a batch of generated posts with all their oracle classifications."""
    raw, langs, areas, sent_in, cls = [], [], [], [], []
    pid = first_id
    for p in posts:
        text = p["text"]
        author = hashlib.sha256(("bench:" + p["author_handle"]).encode()).hexdigest()[:32]
        raw.append((
            p["source"], p["external_id"], p["platform"], p["created_at"], author, text,
            p["lang"], p["city_code"], p["country_code"],
            hashlib.sha256(text.encode()).hexdigest(), run_id,
        ))  # fmt: skip
        langs.append((pid, ORACLE_VERSION, p["lang"], 0.99))
        for a in sorted(set(p["labels"]["areas"])):
            areas.append((pid, ORACLE_VERSION, a, 1.0))
        cls.append(("language", ORACLE_VERSION, pid))
        cls.append(("areas", ORACLE_VERSION, pid))
        sent_in.append((pid, text, p["lang"], p["labels"]))
        pid += 1
    with conn.cursor() as cur:
        _copy(cur, "raw.posts", "source, external_id, platform, created_at, author_pseudonym, "
              "text, lang_hint, city_hint, country_hint, content_hash, run_id", raw)  # fmt: skip
        _copy(cur, "ml.post_languages", "post_id, model_version, lang, confidence", langs)
        _copy(cur, "ml.post_areas", "post_id, model_version, area_id, score", areas)
        sent, hate, kws, done = oracle_rows(sent_in, kw)
        write_oracle(cur, sent, hate, kws, done + cls)
    conn.commit()
    return pid


def load_posts(url: str, posts: Iterator[dict], n: int, first_id: int, kw, batch=50_000) -> int:
    from monitor.warehouse import connect

    conn = connect(url)
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    with conn.cursor() as cur:
        cur.execute("SET ROLE monitor_loader")
        register_oracle_versions(cur, ("language", "areas", *ORACLE_TASKS))
        cur.execute(
            "INSERT INTO raw.import_runs (run_id, source, location, status) "
            "VALUES (%s, 'bench', 'bench.warehouse', 'succeeded')",
            (run_id,),
        )
    pid, left = first_id, n
    while left > 0:
        take = min(batch, left)
        chunk = (next(posts) for _ in range(take))
        pid = _bulk_posts(chunk, pid, run_id, kw, conn)
        left -= take
    with conn.cursor() as cur:
        cur.execute("SELECT max(post_id) FROM raw.posts")
        assert cur.fetchone()[0] == pid - 1, "post ids are not dense: load into a fresh database"
    conn.close()
    return pid


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
    from monitor.warehouse import connect

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


def main(argv: list[str] | None = None) -> int:
    from expectations.gate import validate
    from monitor import publish, transform
    from monitor.migrate import migrate
    from monitor.warehouse import connect, drop_database, ensure_database, start_embedded

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=10_000_000)
    ap.add_argument("--increment", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--admin-url", default=None, help="admin URL (default: embedded server)")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    admin = args.admin_url or start_embedded(Path(".local/test-pg"))
    name = f"bench_warehouse_{uuid.uuid4().hex[:8]}"
    url = ensure_database(admin, name)
    figures: dict = {"posts": args.posts, "increment": args.increment}
    try:
        migrate(url)
        transform.run_dbt(url, ["seed"])
        kw = OracleKeywords()
        stream = iter_posts(args.posts + args.increment, seed=42)

        def timed(label, fn):
            t = time.perf_counter()
            result = fn()
            figures[label] = round(time.perf_counter() - t, 1)
            log.info("%s: %.1f s", label, figures[label])
            return result

        pid = timed("load_posts_s", lambda: load_posts(url, stream, args.posts, 1, kw))
        vacuum = connect(url, autocommit=True)
        vacuum.cursor().execute("VACUUM ANALYZE")
        vacuum.close()
        timed("full_refresh_s", lambda: transform.run_dbt(url, ["run", "--full-refresh"]))
        timed("load_increment_s", lambda: load_posts(url, stream, args.increment, pid, kw))
        timed("incremental_build_s", lambda: transform.run_dbt(url, ["run"]))
        timed("dbt_test_s", lambda: transform.run_dbt(url, ["test"]))
        gate = timed("gate_s", lambda: validate(url))
        figures["gate_passed"] = gate.passed
        timed("publish_s", lambda: publish.publish(url, gate.gate_run_id))
        figures["p95_ms_indexed"] = p95_queries(url, repeats=args.repeats, indexed=True)
        figures["p95_ms_unindexed"] = p95_queries(url, repeats=args.repeats, indexed=False)
        timed("full_rebuild_s", lambda: transform.run_dbt(url, ["run", "--full-refresh"]))
        print(json.dumps(figures, indent=2))
    finally:
        if not args.keep:
            drop_database(admin, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
