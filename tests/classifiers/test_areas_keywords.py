"""The taxonomy keyword tagger: whole words, case- and accent-form-insensitive, per language."""

from classifiers.areas_keywords import AreaKeywordTask


def test_keywords_match_whole_words_in_the_post_language() -> None:
    task = AreaKeywordTask()
    # Italian: "Roma" is the city of Rome, not the English/German/Dutch keyword "roma".
    assert "roma_inclusion" not in task.areas("Serata piovosa a Roma, strade tranquille.", "it")
    assert "roma_inclusion" in task.areas("Discrimination against Roma families persists.", "en")
    assert task.areas("", "en") == []


def test_undetermined_language_uses_every_language() -> None:
    task = AreaKeywordTask()
    text = "Discrimination against Roma families persists."
    assert task.areas(text, None) == task.areas(text, "und") == task.areas(text, "en")


def test_model_version_follows_the_keyword_file(tmp_path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("area_id,lang,keyword\nhousing,en,rent\n")
    first = AreaKeywordTask(a)
    assert first.areas("The RENT is too high", "en") == ["housing"]
    assert first.areas("parent meeting", "en") == []  # not inside another word
    a.write_text("area_id,lang,keyword\nhousing,en,rent\nhousing,en,landlord\n")
    assert AreaKeywordTask(a).model_version != first.model_version
