"""Command line of the classifiers.

    python -m classifiers classify INPUT OUTPUT [--batch-size N] [--no-progress]
        CSV or NDJSON (.gz too) with id, text, optional lang (and city_hint, country_hint)
        -> NDJSON: id, lang, areas, area_scores, sentiment, sentiment_score, hate, hate_score,
           cities, keywords, model_version
    python -m classifiers train [--data DIR] [--out DIR] [--only sentiment,hate,calibration,areas]
    python -m classifiers evaluate [--data DIR] [--report docs/evaluation.md]
    python -m classifiers versions                      # the model version of every task
    python -m classifiers agreement                     # inter-annotator agreement (areas)
    python -m classifiers warehouse classify [--batch-size N] [--limit N] [--tasks a,b]
    python -m classifiers warehouse reclassify [--source S] [--since D] [--until D]
                                               [--post-ids FILE] [--tasks a,b]
    python -m classifiers warehouse status              # current versions and coverage
    python -m classifiers warehouse activate TASK VERSION [--force]

`warehouse` commands read MONITOR_WAREHOUSE_URL (or --url).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def _tasks(value: str | None) -> list[str] | None:
    return [t.strip() for t in value.split(",") if t.strip()] if value else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m classifiers", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("classify", help="classify a CSV/NDJSON file of posts into NDJSON")
    c.add_argument("input", type=Path)
    c.add_argument("output", type=Path, help="NDJSON file to write ('-' for stdout)")
    c.add_argument("--batch-size", type=int, default=2048, help="posts per encoder call")
    c.add_argument("--no-progress", action="store_true")

    t = sub.add_parser("train", help="train the heads and calibrate the areas (needs ../shared)")
    t.add_argument("--data", type=Path, default=None, help="labelled data folder")
    t.add_argument("--out", type=Path, default=None, help="artefact folder (classifiers/heads)")
    t.add_argument(
        "--only",
        default=None,
        help="comma-separated: sentiment,hate,calibration (zero-shot areas),areas (area head)",
    )

    e = sub.add_parser("evaluate", help="evaluate every task on held-out data, write the report")
    e.add_argument("--data", type=Path, default=None)
    e.add_argument("--report", type=Path, default=None, help="default docs/evaluation.md")
    e.add_argument("--compare-precision", default="int8",
                   help="also evaluate heads retrained on this encoder precision ('' to skip)")  # fmt: skip

    sub.add_parser("versions", help="print the model version of every task")
    sub.add_parser("agreement", help="per-area agreement of the doubly annotated posts")

    w = sub.add_parser("warehouse", help="classify posts in the warehouse")
    w.add_argument("--url", default=None, help="default MONITOR_WAREHOUSE_URL")
    wsub = w.add_subparsers(dest="action", required=True)
    wc = wsub.add_parser(
        "classify", help="every post without a classification of the current versions"
    )
    wc.add_argument("--batch-size", type=int, default=None)
    wc.add_argument("--limit", type=int, default=None)
    wc.add_argument("--tasks", default=None)
    wr = wsub.add_parser("reclassify", help="classify a subset again with the current versions")
    wr.add_argument("--source", default=None)
    wr.add_argument("--since", default=None, help="created_at >= (ISO date/time)")
    wr.add_argument("--until", default=None, help="created_at < (ISO date/time)")
    wr.add_argument("--post-ids", type=Path, default=None, help="file with one post_id a line")
    wr.add_argument("--tasks", default=None)
    wr.add_argument("--batch-size", type=int, default=None)
    wsub.add_parser("status", help="current version per task and how many posts it covers")
    wa = wsub.add_parser("activate", help="make an already registered version current")
    wa.add_argument("task")
    wa.add_argument("version")
    wa.add_argument("--force", action="store_true", help="even if it does not cover every post")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "classify":
        from classifiers.fileio import classify_file

        n = classify_file(
            args.input, args.output, batch_size=args.batch_size, progress=not args.no_progress
        )
        print(f"classify: {n} posts -> {args.output}", file=sys.stderr)
        return 0
    if args.command == "train":
        from classifiers import labelled
        from classifiers.linear_head import default_heads_dir
        from classifiers.train import train

        summary = train(
            out=args.out or default_heads_dir(),
            data_root=args.data or labelled.LABELLED_DIR,
            tasks=_tasks(args.only) or ("sentiment", "hate", "calibration", "areas"),
        )
        print(json.dumps(summary, indent=1))
        return 0  # a skip (no labelled data) is not an error: the committed heads stay
    if args.command == "evaluate":
        from classifiers import labelled
        from classifiers.evaluate import REPORT, evaluate

        evaluate(
            data_root=args.data or labelled.LABELLED_DIR,
            report=args.report or REPORT,
            compare_precision=args.compare_precision or None,
        )
        return 0
    if args.command == "agreement":
        from classifiers.annotations import agreement
        from classifiers.areas import load_taxonomy

        rows, same, total = agreement(load_taxonomy().ids)
        print(f"{'area':32} {'a':>4} {'b':>4} {'kappa':>6}")
        for r in rows:
            kappa = "-" if r.kappa is None else f"{r.kappa:.2f}"
            print(f"{r.area:32} {r.positives_a:>4} {r.positives_b:>4} {kappa:>6}")
        print(f"identical label sets: {same} of {total}")
        return 0
    if args.command == "versions":
        from classifiers.bundle import Classifier

        clf = Classifier()
        print(json.dumps({"bundle": clf.version, **clf.versions}, indent=1))
        return 0

    from classifiers import warehouse
    from core.settings import require_warehouse_url

    url = args.url or require_warehouse_url()
    if args.action == "classify":
        kwargs = {"batch_size": args.batch_size} if args.batch_size else {}
        result = warehouse.classify_warehouse(
            url, limit=args.limit, tasks=_tasks(args.tasks), **kwargs
        )
    elif args.action == "reclassify":
        ids = None
        if args.post_ids:
            ids = [int(x) for x in args.post_ids.read_text().split() if x.strip()]
        kwargs = {"batch_size": args.batch_size} if args.batch_size else {}
        result = warehouse.reclassify(
            url, source=args.source, since=args.since, until=args.until, post_ids=ids,
            tasks=_tasks(args.tasks), **kwargs,
        )  # fmt: skip
    elif args.action == "status":
        result = warehouse.status(url)
    else:
        warehouse.activate(url, args.task, args.version, force=args.force)
        result = warehouse.status(url)
    print(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
