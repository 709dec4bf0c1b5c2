"""Tests of the synthetic demo generator (demo) and its seed files.

The keyword checks here deliberately re-implement the tagging rule with plain regular
expressions instead of using ``KeywordMatcher``: the labels must be reproducible by any tagger
that follows the documented rule, not just by the generator's own code.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import statistics
import time
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from demo import generate as g
from demo.__main__ import main as demo_cli

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "dbt" / "seeds"
REFERENCE_CITIES = (
    REPO.parent / "shared" / "data" / "reference" / "urban_audit_cities_854_codes_coords.csv"
)
LANGS = ["en", "de", "nl", "sv", "fr", "es", "it", "el"]
N_SAMPLE = 40_000


def _csv(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _keyword_regexes(seeds: Path = SEEDS) -> dict[str, dict[str, list[re.Pattern[str]]]]:
    """The documented rule: NFC + casefold, keyword not preceded/followed by a word character."""
    out: dict[str, dict[str, list[re.Pattern[str]]]] = defaultdict(lambda: defaultdict(list))
    with (seeds / "area_keywords.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            kw = unicodedata.normalize("NFC", row["keyword"].strip()).casefold()
            out[row["lang"]][row["area_id"]].append(
                re.compile(r"(?<!\w)" + re.escape(kw) + r"(?!\w)")
            )
    return out


def _tag(text: str, rx: dict[str, list[re.Pattern[str]]]) -> set[str]:
    norm = unicodedata.normalize("NFC", text).casefold()
    return {area for area, patterns in rx.items() if any(p.search(norm) for p in patterns)}


@pytest.fixture(scope="module")
def posts() -> list[dict]:
    return list(g.iter_posts(N_SAMPLE, seed=7))


# --- seed files ------------------------------------------------------------------------------


def test_integration_areas_seed_has_the_19_areas_of_the_taxonomy():
    rows = _csv("integration_areas.csv")
    by_dim = defaultdict(list)
    for r in rows:
        by_dim[r["dimension"]].append(r["area_id"])
        assert r["label"] and len(r["description"]) > 40
    assert by_dim == {
        "socio_economic": ["employment", "education", "health_care", "language", "social_welfare"],
        "socio_cultural": [
            "public_perceptions",
            "religion_and_culture",
            "gender_and_violence",
            "crime_and_security",
        ],
        "legal_political": [
            "asylum_and_refugees",
            "citizenship",
            "family_reunification",
            "residence_and_irregular_status",
            "political_participation",
            "anti_discrimination",
            "integration_programmes",
            "roma_inclusion",
        ],
        "spatial": ["housing", "urban_development"],
    }


def test_area_keywords_seed_has_3_to_6_lowercase_keywords_per_area_and_language():
    areas = {r["area_id"] for r in _csv("integration_areas.csv")}
    counts: Counter = Counter()
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in _csv("area_keywords.csv"):
        kw = r["keyword"]
        assert r["area_id"] in areas
        assert r["lang"] in LANGS
        # lower(), not casefold(): keywords keep the Greek final sigma; the tagger casefolds.
        assert kw == kw.strip() == kw.lower() == unicodedata.normalize("NFC", kw), kw
        counts[(r["area_id"], r["lang"])] += 1
        owners[(r["lang"], kw)].add(r["area_id"])
    for area in areas:
        for lang in LANGS:
            assert 3 <= counts[(area, lang)] <= 6, (area, lang, counts[(area, lang)])
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    assert not shared, f"keywords owned by several areas: {shared}"


def test_demo_cities_seed_is_real_urban_audit_data():
    rows = _csv("demo_cities.csv")
    assert len(rows) >= 20
    assert len({r["country_code"] for r in rows}) >= 8
    assert "GR" not in {r["country_code"] for r in rows}
    codes = {r["city_code"]: r for r in rows}
    assert codes["DE001C"]["city_name"] == "Berlin"
    assert codes["SE003C"]["city_name"] == "Malmö"
    langs = {lang for r in rows for lang in r["languages"].split("|")}
    assert langs == set(LANGS)
    for r in rows:
        assert re.fullmatch(r"[A-Z]{2}\d{3}C", r["city_code"])
        assert r["city_code"][:2] == r["country_code"]
        assert -30 < float(r["lon"]) < 40 and 30 < float(r["lat"]) < 72
        assert int(r["population"]) > 50_000
    if not REFERENCE_CITIES.is_file():
        pytest.skip(f"reference gazetteer not available at {REFERENCE_CITIES}")
    with REFERENCE_CITIES.open(encoding="utf-8", newline="") as fh:
        ref = {r["URAU_CODE"]: r for r in csv.DictReader(fh)}
    for code, r in codes.items():
        assert code in ref, f"{code} is not an Urban Audit code"
        assert ref[code]["LABEL"].strip() == r["city_name"]
        assert ref[code]["URAU_NAME"].strip() == r["native_name"]
        assert ref[code]["CNTR_CODE"] == r["country_code"]
        assert abs(float(ref[code]["lat"]) - float(r["lat"])) < 1e-3
        assert round(float(ref[code]["pop"])) == int(r["population"])


# --- determinism and format ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".ndjson", ".ndjson.gz"])
def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path, suffix):
    a, b, c = (tmp_path / f"{name}{suffix}" for name in "abc")
    assert g.write_posts(a, 3000, seed=11) == 3000
    g.write_posts(b, 3000, seed=11)
    g.write_posts(c, 3000, seed=12)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert not list(tmp_path.glob("*.partial"))


def test_parallel_workers_write_the_same_bytes(tmp_path):
    one, two = tmp_path / "one.ndjson.gz", tmp_path / "two.ndjson.gz"
    g.write_posts(one, 5000, seed=3, workers=1)
    g.write_posts(two, 5000, seed=3, workers=2)
    assert one.read_bytes() == two.read_bytes()
    with gzip.open(two, "rt", encoding="utf-8") as fh:  # concatenated gzip members
        assert sum(1 for _ in fh) == 5000


def test_file_lines_are_exactly_json_of_iter_posts(tmp_path):
    out = tmp_path / "posts.ndjson"
    g.write_posts(out, 2000, seed=5, start=date(2025, 1, 1), days=30)
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    records = list(g.iter_posts(2000, seed=5, start=date(2025, 1, 1), days=30))
    assert len(lines) == len(records) == 2000
    for line, rec in zip(lines, records, strict=True):
        assert json.loads(line) == rec
        assert line == json.dumps(rec, ensure_ascii=False) + "\n"


def test_every_record_has_the_import_format(posts):
    cities = {r["city_code"]: r for r in _csv("demo_cities.csv")}
    ids = set()
    for p in posts:
        assert list(p) == list(g.REQUIRED_FIELDS)
        for field in g.REQUIRED_FIELDS[:-2]:
            assert isinstance(p[field], str) and p[field], field
        assert p["synthetic"] is True
        assert p["platform"] in g.PLATFORMS
        assert p["lang"] in LANGS
        city = cities[p["city_code"]]
        assert p["country_code"] == city["country_code"]
        assert p["lang"] in [*city["languages"].split("|"), "en"]
        slug = p["source"].removeprefix(f"demo_{p['platform']}_")
        assert p["source"].startswith(f"demo_{p['platform']}_") and re.fullmatch(r"[a-z_]+", slug)
        assert slug in (p["country_code"].lower(), g._slug(city["city_name"]))
        assert (p["source"], p["external_id"]) not in ids
        ids.add((p["source"], p["external_id"]))
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["created_at"])
        assert p["url"].startswith("https://") and ".example/" in p["url"]
        assert len(p["text"]) >= 40
        labels = p["labels"]
        assert set(labels) == {"areas", "sentiment", "hate", "event"}
        assert len(labels["areas"]) <= 3 and len(set(labels["areas"])) == len(labels["areas"])
        assert labels["sentiment"] in ("negative", "neutral", "positive")
        assert isinstance(labels["hate"], bool)
        if labels["hate"]:
            assert labels["sentiment"] == "negative"


def test_posts_are_streamed_in_time_order_without_building_a_list():
    start = time.monotonic()
    it = g.iter_posts(10**9)  # would never fit in memory if it were materialised
    first = next(it)
    assert time.monotonic() - start < 10
    assert first["created_at"].startswith("2026-06-01T")
    stamps = [p["created_at"] for p in g.iter_posts(5000, seed=2)]
    assert stamps == sorted(stamps)


# --- coverage --------------------------------------------------------------------------------


def test_languages_cities_countries_platforms_and_days_are_covered(posts):
    assert {p["lang"] for p in posts} == set(LANGS)
    assert len({p["city_code"] for p in posts}) >= 20
    assert {p["city_code"] for p in posts} == {r["city_code"] for r in _csv("demo_cities.csv")}
    assert len({p["country_code"] for p in posts}) >= 8
    assert {p["platform"] for p in posts} == set(g.PLATFORMS)
    days = {p["created_at"][:10] for p in posts}
    assert len(days) == 90
    assert min(days) == "2026-06-01" and max(days) == "2026-08-29"
    per_lang = Counter(p["lang"] for p in posts)
    assert min(per_lang.values()) > 0.03 * len(posts), per_lang


def test_start_and_days_are_configurable():
    recs = list(g.iter_posts(3000, seed=1, start=date(2025, 12, 20), days=120))
    days = {date.fromisoformat(p["created_at"][:10]) for p in recs}
    assert min(days) == date(2025, 12, 20)
    assert max(days) == date(2025, 12, 20) + timedelta(days=119)
    assert len(days) >= 110


def test_sentiment_is_varied_and_hate_share_is_3_to_5_percent(posts):
    sentiments = Counter(p["labels"]["sentiment"] for p in posts)
    assert all(sentiments[s] > 0.15 * len(posts) for s in ("negative", "neutral", "positive"))
    hate = sum(p["labels"]["hate"] for p in posts) / len(posts)
    assert 0.03 <= hate <= 0.05, hate
    n_areas = Counter(len(p["labels"]["areas"]) for p in posts)
    assert all(n_areas[k] > 0 for k in range(4))
    areas = Counter(a for p in posts for a in p["labels"]["areas"])
    assert len(areas) == 19


def test_some_texts_carry_personal_data_for_the_privacy_scrubber(posts):
    texts = [p["text"] for p in posts]
    mentions = sum(bool(re.search(r"(?<![\w.])@\w+", t)) for t in texts)
    emails = sum(bool(re.search(r"[\w.]+@[\w-]+(\.[\w-]+)+", t)) for t in texts)
    phones = sum(bool(re.search(r"(\+\d{2,3}[ \d]{6,}|\b0\d[\d -]{7,})", t)) for t in texts)
    n = len(texts)
    assert 0.03 * n < mentions < 0.10 * n
    assert 0.01 * n < emails < 0.04 * n
    assert 0.005 * n < phones < 0.03 * n
    # Only reserved example domains are used (RFC 2606), never a real mailbox or instance.
    domains = {m.group(1) for t in texts for m in re.finditer(r"\w@([\w.-]*\w)", t)}
    assert domains and all(
        d.endswith(("example.org", "example.com", "example.net", ".example")) for d in domains
    ), domains


def test_authors_are_fake_handles_with_repeat_posters(posts):
    handles = Counter(p["author_handle"] for p in posts)
    assert all(h.startswith(("@", "u/")) for h in handles)
    assert max(handles.values()) > 5  # some accounts post often
    assert len(handles) > len(posts) / 20
    assert all(p["author_name"] for p in posts)


# --- the keyword invariant -------------------------------------------------------------------


def test_area_labels_equal_a_whole_word_keyword_tagger(posts):
    rx = _keyword_regexes()
    for p in posts:
        found = _tag(p["text"], rx[p["lang"]])
        assert found == set(p["labels"]["areas"]), (
            p["lang"],
            p["labels"]["areas"],
            found,
            p["text"],
        )


def test_keyword_matcher_implements_the_documented_rule():
    m = g.KeywordMatcher(
        {
            "de": {"housing": ("mieten", "häusliche gewalt"), "gender": ("straße",)},
            "fr": {"r": ("sans-papiers",)},
        }
    )
    assert m.areas("Die MIETEN steigen.", "de") == {"housing"}
    assert m.areas("Mietenspiegel und Vermieten", "de") == set()  # whole words only
    assert m.areas("Häusliche  Gewalt", "de") == set()  # spaces inside keywords are literal
    assert m.areas("HÄUSLICHE GEWALT!", "de") == {"housing"}
    assert m.areas("In der STRASSE", "de") == {"gender"}  # full case folding: ß == ss
    assert m.areas("les sans-papiers", "fr") == {"r"}
    assert m.areas("les sans papiers", "fr") == set()
    assert m.areas("die Mieten", "fr") == set()  # only the post's language


def test_invariant_survives_an_analyst_adding_colliding_keywords(tmp_path):
    for name in ("integration_areas.csv", "area_keywords.csv", "demo_cities.csv"):
        (tmp_path / name).write_bytes((SEEDS / name).read_bytes())
    with (tmp_path / "area_keywords.csv").open("a", encoding="utf-8", newline="") as fh:
        # "city" and "stadt" occur in neutral sentences, "public" in several frames,
        # "social housing" is a multi-word keyword spanning nothing in particular.
        fh.write("urban_development,en,city\nurban_development,de,stadt\n")
        fh.write("public_perceptions,en,public\nhousing,en,social housing\n")
    recs = list(g.iter_posts(3000, seed=9, seeds_path=tmp_path))
    rx = _keyword_regexes(tmp_path)
    for p in recs:
        assert _tag(p["text"], rx[p["lang"]]) == set(p["labels"]["areas"]), p["text"]


# --- events ----------------------------------------------------------------------------------


def test_event_days_spike_above_the_city_median(posts):
    cities = _csv("demo_cities.csv")
    # Enough posts that even Thessaloniki has ~40 a day: the spike must beat Poisson noise.
    gen = g._Generator(200_000, 7, g.DEFAULT_START, g.DEFAULT_DAYS)
    per_city_day = Counter((rec[8], rec[3][:10]) for rec in gen.records())
    event_posts = Counter(p["labels"]["event"] for p in posts if p["labels"]["event"])
    assert set(event_posts) == {e.event_id for e in g.EVENTS}
    assert 3 <= len(g.EVENTS) <= 5
    for ev in g.EVENTS:
        day = ev.day(g.DEFAULT_START, g.DEFAULT_DAYS).isoformat()
        scope = [
            c["city_code"]
            for c in cities
            if (c["city_code"] if ev.scope == "city" else c["country_code"]) == ev.code
        ]
        assert scope, ev
        for code in scope:
            series = [
                per_city_day[(code, (g.DEFAULT_START + timedelta(days=d)).isoformat())]
                for d in range(g.DEFAULT_DAYS)
            ]
            median = statistics.median(series)
            assert per_city_day[(code, day)] > 1.8 * median, (ev.event_id, code, series)
    for p in posts:
        ev_id = p["labels"]["event"]
        if ev_id:
            ev = next(e for e in g.EVENTS if e.event_id == ev_id)
            assert set(p["labels"]["areas"]) <= set(ev.areas) and p["labels"]["areas"]
            event_day = ev.day(g.DEFAULT_START, g.DEFAULT_DAYS)
            posted = datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")).date()
            assert 0 <= (posted - event_day).days <= 2


def test_event_calendar_lists_dates_inside_the_period():
    cal = g.event_calendar(date(2026, 6, 1), 90)
    assert [e["date"] for e in cal] == sorted(e["date"] for e in cal)
    assert all("2026-06-01" <= e["date"] <= "2026-08-29" for e in cal)
    assert {"DE001C", "SE003C"} <= {e["code"] for e in cal}


# --- language identification -----------------------------------------------------------------


def test_py3langid_recognises_the_labelled_language(posts):
    langid = pytest.importorskip("py3langid")
    sample = posts[:: len(posts) // 2000][:2000]
    langid.set_languages(LANGS)
    try:
        wrong = [(p["lang"], langid.classify(p["text"])[0], p["text"]) for p in sample]
    finally:
        langid.set_languages(None)  # the identifier is module-global: leave it as found
    wrong = [w for w in wrong if w[0] != w[1]]
    assert len(sample) == 2000
    assert len(wrong) <= 0.02 * len(sample), wrong[:10]


# --- official statistics ---------------------------------------------------------------------


def test_official_statistics_cover_every_city_year_and_indicator(tmp_path):
    out = tmp_path / "stats.csv"
    n = g.write_official_statistics(out, seed=4)
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n
    assert list(rows[0]) == ["city_code", "year", "indicator", "value", "unit", "synthetic"]
    cities = {r["city_code"] for r in _csv("demo_cities.csv")}
    keys = {(r["city_code"], int(r["year"]), r["indicator"]) for r in rows}
    assert keys == {
        (c, y, i) for c in cities for y in (2022, 2023, 2024, 2025) for i in g.OFFICIAL_INDICATORS
    }
    values = defaultdict(dict)
    for r in rows:
        assert r["synthetic"] == "true"
        values[(r["city_code"], r["year"])][r["indicator"]] = float(r["value"])
    for v in values.values():
        assert v["population"] > 50_000
        assert 2 < v["foreign_citizens_share"] < 60
        assert 1 < v["unemployment_rate"] < 30
        assert v["unemployment_rate"] < v["unemployment_rate_foreign"] < 60
    again = tmp_path / "again.csv"
    g.write_official_statistics(again, seed=4)
    assert again.read_bytes() == out.read_bytes()


# --- command line ----------------------------------------------------------------------------


def test_cli_generate_and_stats(tmp_path, capsys):
    out = tmp_path / "demo.ndjson.gz"
    stats_csv = tmp_path / "official.csv"
    rc = demo_cli(
        [
            "generate",
            "--posts",
            "1500",
            "--out",
            str(out),
            "--seed",
            "3",
            "--start",
            "2026-01-01",
            "--days",
            "95",
            "--official-out",
            str(stats_csv),
        ]
    )
    assert rc == 0 and out.is_file() and stats_csv.is_file()
    capsys.readouterr()
    assert demo_cli(["stats", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["posts"] == 1500
    assert summary["first_day"] == "2026-01-01" and summary["days"] <= 95
    assert set(summary["by_lang"]) == set(LANGS)
    assert set(summary["by_platform"]) == set(g.PLATFORMS)
