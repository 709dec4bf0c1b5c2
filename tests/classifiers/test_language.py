"""Language ID on text with little or no language in it: no guess where there is nothing."""

from classifiers.language import LanguageTask


def test_undetermined_language_for_text_without_letters() -> None:
    task = LanguageTask()
    assert task.identify("🙂🙂 👍 #️⃣ 123 @user https://example.org/x") == ("und", 0.0)
    assert task.identify("")[0] == "und"
    lang, confidence = task.identify("Schulen in Berlin brauchen mehr Lehrkräfte 🙂 #bildung")
    assert lang == "de" and 0.5 < confidence <= 1
