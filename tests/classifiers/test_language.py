"""Language ID: no guess where there is no language; short, shouting and retweeted posts; the
declared language and the source's country as priors; accuracy on the labelled corpora."""

from collections import defaultdict

import pytest

from classifiers import labelled
from classifiers.language import LanguageTask, clean_for_language


def test_undetermined_language_for_text_without_letters() -> None:
    task = LanguageTask()
    assert task.identify("🙂🙂 👍 #️⃣ 123 @user https://example.org/x") == ("und", 0.0)
    assert task.identify("")[0] == "und"
    assert task.identify("RT @name: https://t.co/3r7Xig58jI http://", "de", "DE") == ("und", 0.0)
    lang, confidence = task.identify("Schulen in Berlin brauchen mehr Lehrkräfte 🙂 #bildung")
    assert lang == "de" and 0.5 < confidence <= 1


def test_cleaning_removes_retweet_marks_truncated_links_and_splits_hashtags() -> None:
    cleaned = clean_for_language("RT @name: Klare Worte #RefugeesWelcome #kein_mensch http://")
    assert cleaned.split() == ["Klare", "Worte", "Refugees", "Welcome", "kein", "mensch"]
    assert (
        clean_for_language("WIE KANN DAS DENN SEIN??? http://").strip()
        == "wie kann das denn sein???"
    )


def test_all_caps_german_is_german() -> None:
    task = LanguageTask()
    # py3langid alone reads these as Portuguese and Polish
    assert (
        task.identify("UND WARUM TUT DIE CDU NICHTS DAGEGEN? DENKEN DIE EMPÖRT SEIN HILFT???")[0]
        == "de"
    )
    assert (
        task.identify("JA UND WARUM WÄHLEN DIE DEUTSCHEN NOCH DIESE SPEZIALISTEN??? http://")[0]
        == "de"
    )


def test_source_country_is_a_prior_that_long_text_overrides() -> None:
    task = LanguageTask()
    assert task.identify("Bin gerade stark verballert")[0] != "de"  # text alone: Swedish
    assert task.identify("Bin gerade stark verballert", None, "DE")[0] == "de"
    assert task.identify("Danke! 😍 http://", None, "AT")[0] == "de"
    french = "La mairie ouvre de nouveaux cours de langue pour les réfugiés et les migrants."
    assert task.identify(french, None, "DE")[0] == "fr"
    assert task.identify(french, "de", "DE")[0] == "fr"


def _accuracy_by_dataset(use_source: bool) -> dict[str, float]:
    task = LanguageTask()
    country = {"de": "DE", "en": "UK", "it": "IT", "es": "ES", "fr": "FR", "pt": "PT"}
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    examples = [*labelled.hate_examples(), *labelled.sentiment_examples()]
    for ex in examples:
        lang, _ = task.identify(ex.text, None, country[ex.lang] if use_source else None)
        hits[ex.dataset][0] += lang == ex.lang
        hits[ex.dataset][1] += 1
    german = [hits[d] for d in hits if d.startswith("wuerzburg_de_")]
    out = {d: ok / n for d, (ok, n) in hits.items()}
    out["wuerzburg_de"] = sum(ok for ok, _ in german) / sum(n for _, n in german)
    return out


@pytest.mark.skipif(
    not (labelled.LABELLED_DIR / "hate_speech").exists(),
    reason="labelled corpora not present in ../shared/data/labelled",
)
def test_accuracy_on_the_labelled_corpora() -> None:
    text_only = _accuracy_by_dataset(use_source=False)
    with_source = _accuracy_by_dataset(use_source=True)
    # German tweets: >= 0.99 from the text alone over all Würzburg files, and in every file
    # once the source (a German Twitter sample) is a prior
    assert text_only["wuerzburg_de"] >= 0.99
    for dataset, accuracy in with_source.items():
        if dataset.startswith("wuerzburg_de"):
            assert accuracy >= 0.99, dataset
    # the other languages keep what they had before these rules (docs/evaluation.md)
    assert text_only["hateval2019_en_dev"] >= 0.99
    assert text_only["haspeede2018_it_facebook_train"] >= 0.89
    for lang in ("en", "es", "fr"):
        assert text_only[f"umsab_{lang}_val"] >= 0.98
    assert with_source["haspeede2018_it_facebook_train"] >= 0.97
