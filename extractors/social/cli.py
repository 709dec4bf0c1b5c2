"""`python -m extractors`: check the sources file, run sources by hand.

    python -m extractors check [--config config/sources.yml]
    python -m extractors run [--source ID ...] [--start ISO] [--end ISO] [--batch-id ID]

`run` needs MONITOR_WAREHOUSE_URL and MONITOR_PEPPER (as every stage); it prints one JSON
report per source and exits 1 when any source failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime

from core.settings import load_settings, require_pepper, require_warehouse_url
from extractors.social.config import ConfigError, load_config
from extractors.social.runner import Window, run_sources


def _time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m extractors", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--config", help="sources file (default: $MONITOR_SOURCES_CONFIG or config/sources.yml)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate the sources file and list the sources")
    run = commands.add_parser("run", help="run sources now")
    run.add_argument(
        "--source", action="append", help="a source id (repeatable; default: all enabled)"
    )
    run.add_argument("--start", type=_time, help="window start (ISO 8601; backfills a past window)")
    run.add_argument("--end", type=_time, help="window end (ISO 8601; default now)")
    run.add_argument("--batch-id", help="label the runs (e.g. the orchestrator's run id)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "check":
        for s in config.sources:
            state = "enabled " if s.config.enabled else "disabled"
            print(f"{state} {s.id:32} {s.config.kind:9} {', '.join(s.config.cities) or '-'}")
        print(f"{config.path}: {len(config.sources)} sources OK")
        return 0
    settings = load_settings()
    url = require_warehouse_url(settings)
    try:
        sources = [config.get(i) for i in args.source] if args.source else config.enabled()
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    reports = run_sources(
        url,
        sources,
        pepper=require_pepper(settings),
        window=Window.of(args.start, args.end),
        batch_id=args.batch_id,
    )
    for report in reports:
        print(json.dumps(report.as_dict(), default=str))
    return 1 if any(r.status == "failed" for r in reports) else 0
