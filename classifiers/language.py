"""Language identification with py3langid (its model ships inside the package: works offline).

Restricted to the platform's languages (core.settings.LANGUAGES: en de nl sv fr es it el pl pt
da fi) so a short post is never attributed to a language nobody follows.

Cleaning, before identification (`clean_for_language`): retweet marks (`RT @name:`), handles,
links (also truncated ones such as `http://` or a final `http`), placeholders of the privacy
scrubber, hashtag marks, HTML entities and emoji are removed: they carry no language and mislead
character n-gram models. Hashtag words stay, split at camelCase and underscores
(`#RefugeesWelcome` -> "Refugees Welcome"). A text written mostly in capitals is lower-cased:
py3langid's n-grams were learnt on ordinary case, and all-caps German reads to it like
Portuguese or Polish.

Priors, not answers: the posterior is p(lang | text) x prior.
- The language a platform declares for a post (`hint`) gets `HINT_PRIOR` of the mass.
- The source's country (`country`: the source's country hint, or the country of its city hint)
  puts `SOURCE_PRIOR` of the mass on that country's languages (`COUNTRY_LANGUAGES`): a German
  source's post is more likely German. Weaker than a declared language.
Long texts override a wrong prior (their likelihoods are very peaked); short, ambiguous posts
("Danke!", "Ok merci") follow it. Very short texts (fewer than `SHORT_LETTERS` letters) follow
the declared language, else the source's language, whenever py3langid ranks it among its first
`SHORT_TOP` candidates: on a word or two its first choice is close to a guess. Text with fewer
than 3 letters is `und` (undetermined) whatever the priors, with confidence 0.
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
SOURCE_PRIOR = 0.35
SHORT_LETTERS = 16
SHORT_TOP = 3
# The platform languages spoken in each country (Eurostat codes: EL Greece, UK United Kingdom).
COUNTRY_LANGUAGES = {
    "AT": ("de",), "BE": ("nl", "fr", "de"), "CH": ("de", "fr", "it"), "CY": ("el",),
    "DE": ("de",), "DK": ("da",), "EL": ("el",), "ES": ("es",), "FI": ("fi", "sv"),
    "FR": ("fr",), "IE": ("en",), "IT": ("it",), "LI": ("de",), "LU": ("fr", "de"),
    "MT": ("en",), "NL": ("nl",), "PL": ("pl",), "PT": ("pt",), "SE": ("sv",), "UK": ("en",),
}  # fmt: skip
_NOISE = re.compile(
    r"(?<!\w)RT\b:?|https?:/*\S*|\bhttps?\b(?=\W*$)|www\.\S+|\bt\.co/\S*|@\w+:?|@"
    r"|\[(?:email|phone|iban|profile)\]|#|&\w+;|…"
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D\u20E3\U000E0000-\U000E007F]"
)
# camelCase hashtags (#RefugeesWelcome) are words run together; split them for the n-grams
_CAMEL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])")


def clean_for_language(text: str) -> str:
    text = _NOISE.sub(" ", (text or "")[:_MAX_CHARS]).replace("_", " ")
    upper = sum(ch.isupper() for ch in text)
    if upper > 2 * sum(ch.islower() for ch in text):
        return text.lower()
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
        # "-h2": cleaning, prior and short-text policy of this module (bump when they change)
        self.model_version = f"py3langid-{version('py3langid')}-{len(self.languages)}l-h2"
        self.description = (
            "py3langid naive Bayes restricted to " + ",".join(self.languages) + "; noise removed, "
            f"all-caps lower-cased; declared language as a prior ({HINT_PRIOR}), the source's "
            f"country languages as a prior ({SOURCE_PRIOR}); texts under {SHORT_LETTERS} letters "
            f"follow the prior language when it is in the top {SHORT_TOP}"
        )

    def _prior(self, hint: str | None, country: str | None) -> np.ndarray | None:
        n = len(self.languages)
        if n < 2:
            return None
        prior = np.ones(n, dtype=np.float64)
        used = False
        if hint in self.languages:
            prior *= np.where(
                np.array(self.languages) == hint, HINT_PRIOR, (1 - HINT_PRIOR) / (n - 1)
            )
            used = True
        spoken = [
            lang
            for lang in COUNTRY_LANGUAGES.get((country or "").upper(), ())
            if lang in self.languages
        ]
        if spoken and len(spoken) < n:
            share = SOURCE_PRIOR / len(spoken)
            rest = (1 - SOURCE_PRIOR) / (n - len(spoken))
            prior *= np.array([share if lang in spoken else rest for lang in self.languages])
            used = True
        return prior if used else None

    def identify(
        self, text: str, hint: str | None = None, country: str | None = None
    ) -> tuple[str, float]:
        """(language, confidence in [0, 1]) of `text`; `hint` is a declared language, `country`
        the source's country (Eurostat code), either None when unknown."""
        cleaned = clean_for_language(text)
        letters = sum(ch.isalpha() for ch in cleaned)
        if letters < _MIN_LETTERS:
            return UNDETERMINED, 0.0
        ranked = self._identifier.rank(cleaned)  # [(lang, normalised probability)], best first
        if letters < SHORT_LETTERS:
            spoken = COUNTRY_LANGUAGES.get((country or "").upper(), ())
            preferred = (
                hint if hint in self.languages else (spoken[0] if len(spoken) == 1 else None)
            )
            for lang, prob in ranked[:SHORT_TOP]:
                if lang == preferred:
                    return lang, round(float(prob), 4)
        prior = self._prior(hint, country)
        if prior is not None:
            order = {lang: i for i, lang in enumerate(self.languages)}
            langs = [lang for lang, _ in ranked]
            probs = np.array([p for _, p in ranked], dtype=np.float64)
            posterior = probs * prior[[order[lang] for lang in langs]]
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
