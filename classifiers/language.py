"""Language identification with py3langid (its model ships inside the package: works offline).

Restricted to the platform's languages (monitor.settings.LANGUAGES) so a short post is never
attributed to a language nobody follows. Handles, links, hashtag marks and emoji are removed
before identification: they carry no language and mislead character n-gram models.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib.metadata import version

from monitor.settings import LANGUAGES

UNDETERMINED = "und"  # ISO 639-2 code for "undetermined"
_MIN_LETTERS = 3
_NOISE = re.compile(
    r"https?://\S+|www\.\S+|@user|\[(?:email|phone|iban|profile)\]|[#@]"
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]"
)


class LanguageTask:
    task = "language"
    output_table = "ml.post_languages"
    output_columns = ("post_id", "model_version", "lang", "confidence")

    def __init__(self, languages: Sequence[str] = LANGUAGES) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages(list(languages))
        self.model_version = f"py3langid-{version('py3langid')}-{len(languages)}l"
        self.description = "py3langid naive Bayes, restricted to " + ",".join(languages)

    def identify(self, text: str) -> tuple[str, float]:
        cleaned = _NOISE.sub(" ", text)
        if sum(ch.isalpha() for ch in cleaned) < _MIN_LETTERS:
            return UNDETERMINED, 0.0
        lang, prob = self._identifier.classify(cleaned)
        return lang, round(float(prob), 4)

    def predict(
        self, texts: Sequence[str], langs: Sequence[str | None]
    ) -> list[list[tuple[str, float]]]:
        return [[self.identify(text)] for text in texts]
