"""The labelled third-party data (`../shared/data/labelled/`) and its fixed train/test split.

Readers know each file's quirks (see that folder's README): UTF-8 BOMs and CRLF (HatEval),
mojibake emoji (HatEval: UTF-8 read as cp1252, e.g. `ðŸ‡®`), HTML entities (`&amp;`), quoted
multi-line texts and a header line in some Würzburg files, empty labels (skipped) and the
Würzburg `p` label, which marks *offensive* language and counts as **not hate** here.

The split is fixed and documented (docs/classifiers.md): a post is in the test split when
`sha256("<dataset>\\0<text>")` taken as an integer, modulo 100, is below `TEST_PERCENT` (30).
It depends on nothing but the text, so it is the same on every machine, in every file order,
and duplicated texts always land in the same split (no leakage between train and test).
Nothing here is ever copied into the repository: the data stay in `../shared`.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.settings import REPO_ROOT

LABELLED_DIR = REPO_ROOT.parent / "shared" / "data" / "labelled"
TEST_PERCENT = 30
SPLIT_RULE = (
    f'test if int(sha256("<dataset>\\0<text>").hexdigest(), 16) % 100 < {TEST_PERCENT}, else train'
)
SENTIMENT_LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Example:
    dataset: str  # file stem, e.g. "umsab_de_val"
    lang: str
    text: str
    label: str  # sentiment: negative/neutral/positive; hate: "hate"/"not_hate"

    @property
    def split(self) -> str:
        return split_of(self.dataset, self.text)


def _digest(dataset: str, text: str) -> str:
    return hashlib.sha256(f"{dataset}\0{text}".encode()).hexdigest()


def split_of(dataset: str, text: str) -> str:
    return "test" if int(_digest(dataset, text), 16) % 100 < TEST_PERCENT else "train"


def key_of(dataset: str, text: str) -> str:
    """The key by which the project's own labels of a post are stored, without its text."""
    return _digest(dataset, text)[:16]


# A run of characters that cp1252 can encode, starting with a typical lead byte of a UTF-8
# sequence read as cp1252 (Ã Â â ð ...): the shape of mojibake.
_MOJIBAKE = re.compile(r"[\u00c2-\u00f4][\u0080-\u00ff\u0152-\u2122]+")


def fix_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 runs (`ðŸ‡®ðŸ‡±` -> 🇮🇱) and leave everything else alone.

    Run by run, because one tweet can mix correct characters (“ ”) with mojibake.
    """

    def repair(match: re.Match[str]) -> str:
        run = match.group(0)
        try:
            return run.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return run

    return _MOJIBAKE.sub(repair, text)


def clean(text: str) -> str:
    return html.unescape(fix_mojibake(text)).strip()


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"labelled data not found: {path}. The `train` and `evaluate` commands read "
            "../shared/data/labelled (see that folder's README); pass --data DIR to point elsewhere."
        )
    return path


def _read_text(path: Path) -> str:
    # utf-8-sig drops a BOM when there is one
    return _require(path).read_text(encoding="utf-8-sig")


def sentiment_examples(root: Path = LABELLED_DIR) -> Iterator[Example]:
    """UMSAB (XLM-T) validation sets: `label<TAB>label_name<TAB>text`, 0/1/2."""
    files = sorted(_require(root / "sentiment").glob("umsab_*_val.tsv"))
    if not files:
        raise FileNotFoundError(f"no umsab_*_val.tsv in {root / 'sentiment'}")
    for path in files:
        lang = path.stem.split("_")[1]
        reader = csv.DictReader(io.StringIO(_read_text(path)), delimiter="\t")
        for row in reader:
            text = clean(row.get("text") or "")
            label = SENTIMENT_LABELS[int(row["label"])] if row.get("label", "").strip() else None
            if text and label:
                yield Example(path.stem, lang, text, label)


def _wuerzburg(path: Path) -> Iterator[Example]:
    """`label<TAB>text`, labels hs / p / n; quoted multi-line texts; some files have a header."""
    for row in csv.reader(io.StringIO(_read_text(path)), delimiter="\t"):
        if len(row) < 2:
            continue
        label, text = row[0].strip(), clean(row[1])
        if label not in {"hs", "p", "n"} or not text:  # header line, empty labels
            continue
        # `p` is offensive language, not hate speech (the folder's README)
        yield Example(path.stem, "de", text, "hate" if label == "hs" else "not_hate")


def hate_examples(root: Path = LABELLED_DIR) -> Iterator[Example]:
    folder = root / "hate_speech"
    path = folder / "hateval2019_en_dev.csv"
    for row in csv.DictReader(io.StringIO(_read_text(path))):
        text = clean(row.get("text") or "")
        if text and row.get("HS", "").strip() in {"0", "1"}:
            yield Example(path.stem, "en", text, "hate" if row["HS"].strip() == "1" else "not_hate")
    path = folder / "haspeede2018_it_facebook_train.tsv"
    # no header: id, text, hs; texts contain quotes that are not CSV quoting
    for row in csv.reader(io.StringIO(_read_text(path)), delimiter="\t", quoting=csv.QUOTE_NONE):
        if len(row) >= 3 and row[-1].strip() in {"0", "1"}:
            text = clean("\t".join(row[1:-1]))
            if text:
                yield Example(
                    path.stem, "it", text, "hate" if row[-1].strip() == "1" else "not_hate"
                )
    for path in sorted(folder.glob("wuerzburg_de_*.csv")):
        yield from _wuerzburg(path)


def load(task: str, root: Path = LABELLED_DIR) -> list[Example]:
    if task == "sentiment":
        return list(sentiment_examples(root))
    if task == "hate":
        return list(hate_examples(root))
    raise ValueError(f"unknown labelled task {task!r} (sentiment, hate)")
