"""Rule-based parts and artefacts, without the encoder: places, keywords, heads, data split."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import labelled
from classifiers.areas import Calibration, load_taxonomy
from classifiers.keywords import KeywordTracker
from classifiers.linear_head import EncoderMismatch, LinearHead
from classifiers.places import Gazetteer, PlaceTagger


@pytest.fixture(scope="module")
def places() -> PlaceTagger:
    # the default gazetteer (cities.csv when it exists, else demo_cities.csv) + taxonomy keywords
    tracker = KeywordTracker()
    return PlaceTagger(None, {lang: set(words) for lang, words in tracker._taxonomy.items()})


def _codes(mentions) -> list[str]:
    return [m.code for m in mentions]


def test_places_native_names_exonyms_and_hashtags(places: PlaceTagger) -> None:
    assert _codes(places.tag("Mieten in München steigen weiter", "de")) == ["DE003C"]
    assert _codes(places.tag("Rents keep rising in Munich", "en")) == ["DE003C"]
    assert _codes(places.tag("Housing crisis in Malmo and Göteborg", "en")) == ["SE002C", "SE003C"]
    [m] = places.tag("Protest heute #Köln", "de")
    assert (m.code, m.from_hashtag, m.from_text) == ("DE004C", True, False)
    assert places.tag("", "en") == []


def test_roma_is_rome_in_italian_but_not_in_english(places: PlaceTagger) -> None:
    assert _codes(places.tag("Sgomberato un campo a Roma ieri sera", "it")) == ["IT001C"]
    assert places.tag("Discrimination against Roma families persists", "en") == []
    # a hashtag is a place whatever the language
    assert _codes(places.tag("Great day #Roma", "en")) == ["IT001C"]


def test_source_hint_is_evidence_and_unknown_codes_are_dropped(places: PlaceTagger) -> None:
    [m] = places.tag("The council voted last night", "en", city_hint="NL037C")
    assert (m.code, m.from_source, m.from_text) == ("NL037C", True, False)
    [m] = places.tag("Rotterdam council voted", "nl", city_hint="nl037c")
    assert (m.code, m.from_source, m.from_text) == ("NL037C", True, True)
    assert places.tag("no place here", "en", city_hint="XX999Z") == []


def test_ambiguous_names_are_resolved_by_hints_or_left_out(tmp_path) -> None:
    path = tmp_path / "cities.csv"
    path.write_text(
        "urau_code,name,country_code,exonyms,hashtags\n"
        "DE005C,Frankfurt am Main,DE,Frankfurt|Mainhattan,#ffm\n"
        "DE032C,Frankfurt (Oder),DE,Frankfurt,\n"
        "FR009C,Nice,FR,,\n"
        "bad,Nowhere,XX,,\n",
        encoding="utf-8",
    )
    tagger = PlaceTagger(Gazetteer.load(path))
    assert tagger.tag("Wohnungsnot in Frankfurt", "de") == []  # two Frankfurts: never guessed
    assert _codes(tagger.tag("Wohnungsnot in Frankfurt", "de", city_hint="DE032C")) == ["DE032C"]
    assert _codes(tagger.tag("Skyline von Mainhattan #ffm", "de")) == ["DE005C"]
    # "nice" is an ordinary English word: a place only as a proper noun mid-sentence
    assert tagger.tag("nice weather today", "en") == []
    assert tagger.tag("Nice weather today", "en") == []
    assert _codes(tagger.tag("The tram in Nice is packed", "en")) == ["FR009C"]
    assert "bad" not in tagger.gazetteer.cities


def test_keywords_with_context_from_scrubbed_text(tmp_path) -> None:
    watch = tmp_path / "watch.csv"
    watch.write_text("term,lang,category\nremigration,,far_right_narrative\n", encoding="utf-8")
    tracker = KeywordTracker(watchlist=watch)
    text = (
        "Write to anna.k@example.org about the Mietspiegel. Die Arbeitslosigkeit steigt, "
        "und manche fordern Remigration.\nUnfassbar."
    )
    hits = tracker.track(text, "de")
    got = {(h.keyword, h.kind, h.label) for h in hits}
    assert ("arbeitslosigkeit", "taxonomy", "employment") in got
    assert ("remigration", "watchlist", "far_right_narrative") in got
    for h in hits:
        assert "anna.k@example.org" not in h.context  # cut from the scrubbed text
        assert "\n" not in h.context and "\t" not in h.context
        assert h.keyword in h.context.casefold()
    # language matters for taxonomy keywords, not for language-less watch-list terms
    assert {h.kind for h in tracker.track("Remigration now", "en")} == {"watchlist"}
    assert tracker.version != KeywordTracker().version


def test_keyword_positions_survive_case_folding() -> None:
    tracker = KeywordTracker()
    text = "STRASSE ß Straße: Die Arbeitslosigkeit ist hoch"
    [hit] = [h for h in tracker.track(text, "de") if h.keyword == "arbeitslosigkeit"]
    assert text[hit.start : hit.start + len("Arbeitslosigkeit")] == "Arbeitslosigkeit"


def test_head_roundtrip_and_encoder_binding(tmp_path) -> None:
    rng = np.random.default_rng(0)
    head = LinearHead(
        "hate", ["not_hate", "hate"], rng.normal(size=(1, 6)).astype(np.float32),
        np.zeros(1, np.float32), ["de", "en"], "enc@1", {"de": 0.1}, 0.5,
    )  # fmt: skip
    head.save(tmp_path / "hate.npz")
    loaded = LinearHead.load(tmp_path / "hate.npz")
    x = rng.normal(size=(3, 4)).astype(np.float32)
    langs = ["de", "en", None]
    assert np.allclose(loaded.proba(x, langs), head.proba(x, langs))
    assert loaded.version == head.version
    assert loaded.threshold("de") == 0.1 and loaded.threshold("fr") == 0.5
    with pytest.raises(EncoderMismatch, match="retrain"):
        loaded.check_encoder("enc@2")
    with pytest.raises(FileNotFoundError, match="classifiers train"):
        LinearHead.load(tmp_path / "missing.npz")


def test_committed_heads_are_small_and_documented() -> None:
    from classifiers.linear_head import HEADS_DIR

    files = list(HEADS_DIR.iterdir())
    assert {"sentiment.npz", "hate.npz", "areas_calibration.json", "MODEL_CARD.md"} <= {
        f.name for f in files
    }
    assert sum(f.stat().st_size for f in files) <= 5 * 1024 * 1024


def test_split_is_fixed_by_text_and_labels_are_cleaned() -> None:
    assert labelled.split_of("umsab_de_val", "Hallo Welt") == labelled.split_of(
        "umsab_de_val", "Hallo Welt"
    )
    splits = [labelled.split_of("d", f"text {i}") for i in range(2000)]
    assert 0.26 < splits.count("test") / len(splits) < 0.34
    assert labelled.fix_mojibake("dual ðŸ‡®ðŸ‡± passports “ok”") == "dual 🇮🇱 passports “ok”"
    assert labelled.clean("A &amp; B") == "A & B"


def test_wuerzburg_p_is_not_hate_and_empty_labels_are_skipped(tmp_path) -> None:
    folder = tmp_path / "hate_speech"
    folder.mkdir()
    (folder / "hateval2019_en_dev.csv").write_text(
        "\ufeffid,text,HS,TR,AG\r\n1,hello,0,0,0\r\n", encoding="utf-8"
    )
    (folder / "haspeede2018_it_facebook_train.tsv").write_text('1\tciao "a"\t1\n', encoding="utf-8")
    (folder / "wuerzburg_de_x.csv").write_text(
        'label\ttweet\nhs\tHass\np\tBeleidigung\n\tohne Label\nn\t"zwei\nZeilen"\n',
        encoding="utf-8",
    )
    got = [(e.lang, e.label, e.text) for e in labelled.hate_examples(tmp_path)]
    assert got == [
        ("en", "not_hate", "hello"),
        ("it", "hate", 'ciao "a"'),
        ("de", "hate", "Hass"),
        ("de", "not_hate", "Beleidigung"),
        ("de", "not_hate", "zwei\nZeilen"),
    ]


def test_a_new_area_works_without_code_or_calibration(tmp_path) -> None:
    seeds = tmp_path
    (seeds / "integration_areas.csv").write_text(
        "area_id,dimension,label,description\n"
        "housing,spatial,Housing,Rents and landlords.\n"
        "sport,socio_cultural,Sport,Sports clubs and teams for newcomers.\n",
        encoding="utf-8",
    )
    (seeds / "area_keywords.csv").write_text(
        "area_id,lang,keyword\nhousing,en,rent\nsport,en,football club\n", encoding="utf-8"
    )
    tax = load_taxonomy(seeds)
    assert tax.ids == ["housing", "sport"]
    cal = Calibration(slope={"housing": 50.0}, offset={"housing": 0.02}, threshold={"housing": 0.4})
    assert cal.params("sport") == (50.0, 0.02, 0.4)  # the others' median until recalibrated
    (seeds / "area_keywords.csv").write_text(
        "area_id,lang,keyword\nunknown,en,x\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="unknown"):
        load_taxonomy(seeds)
