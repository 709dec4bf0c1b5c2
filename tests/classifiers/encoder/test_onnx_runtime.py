"""The ONNX Runtime backend of the shared encoder: real export, real session, real heads.

Uses the installed encoder folder (`python -m classifiers.encoder build`, bin/install) and its
int8 ONNX export in `<MONITOR_HOME>/cache/onnx/` (made here on first use, about a minute; reused
afterwards). Skips without the encoder folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifiers.embeddings import ONNX_PRECISION, embed_posts, load_shared_encoder
from classifiers.encoder import onnx_runtime
from classifiers.encoder.model import Encoder, load_encoder
from classifiers.linear_head import HEADS_DIR, ONNX_HEADS_DIR, LinearHead

REPO = Path(__file__).resolve().parents[3]
SENTENCES = [
    "The city opened a new language course for refugees.",
    "Die Stadt hat einen neuen Sprachkurs für Geflüchtete eröffnet.",
    "La ville a ouvert un nouveau cours de langue pour les réfugiés.",
    "Η πόλη άνοιξε ένα νέο μάθημα γλώσσας για πρόσφυγες.",
    "Wohnungsmarkt in München: Mieten +12 % 🏠 #wohnen @user https://t.co/x1Yz",
    "Raus mit euch!!! Das Boot ist voll... 😡😡",
    "Polska szkoła dla dzieci uchodźców z Ukrainy – zapisy do 15.09.",
    "The football match ended in a goalless draw after extra time.",
    "",
    "🙂🙂",
]


@pytest.fixture(scope="module")
def model_path() -> str:
    from core.settings import load_settings

    path = load_settings().encoder_path
    if not Path(path).is_dir():
        pytest.skip(f"no encoder at {path}: run `python -m classifiers.encoder build`")
    return path


@pytest.fixture(scope="module")
def onnx_encoder(model_path: str) -> Encoder:
    return load_shared_encoder(model_path, precision=ONNX_PRECISION)


def test_onnx_vectors_agree_with_torch_fp32(model_path: str, onnx_encoder: Encoder) -> None:
    fp32 = load_encoder(model_path, quantize=False, max_length=onnx_encoder.max_length)
    ref = fp32.embed(SENTENCES)
    del fp32
    got = onnx_encoder.embed(SENTENCES)
    assert got.shape == ref.shape == (len(SENTENCES), 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosine = (got * ref).sum(axis=1)
    # per-channel int8 stays close to fp32 (torch's per-tensor int8-all: median ~0.98)
    assert np.median(cosine) >= 0.99 and cosine.min() >= 0.97, cosine
    # and keeps the geometry: translations closer to each other than to an unrelated post
    sims = got[:4] @ got[:4].T
    assert sims[np.triu_indices(4, 1)].min() > float((got[:4] @ got[7]).max())


def test_version_names_the_runtime(onnx_encoder: Encoder) -> None:
    assert onnx_encoder.runtime == "onnx" and onnx_encoder.precision == "onnx-int8"
    # the export recipe is part of the version: vectors of another recipe never mix
    assert onnx_encoder.version.endswith(f"+onnx-int8-x{onnx_runtime.EXPORT_FORMAT}")
    with pytest.raises(ValueError, match="not a torch model"):
        onnx_encoder.to_int8()


def test_export_is_cached_with_a_marker(model_path: str, onnx_encoder: Encoder) -> None:
    folder = onnx_encoder.model.path.parent
    assert onnx_runtime.is_current(folder, onnx_encoder.fingerprint)
    marker = json.loads((folder / onnx_runtime.MARKER_FILE).read_text(encoding="utf-8"))
    assert marker["quantization"]["per_channel"] is True
    assert marker["format"] == onnx_runtime.EXPORT_FORMAT
    # the BERT fusions happened: one fused attention per layer, fused embeddings, no SkipLayerNorm
    fused = marker["fusion"]["fused"]
    assert fused["Attention"] == 12 and fused["EmbedLayerNormalization"] == 1, fused
    assert "SkipLayerNormalization" not in fused
    assert marker["check_cosine_min"] >= onnx_runtime.MIN_COSINE
    # int8 weights and embedding table: a quarter of the fp32 folder's 470 MB
    assert (folder / onnx_runtime.MODEL_FILE).stat().st_size < 150e6
    # a second call reuses the export; another fingerprint would not
    path = onnx_runtime.ensure_onnx(model_path, onnx_encoder.name, onnx_encoder.fingerprint)
    assert path == onnx_encoder.model.path
    assert not onnx_runtime.is_current(folder, onnx_encoder.fingerprint + "-other")


def test_session_runs_the_fused_int8_graph(onnx_encoder: Encoder) -> None:
    import onnx

    graph = onnx.load(str(onnx_encoder.model.path), load_external_data=False).graph
    ops = {n.op_type for n in graph.node}
    assert {"QAttention", "QEmbedLayerNormalization", "MatMulInteger", "BiasGelu"} <= ops, ops
    assert "SkipLayerNormalization" not in ops
    assert onnx_runtime.DISABLED_OPTIMIZERS == ("SkipLayerNormFusion",)


def test_cli_export_reports_the_cached_export(onnx_encoder: Encoder, capsys) -> None:
    from classifiers.encoder.__main__ import main

    assert main(["export-onnx"]) == 0
    assert f"{onnx_encoder.version} ready at {onnx_encoder.model.path}" in capsys.readouterr().out


def test_worker_threads_share_one_session(
    onnx_encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"{s} #{i}" for i in range(14) for s in SENTENCES]  # 140 posts: 2 work items
    monkeypatch.setenv("MONITOR_ENCODER_WORKERS", "2")
    parallel = embed_posts(onnx_encoder, texts)
    monkeypatch.setenv("MONITOR_ENCODER_WORKERS", "1")
    serial = embed_posts(onnx_encoder, texts)
    # activation scales are per batch, and the batches differ: close, not identical
    assert float((parallel * serial).sum(axis=1).min()) > 0.98


def _cli(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, Path]:
    src = tmp_path / "posts.csv"
    src.write_text(
        "id,text,lang\n1,Die Mieten in Berlin steigen weiter und Vermieter lehnen uns ab.,de\n"
        "2,I love this city and the new community centre is wonderful and so welcoming!,en\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.ndjson"
    proc = subprocess.run(
        [sys.executable, "-m", "classifiers", "classify", str(src), str(out), "--no-progress"],
        cwd=REPO, env={**os.environ, "TOKENIZERS_PARALLELISM": "false", **env},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    return proc, out


def test_cli_classifies_with_the_onnx_runtime(tmp_path: Path, model_path: str) -> None:
    """MONITOR_ENCODER_RUNTIME=onnx picks the heads trained on its vectors (heads/onnx)."""
    proc, out = _cli(tmp_path, MONITOR_ENCODER_RUNTIME="onnx", MONITOR_CLASSIFIER_HEADS="")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[0]["lang"] == "de" and "housing" in rows[0]["areas"]
    assert rows[0]["cities"] == ["DE001C"]
    assert rows[1]["sentiment"] == "positive" and rows[0]["sentiment"] != "positive"
    assert all(0 <= r["hate_score"] <= 1 for r in rows)
    torch_version = LinearHead.load(HEADS_DIR / "hate.npz").version
    onnx_version = LinearHead.load(ONNX_HEADS_DIR / "hate.npz").version
    assert torch_version != onnx_version  # another encoder, another model version


def test_cli_refuses_heads_trained_on_another_encoder(tmp_path: Path, model_path: str) -> None:
    """Versions never mix: heads are bound to the vectors of the encoder they were trained on."""
    env = {"MONITOR_ENCODER_RUNTIME": "onnx", "MONITOR_CLASSIFIER_HEADS": str(HEADS_DIR)}
    proc, out = _cli(tmp_path, **env)
    assert proc.returncode != 0
    assert "retrain" in proc.stderr and "onnx-int8" in proc.stderr
    assert not out.exists()
