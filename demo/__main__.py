"""Command line of the demo generator.

python -m demo generate --posts N --out PATH [--seed S] [--start YYYY-MM-DD] [--days D]
                                [--official-out CSV]
python -m demo stats --out PATH
python -m demo official --out CSV [--seed S]
python -m demo events [--start YYYY-MM-DD] [--days D]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date

from demo.generate import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_START,
    event_calendar,
    post_stats,
    write_official_statistics,
    write_posts,
)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic posts as NDJSON (.gz = gzip)")
    gen.add_argument("--posts", type=_positive, required=True, help="number of posts")
    gen.add_argument("--out", required=True, help="output file, e.g. .local/demo/posts.ndjson.gz")
    gen.add_argument("--seed", type=int, default=DEFAULT_SEED)
    gen.add_argument("--start", type=_date, default=DEFAULT_START, help="first day (YYYY-MM-DD)")
    gen.add_argument("--days", type=_positive, default=DEFAULT_DAYS, help="length of the period")
    gen.add_argument(
        "--workers", type=int, default=1, help="processes rendering chunks (0 = one per CPU)"
    )
    gen.add_argument("--official-out", help="also write the synthetic official statistics CSV")
    gen.add_argument("--quiet", action="store_true", help="no progress on stderr")

    st = sub.add_parser("stats", help="summarise a generated file (JSON on stdout)")
    st.add_argument("--out", required=True, help="the NDJSON(.gz) file to read")

    off = sub.add_parser("official", help="write the synthetic official statistics CSV")
    off.add_argument("--out", required=True)
    off.add_argument("--seed", type=int, default=DEFAULT_SEED)

    ev = sub.add_parser("events", help="list the demo events with their dates (JSON)")
    ev.add_argument("--start", type=_date, default=DEFAULT_START)
    ev.add_argument("--days", type=_positive, default=DEFAULT_DAYS)

    args = parser.parse_args(argv)
    if args.command == "generate":
        t0 = time.monotonic()
        n = write_posts(
            args.out,
            args.posts,
            seed=args.seed,
            start=args.start,
            days=args.days,
            workers=args.workers,
            progress=False if args.quiet else None,
        )
        took = time.monotonic() - t0
        print(
            f"wrote {n:,} posts to {args.out} in {took:.1f}s ({n / max(took, 1e-9):,.0f} posts/s)"
        )
        if args.official_out:
            rows = write_official_statistics(args.official_out, seed=args.seed)
            print(f"wrote {rows} statistics rows to {args.official_out}")
    elif args.command == "stats":
        try:
            summary = post_stats(args.out)
        except FileNotFoundError:
            print(f"no such file: {args.out}; create it with `generate --out`", file=sys.stderr)
            return 2
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    elif args.command == "official":
        rows = write_official_statistics(args.out, seed=args.seed)
        print(f"wrote {rows} statistics rows to {args.out}")
    else:
        print(json.dumps(event_calendar(args.start, args.days), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
