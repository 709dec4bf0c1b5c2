"""`python -m classifiers classify` on CSV and NDJSON, and the classify_posts DAG's wiring."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from classifiers import __main__ as cli
from classifiers import fileio
from classifiers.bundle import Classifier
from classifiers.fileio import InputError, classify_file

FIELDS = {
    "id", "lang", "areas", "area_scores", "sentiment", "sentiment_score", "hate", "hate_score",
    "cities", "keywords", "model_version",
}  # fmt: skip
ROWS = [
    {"id": "a1", "text": "Die Mieten in München sind unbezahlbar, Vermieter lehnen Geflüchtete ab.", "lang": "de"},
    {"id": "a2", "text": "Free English classes for newcomers start Monday in Dublin!", "lang": ""},
    {"id": "a3", "text": "", "lang": "fr"},
    {"id": "a4", "text": "Sgomberato un campo a Roma, \"nessuna alternativa\"\nper le famiglie."},
]  # fmt: skip


@pytest.fixture
def shared(classifier: Classifier, monkeypatch) -> Classifier:
    # the CLI builds its own Classifier; reuse the session's (loading one takes seconds)
    monkeypatch.setattr(fileio, "Classifier", lambda: classifier)
    return classifier


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _check(records: list[dict], clf: Classifier) -> None:
    assert [r["id"] for r in records] == ["a1", "a2", "a3", "a4"]
    for r in records:
        assert set(r) == FIELDS and r["model_version"] == clf.version
    a1, a2, a3, a4 = records
    assert a1["lang"] == "de" and "housing" in a1["areas"] and a1["cities"] == ["DE003C"]
    # (the area head has 3 annotated "language" posts to learn from: no area asserted here)
    assert a2["lang"] == "en" and set(a2["areas"]) <= set(a2["area_scores"])
    assert a2["cities"] == ["IE001C"]
    assert a3["lang"] == "und" and a3["areas"] == [] and a3["keywords"] == []
    assert a4["cities"] == ["IT001C"]
    assert any(k["keyword"] == "vermieter" and "Vermieter" in k["context"] for k in a1["keywords"])


def test_cli_on_csv(tmp_path: Path, shared: Classifier, capsys) -> None:
    src = tmp_path / "posts.csv"
    with src.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "text", "lang"])
        writer.writeheader()
        writer.writerows(ROWS)
    out = tmp_path / "out.ndjson"
    assert cli.main(["classify", str(src), str(out)]) == 0
    _check(_read(out), shared)
    err = capsys.readouterr().err
    assert "classify: 4 posts (100 % of input" in err and f"-> {out}" in err
    assert not (tmp_path / "out.ndjson.partial").exists()


def test_cli_on_gzipped_ndjson(tmp_path: Path, shared: Classifier) -> None:
    src = tmp_path / "posts.ndjson.gz"
    with gzip.open(src, "wt", encoding="utf-8") as f:
        for row in ROWS:
            f.write(
                json.dumps({k: v for k, v in row.items() if v != ""} | {"text": row["text"]})
                + "\n\n"
            )
    out = tmp_path / "out.ndjson"
    assert classify_file(src, out, classifier=shared, batch_size=3, progress=False) == 4
    _check(_read(out), shared)


def test_cli_errors_are_clear(tmp_path: Path, shared: Classifier) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"id": 1, "text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.ndjson:2: not JSON"):
        classify_file(bad, tmp_path / "o.ndjson", classifier=shared, progress=False)
    assert not (tmp_path / "o.ndjson").exists() and not (tmp_path / "o.ndjson.partial").exists()
    no_id = tmp_path / "x.csv"
    no_id.write_text("text\nhello\n", encoding="utf-8")
    with pytest.raises(InputError, match="columns id and text"):
        classify_file(no_id, tmp_path / "o.ndjson", classifier=shared, progress=False)
    (tmp_path / "x.txt").write_text("id,text\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown format"):
        classify_file(tmp_path / "x.txt", tmp_path / "o.ndjson", classifier=shared)
