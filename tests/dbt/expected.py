"""Expected mart figures computed straight from the import file: plain Python over the
generator's ground-truth labels (areas, sentiment, hate), no SQL. The test loads the same labels
as the classifications ("oracle" versions), so the marts are checked apart from classifier
accuracy (tests/e2e runs the real classifiers; docs/evaluation.md measures them)."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from bench.warehouse import POLARITY
from core.settings import REPO_ROOT
from demo.generate import load_areas
from tests.e2e.expected import known_cities


def _day(post: dict) -> date:
    return datetime.fromisoformat(post["created_at"].replace("Z", "+00:00")).astimezone(UTC).date()


def _cells(posts: list[dict], period) -> dict[tuple[str, str, date], list[dict]]:
    """(city, area or '*', period start) -> posts."""
    cities = known_cities()
    out: dict = defaultdict(list)
    for p in posts:
        if p.get("city_code") not in cities:
            continue
        start = period(_day(p))
        out[(p["city_code"], "*", start)].append(p)
        for area in set(p["labels"]["areas"]):
            out[(p["city_code"], area, start)].append(p)
    return out


def _figures(group: list[dict]) -> dict:
    n = len(group)
    return {
        "posts": n,
        "mean_sentiment": sum(POLARITY[p["labels"]["sentiment"]] for p in group) / n,
        "negative_share": sum(p["labels"]["sentiment"] == "negative" for p in group) / n,
        "hate_share": sum(bool(p["labels"]["hate"]) for p in group) / n,
    }


def day(d: date) -> date:
    return d


def week(d: date) -> date:
    return d - timedelta(days=d.weekday())


def month(d: date) -> date:
    return d.replace(day=1)


def city_area_period(posts: list[dict], period=day) -> dict[tuple[str, str, date], dict]:
    cells = _cells(posts, period)
    out = {}
    for (city, area, start), group in cells.items():
        if area == "*":
            continue
        f = _figures(group)
        f["city_posts"] = len(cells[(city, "*", start)])
        out[(city, area, start)] = f
    return out


def events() -> list[dict]:
    with (REPO_ROOT / "dbt" / "seeds" / "events.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def city_countries() -> dict[str, str]:
    with (REPO_ROOT / "dbt" / "seeds" / "cities.csv").open(encoding="utf-8") as f:
        return {r["city_code"]: r["country_code"] for r in csv.DictReader(f)}


def _z2(x1: int, n1: int, x2: int, n2: int) -> float | None:
    if n1 == 0 or n2 == 0 or x1 + x2 in (0, n1 + n2):
        return None
    p = (x1 + x2) / (n1 + n2)
    return (x1 / n1 - x2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def event_reactions(posts: list[dict], window: int = 7) -> dict[str, dict]:
    cities, countries = known_cities(), city_countries()
    out = {}
    for e in events():
        d0 = date.fromisoformat(e["event_date"])
        groups: dict[str, list[dict]] = {"before": [], "after": []}
        for p in posts:
            city = p.get("city_code")
            if city not in cities:
                continue
            in_scope = city == e["code"] if e["scope"] == "city" else countries[city] == e["code"]
            d = _day(p)
            if in_scope and d0 - timedelta(days=window) <= d < d0 + timedelta(days=window):
                groups["before" if d < d0 else "after"].append(p)
        b, a = groups["before"], groups["after"]
        hb = sum(bool(p["labels"]["hate"]) for p in b)
        ha = sum(bool(p["labels"]["hate"]) for p in a)
        vz = (len(a) - len(b)) / math.sqrt(len(a) + len(b)) if a or b else None
        hz = _z2(ha, len(a), hb, len(b))
        out[e["event_id"]] = {
            "posts_before": len(b),
            "posts_after": len(a),
            "volume_z": vz,
            "volume_p_value": math.erfc(abs(vz) / math.sqrt(2)) if vz is not None else None,
            "hate_share_z": hz,
        }
    return out


def source_coverage(posts: list[dict]) -> dict[tuple[str, str, str, str, date], int]:
    """(source, platform, lang label, city or 'unknown', month) -> posts."""
    cities = known_cities()
    out: dict = defaultdict(int)
    for p in posts:
        city = p["city_code"] if p.get("city_code") in cities else "unknown"
        out[(p["source"], p["platform"], p["lang"], city, month(_day(p)))] += 1
    return dict(out)


AREAS = [a["area_id"] for a in load_areas()]

# Constructed error rates for the oracle versions, as (task, class, lang) -> (tp, fn, fp, tn):
# German has its own area rates, French rates too close to separate (the pooled ones apply),
# housing none at all (no estimate), hate speech only English rates (no estimate in a cell
# with posts in another language), sentiment only pooled ones.
ORACLE_ERROR_RATES = {
    **{("areas", a, "*"): (160, 40, 100, 1900) for a in AREAS if a != "housing"},
    **{("areas", a, "de"): (60, 40, 50, 450) for a in AREAS if a != "housing"},
    **{("areas", a, "fr"): (30, 70, 40, 160) for a in AREAS if a != "housing"},
    ("hate", "hate", "en"): (210, 90, 30, 270),
    ("sentiment", "negative", "*"): (300, 100, 160, 640),
}
MIN_EXAMPLES, MIN_SEPARATION = 20, 0.2  # dbt vars error_rate_min_examples/_separation


def _rates(task: str, cls: str, lang: str) -> tuple[float, float, float, float, str] | None:
    for key in ((task, cls, lang), (task, cls, "*")):
        if key in ORACLE_ERROR_RATES:
            tp, fn, fp, tn = ORACLE_ERROR_RATES[key]
            t, f = tp / (tp + fn), fp / (fp + tn)
            if min(tp + fn, fp + tn) >= MIN_EXAMPLES and t - f >= MIN_SEPARATION:
                return t, f, t * (1 - t) / (tp + fn), f * (1 - f) / (fp + tn), key[2]
    return None


def _corrected(task: str, cls: str, by_lang: dict[str, tuple[int, int]]):
    """(estimate, low, high) from {lang: (positives k, whole n)}, or None."""
    groups: dict = defaultdict(lambda: [0.0, 0.0, 0.0, None])  # c, n, sampling variance, rates
    for lang, (k, n) in by_lang.items():
        if n == 0:
            continue
        r = _rates(task, cls, lang)
        if r is None:
            return None
        t, f, vt, vf, rates_lang = r
        g = groups[rates_lang]
        g[0] += (k - f * n) / (t - f)
        g[1] += n
        g[2] += k * (n - k) / n / (t - f) ** 2
        g[3] = (t - f, vt, vf)
    if not groups:
        return None
    c = sum(g[0] for g in groups.values())
    n = sum(g[1] for g in groups.values())
    v = sum(
        s + (ci**2 * vt + (ni - ci) ** 2 * vf) / d**2 for ci, ni, s, (d, vt, vf) in groups.values()
    )
    half = 1.96 * math.sqrt(v)

    def clip(x: float) -> float:
        return max(0.0, min(1.0, x))

    return clip(c / n), clip((c - half) / n), clip((c + half) / n)


def corrected_shares(posts: list[dict], period=day) -> dict[tuple[str, str, date], dict]:
    """(city, area, period) -> {attention|negative|hate: (estimate, low, high) or None}."""
    cells = _cells(posts, period)
    out = {}
    for (city, area, start), group in cells.items():
        if area == "*":
            continue
        whole = cells[(city, "*", start)]
        langs = {p["lang"] for p in whole}
        attention = {
            lg: (sum(p["lang"] == lg for p in group), sum(p["lang"] == lg for p in whole))
            for lg in langs
        }
        negative, hate = {}, {}
        for lg in {p["lang"] for p in group}:
            mine = [p for p in group if p["lang"] == lg]
            negative[lg] = (sum(p["labels"]["sentiment"] == "negative" for p in mine), len(mine))
            hate[lg] = (sum(bool(p["labels"]["hate"]) for p in mine), len(mine))
        out[(city, area, start)] = {
            "attention": _corrected("areas", area, attention),
            "negative": _corrected("sentiment", "negative", negative),
            "hate": _corrected("hate", "hate", hate),
        }
    return out
