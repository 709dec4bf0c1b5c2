"""Expected mart figures computed straight from an import file, independently of the pipeline:
plain Python over the generator's ground-truth labels, no SQL, no classifier."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from core.settings import REPO_ROOT

E2E_POSTS = 1_500  # posts in the end-to-end tests' import file


def known_cities() -> set[str]:
    with (REPO_ROOT / "dbt" / "seeds" / "demo_cities.csv").open(encoding="utf-8") as f:
        return {row["city_code"] for row in csv.DictReader(f)}


def read_posts(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def city_area_daily(
    posts: list[dict], areas: dict[tuple[str, str], set[str]] | None = None
) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(city_code, area_id, day) -> (posts with the area, all posts of the city that day).
    Areas per post are the generator's labels, or `areas` ((source, external_id) -> area ids),
    e.g. what the classifier wrote."""
    cities = known_cities()
    city_day: Counter[tuple[str, str]] = Counter()
    area_day: Counter[tuple[str, str, str]] = Counter()
    for post in posts:
        if post.get("city_code") not in cities:
            continue
        day = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00")).astimezone(UTC)
        key = (post["city_code"], day.date().isoformat())
        city_day[key] += 1
        key_id = (post["source"], post["external_id"])
        tagged = post["labels"]["areas"] if areas is None else areas.get(key_id, set())
        for area in set(tagged):
            area_day[(key[0], area, key[1])] += 1
    return {k: (n, city_day[(k[0], k[2])]) for k, n in area_day.items()}
