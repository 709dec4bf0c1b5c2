"""The classifier stage picks only what the current model version has not seen, and switching
versions is explicit."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg2

from classifiers.areas_keywords import AreaKeywordTask
from classifiers.language import LanguageTask
from classifiers.stage import classify_pending
from extractors.file_import import import_file
from tests.conftest import TEST_PEPPER

TEXTS = [
    ("en", "The city council opened new language courses for refugees in Dublin this week."),
    ("de", "Die Stadt Berlin hat neue Sprachkurse für Geflüchtete und Arbeitssuchende eröffnet."),
    ("nl", "De gemeente Rotterdam opent nieuwe taalcursussen voor nieuwkomers en statushouders."),
    ("sv", "Malmö stad öppnar nya språkkurser för nyanlända och asylsökande i höst."),
    ("fr", "La ville de Lyon ouvre de nouveaux cours de langue pour les réfugiés cette semaine."),
    ("es", "El ayuntamiento de Madrid abre nuevos cursos de idiomas para las personas refugiadas."),
    ("it", "Il comune di Milano apre nuovi corsi di lingua per i rifugiati e i richiedenti asilo."),
    ("el", "Ο δήμος Αθηναίων ανοίγει νέα μαθήματα γλώσσας για πρόσφυγες και μετανάστες."),
]


def _load(url: str, tmp_path: Path, texts: list[tuple[str, str]], start: int = 0) -> None:
    path = tmp_path / f"posts_{start}.ndjson"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "source": "t",
                    "platform": "news",
                    "external_id": str(start + i),
                    "created_at": "2026-08-01T00:00:00Z",
                    "text": text,
                }
            )
            + "\n"
            for i, (_, text) in enumerate(texts)
        )
    )
    import_file(url, path, pepper=TEST_PEPPER)


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_language_of_each_post_and_only_new_posts_next_time(
    warehouse_url: str, tmp_path: Path
) -> None:
    _load(warehouse_url, tmp_path, TEXTS)
    task = LanguageTask()
    assert classify_pending(warehouse_url, task, batch_size=3) == len(TEXTS)
    got = _query(warehouse_url, "SELECT lang FROM ml.post_languages ORDER BY post_id")
    assert [lang for (lang,) in got] == [lang for lang, _ in TEXTS]
    assert classify_pending(warehouse_url, task) == 0  # nothing new: idempotent
    _load(warehouse_url, tmp_path, [("en", "Housing for newcomers is scarce in Amsterdam.")], 100)
    assert classify_pending(warehouse_url, task) == 1  # only the new post


def test_switching_model_version_is_explicit(warehouse_url: str, tmp_path: Path) -> None:
    _load(warehouse_url, tmp_path, TEXTS)
    first = AreaKeywordTask()
    classify_pending(warehouse_url, first)
    keywords = tmp_path / "area_keywords.csv"
    keywords.write_text("area_id,lang,keyword\nhousing,en,housing\nlanguage,de,sprachkurse\n")
    second = AreaKeywordTask(keywords)
    assert second.model_version != first.model_version
    assert classify_pending(warehouse_url, second) == len(TEXTS)  # every post, again
    current = _query(
        warehouse_url,
        "SELECT model_version FROM ml.model_versions WHERE task='areas' AND is_current",
    )
    assert current == [(second.model_version,)]
    areas = _query(
        warehouse_url,
        f"SELECT post_id, area_id FROM ml.post_areas WHERE model_version = '{second.model_version}'",
    )
    assert [a for _, a in areas] == ["language"]  # only the German post says "Sprachkurse"
    # the old version's rows stay, for comparison, but are no longer current
    old = _query(
        warehouse_url,
        f"SELECT count(*) FROM ml.classified_posts WHERE model_version = '{first.model_version}'",
    )
    assert old == [(len(TEXTS),)]


def test_undetermined_language_for_text_without_letters() -> None:
    task = LanguageTask()
    assert task.identify("🙂🙂 👍 #️⃣ 123 @user https://example.org/x") == ("und", 0.0)
    assert task.identify("")[0] == "und"
    lang, confidence = task.identify("Schulen in Berlin brauchen mehr Lehrkräfte 🙂 #bildung")
    assert lang == "de" and 0.5 < confidence <= 1
