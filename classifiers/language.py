"""Language identification with py3langid (its model ships inside the package: works offline).

Restricted to the platform's languages (core.settings.LANGUAGES: en de nl sv fr es it el pl pt
da fi) so a short post is never attributed to a language nobody follows. Handles, links,
placeholders of the privacy scrubber, hashtag marks and emoji are removed before identification:
they carry no language and mislead character n-gram models (the words of a hashtag stay).

A source-level hint (the language a platform declares for a post) is used as a *prior*, not as an
answer: the posterior is p(lang | text) x prior, with `HINT_PRIOR` of the mass on the hinted
language. Long texts override a wrong hint (their likelihoods are very peaked); short, ambiguous
posts ("Danke!", "Ok merci") follow it. Text with fewer than 3 letters is `und` (undetermined)
whatever the hint, with confidence 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib.metadata import version

import numpy as np

from core.settings import LANGUAGES

UNDETERMINED = "und"  # ISO 639-2 code for "undetermined"
_MIN_LETTERS = 3
# Long texts: the first characters decide; n-gram counting over 100 KB would cost ~50 ms.
_MAX_CHARS = 2_000
HINT_PRIOR = 0.5
_NOISE = re.compile(
    r"https?://\S+|www\.\S+|@user|@\w+|\[(?:email|phone|iban|profile)\]|[#@]|&\w+;"
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D\u20E3\U000E0000-\U000E007F]"
)
# camelCase hashtags (#RefugeesWelcome) are words run together; split them for the n-grams
_CAMEL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])")


def clean_for_language(text: str) -> str:
    text = _NOISE.sub(" ", (text or "")[:_MAX_CHARS])
    return _CAMEL.sub(" ", text)


class LanguageTask:
    task = "language"
    output_table = "ml.post_languages"
    output_columns = ("post_id", "model_version", "lang", "confidence")

    def __init__(self, languages: Sequence[str] = LANGUAGES) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self.languages = tuple(languages)
        self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages(list(self.languages))
        # "-h1": cleaning and hint policy of this module (bump when they change)
        self.model_version = f"py3langid-{version('py3langid')}-{len(self.languages)}l-h1"
        self.description = (
            "py3langid naive Bayes restricted to " + ",".join(self.languages) + "; noise removed; "
            f"platform language hint as a prior ({HINT_PRIOR})"
        )

    def identify(self, text: str, hint: str | None = None) -> tuple[str, float]:
        """(language, confidence in [0, 1]) of `text`; `hint` is a declared language or None."""
        cleaned = clean_for_language(text)
        if sum(ch.isalpha() for ch in cleaned) < _MIN_LETTERS:
            return UNDETERMINED, 0.0
        ranked = self._identifier.rank(cleaned)  # [(lang, normalised probability)], best first
        if hint in self.languages and len(self.languages) > 1:
            langs = [lang for lang, _ in ranked]
            probs = np.array([p for _, p in ranked], dtype=np.float64)
            prior = np.where(
                np.array(langs) == hint,
                HINT_PRIOR,
                (1 - HINT_PRIOR) / (len(self.languages) - 1),
            )
            posterior = probs * prior
            total = posterior.sum()
            if total > 0:
                best = int(posterior.argmax())
                return langs[best], round(float(posterior[best] / total), 4)
        lang, prob = ranked[0]
        return lang, round(float(prob), 4)

    def predict(
        self, texts: Sequence[str], langs: Sequence[str | None]
    ) -> list[list[tuple[str, float]]]:
        return [[self.identify(text)] for text in texts]
