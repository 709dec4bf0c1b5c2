"""Every classifier behind one call, with one shared encoder pass per post.

    clf = Classifier()                       # loads heads and seeds; the encoder on first use
    results = clf.classify([PostInput("Mieten in Berlin ...", lang_hint="de")])
    clf.versions                             # task -> model version, e.g. {"sentiment": ...}
    clf.version                              # one id for the whole bundle (the CLI's model_version)

Order inside a batch: the posts' embeddings start on the encoder's worker threads (once per
post, only for posts that need an embedding task); meanwhile this thread runs language ID
(py3langid, with the platform hint as prior), places and keywords (rules, using the detected
language); then the areas, sentiment and hate heads run on the one vector per post.

Tasks and their versions (each row written to ml.* carries its task's version):
- language   py3langid + cleaning + hint policy
- areas      supervised head (classifiers/heads/areas.npz, classifiers.area_head) on the
             embedding, the zero-shot scores and keyword hits of the taxonomy seeds; without
             that file, zero-/few-shot (seeds + calibration + encoder, classifiers.areas)
- sentiment  trained head (classifiers/heads/sentiment.npz), bound to its encoder version
- hate       trained head (classifiers/heads/hate.npz), bound to its encoder version
- cities     gazetteer file + rules                           (classifiers.places)
- keywords   taxonomy keywords + watch list + rules           (classifiers.keywords)

`clf.error_rates` holds the measured confusion counts of the deployed areas, sentiment and hate
versions (classifiers/heads/error_rates.json, classifiers.error_rates) as rows of
ml.classifier_error_rates; a task whose counts were measured on another version has none.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifiers import error_rates
from classifiers.area_head import FILE as AREA_HEAD_FILE
from classifiers.area_head import AreaHead
from classifiers.areas import AreaModel, Calibration, Taxonomy, load_taxonomy
from classifiers.embeddings import embed_posts_soon, encoder_version, load_shared_encoder
from classifiers.keywords import KeywordHit, KeywordTracker
from classifiers.language import LanguageTask
from classifiers.linear_head import EncoderMismatch, LinearHead, default_heads_dir
from classifiers.places import CityMention, Gazetteer, PlaceTagger
from core.text import fold

if TYPE_CHECKING:
    from classifiers.encoder.model import Encoder

log = logging.getLogger(__name__)

TASKS = ("language", "areas", "sentiment", "hate", "cities", "keywords")
EMBEDDING_TASKS = frozenset({"areas", "sentiment", "hate"})
CALIBRATION_FILE = "areas_calibration.json"


@dataclass
class PostInput:
    text: str
    lang_hint: str | None = None
    city_hint: str | None = None
    country_hint: str | None = None


@dataclass
class PostResult:
    lang: str | None = None
    lang_confidence: float | None = None
    areas: list[str] = field(default_factory=list)
    area_scores: dict[str, float] = field(default_factory=dict)
    sentiment: str | None = None
    sentiment_score: float | None = None  # probability of the chosen class
    sentiment_proba: dict[str, float] = field(default_factory=dict)
    hate: bool | None = None
    hate_score: float | None = None  # probability of hate speech
    cities: list[CityMention] = field(default_factory=list)
    keywords: list[KeywordHit] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The CLI's record (without id and model_version)."""
        return {
            "lang": self.lang,
            "areas": self.areas,
            "area_scores": self.area_scores,
            "sentiment": self.sentiment,
            "sentiment_score": self.sentiment_score,
            "hate": self.hate,
            "hate_score": self.hate_score,
            "cities": [c.code for c in self.cities],
            "keywords": [k.to_json() for k in self.keywords],
        }


def load_calibration(heads_dir: Path) -> Calibration:
    path = heads_dir / CALIBRATION_FILE
    if not path.exists():
        log.warning("no area calibration at %s: default thresholds (run `train`)", path)
        return Calibration()
    return Calibration.from_json(json.loads(path.read_text(encoding="utf-8")))


class Classifier:
    """Loads the heads and rules at once and the encoder lazily (rule-only tasks need none)."""

    def __init__(
        self,
        *,
        encoder: Encoder | None = None,
        heads_dir: Path | None = None,
        taxonomy: Taxonomy | None = None,
        keywords_file: Path | None = None,
        gazetteer: Gazetteer | None = None,
        watchlist: Path | None = None,
        calibration: Calibration | None = None,
        heads: dict[str, LinearHead] | None = None,
        area_head: AreaHead | bool | None = True,
    ) -> None:
        # MONITOR_CLASSIFIER_HEADS switches the deployed heads (another trained version); without
        # it, the heads of the configured encoder runtime
        self.heads_dir = Path(heads_dir or default_heads_dir())
        self.taxonomy = taxonomy or load_taxonomy(keywords_file=keywords_file)
        self.language = LanguageTask()
        self.heads = heads or {
            name: LinearHead.load(self.heads_dir / f"{name}.npz") for name in ("sentiment", "hate")
        }
        self.calibration = (
            calibration if calibration is not None else load_calibration(self.heads_dir)
        )
        self.keywords = KeywordTracker(self.taxonomy.keywords_file, watchlist)
        # names that are taxonomy keywords in a language are not places in that language
        kw_by_lang: dict[str, set[str]] = {}
        for lang, words in self.keywords._taxonomy.items():
            if lang != "*":
                kw_by_lang[lang] = {fold(w) for w in words}
        self.places = PlaceTagger(gazetteer, kw_by_lang)
        self._encoder = encoder
        self._areas: AreaModel | None = None
        # area_head: True = the heads folder's areas.npz when present, False/None = zero-shot
        self.area_head = self._load_area_head() if area_head is True else (area_head or None)
        calib = hashlib.sha256(
            json.dumps(self.calibration.to_json(), sort_keys=True).encode()
        ).hexdigest()[:8]
        areas_version = (
            self.area_head.version
            if self.area_head is not None
            else f"areas-zs-{self.taxonomy.fingerprint}-{calib}"
        )
        self.versions = {
            "language": self.language.model_version,
            "areas": areas_version,
            "sentiment": self.heads["sentiment"].version,
            "hate": self.heads["hate"].version,
            "cities": self.places.version,
            "keywords": self.keywords.version,
        }
        enc = self.heads["sentiment"].encoder_version
        self.descriptions = {
            "language": self.language.description,
            "areas": (
                f"supervised linear head on [embedding, zero-shot scores, keyword hits] "
                f"({len(self.taxonomy.areas)} areas), trained on annotated real posts; "
                f"encoder {enc}"
                if self.area_head is not None
                else f"zero-shot prototypes (descriptions+keywords, {len(self.taxonomy.areas)} "
                f"areas) + calibrated thresholds + keyword rule; encoder {enc}"
            ),
            "sentiment": f"logistic regression head on {enc}; "
            f"{self.heads['sentiment'].meta.get('trained_on', '')}",
            "hate": f"logistic regression head on {enc}; {self.heads['hate'].meta.get('trained_on', '')}",
            "cities": self.places.description,
            "keywords": self.keywords.description,
        }
        digest = hashlib.sha256(json.dumps(self.versions, sort_keys=True).encode()).hexdigest()
        self.version = f"clf-{digest[:12]}"
        self.error_rates = self._load_error_rates()

    def _load_error_rates(self) -> dict[str, list[error_rates.Row]]:
        """task -> rows of ml.classifier_error_rates, for the tasks measured on their deployed
        version only: rates of another model would correct its shares wrongly."""
        path = self.heads_dir / error_rates.FILE
        rates = error_rates.load(path)
        out: dict[str, list[error_rates.Row]] = {}
        for task, entry in sorted(rates.items()):
            deployed = self.versions.get(task)
            if entry["model_version"] != deployed:
                log.warning(
                    "%s: the %s error rates were measured on %s, the deployed version is %s: "
                    "none are used until `python -m classifiers evaluate` is run",
                    path, task, entry["model_version"], deployed,
                )  # fmt: skip
                continue
            out[task] = error_rates.rows(rates, [task])
        return out

    def _load_area_head(self) -> AreaHead | None:
        path = self.heads_dir / AREA_HEAD_FILE
        if not path.exists():
            return None
        head = AreaHead.load(path)
        if head.area_ids != self.taxonomy.ids or head.taxonomy != self.taxonomy.fingerprint:
            # its features (zero-shot scores, keyword hits) come from other seeds: retrain
            log.warning(
                "area head %s was trained on taxonomy %s, the seeds are %s: zero-shot areas "
                "until `python -m classifiers train` is run",
                path, head.taxonomy, self.taxonomy.fingerprint,
            )  # fmt: skip
            return None
        return head

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = load_shared_encoder()
        self.check_encoder(self._encoder)
        return self._encoder

    def check_encoder(self, encoder: Encoder) -> None:
        version = encoder_version(encoder)
        for head in self.heads.values():
            head.check_encoder(version)
        if self.area_head is not None:
            self.area_head.check_encoder(version)
        trained = self.calibration.meta.get("encoder_version")
        if trained and trained != version:
            raise EncoderMismatch(
                f"area calibration was fitted on {trained!r}, the encoder is {version!r}: "
                "retrain with `python -m classifiers train`"
            )

    @property
    def areas(self) -> AreaModel:
        if self._areas is None:
            self._areas = AreaModel(self.encoder, self.taxonomy, self.calibration)
        return self._areas

    def classify(
        self,
        posts: Sequence[PostInput],
        tasks: Iterable[str] = TASKS,
        *,
        embed_mask: Sequence[bool] | None = None,
        batch_size: int | None = None,
    ) -> list[PostResult]:
        """Classify `posts` for `tasks`. Language is always computed (the others depend on it).

        `embed_mask` limits the encoder pass to the posts that need an embedding task (the
        warehouse runner knows which posts already have which task).
        """
        tasks = set(tasks)
        unknown = tasks - set(TASKS)
        if unknown:
            raise ValueError(f"unknown tasks {sorted(unknown)}; known: {', '.join(TASKS)}")
        texts = [p.text or "" for p in posts]
        results = [PostResult() for _ in posts]
        # the encoder pass runs on worker threads while this thread does the rules
        pending = None
        if tasks & EMBEDDING_TASKS and posts:
            rows = [i for i in range(len(posts)) if embed_mask is None or embed_mask[i]]
            if rows:
                kwargs = {"batch_size": batch_size} if batch_size else {}
                pending = embed_posts_soon(self.encoder, [texts[i] for i in rows], **kwargs)
        langs: list[str | None] = []
        for post, res in zip(posts, results, strict=True):
            # the source's country (or its city's, the code's first two letters) is a prior too
            country = post.country_hint or (post.city_hint or "")[:2] or None
            res.lang, res.lang_confidence = self.language.identify(
                post.text or "", post.lang_hint, country
            )
            langs.append(res.lang)
        if "cities" in tasks:
            for post, lang, res in zip(posts, langs, results, strict=True):
                res.cities = self.places.tag(
                    post.text or "", lang, post.city_hint, post.country_hint
                )
        if "keywords" in tasks:
            for text, lang, res in zip(texts, langs, results, strict=True):
                res.keywords = self.keywords.track(text, lang)
        if pending is not None:
            self._apply_heads(
                tasks, pending.result(), [texts[i] for i in rows], [langs[i] for i in rows],
                [results[i] for i in rows],
            )  # fmt: skip
        return results

    def _apply_heads(
        self,
        tasks: set[str],
        vectors: np.ndarray,
        texts: list[str],
        langs: list[str | None],
        results: list[PostResult],
    ) -> None:
        if "areas" in tasks:
            if self.area_head is not None:
                model = self.areas
                scores, tagged = self.area_head.predict(
                    vectors, model.semantic(vectors), model.keyword_hits(texts, langs)
                )
            else:
                scores, tagged = self.areas.predict(vectors, texts, langs)
            ids = self.areas.area_ids
            for r, res in enumerate(results):
                res.area_scores = {a: round(float(scores[r, j]), 4) for j, a in enumerate(ids)}
                res.areas = [a for j, a in enumerate(ids) if tagged[r, j]]
        if "sentiment" in tasks:
            head = self.heads["sentiment"]
            proba = head.proba(vectors, langs)
            labels = head.decide(proba, langs)
            for r, res in enumerate(results):
                res.sentiment = labels[r]
                res.sentiment_proba = {
                    c: round(float(proba[r, j]), 4) for j, c in enumerate(head.classes)
                }
                res.sentiment_score = res.sentiment_proba[labels[r]]
        if "hate" in tasks:
            head = self.heads["hate"]
            proba = head.proba(vectors, langs)
            labels = head.decide(proba, langs)
            for r, res in enumerate(results):
                res.hate = labels[r] == "hate"
                res.hate_score = round(float(proba[r, 1]), 4)
